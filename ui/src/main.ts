import { mount } from 'svelte';
import App from './App.svelte';
import { chooseFonts } from './lib/fonts';
import { theme } from './lib/theme.svelte';
import './app.css';

const target = document.getElementById('app');
if (target === null) {
  throw new Error('Coffer: #app element missing from index.html');
}

// The chosen theme and font families before the first paint.
theme.start();
chooseFonts();

const app = mount(App, { target });

export default app;
