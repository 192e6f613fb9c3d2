// exposition.mjs - checks one scrape of a service against the contract in docs/operations.md:
// every metric documented for SERVICE is declared (# TYPE) with its documented type; every sample of
// it has exactly the documented labels (plus `le` on histogram buckets); unlabelled series have a
// sample; bookstore_build_info{service=SERVICE} is 1; nothing undocumented uses a reserved prefix of
// ours. (`promtool check metrics` does the format lint; check-exposition.sh runs both.)
// Usage: node exposition.mjs SERVICE FILE   (FILE: a saved GET /metrics answer)
import { readFileSync } from 'node:fs';
import { readContract } from './metrics-doc.mjs';

const [svc, file] = process.argv.slice(2);
if (!svc || !file) { console.error('usage: node exposition.mjs SERVICE FILE'); process.exit(2); }
const text = readFileSync(file, 'utf8');
let failed = 0;
const bad = (m) => { console.log(`FAIL  ${svc}: ${m}`); failed = 1; };

const types = new Map();
const samples = []; // [name, {labels}, value]
for (const line of text.split('\n')) {
  let m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/.exec(line);
  if (m) { types.set(m[1], m[2]); continue; }
  if (line === '' || line.startsWith('#')) continue;
  m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
  if (!m) { bad(`unparsable line: ${line}`); continue; }
  const labels = {};
  for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
  samples.push([m[1], labels, m[3]]);
}

const contract = readContract().filter((c) => c.services.includes(svc));
if (!contract.length) { bad('no metrics documented for this service'); process.exit(1); }
const owned = new Set();
for (const c of contract) {
  const t = types.get(c.name);
  if (!t) { bad(`${c.name} (${c.type}) is not exposed`); continue; }
  if (t !== c.type) bad(`${c.name} is a ${t}, documented as ${c.type}`);
  const names = c.type === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => c.name + s) : [c.name];
  names.forEach((n) => owned.add(n));
  const mine = samples.filter(([n]) => names.includes(n));
  if (!c.labels.length && !mine.length) bad(`${c.name} has no sample`);
  for (const [n, labels] of mine) {
    const want = [...c.labels, ...(n.endsWith('_bucket') ? ['le'] : [])].sort().join(',');
    const have = Object.keys(labels).sort().join(',');
    if (want !== have) { bad(`${n} has labels {${have}}, documented {${want}}`); break; }
  }
}
const info = samples.find(([n, l]) => n === 'bookstore_build_info' && l.service === svc);
if (contract.some((c) => c.name === 'bookstore_build_info') && (!info || Number(info[2]) !== 1)) {
  bad(`bookstore_build_info{service="${svc}"} 1 is missing`);
}
const prefixes = /^(http_|db_|catalog_|recovery_|orders_|reservations_|bookstore_|process_)/;
for (const n of new Set(samples.map(([n]) => n))) {
  if (prefixes.test(n) && !owned.has(n)) bad(`${n} is exposed but not documented for ${svc} in docs/operations.md`);
}
if (!failed) console.log(`PASS  ${svc}: the scrape matches the ${contract.length} metrics documented for it`);
process.exit(failed);
