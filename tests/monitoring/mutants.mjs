// mutants.mjs - proves the alert unit tests can fail: for every alert, mutated copies of
// deploy/prometheus/rules.yml must each make `promtool test rules` fail: the alert never fires
// (`vector(0) > 1`), fires always (`vector(1)`), and (when it has one) fires without its `for`.
// Usage: node mutants.mjs TMPDIR   (prints PASS/FAIL per mutant; exit 1 if a mutant survives)
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import YAML from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const tmp = resolve(process.argv[2] ?? '/tmp');
mkdirSync(tmp, { recursive: true });
const rules = YAML.parse(readFileSync(join(root, 'deploy/prometheus/rules.yml'), 'utf8'));
const tests = YAML.parse(readFileSync(join(here, 'alerts.test.yml'), 'utf8'));
const alerts = rules.groups.flatMap((g) => g.rules.filter((r) => r.alert).map((r) => r.alert));

let failed = 0;
for (const name of alerts) {
  const orig = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === name);
  for (const [kind, mutate] of [
    ['never fires', (r) => { r.expr = 'vector(0) > 1'; }],
    ['always fires', (r) => { r.expr = 'vector(1)'; }],
    ...(orig.for ? [['without its for', (r) => { delete r.for; }]] : []),
  ]) {
    const m = structuredClone(rules);
    for (const g of m.groups) for (const r of g.rules) if (r.alert === name) mutate(r);
    const rf = join(tmp, `mutant-${name}-${kind.replace(/ /g, '_')}.yml`);
    writeFileSync(rf, YAML.stringify(m, { lineWidth: 0 }));
    const t = { ...structuredClone(tests), rule_files: [rf] };
    const tf = join(tmp, `mutant-${name}-${kind.replace(/ /g, '_')}.test.yml`);
    writeFileSync(tf, YAML.stringify(t, { lineWidth: 0 }));
    const res = spawnSync('promtool', ['test', 'rules', tf], { encoding: 'utf8' });
    if (res.error) { console.log(`FAIL  promtool: ${res.error.message}`); process.exit(1); }
    if (res.status !== 0) console.log(`PASS  mutant "${name} ${kind}" is caught by alerts.test.yml`);
    else { console.log(`FAIL  mutant "${name} ${kind}" passes alerts.test.yml: the tests do not pin this alert`); failed = 1; }
  }
}
process.exit(failed);
