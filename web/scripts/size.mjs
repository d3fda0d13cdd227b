// The JavaScript a first load of the app fetches (the scripts and module
// preloads index.html names), gzipped, against a budget of 300 KB; and the
// chat widget (dist/widget.js, loaded on customers' pages), against its own
// budget of 25 KB. Fails the build over either.
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const kb = (n) => (n / 1024).toFixed(1) + ' KB';
let over = false;

const budget = 300 * 1024;
const html = readFileSync('dist/index.html', 'utf8');
const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
let raw = 0;
let gz = 0;
for (const f of files) {
  const b = readFileSync('dist/' + f);
  raw += b.length;
  gz += gzipSync(b, { level: 9 }).length;
}
console.log(`first-load JS: ${files.length} file(s), ${kb(raw)} raw, ${kb(gz)} gzipped (budget ${kb(budget)})`);
if (gz > budget) {
  console.error('over the first-load JavaScript budget');
  over = true;
}

const widgetBudget = 25 * 1024;
if (!existsSync('dist/widget.js')) {
  console.error('dist/widget.js is missing: build it with vite build --config vite.widget.config.ts');
  over = true;
} else {
  const w = readFileSync('dist/widget.js');
  const wgz = gzipSync(w, { level: 9 }).length;
  console.log(`chat widget: ${kb(w.length)} raw, ${kb(wgz)} gzipped (budget ${kb(widgetBudget)})`);
  if (wgz > widgetBudget) {
    console.error('over the chat widget budget');
    over = true;
  }
}
if (over) process.exit(1);
