/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The Tauri shell loads ui/dist from disk inside WebKitGTK, under a strict CSP
// (`default-src 'self'; style-src 'self' 'unsafe-inline'`). Hence: relative
// asset URLs, no source maps, and a target WebKitGTK 2.50 understands.
export default defineConfig({
  plugins: [svelte()],
  base: './',
  clearScreen: false,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'safari16',
    sourcemap: false,
    // Keep every asset a separate file: data: URLs would be blocked by the CSP.
    assetsInlineLimit: 0,
  },
  server: {
    port: 1420,
    strictPort: true,
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
