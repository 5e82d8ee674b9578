// The quick-search window's page (quick.html): find a credential, copy its
// secret or user, and the window closes.
import { mount } from 'svelte';
import Quick from './Quick.svelte';
import { chooseFonts } from '../lib/fonts';
import { theme } from '../lib/theme.svelte';
import '../app.css';

const target = document.getElementById('quick');
if (target === null) {
  throw new Error('Coffer: #quick element missing from quick.html');
}

theme.start();
chooseFonts();

export default mount(Quick, { target });
