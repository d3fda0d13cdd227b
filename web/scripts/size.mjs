// The JavaScript a first load of the app fetches (the scripts and module
// preloads index.html names), gzipped. Fails over the budget of 300 KB.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

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
const kb = (n) => (n / 1024).toFixed(1) + ' KB';
console.log(`first-load JS: ${files.length} file(s), ${kb(raw)} raw, ${kb(gz)} gzipped (budget ${kb(budget)})`);
if (gz > budget) {
  console.error('over the first-load JavaScript budget');
  process.exit(1);
}
