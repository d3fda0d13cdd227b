import { defineConfig } from 'vite';

// The customer chat widget (src/widget/): one IIFE file, dist/widget.js, with
// a stable name because customers embed its URL in their pages. It is built
// after the app (which empties dist/) and must not empty dist/ itself. Its
// CSS is inlined into the script and applied inside its shadow root.
export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  define: { 'process.env.NODE_ENV': JSON.stringify('production') },
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    target: 'es2022',
    copyPublicDir: false,
    lib: {
      entry: 'src/widget/widget.tsx',
      formats: ['iife'],
      name: 'atendeWidget',
      fileName: () => 'widget.js',
    },
  },
} as never);
