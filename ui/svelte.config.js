// Read by @sveltejs/vite-plugin-svelte and svelte-check.
/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  compilerOptions: {
    // Svelte 5 runes everywhere; legacy `let`/`$:` reactivity is a compile error.
    runes: true,
  },
};
