// The approval window's page (approve.html): one question of the agent's,
// named by the one-time nonce after the '#' of this window's URL.
import { mount } from 'svelte';
import Approve from './Approve.svelte';
import { chooseFonts } from '../lib/fonts';
import { theme } from '../lib/theme.svelte';
import '../app.css';

const target = document.getElementById('approve');
if (target === null) {
  throw new Error('Coffer: #approve element missing from approve.html');
}

const nonce = window.location.hash.slice(1);
// The nonce is not left where other script could read it from the URL.
history.replaceState(null, '', window.location.pathname);

theme.start();
chooseFonts();

export default mount(Approve, { target, props: { nonce } });
