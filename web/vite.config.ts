import { defineConfig } from 'vite';

// One SPA (index.html: agent desktop, supervisor and admin views) built into
// dist/, which the Go binary embeds (web/embed.go). The customer chat widget
// (src/widget/) is a separate build, vite.widget.config.ts, run after this
// one: a single dist/widget.js, so that customers' sites never load the
// desktop's code.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    emptyOutDir: true, // public/placeholder.html is copied back on every build
    assetsDir: 'assets',
    target: 'es2022',
    modulePreload: { polyfill: false }, // no inline code: the CSP forbids it
    rollupOptions: {
      input: { app: 'index.html' },
    },
  },
  server: {
    // `npm run dev` against `atende serve` on :8080.
    proxy: { '/api': { target: 'http://127.0.0.1:8080', ws: true } },
  },
  test: { include: ['src/**/*.test.ts'] },
} as never);
