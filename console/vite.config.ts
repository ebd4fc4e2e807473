import path from 'node:path';
import { defineConfig } from 'vite';

const here = import.meta.dirname;

// The console is served by the gateway itself (src/api/console.ts): everything is bundled,
// nothing is fetched from a CDN, and no web fonts are used.
export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(here, '../dist/console'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    // No inline data: URLs: the gateway's content security policy serves files only.
    assetsInlineLimit: 0,
  },
  logLevel: 'warn',
});
