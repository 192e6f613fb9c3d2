// generate.mjs - writes the generated monitoring files from their sources:
//   k8s/components/monitoring/prometheusrule.yaml (spec) -> deploy/prometheus/rules.yml
//   tests/monitoring/dashboard.mjs                      -> k8s/components/monitoring/grafana-dashboard.yaml
// Usage: node tests/monitoring/generate.mjs [--check]
//   --check: write nothing; exit 1 if a generated file differs from what would be generated.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { build } from './dashboard.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const comp = join(root, 'k8s/components/monitoring');
const yamlOpts = { lineWidth: 0, minContentWidth: 0 };

export function rulesFile() {
  const pr = YAML.parse(readFileSync(join(comp, 'prometheusrule.yaml'), 'utf8'));
  return '# GENERATED from k8s/components/monitoring/prometheusrule.yaml (its spec) by\n'
    + '# `node tests/monitoring/generate.mjs`; do not edit. The local Prometheus (scripts/prometheus.sh)\n'
    + '# loads it; tests/monitoring/run.sh checks it is identical to the PrometheusRule.\n'
    + YAML.stringify(pr.spec, yamlOpts);
}

export function dashboardConfigMap() {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'bookstore-grafana-dashboard',
      labels: {
        grafana_dashboard: '1',
        'app.kubernetes.io/name': 'bookstore-grafana-dashboard',
        'app.kubernetes.io/component': 'monitoring',
      },
    },
    data: { 'bookstore.json': JSON.stringify(build(), null, 2) + '\n' },
  };
  return '# GENERATED from tests/monitoring/dashboard.mjs by `node tests/monitoring/generate.mjs`; do not\n'
    + '# edit. The Grafana sidecar imports ConfigMaps labelled grafana_dashboard: "1" (docs/operations.md).\n'
    + YAML.stringify(cm, yamlOpts);
}

const outputs = [
  [join(root, 'deploy/prometheus/rules.yml'), rulesFile],
  [join(comp, 'grafana-dashboard.yaml'), dashboardConfigMap],
];

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [file, gen] of outputs) {
    const want = gen();
    let have = null;
    try { have = readFileSync(file, 'utf8'); } catch { /* missing */ }
    if (have === want) { if (check) console.log(`PASS  ${file.slice(root.length + 1)} is up to date`); continue; }
    if (check) { console.log(`FAIL  ${file.slice(root.length + 1)} is stale: run node tests/monitoring/generate.mjs`); stale = 1; }
    else { writeFileSync(file, want); console.log(`wrote ${file.slice(root.length + 1)}`); }
  }
  process.exit(stale);
}
