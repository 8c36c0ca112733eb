// Prints the size of what the browser loads first (the entry script and
// what it imports statically, gzip) and of every other chunk, and fails
// the build when the first load is over the budget (150 KB gzip).
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUDGET = 150 * 1024;
const dir = new URL('../dist/', import.meta.url);
const html = readFileSync(new URL('index.html', dir), 'utf8');
const first = new Set(
  [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]),
);
let firstTotal = 0;
const rows = [];
for (const name of readdirSync(new URL('assets/', dir))) {
  const path = `assets/${name}`;
  const gz = gzipSync(readFileSync(new URL(path, dir))).length;
  const initial = first.has(path);
  if (initial && name.endsWith('.js')) firstTotal += gz;
  rows.push(`${initial ? 'first load' : 'on demand '}  ${(gz / 1024).toFixed(1).padStart(7)} KB gzip  ${path}`);
}
console.log(rows.sort().join('\n'));
console.log(`JavaScript on first load: ${(firstTotal / 1024).toFixed(1)} KB gzip (budget ${BUDGET / 1024} KB)`);
if (firstTotal > BUDGET) {
  console.error('error: the first load is over the JavaScript budget');
  process.exit(1);
}
