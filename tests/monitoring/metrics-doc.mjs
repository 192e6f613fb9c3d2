// metrics-doc.mjs - reads the metrics contract from docs/operations.md ("## Metrics" tables):
// [{ name, type, labels: [..], services: [..] }]. A table's services come from its heading
// ("(both services)", "(order-service)") or, in mixed tables, from a row's "— <service>" suffix;
// tables under a heading with "elsewhere" are series other programs expose (services: []).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVICES = ['catalog-service', 'order-service'];
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function readContract(file = join(root, 'docs/operations.md')) {
  const doc = readFileSync(file, 'utf8');
  const section = doc.split(/^## /m).find((s) => s.startsWith('Metrics')) ?? '';
  const out = [];
  let heading = '';
  for (const line of section.split('\n')) {
    if (line.startsWith('### ')) { heading = line; continue; }
    const m = /^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| *([a-z]+) *\| *([^|]*)\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    const labels = [...m[3].matchAll(/`([a-zA-Z_][a-zA-Z0-9_]*)`/g)].map((x) => x[1]);
    let services;
    if (/elsewhere/i.test(heading)) services = [];
    else if (/both services/.test(heading)) services = [...SERVICES];
    else {
      const own = SERVICES.filter((s) => heading.includes(`(${s})`));
      services = own.length ? own : SERVICES.filter((s) => m[4].includes(`— ${s}`));
    }
    out.push({ name: m[1], type: m[2], labels, services });
  }
  return out;
}
