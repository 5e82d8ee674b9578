/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

// The Tauri shell loads ui/dist from disk inside WebKitGTK, under a strict CSP
// (`default-src 'self'; style-src 'self' 'unsafe-inline'`). Hence: relative
// asset URLs, no source maps, and a target WebKitGTK 2.50 understands.
export default defineConfig({
  // svelteTesting only acts under Vitest: Svelte's browser build and DOM cleanup for component tests.
  plugins: [svelte(), svelteTesting()],
  base: './',
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari16',
    sourcemap: false,
    // Keep every asset a separate file: data: URLs would be blocked by the CSP.
    assetsInlineLimit: 0,
    // Three pages: the app, the agent's approval window and the quick-search
    // window (web views of their own, each with its own capability:
    // src-tauri/src/approval.rs, src-tauri/src/quick.rs).
    rollupOptions: {
      input: {
        // Relative to ui/, where npm runs the build.
        main: 'index.html',
        approve: 'approve.html',
        quick: 'quick.html',
      },
    },
  },
  server: {
    port: 1420,
    strictPort: true,
  },
  test: {
    // Component tests opt into jsdom with a `@vitest-environment jsdom` comment.
    environment: 'node',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test/setup.ts'],
  },
});
