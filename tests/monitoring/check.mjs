// check.mjs - the monitoring-as-code checks that need no Prometheus (run.sh adds promtool's):
//   1. every object of k8s/components/monitoring validates STRICTLY (unknown fields rejected): the
//      PodMonitor and PrometheusRule with the one CRD validator, tests/k8s/crd.mjs (upstream
//      Prometheus Operator CRD files when found, else the pinned npm package; the source is printed,
//      see tests/k8s/crds/README.md), the ConfigMap against a small schema; the Component's kustomization lists every file;
//      and the validator itself rejects a deliberately broken copy (so this check can fail);
//   2. deploy/prometheus/rules.yml is identical (parsed) to the PrometheusRule's spec;
//   3. every alert has summary, description, severity and a runbook_url whose anchor is a heading of
//      docs/operations.md;
//   4. every metric named in an alert or dashboard expression is in the metrics tables of
//      docs/operations.md (catches a misspelled metric name that still parses);
//   5. writes the dashboard's expressions as recording rules to --dashboard-rules FILE (variables
//      replaced by sample values), for `promtool check rules` (catches PromQL syntax errors).
// Usage: node check.mjs [--dashboard-rules FILE]; prints PASS/FAIL lines, exit 1 on any FAIL.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import Ajv from 'ajv';
import YAML from 'yaml';
import { loadSchemas } from '../k8s/crd.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const comp = join(root, 'k8s/components/monitoring');
let failed = 0;
const ok = (m) => console.log(`PASS  ${m}`);
const bad = (m) => { console.log(`FAIL  ${m}`); failed = 1; };

// ---- 1. strict CRD-schema validation --------------------------------------------------------------
// Custom resources: the shared strict validator (tests/k8s/crd.mjs). The ConfigMap: a small schema.
const crds = await loadSchemas({ root });
for (const l of crds.sources()) console.log(`      CRD schema source: ${l}`);
for (const p of crds.problems) bad(p);
if (crds.sourceOf('monitoring.coreos.com')) ok(`Prometheus Operator schemas from ${crds.sourceOf('monitoring.coreos.com') === 'files' ? 'the upstream CRD files' : 'the pinned npm package'}`);
else bad('no Prometheus Operator CRD schema: neither the CRD files nor the npm package (see tests/k8s/crds/README.md)');

const objectMeta = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 },
    namespace: { type: 'string' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};
const ajv = new Ajv({ allErrors: true, strict: true });
const validators = new Map(); // "apiVersion/kind" -> validate function (built-in kinds)
validators.set('v1/ConfigMap', ajv.compile({
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'data'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'v1' },
    kind: { const: 'ConfigMap' },
    metadata: objectMeta,
    data: { type: 'object', additionalProperties: { type: 'string' } },
  },
}));

function validate(obj) {
  if (obj?.apiVersion?.startsWith('monitoring.coreos.com/')) return crds.validate(obj);
  const fn = validators.get(`${obj?.apiVersion}/${obj?.kind}`);
  if (!fn) return [`no schema for ${obj?.apiVersion} ${obj?.kind}`];
  if (fn(obj)) return [];
  return fn.errors.map((e) => `${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`);
}

const kust = YAML.parse(readFileSync(join(comp, 'kustomization.yaml'), 'utf8'));
if (kust.apiVersion === 'kustomize.config.k8s.io/v1alpha1' && kust.kind === 'Component') ok('kustomization.yaml is a kustomize Component');
else bad('k8s/components/monitoring/kustomization.yaml must be apiVersion kustomize.config.k8s.io/v1alpha1, kind Component');
const objs = [];
for (const r of kust.resources ?? []) {
  if (!existsSync(join(comp, r))) { bad(`kustomization resource ${r} does not exist`); continue; }
  for (const doc of YAML.parseAllDocuments(readFileSync(join(comp, r), 'utf8'))) {
    if (doc.errors.length) { bad(`${r}: YAML error ${doc.errors[0].message}`); continue; }
    const o = doc.toJS();
    if (o) objs.push([r, o]);
  }
}
for (const [r, o] of objs) {
  const errs = validate(o);
  if (errs.length) bad(`${r}: ${o.kind} ${o.metadata?.name}: ${errs.join('; ')}`);
  else ok(`${r}: ${o.kind} ${o.metadata.name} matches the ${o.apiVersion} schema (strict)`);
}
for (const kind of ['PodMonitor', 'PrometheusRule', 'ConfigMap']) {
  if (!objs.some(([, o]) => o.kind === kind)) bad(`the Component has no ${kind}`);
}
// The validator must be able to fail: a copy with an unknown field, and one with a wrong type.
for (const [r, o] of objs.filter(([, x]) => x.kind !== 'ConfigMap')) {
  const c1 = structuredClone(o);
  if (o.kind === 'PodMonitor') c1.spec.podMetricsEndpoints[0].portt = 'admin';
  else c1.spec.groups[0].rules[0].forr = '5m';
  const c2 = structuredClone(o);
  if (o.kind === 'PodMonitor') c2.spec.podMetricsEndpoints[0].honorLabels = 'yes';
  else c2.spec.groups[0].rules[0].labels = { severity: 1 };
  if (validate(c1).length && validate(c2).length) ok(`${r}: the validator rejects an unknown field and a wrong type`);
  else bad(`${r}: the validator accepted a broken ${o.kind} (unknown field or wrong type)`);
}

// ---- 2. rules.yml == PrometheusRule spec ----------------------------------------------------------
const pr = objs.find(([, o]) => o.kind === 'PrometheusRule')?.[1];
const rulesFile = YAML.parse(readFileSync(join(root, 'deploy/prometheus/rules.yml'), 'utf8'));
if (pr && isDeepStrictEqual(pr.spec, rulesFile)) ok('deploy/prometheus/rules.yml is identical to the PrometheusRule spec');
else bad('deploy/prometheus/rules.yml differs from the PrometheusRule spec (run node tests/monitoring/generate.mjs)');

// ---- 3. alert annotations and runbook anchors -----------------------------------------------------
const opsDoc = readFileSync(join(root, 'docs/operations.md'), 'utf8');
// GitHub's heading anchors: lower case, punctuation other than - and _ removed, spaces -> -.
const anchors = new Set(opsDoc.split('\n').filter((l) => /^#{1,6} /.test(l))
  .map((l) => l.replace(/^#+ /, '').trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-')));
const alerts = (pr?.spec.groups ?? []).flatMap((g) => g.rules.filter((x) => x.alert));
for (const a of alerts) {
  const miss = ['summary', 'description', 'runbook_url'].filter((k) => !a.annotations?.[k]);
  if (!a.labels?.severity) miss.push('labels.severity');
  const m = /^docs\/operations\.md#(.+)$/.exec(a.annotations?.runbook_url ?? '');
  if (!m) miss.push('runbook_url docs/operations.md#anchor');
  else if (!anchors.has(m[1])) miss.push(`a heading for #${m[1]} in docs/operations.md`);
  if (miss.length) bad(`alert ${a.alert}: missing ${miss.join(', ')}`);
  else ok(`alert ${a.alert}: summary, description, severity, runbook ${a.annotations.runbook_url}`);
}

// ---- 4. metric names against docs/operations.md ---------------------------------------------------
// Documented series: first-column `name` of the table rows in the "## Metrics" section.
const metricsSection = opsDoc.split(/^## /m).find((s) => s.startsWith('Metrics')) ?? '';
const documented = new Map();
for (const line of metricsSection.split('\n')) {
  const m = /^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)`[^|]*\| *([a-z]+)/.exec(line);
  if (m) documented.set(m[1], m[2]);
}
const known = new Set();
for (const [n, type] of documented) {
  known.add(n);
  if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) known.add(n + s);
}
if (documented.size >= 30) ok(`docs/operations.md documents ${documented.size} series`);
else bad(`docs/operations.md: only ${documented.size} series found in the Metrics tables`);

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring',
  'group_left', 'group_right', 'inf', 'nan', 'atan2']);
export function metricNames(expr) {
  let e = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  e = e.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  e = e.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [];
  for (const m of e.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const before = e[m.index - 1];
    if (before && /[0-9.]/.test(before)) continue; // 1e3, 5m outside brackets
    const after = e.slice(m.index + m[0].length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}
const VARS = [['$__rate_interval', '5m'], ['$__interval', '1m'], ['$__range', '1h'], ['${job}', 'catalog-service|order-service'], ['$job', 'catalog-service|order-service']];
const subst = (e) => VARS.reduce((s, [k, v]) => s.split(k).join(v), e);

const dash = JSON.parse(YAML.parse(readFileSync(join(comp, 'grafana-dashboard.yaml'), 'utf8')).data['bookstore.json']);
const exprs = []; // [where, expr]
for (const a of alerts) exprs.push([`alert ${a.alert}`, a.expr]);
for (const p of dash.panels) for (const t of p.targets ?? []) exprs.push([`panel "${p.title}" ${t.refId}`, subst(t.expr)]);
for (const v of dash.templating.list.filter((x) => x.type === 'query')) {
  const m = /^label_values\((.+),\s*[a-zA-Z_][a-zA-Z0-9_]*\)$/.exec(v.definition);
  if (!m) bad(`variable ${v.name}: query ${v.definition} is not label_values(SERIES, label)`);
  else exprs.push([`variable ${v.name}`, subst(m[1])]);
}
let unknown = 0;
for (const [where, e] of exprs) {
  for (const n of metricNames(e)) if (!known.has(n)) { bad(`${where}: metric ${n} is not in docs/operations.md`); unknown++; }
}
if (!unknown) ok(`${exprs.length} expressions (alerts, dashboard) use only documented metrics`);
const panelCount = dash.panels.filter((p) => p.type !== 'row').length;
const used = new Set(exprs.flatMap(([, e]) => metricNames(e)).map((n) => n.replace(/_(bucket|sum|count)$/, '')));
const unused = [...documented.keys()].filter((n) => documented.get(n) !== 'external' && !used.has(n));
if (unused.length) bad(`documented metrics shown nowhere (dashboard or alerts): ${unused.join(', ')}`);
else ok(`every documented bookstore metric appears in the dashboard or an alert (${panelCount} panels)`);

// ---- 5. dashboard expressions as recording rules for promtool ----------------------------------
const outIdx = process.argv.indexOf('--dashboard-rules');
if (outIdx > 0) {
  const rules = exprs.filter(([w]) => !w.startsWith('alert ')).map(([where, expr], i) => ({
    record: `dashboard:expr_${i + 1}`,
    expr,
    labels: { where: where.replace(/"/g, "'") },
  }));
  writeFileSync(process.argv[outIdx + 1], YAML.stringify({ groups: [{ name: 'dashboard-expressions', rules }] }, { lineWidth: 0 }));
  ok(`wrote ${rules.length} dashboard expressions as recording rules to ${process.argv[outIdx + 1]}`);
}
process.exit(failed);
