import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The admin page (issue 15): a Preact single-page app served by the API at /admin/.
// `npm run build` writes it to dist/admin after `nest build` (which empties dist/ first).
export default defineConfig({
  root: import.meta.dirname,
  base: '/admin/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // `npm run dev:admin`: Vite's dev server on :5173/admin/, the API proxied to `npm start`'s :3000.
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
  build: {
    outDir: resolve(import.meta.dirname, '../../dist/admin'),
    emptyOutDir: true,
    target: 'es2022',
    // Everything is served by the app itself: no CDN, no web fonts, no inlined runtime fetches.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
