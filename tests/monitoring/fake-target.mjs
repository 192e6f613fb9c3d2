// fake-target.mjs - a stand-in scrape target for the monitoring tests (no C service needed): serves
// GET /metrics on 127.0.0.1 with every metric docs/operations.md documents for SERVICE, counters
// growing on every scrape. Proves scripts/prometheus.sh, prom-up.sh and check-exposition.sh work, and
// (with --drop NAME) that check-exposition.sh fails on a scrape that breaks the contract.
// Usage: node fake-target.mjs SERVICE PORTFILE [--drop NAME]
//   listens on a free port, writes it to PORTFILE, serves until SIGTERM.
import { createServer } from 'node:http';
import { writeFileSync, renameSync } from 'node:fs';
import { readContract } from './metrics-doc.mjs';

const [svc, portFile] = process.argv.slice(2);
const dropIdx = process.argv.indexOf('--drop');
const drop = dropIdx > 0 ? process.argv[dropIdx + 1] : null;
const contract = readContract().filter((c) => c.services.includes(svc) && c.name !== drop);
const SAMPLE = {
  route: '/books', method: 'GET', status: '200', sqlstate_class: '23', outcome: 'ok',
  reason: 'out_of_stock', result: 'taken', service: svc, version: '0.1.0', commit: '0123abc',
};
const LAT = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SIZE = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576];
const started = Math.floor(Date.now() / 1000);
let scrapes = 0;

function render() {
  scrapes++;
  const lines = [];
  for (const c of contract) {
    const lab = (extra = {}) => {
      const all = { ...Object.fromEntries(c.labels.map((l) => [l, SAMPLE[l] ?? 'x'])), ...extra };
      const s = Object.entries(all).map(([k, v]) => `${k}="${v}"`).join(',');
      return s ? `{${s}}` : '';
    };
    lines.push(`# HELP ${c.name} ${c.name} (fake target of tests/monitoring).`, `# TYPE ${c.name} ${c.type}`);
    if (c.type === 'counter') lines.push(`${c.name}${lab()} ${scrapes * 10}`);
    else if (c.type === 'gauge') {
      const v = c.name === 'bookstore_build_info' ? 1 : c.name === 'process_start_time_seconds' ? started : 3;
      lines.push(`${c.name}${lab()} ${v}`);
    } else {
      const bounds = c.name.endsWith('_bytes') ? SIZE : LAT;
      bounds.forEach((b, i) => lines.push(`${c.name}_bucket${lab({ le: String(b) })} ${Math.round(scrapes * 10 * (i + 1) / bounds.length)}`));
      lines.push(`${c.name}_bucket${lab({ le: '+Inf' })} ${scrapes * 10}`, `${c.name}_sum${lab()} ${scrapes * 0.5}`, `${c.name}_count${lab()} ${scrapes * 10}`);
    }
  }
  return lines.join('\n') + '\n';
}

const server = createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
    res.end(render());
  } else { res.writeHead(404); res.end(); }
});
server.listen(0, '127.0.0.1', () => {
  writeFileSync(`${portFile}.tmp`, `${server.address().port}\n`);
  renameSync(`${portFile}.tmp`, portFile);
});
process.on('SIGTERM', () => process.exit(0));
// Never outlive the test that started it (e.g. killed by a ctest timeout): exit when orphaned.
const parent = process.ppid;
setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000).unref();
