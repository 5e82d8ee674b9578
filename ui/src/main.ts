import { mount } from 'svelte';
import App from './App.svelte';
import { theme } from './lib/theme.svelte';
import './app.css';

const target = document.getElementById('app');
if (target === null) {
  throw new Error('Coffer: #app element missing from index.html');
}

// The chosen theme before the first paint.
theme.start();

const app = mount(App, { target });

export default app;
