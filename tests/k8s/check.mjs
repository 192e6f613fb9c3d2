// check.mjs - offline checks of the Kubernetes manifests (k8s/), on `kubectl kustomize` output.
//
// Usage: node tests/k8s/check.mjs --root SOURCE_DIR [--crds DIR]... [--vars SERVICE=HELP.txt]...
//          [--target NAME=DIR:PROFILE]... [--out DIR]
//        node tests/k8s/check.mjs --dir DIR --render-only [--render OUT.yaml]   (kubectl kustomize DIR;
//          a DIR without kustomization.yaml but with base/ renders DIR/base)
// Default targets: k8s/base (base), k8s/overlays/dev (dev), k8s/overlays/prod (prod) and
// tests/k8s/variants/gateway (gateway: the base behind the Gateway API and Envoy Gateway).
// Exit 0 when everything passes; 1 with one "FAIL: ..." line per problem otherwise.
//
// For every target: every built-in object against the Kubernetes OpenAPI schemas
// (kubernetes-models, plus a strict unknown-field check), every custom resource against its CRD
// schema (crd.mjs, unknown fields rejected: the upstream CRD files where found, else the pinned npm
// packages; the source of each API group is printed), then the policies of checkTarget() below and the route
// list (routes.mjs). Once: the fixture of invalid Gateway API objects must be rejected, no
// ingress-nginx annotation anywhere under k8s/, the public OpenAPI documents against the route list,
// and every external Secret is documented in docs/deploy.md.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { loadSchemas } from './crd.mjs';
import { parseRouteList, checkIngress, checkHttpRoutes, checkOpenApi, covers, SERVICE_OF } from './routes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = path.join(here, 'node_modules', 'kubernetes-models');
const nmDir = path.join(here, 'node_modules');

// ---------------------------------------------------------------- the lists this check keeps
// External Secrets: created by the documented `kubectl create secret` commands (docs/deploy.md
// "Secrets"), never rendered by kustomize. Name -> keys (keys marked '?' are optional).
const EXTERNAL_SECRETS = {
  'bookstore-db-owner': ['DATABASE_URL'],
  'bookstore-db-catalog': ['DATABASE_URL'],
  'bookstore-db-orders': ['DATABASE_URL'],
  'bookstore-internal-token': ['INTERNAL_API_TOKEN', 'INTERNAL_API_TOKEN_PREVIOUS?'],
  'bookstore-postgres': ['POSTGRES_USER', 'POSTGRES_PASSWORD', 'OWNER_PASSWORD', 'CATALOG_PASSWORD', 'ORDERS_PASSWORD'],
  'bookstore-postgres-tls': ['tls.crt', 'tls.key'],
  'bookstore-tls': ['tls.crt', 'tls.key'], // issued by cert-manager in prod
};
const OPENAPI = { 'catalog-service': 'catalog-service/openapi.json', 'order-service': 'order-service/openapi.json' };
const RECOMMENDED_LABELS = ['name', 'instance', 'version', 'component', 'part-of', 'managed-by'].map((l) => `app.kubernetes.io/${l}`);
const API_PORT = 8000;
const ADMIN_PORT = 9000;
const MONITORING_NS = 'monitoring';
// Where a profile's edge (Ingress controller or Gateway proxies) runs: namespace labels.
const EDGE_NS = {
  base: { 'bookstore-edge': 'true', 'kubernetes.io/metadata.name': 'edge' },
  dev: { 'bookstore-edge': 'true', 'kubernetes.io/metadata.name': 'edge' },
  prod: { 'kubernetes.io/metadata.name': 'traefik' },
  gateway: { 'kubernetes.io/metadata.name': 'envoy-gateway-system' },
};
// Statuses the services answer themselves (JSON): no edge error page may replace them.
const SERVICE_STATUSES = ['401', '403', '404', '409', '422', '503'];

let failures = [];
let where0 = '';
const fail = (msg) => failures.push(where0 ? `[${where0}] ${msg}` : msg);
const passes = [];
const pass = (msg) => passes.push(where0 ? `[${where0}] ${msg}` : msg);

// ---------------------------------------------------------------- arguments
const args = process.argv.slice(2);
let root = path.resolve(here, '..', '..');
let renderDir = null;
let renderOut = null;
let renderOnly = false;
let outDir = null;
const crdDirs = [];
const helpFiles = {};
const targets = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--root') root = args[++i];
  else if (a === '--dir') renderDir = args[++i];
  else if (a === '--render') renderOut = args[++i];
  else if (a === '--render-only') renderOnly = true;
  else if (a === '--out') outDir = args[++i];
  else if (a === '--crds') crdDirs.push(args[++i]);
  else if (a === '--target') {
    const m = args[++i].match(/^([^=]+)=([^:]+):(\w+)$/);
    if (!m) { console.error('check.mjs: --target NAME=DIR:PROFILE'); process.exit(2); }
    targets.push({ name: m[1], dir: m[2], profile: m[3] });
  } else if (a === '--vars') {
    const [svc, file] = args[++i].split('=');
    helpFiles[svc] = file;
  } else {
    console.error(`check.mjs: unknown argument ${a}`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------- render with kubectl
function kustomize(dir) {
  let d = dir;
  if (!['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((f) => fs.existsSync(path.join(d, f))) &&
    fs.existsSync(path.join(d, 'base'))) d = path.join(d, 'base');
  const out = execFileSync('kubectl', ['kustomize', d], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  return out;
}
function parseDocs(text, file) {
  const objs = [];
  for (const d of YAML.parseAllDocuments(text)) {
    if (d.errors.length) { fail(`${file}: YAML error ${d.errors[0].message}`); continue; }
    const o = d.toJS();
    if (o == null) continue;
    o.__file = file;
    o.metadata = o.metadata || {};
    objs.push(o);
  }
  return objs;
}

// ---------------------------------------------------------------- schema validation
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume',
  'StorageClass', 'IngressClass', 'CustomResourceDefinition', 'PriorityClass', 'GatewayClass']);
async function validateSchema(o, crds) {
  const where = `${o.kind}/${o.metadata && o.metadata.name}`;
  if (!o.apiVersion || !o.kind) { fail(`${o.__file}: object without apiVersion/kind`); return; }
  const modPath = path.join(modelsDir, o.apiVersion, `${o.kind}.js`);
  if (!fs.existsSync(modPath)) {
    // Not a built-in kind: a custom resource, checked against its vendored CRD.
    for (const e of crds.validate(o)) fail(`${where}: CRD schema: ${e}`);
    return;
  }
  const mod = await import(modPath);
  const Cls = mod[o.kind];
  const clean = { ...o };
  delete clean.__file;
  try {
    new Cls(clean).validate();
  } catch (e) {
    fail(`${where}: schema: ${e.message}`);
    return;
  }
  strictFields(clean, path.join(modelsDir, o.apiVersion, `${o.kind}.d.ts`), where, '');
}

// Strict field check: parse the interface in each .d.ts (property names and the referenced
// interfaces) and walk the object; any key not declared is an error, as with kubectl --validate=strict.
const ifaceCache = new Map();
function loadIface(file) {
  if (ifaceCache.has(file)) return ifaceCache.get(file);
  let result = null;
  if (fs.existsSync(file)) {
    const src = fs.readFileSync(file, 'utf8');
    const imports = new Map();
    for (const m of src.matchAll(/import \{ (\w+) \} from "([^"]+)";/g)) {
      let p = m[2];
      if (p.startsWith('.')) p = path.resolve(path.dirname(file), p.replace(/\.js$/, '.d.ts'));
      else p = path.join(nmDir, p.replace(/\.js$/, '') + '.d.ts');
      imports.set(m[1], p);
    }
    const body = src.match(/export interface I\w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/);
    if (body) {
      const props = new Map();
      const lines = body[1].split('\n');
      for (let i = 0; i < lines.length; i++) {
        const m = lines[i].match(/^ {4}"([^"]+)"\??: (.*)$/);
        if (!m) continue;
        let t = m[2];
        let kind = 'leaf';
        if (t === '{') { // map type: the value type is on the next line
          const v = (lines[i + 1] || '').match(/\[key: string\]: (.*);$/);
          t = v ? v[1] : '';
          kind = 'map';
        } else if (t.startsWith('Array<')) {
          kind = 'array';
          t = t.slice(6, t.lastIndexOf('>'));
        } else kind = 'ref';
        t = t.replace(/;$/, '');
        const ref = /^IIo\w+$/.test(t) && imports.has(t) ? imports.get(t) : null;
        props.set(m[1], { kind: ref ? kind : 'leaf', ref });
      }
      result = props;
    }
  }
  ifaceCache.set(file, result);
  return result;
}
function strictFields(obj, file, where, prefix) {
  const props = loadIface(file);
  if (!props || obj === null || typeof obj !== 'object' || Array.isArray(obj)) return;
  for (const [key, val] of Object.entries(obj)) {
    const p = props.get(key);
    if (!p) { fail(`${where}: unknown field ${prefix}${key}`); continue; }
    if (!p.ref || val == null) continue;
    if (p.kind === 'ref') strictFields(val, p.ref, where, `${prefix}${key}.`);
    else if (p.kind === 'array' && Array.isArray(val)) val.forEach((v, i) => strictFields(v, p.ref, where, `${prefix}${key}[${i}].`));
    else if (p.kind === 'map') for (const [mk, mv] of Object.entries(val)) strictFields(mv, p.ref, where, `${prefix}${key}.${mk}.`);
  }
}

// ---------------------------------------------------------------- helpers for policies
const find = (objs, kind, name, ns) => objs.find((o) => o.kind === kind && o.metadata.name === name &&
  (ns === undefined || o.metadata.namespace === ns));
function quantityCpu(q) {
  if (q == null) return NaN;
  const s = String(q);
  return s.endsWith('m') ? Number(s.slice(0, -1)) / 1000 : Number(s);
}
function quantityBytes(q) {
  if (q == null) return NaN;
  const m = String(q).match(/^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/);
  if (!m) return NaN;
  const mult = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] || 1;
  return Number(m[1]) * mult;
}
function dataKeys(o) {
  return new Set([...Object.keys(o.data || {}), ...Object.keys(o.stringData || {}), ...Object.keys(o.binaryData || {})]);
}
// The variables a service reads, from its --help output: lines whose first word is an upper-case
// environment variable name.
function parseHelpVars(text) {
  const vars = new Set();
  // cfg_print_help() format: "  NAME   default: VALUE" followed by an indented help line.
  for (const m of text.matchAll(/^\s*([A-Z][A-Z0-9_]*)\s+default:/gm)) vars.add(m[1]);
  if (vars.size) return vars;
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*([A-Z][A-Z0-9_]*[A-Z0-9])(?:\s|=|:|$)/);
    if (m && m[1].length >= 3 && /[A-Z]{2}/.test(m[1]) && !['USAGE', 'ENVIRONMENT', 'OPTIONS'].includes(m[1])) vars.add(m[1]);
  }
  return vars;
}
function podSpecOf(obj) {
  const s = obj.spec || {};
  switch (obj.kind) {
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'Job':
      return s.template && s.template.spec;
    case 'CronJob':
      return s.jobTemplate && s.jobTemplate.spec && s.jobTemplate.spec.template && s.jobTemplate.spec.template.spec;
    case 'Pod':
      return s;
    default:
      return null;
  }
}
function podTemplateMeta(obj) {
  if (obj.kind === 'Pod') return obj.metadata || {};
  const t = obj.kind === 'CronJob' ? obj.spec.jobTemplate.spec.template : obj.spec && obj.spec.template;
  return (t && t.metadata) || {};
}
const podLabelsOf = (obj) => podTemplateMeta(obj).labels || {};
const allContainers = (ps) => [...(ps.initContainers || []).map((c) => ({ c, init: true })),
  ...(ps.containers || []).map((c) => ({ c, init: false }))];
function splitImage(image) {
  let digest = null;
  let rest = image;
  const at = rest.indexOf('@');
  if (at >= 0) { digest = rest.slice(at + 1); rest = rest.slice(0, at); }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  let tag = null;
  if (colon > slash) { tag = rest.slice(colon + 1); rest = rest.slice(0, colon); }
  return { name: rest, tag, digest };
}
// A label selector (matchLabels + matchExpressions In/NotIn/Exists/DoesNotExist) against labels.
function selects(sel, labels) {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels || {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions || []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    if (e.operator === 'In' && !(has && e.values.includes(labels[e.key]))) return false;
    if (e.operator === 'NotIn' && has && e.values.includes(labels[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}
const serviceOfImage = (image) => Object.values(SERVICE_OF).find((s) => splitImage(image || '').name.endsWith(`/${s}`) ||
  splitImage(image || '').name === s);

// Effective environment of a container: name -> value (string) or null (from a Secret / unknown).
// References to ConfigMaps must resolve in the rendered objects; references to Secrets must name an
// external Secret of EXTERNAL_SECRETS and one of its keys.
function secretKeys(name) {
  const keys = EXTERNAL_SECRETS[name];
  return keys && keys.map((k) => k.replace(/\?$/, ''));
}
const usedSecrets = new Map(); // name -> Set of keys used (all targets)
function useSecret(name, key, where) {
  const keys = secretKeys(name);
  if (!keys) { fail(`${where}: Secret ${name} is not an external Secret of the list in tests/k8s/check.mjs`); return; }
  if (key != null && !keys.includes(key)) fail(`${where}: Secret ${name} has no key ${key} (list in tests/k8s/check.mjs)`);
  if (!usedSecrets.has(name)) usedSecrets.set(name, new Set());
  if (key != null) usedSecrets.get(name).add(key);
  else for (const k of keys) usedSecrets.get(name).add(k);
}
function containerEnv(objs, ns, c, where) {
  const names = new Map();
  for (const ef of c.envFrom || []) {
    if (ef.secretRef) {
      useSecret(ef.secretRef.name, null, where);
      for (const k of secretKeys(ef.secretRef.name) || []) names.set((ef.prefix || '') + k, null);
      continue;
    }
    const src = find(objs, 'ConfigMap', ef.configMapRef.name, ns);
    if (!src) { if (!ef.configMapRef.optional) fail(`${where}: envFrom ConfigMap ${ef.configMapRef.name} does not exist`); continue; }
    for (const key of dataKeys(src)) names.set((ef.prefix || '') + key, (src.data || {})[key] ?? null);
  }
  for (const e of c.env || []) {
    let v = e.value === undefined ? null : e.value;
    const vf = e.valueFrom || {};
    if (vf.secretKeyRef) {
      useSecret(vf.secretKeyRef.name, vf.secretKeyRef.key, `${where} env ${e.name}`);
      v = null;
    } else if (vf.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const src = find(objs, 'ConfigMap', ref.name, ns);
      if (!src) { if (!ref.optional) fail(`${where}: env ${e.name}: ConfigMap ${ref.name} does not exist`); }
      else if (!dataKeys(src).has(ref.key)) { if (!ref.optional) fail(`${where}: env ${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`); }
      else v = src.data[ref.key];
    }
    names.set(e.name, v);
  }
  return names;
}

// ---------------------------------------------------------------- NetworkPolicy evaluation
// A peer: { ns: namespace labels, pod: pod labels } or { ip: true } (outside the cluster).
// Traffic from A to B:port is allowed when B's ingress and A's egress both admit it (a side with no
// policy of that direction selecting it is not isolated).
function ruleAdmits(peers, ports, other, port, ownNs) {
  if (ports && ports.length && !ports.some((p) => p.port === port || (typeof p.port === 'string' && p.port === port))) return false;
  if (!peers || !peers.length) return true;
  return peers.some((p) => {
    if (p.ipBlock) return !!other.ip;
    if (other.ip) return false;
    const nsOk = p.namespaceSelector ? selects(p.namespaceSelector, other.ns) || Object.keys(p.namespaceSelector).length === 0
      : other.ns['kubernetes.io/metadata.name'] === ownNs;
    const podOk = p.podSelector ? (Object.keys(p.podSelector).length === 0 || selects(p.podSelector, other.pod)) : true;
    return nsOk && podOk;
  });
}
const selectsPod = (np, pod) => Object.keys(np.spec.podSelector || {}).length === 0 || selects(np.spec.podSelector, pod);
function allowed(nps, ownNs, from, to, port) {
  const portOf = (peer) => peer;
  void portOf;
  if (!to.ip && to.ns['kubernetes.io/metadata.name'] === ownNs) {
    const ing = nps.filter((n) => (n.spec.policyTypes || ['Ingress']).includes('Ingress') && selectsPod(n, to.pod));
    if (ing.length && !ing.some((n) => (n.spec.ingress || []).some((r) => ruleAdmits(r.from, r.ports, from, port, ownNs)))) return false;
  }
  if (!from.ip && from.ns['kubernetes.io/metadata.name'] === ownNs) {
    const eg = nps.filter((n) => (n.spec.policyTypes || []).includes('Egress') && selectsPod(n, from.pod));
    if (eg.length && !eg.some((n) => (n.spec.egress || []).some((r) => ruleAdmits(r.to, r.ports, to, port, ownNs)))) return false;
  }
  return true;
}

// ---------------------------------------------------------------- per-target policies
function checkTarget(objs, profile, routeList) {
  const ns = objs.find((o) => o.kind === 'Namespace');
  const nsName = ns ? ns.metadata.name : 'bookstore';
  if (!ns) fail('no Namespace object');
  else if ((ns.metadata.labels || {})['pod-security.kubernetes.io/enforce'] !== 'restricted') fail(`Namespace ${nsName}: pod-security enforce label is not 'restricted'`);
  const seen = new Set();
  for (const o of objs) {
    const id = `${o.kind}/${o.metadata.name}`;
    if (seen.has(id)) fail(`duplicate object ${id}`);
    seen.add(id);
    if (o.kind !== 'Namespace' && !CLUSTER_SCOPED.has(o.kind) && o.metadata.namespace !== nsName) fail(`${id}: namespace ${o.metadata.namespace} is not ${nsName}`);
    if (o.kind === 'Secret') fail(`${id}: a Secret in the manifests; Secrets are external (docs/deploy.md "Secrets")`);
    // The recommended labels, on every object and every pod template.
    const check = (labels, what) => {
      for (const l of RECOMMENDED_LABELS) if (!(labels || {})[l]) fail(`${what}: label ${l} missing`);
    };
    check(o.metadata.labels, id);
    if (podSpecOf(o)) check(podLabelsOf(o), `${id} pod template`);
    for (const [k, v] of Object.entries(o.metadata.annotations || {})) {
      if (k.startsWith('nginx.ingress.kubernetes.io/')) fail(`${id}: ingress-nginx annotation ${k}=${v}`);
    }
  }

  const helpVars = {};
  for (const [svc, file] of Object.entries(helpFiles)) {
    const v = parseHelpVars(fs.readFileSync(file, 'utf8'));
    if (!v.has('DATABASE_URL') || !v.has('PORT')) fail(`${svc} --help: could not find DATABASE_URL and PORT in its output (${file})`);
    helpVars[svc] = v;
  }

  const workloads = objs.filter((o) => podSpecOf(o));
  const svcWorkloads = {};
  for (const w of workloads) {
    const ps = podSpecOf(w);
    const id = `${w.kind}/${w.metadata.name}`;
    const podSc = ps.securityContext || {};
    const labels = podLabelsOf(w);
    if (w.spec.selector && !selects(w.spec.selector, labels)) fail(`${id}: selector does not match the pod template labels`);
    if (ps.hostNetwork || ps.hostPID || ps.hostIPC) fail(`${id}: host namespaces are not allowed`);
    if (ps.automountServiceAccountToken !== false) fail(`${id}: automountServiceAccountToken is not false`);
    for (const { c, init } of allContainers(ps)) {
      const cw = `${id} container ${c.name}`;
      const sc = c.securityContext || {};
      const im = splitImage(c.image || '');
      if (!im.digest && (!im.tag || im.tag === 'latest')) fail(`${cw}: image ${c.image} is not pinned to a tag or digest`);
      if (!im.name.includes('/') || !im.name.split('/')[0].includes('.')) fail(`${cw}: image ${c.image} does not name its registry`);
      if (!['IfNotPresent', 'Always', 'Never'].includes(c.imagePullPolicy)) fail(`${cw}: imagePullPolicy is not set explicitly`);
      const ver = labels['app.kubernetes.io/version'];
      if (ver && !init && im.tag && im.tag !== ver && !im.tag.startsWith(`${ver}-`)) fail(`${cw}: label app.kubernetes.io/version ${ver} does not match the image tag ${im.tag}`);
      const r = c.resources || {};
      for (const kind of ['requests', 'limits']) {
        for (const res of ['cpu', 'memory']) if (!(r[kind] && r[kind][res] != null)) fail(`${cw}: resources.${kind}.${res} missing`);
      }
      if (r.requests && r.limits) {
        if (quantityCpu(r.requests.cpu) > quantityCpu(r.limits.cpu)) fail(`${cw}: cpu request above limit`);
        if (quantityBytes(r.requests.memory) > quantityBytes(r.limits.memory)) fail(`${cw}: memory request above limit`);
      }
      if ((sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true) fail(`${cw}: runAsNonRoot is not true`);
      if ((sc.runAsUser ?? podSc.runAsUser) === 0) fail(`${cw}: runAsUser 0`);
      if (sc.readOnlyRootFilesystem !== true) fail(`${cw}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) fail(`${cw}: allowPrivilegeEscalation is not false`);
      if (sc.privileged) fail(`${cw}: privileged`);
      if (!((sc.capabilities && sc.capabilities.drop) || []).includes('ALL')) fail(`${cw}: capabilities.drop does not include ALL`);
      if (((sc.capabilities && sc.capabilities.add) || []).length) fail(`${cw}: capabilities.add is not allowed`);
      if ((sc.seccompProfile || podSc.seccompProfile || {}).type !== 'RuntimeDefault') fail(`${cw}: seccompProfile is not RuntimeDefault`);
      const longRunning = !init && w.kind !== 'Job' && w.kind !== 'CronJob';
      if (longRunning) {
        if (!c.livenessProbe) fail(`${cw}: no livenessProbe`);
        if (!c.readinessProbe) fail(`${cw}: no readinessProbe`);
        for (const pr of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
          const port = pr && pr.httpGet && pr.httpGet.port;
          if (typeof port === 'string' && !(c.ports || []).some((p) => p.name === port)) fail(`${cw}: probe port ${port} is not a named container port`);
        }
      }
      const env = containerEnv(objs, w.metadata.namespace, c, cw);
      for (const vm of c.volumeMounts || []) {
        if (!(ps.volumes || []).some((v) => v.name === vm.name) && !((w.spec.volumeClaimTemplates || []).some((t) => t.metadata.name === vm.name))) fail(`${cw}: volumeMount ${vm.name} has no volume`);
      }
      const svc = serviceOfImage(c.image);
      if (!svc) continue;
      const isMigrate = (c.args || []).includes('--migrate');
      const dbSecret = c.env && c.env.find((e) => e.name === 'DATABASE_URL' && e.valueFrom && e.valueFrom.secretKeyRef);
      const dbName = dbSecret && dbSecret.valueFrom.secretKeyRef.name;
      if (isMigrate) {
        if (!init) fail(`${cw}: --migrate runs outside an init container`);
        if (dbName !== 'bookstore-db-owner') fail(`${cw}: migrations must run as the owner (Secret bookstore-db-owner), not ${dbName}`);
        if (helpVars[svc]) {
          const allowedVars = new Set([...helpVars[svc], 'MIGRATIONS_DIR']);
          for (const n of env.keys()) if (!allowedVars.has(n)) fail(`${cw}: sets ${n}, which ${svc} does not read`);
        }
        continue;
      }
      if (init) continue;
      svcWorkloads[svc] = w;
      const roleSecret = svc === 'catalog-service' ? 'bookstore-db-catalog' : 'bookstore-db-orders';
      if (dbName !== roleSecret) fail(`${cw}: DATABASE_URL must come from ${roleSecret} (least privilege), not ${dbName}`);
      if (helpVars[svc]) {
        const want = new Set([...helpVars[svc]].filter((v) => v !== 'MIGRATIONS_DIR'));
        for (const n of env.keys()) if (!want.has(n)) fail(`${cw}: sets ${n}, which ${svc} does not read (--help)`);
        for (const n of want) if (!env.has(n)) fail(`${cw}: does not set ${n}, which ${svc} reads (--help)`);
      }
      // Ports: PORT is the container port `http`, ADMIN_PORT the container port `admin`; every probe
      // uses `admin`.
      const portNamed = (name) => ((c.ports || []).find((p) => p.name === name) || {}).containerPort;
      if (Number(env.get('PORT')) !== API_PORT || portNamed('http') !== API_PORT) fail(`${cw}: PORT ${env.get('PORT')} / container port http ${portNamed('http')} is not ${API_PORT}`);
      if (Number(env.get('ADMIN_PORT')) !== ADMIN_PORT || portNamed('admin') !== ADMIN_PORT) fail(`${cw}: ADMIN_PORT ${env.get('ADMIN_PORT')} / container port admin ${portNamed('admin')} is not ${ADMIN_PORT}`);
      for (const [pn, pr] of [['startupProbe', c.startupProbe], ['livenessProbe', c.livenessProbe], ['readinessProbe', c.readinessProbe]]) {
        if (!pr) continue;
        if (!pr.httpGet || pr.httpGet.port !== 'admin') fail(`${cw}: ${pn} does not use the admin port (named admin)`);
      }
      if (c.livenessProbe && c.livenessProbe.httpGet && c.livenessProbe.httpGet.path !== '/health') fail(`${cw}: livenessProbe path is not /health`);
      if (c.readinessProbe && c.readinessProbe.httpGet && c.readinessProbe.httpGet.path !== '/ready') fail(`${cw}: readinessProbe path is not /ready`);
      const ann = podTemplateMeta(w).annotations || {};
      if (ann['prometheus.io/port'] && Number(ann['prometheus.io/port']) !== ADMIN_PORT) fail(`${id}: prometheus.io/port is not the admin port`);
      // BASE_PATH: the catalog's public prefix, which every catalog route of the route list is under.
      if (svc === 'catalog-service') {
        const bp = env.get('BASE_PATH');
        if (!bp) fail(`${cw}: BASE_PATH is not set`);
        else for (const r of routeList.filter((x) => x.service === svc)) if (!covers({ match: 'prefix', path: bp }, r.path) || r.path === bp) fail(`${cw}: route ${r.path} is not under BASE_PATH ${bp}`);
      }
      if (svc === 'order-service') {
        const u = env.get('CATALOG_SERVICE_URL') || '';
        const m = u.match(/^https?:\/\/([^:/]+)(?::(\d+))?\/?$/);
        const target = m && find(objs, 'Service', m[1]);
        const catEnv = svcWorkloads['catalog-service'] && podSpecOf(svcWorkloads['catalog-service']).containers[0];
        const bp = catEnv && containerEnv(objs, w.metadata.namespace, catEnv, cw).get('BASE_PATH');
        if ((env.get('CATALOG_BASE_PATH') ?? '') !== (bp ?? '')) fail(`${cw}: CATALOG_BASE_PATH ${env.get('CATALOG_BASE_PATH')} is not the catalog's BASE_PATH ${bp}`);
        if (!target) fail(`${cw}: CATALOG_SERVICE_URL ${u} does not name a Service of the namespace`);
        else {
          if (!target.spec.ports.some((p) => p.port === Number(m[2] || 80))) fail(`${cw}: CATALOG_SERVICE_URL port is not a port of Service ${m[1]}`);
          if ((target.spec.selector || {})['app.kubernetes.io/name'] !== 'catalog-service') fail(`${cw}: CATALOG_SERVICE_URL must be the catalog Service itself (never the edge)`);
        }
      }
      const sleep = (c.lifecycle && c.lifecycle.preStop && c.lifecycle.preStop.sleep && c.lifecycle.preStop.sleep.seconds) || 0;
      const drainMs = Number(env.get('SHUTDOWN_TIMEOUT_MS') ?? 10000);
      const grace = ps.terminationGracePeriodSeconds ?? 30;
      if (!sleep) fail(`${cw}: no preStop delay (endpoints must be removed before SIGTERM drains)`);
      if (sleep + drainMs / 1000 >= grace) fail(`${cw}: preStop ${sleep}s + SHUTDOWN_TIMEOUT_MS ${drainMs}ms >= terminationGracePeriodSeconds ${grace}`);
    }
    for (const v of ps.volumes || []) {
      if (v.configMap && !find(objs, 'ConfigMap', v.configMap.name) && !v.configMap.optional) fail(`${id}: volume ConfigMap ${v.configMap.name} missing`);
      if (v.secret) useSecret(v.secret.secretName, null, `${id} volume ${v.name}`);
      if (v.persistentVolumeClaim && !find(objs, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName)) fail(`${id}: PVC ${v.persistentVolumeClaim.claimName} missing`);
    }
    if (w.kind === 'Deployment') {
      const st = w.spec.strategy || {};
      if (st.type !== 'RollingUpdate' || !st.rollingUpdate || String(st.rollingUpdate.maxUnavailable) !== '0') fail(`${id}: rolling update must have maxUnavailable 0`);
      const rep = w.spec.replicas ?? 1;
      if (profile === 'dev' ? rep !== 1 : rep < 2) fail(`${id}: ${rep} replicas (${profile === 'dev' ? 'dev runs 1' : 'at least 2 outside dev'})`);
      if (!(ps.topologySpreadConstraints || []).some((t) => t.topologyKey === 'kubernetes.io/hostname' && selects(t.labelSelector, labels))) fail(`${id}: no topologySpreadConstraint across nodes matching its pods`);
      if (labels['app.kubernetes.io/component'] === 'api' && !objs.some((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.kind === 'Deployment' && o.spec.scaleTargetRef.name === w.metadata.name)) fail(`${id}: no HorizontalPodAutoscaler`);
      if (!objs.some((o) => o.kind === 'PodDisruptionBudget' && selects(o.spec.selector, labels))) fail(`${id}: no PodDisruptionBudget`);
    }
    if (w.kind === 'StatefulSet') {
      const s = find(objs, 'Service', w.spec.serviceName);
      if (!s) fail(`${id}: serviceName ${w.spec.serviceName} is not a Service`);
      else if (s.spec.clusterIP !== 'None') fail(`${id}: Service ${w.spec.serviceName} is not headless`);
      if (!(w.spec.volumeClaimTemplates || []).length) fail(`${id}: no volumeClaimTemplates`);
    }
  }
  for (const svc of Object.values(SERVICE_OF)) if (!svcWorkloads[svc]) fail(`no Deployment runs ${svc}`);
  for (const o of objs.filter((x) => x.kind === 'HorizontalPodAutoscaler')) {
    const t = o.spec.scaleTargetRef;
    const w = find(objs, t.kind, t.name);
    if (!w) fail(`HPA ${o.metadata.name}: target ${t.kind}/${t.name} missing`);
    else if (!podSpecOf(w).containers.every((c) => c.resources && c.resources.requests && c.resources.requests.cpu)) fail(`HPA ${o.metadata.name}: target containers lack cpu requests`);
    if (profile !== 'dev' && o.spec.minReplicas < 2) fail(`HPA ${o.metadata.name}: minReplicas below 2`);
  }
  for (const o of objs.filter((x) => x.kind === 'PodDisruptionBudget')) {
    if (!workloads.some((w) => selects(o.spec.selector, podLabelsOf(w)))) fail(`PDB ${o.metadata.name}: selects no workload`);
  }

  // Backups: one CronJob running pg_dump -Fc as the migration owner onto a PVC, with a retention.
  const backups = objs.filter((o) => o.kind === 'CronJob');
  if (backups.length !== 1) fail(`expected one backup CronJob, found ${backups.length}`);
  for (const b of backups) {
    const c = podSpecOf(b).containers[0];
    const script = [...(c.command || []), ...(c.args || [])].join(' ');
    if (!/pg_dump -Fc/.test(script)) fail(`CronJob/${b.metadata.name}: does not run pg_dump -Fc`);
    if (!/RETENTION_DAYS/.test(script) || !containerEnv(objs, b.metadata.namespace, c, 'backup').get('RETENTION_DAYS')) fail(`CronJob/${b.metadata.name}: no RETENTION_DAYS retention`);
    const db = (c.env || []).find((e) => e.name === 'DATABASE_URL');
    if (!db || !db.valueFrom || db.valueFrom.secretKeyRef.name !== 'bookstore-db-owner') fail(`CronJob/${b.metadata.name}: DATABASE_URL is not the owner's Secret`);
    if (!(podSpecOf(b).volumes || []).some((v) => v.persistentVolumeClaim)) fail(`CronJob/${b.metadata.name}: dumps are not written to a PVC`);
    if (b.spec.concurrencyPolicy !== 'Forbid') fail(`CronJob/${b.metadata.name}: concurrencyPolicy is not Forbid`);
  }

  // Services: select a workload, name its container ports, and never expose the admin port.
  for (const s of objs.filter((o) => o.kind === 'Service')) {
    const id = `Service/${s.metadata.name}`;
    const targets = workloads.filter((w) => Object.keys(s.spec.selector || {}).length && selects({ matchLabels: s.spec.selector }, podLabelsOf(w)));
    if (!targets.length) { fail(`${id}: selector ${JSON.stringify(s.spec.selector)} matches no workload`); continue; }
    for (const p of s.spec.ports || []) {
      const tp = p.targetPort ?? p.port;
      for (const w of targets) {
        const cports = podSpecOf(w).containers.flatMap((c) => c.ports || []);
        const cp = typeof tp === 'string' ? cports.find((x) => x.name === tp) : cports.find((x) => x.containerPort === tp);
        if (!cp) fail(`${id}: targetPort ${tp} is not a container port of ${w.kind}/${w.metadata.name}`);
        else if (cp.name === 'admin' || (serviceOfImage(podSpecOf(w).containers[0].image) && cp.containerPort === ADMIN_PORT)) fail(`${id}: exposes the admin port`);
      }
    }
  }
  const svcPort = (name, port) => {
    const s = find(objs, 'Service', name);
    if (!s) return false;
    return s.spec.ports.some((p) => (typeof port === 'string' ? p.name === port : p.port === port));
  };

  // The plain Ingress (base, dev, prod): controller-neutral, public paths only, JSON 404 default.
  const ingresses = objs.filter((o) => o.kind === 'Ingress');
  if (profile === 'gateway' ? ingresses.length !== 0 : ingresses.length !== 1) fail(`expected ${profile === 'gateway' ? 'no' : 'one'} Ingress, found ${ingresses.length}`);
  for (const ing of ingresses) {
    const id = `Ingress/${ing.metadata.name}`;
    const ann = ing.metadata.annotations || {};
    const annOk = (k) => (profile === 'prod' ? k.startsWith('cert-manager.io/') || k.startsWith('traefik.ingress.kubernetes.io/') : false);
    for (const k of Object.keys(ann)) if (!annOk(k)) fail(`${id}: annotation ${k} (the ${profile} Ingress carries no controller annotation)`);
    if (profile === 'prod') {
      if (ing.spec.ingressClassName !== 'traefik') fail(`${id}: prod serves the Ingress with Traefik (ingressClassName traefik)`);
      if (!ann['cert-manager.io/cluster-issuer'] && !ann['cert-manager.io/issuer']) fail(`${id}: no cert-manager issuer annotation in prod`);
    } else if (ing.spec.ingressClassName) fail(`${id}: ingressClassName ${ing.spec.ingressClassName} in a controller-neutral profile`);
    const tls = ing.spec.tls || [];
    if (profile === 'dev') { if (tls.length) fail(`${id}: dev has no TLS`); }
    else if (!tls.length || !tls.every((t) => t.secretName)) fail(`${id}: no TLS secretName`);
    for (const t of tls) useSecret(t.secretName, null, id);
    const db = ing.spec.defaultBackend && ing.spec.defaultBackend.service;
    if (!db || db.name !== 'default-backend' || !svcPort(db.name, db.port.name || db.port.number)) fail(`${id}: defaultBackend is not the JSON 404 backend default-backend`);
    for (const rule of ing.spec.rules || []) {
      for (const p of (rule.http && rule.http.paths) || []) {
        if (!['Prefix', 'Exact'].includes(p.pathType)) fail(`${id}: path ${p.path} has pathType ${p.pathType} (Prefix or Exact only)`);
        const b = p.backend.service;
        if (!b || !svcPort(b.name, b.port.name || b.port.number)) fail(`${id}: backend ${b && b.name}:${b && (b.port.name || b.port.number)} is not a Service port`);
      }
    }
    for (const e of checkIngress(ing, routeList)) fail(e);
    // Traefik middlewares named in the annotation exist, and never replace the services' answers.
    const mws = (ann['traefik.ingress.kubernetes.io/router.middlewares'] || '').split(',').filter(Boolean);
    for (const ref of mws) {
      const m = ref.match(/^(.+?)-(.+)@kubernetescrd$/);
      const mw = m && m[1] === nsName && find(objs, 'Middleware', m[2]);
      if (!mw) { fail(`${id}: middleware ${ref} is not a Middleware of the namespace`); continue; }
      const st = (mw.spec.errors && mw.spec.errors.status) || [];
      for (const s of st) if (SERVICE_STATUSES.some((x) => inStatusRange(s, x))) fail(`Middleware/${mw.metadata.name}: error pages would replace the services' own ${s} answers`);
    }
  }
  for (const s of objs.filter((o) => o.kind === 'Service')) {
    const ref = (s.metadata.annotations || {})['traefik.ingress.kubernetes.io/service.serverstransport'];
    if (ref) {
      const m = ref.match(/^(.+?)-(.+)@kubernetescrd$/);
      if (!m || m[1] !== nsName || !find(objs, 'ServersTransport', m[2])) fail(`Service/${s.metadata.name}: ServersTransport ${ref} does not exist`);
    }
  }

  // Gateway API (gateway profile): listeners, routes, the JSON 404 catch-all, timeouts.
  const gws = objs.filter((o) => o.kind === 'Gateway');
  const routes = objs.filter((o) => o.kind === 'HTTPRoute');
  if (profile === 'gateway') {
    if (gws.length !== 1) fail(`expected one Gateway, found ${gws.length}`);
    for (const e of checkHttpRoutes(objs, routeList)) fail(e);
  }
  for (const g of gws) {
    const id = `Gateway/${g.metadata.name}`;
    const ls = g.spec.listeners || [];
    if (!ls.some((l) => l.protocol === 'HTTP')) fail(`${id}: no HTTP listener`);
    const https = ls.filter((l) => l.protocol === 'HTTPS');
    if (!https.length) fail(`${id}: no HTTPS listener`);
    for (const l of https) for (const cr of (l.tls && l.tls.certificateRefs) || []) useSecret(cr.name, null, id);
    if (!Object.keys(g.metadata.annotations || {}).some((k) => k.startsWith('cert-manager.io/'))) fail(`${id}: no cert-manager issuer annotation`);
  }
  for (const r of routes) {
    const id = `HTTPRoute/${r.metadata.name}`;
    for (const p of r.spec.parentRefs || []) {
      const g = find(objs, 'Gateway', p.name);
      if (!g) fail(`${id}: parent Gateway ${p.name} missing`);
      else if (p.sectionName && !g.spec.listeners.some((l) => l.name === p.sectionName)) fail(`${id}: Gateway ${p.name} has no listener ${p.sectionName}`);
    }
    for (const rule of r.spec.rules || []) {
      for (const b of rule.backendRefs || []) if (!svcPort(b.name, b.port)) fail(`${id}: backend ${b.name}:${b.port} is not a Service port`);
      if ((rule.backendRefs || []).length && !(rule.timeouts && rule.timeouts.request)) fail(`${id}: rule ${rule.name || '?'} has no request timeout`);
    }
  }
  if (profile === 'gateway') {
    const catchAll = routes.find((r) => (r.spec.rules || []).some((rule) => (rule.matches || []).some((m) => m.path && m.path.type === 'PathPrefix' && m.path.value === '/') &&
      (rule.backendRefs || []).some((b) => b.name === 'default-backend')));
    if (!catchAll) fail('no catch-all HTTPRoute (PathPrefix /) to the JSON 404 backend default-backend');
  }
  // One public host everywhere (Ingress rules and TLS, Gateway listeners, HTTPRoutes).
  const hosts = new Set();
  for (const ing of ingresses) {
    for (const r of ing.spec.rules || []) hosts.add(r.host);
    for (const t of ing.spec.tls || []) for (const h of t.hosts || []) hosts.add(h);
  }
  for (const g of gws) for (const l of g.spec.listeners || []) if (l.hostname) hosts.add(l.hostname);
  for (const r of routes) for (const h of r.spec.hostnames || []) hosts.add(h);
  if (hosts.size > 1) fail(`more than one public host: ${[...hosts].join(', ')}`);
  // Envoy Gateway policies: targets exist; retries on a status or after sending only for GET/HEAD
  // rules; never on 503.
  for (const p of objs.filter((o) => o.kind === 'BackendTrafficPolicy')) {
    const id = `BackendTrafficPolicy/${p.metadata.name}`;
    const retry = p.spec.retry;
    const trig = (retry && retry.retryOn && retry.retryOn.triggers) || [];
    const codes = (retry && retry.retryOn && retry.retryOn.httpStatusCodes) || [];
    const unsafe = trig.some((t) => ['5xx', 'gateway-error', 'reset', 'retriable-status-codes', 'retriable-4xx', 'cancelled', 'deadline-exceeded', 'unavailable'].includes(t));
    if (codes.includes(503) || trig.includes('5xx') || trig.includes('gateway-error')) fail(`${id}: retries a 503 (an answer with Retry-After, never retried)`);
    for (const t of p.spec.targetRefs || []) {
      const obj = find(objs, t.kind, t.name);
      if (!obj) { fail(`${id}: target ${t.kind}/${t.name} missing`); continue; }
      if (t.kind === 'HTTPRoute') {
        const rules = (obj.spec.rules || []).filter((r) => !t.sectionName || r.name === t.sectionName);
        if (!rules.length) fail(`${id}: HTTPRoute ${t.name} has no rule ${t.sectionName}`);
        if (unsafe && !rules.every((r) => (r.matches || []).length && r.matches.every((m) => ['GET', 'HEAD'].includes(m.method)))) fail(`${id}: retries after sending on ${t.name}/${t.sectionName || '*'}, which is not GET/HEAD only`);
      } else if (unsafe) fail(`${id}: retries after sending for every route of ${t.kind}/${t.name}`);
    }
  }

  // NetworkPolicies: default deny, then exactly the flows; the admin port only from monitoring.
  const nps = objs.filter((o) => o.kind === 'NetworkPolicy');
  if (!nps.some((n) => Object.keys(n.spec.podSelector || {}).length === 0 && (n.spec.policyTypes || []).includes('Ingress') &&
    (n.spec.policyTypes || []).includes('Egress') && !n.spec.ingress && !n.spec.egress)) fail('no default-deny NetworkPolicy');
  const podOf = (name) => {
    const w = workloads.find((x) => podLabelsOf(x)['app.kubernetes.io/name'] === name);
    return w ? { ns: { 'kubernetes.io/metadata.name': nsName }, pod: podLabelsOf(w) } : null;
  };
  const cat = podOf('catalog-service');
  const ord = podOf('order-service');
  const pg = podOf('postgres');
  const bak = podOf('bookstore-backup');
  const dflt = podOf('default-backend');
  const edge = { ns: EDGE_NS[profile] || EDGE_NS.base, pod: { app: 'edge-proxy' } };
  const mon = { ns: { 'kubernetes.io/metadata.name': MONITORING_NS }, pod: { app: 'prometheus' } };
  const other = { ns: { 'kubernetes.io/metadata.name': 'elsewhere' }, pod: { app: 'x' } };
  const dns = { ns: { 'kubernetes.io/metadata.name': 'kube-system' }, pod: { 'k8s-app': 'kube-dns' } };
  const ext = { ip: true };
  const collector = { ns: { 'kubernetes.io/metadata.name': MONITORING_NS }, pod: { app: 'otel-collector' } };
  const flows = [
    ['edge -> catalog API', edge, cat, API_PORT, true], ['edge -> orders API', edge, ord, API_PORT, true],
    ['edge -> catalog admin', edge, cat, ADMIN_PORT, false], ['edge -> orders admin', edge, ord, ADMIN_PORT, false],
    ['edge -> JSON 404 backend', edge, dflt, 8080, true], ['edge -> postgres', edge, pg, 5432, false],
    ['monitoring -> catalog admin', mon, cat, ADMIN_PORT, true], ['monitoring -> orders admin', mon, ord, ADMIN_PORT, true],
    ['monitoring -> catalog API', mon, cat, API_PORT, false], ['monitoring -> postgres', mon, pg, 5432, false],
    ['other namespace -> catalog admin', other, cat, ADMIN_PORT, false], ['other namespace -> orders API', other, ord, API_PORT, false],
    ['outside -> catalog admin', ext, cat, ADMIN_PORT, false],
    ['orders -> catalog API', ord, cat, API_PORT, true], ['orders -> catalog admin', ord, cat, ADMIN_PORT, false],
    ['catalog -> orders API', cat, ord, API_PORT, false],
    ['catalog -> postgres', cat, pg, 5432, true], ['orders -> postgres', ord, pg, 5432, true],
    ['backup -> postgres', bak, pg, 5432, true], ['backup -> catalog API', bak, cat, API_PORT, false],
    ['JSON 404 backend -> postgres', dflt, pg, 5432, false], ['JSON 404 backend -> catalog', dflt, cat, API_PORT, false],
    ['catalog -> JWKS (HTTPS)', cat, ext, 443, true], ['orders -> JWKS (HTTPS)', ord, ext, 443, true],
    ['catalog -> outside :5432', cat, ext, 5432, false], ['postgres -> outside :443', pg, ext, 443, false],
    ['backup -> outside :443', bak, ext, 443, false],
    ['catalog -> DNS', cat, dns, 53, true], ['postgres -> DNS', pg, dns, 53, true],
    ['catalog -> OTLP collector', cat, collector, 4318, true], ['orders -> OTLP collector', ord, collector, 4318, true],
    ['postgres -> OTLP collector', pg, collector, 4318, false], ['orders -> monitoring :9090', ord, mon, 9090, false],
    ['orders -> outside :4318', ord, ext, 4318, false],
  ];
  let flowsOk = true;
  for (const [name, from, to, port, want] of flows) {
    if (!from || !to) { fail(`NetworkPolicy flow ${name}: a workload is missing`); flowsOk = false; continue; }
    const got = allowed(nps, nsName, from, to, port);
    if (got !== want) { fail(`NetworkPolicy flow ${name}:${port} is ${got ? 'allowed' : 'denied'}, should be ${want ? 'allowed' : 'denied'}`); flowsOk = false; }
  }
  // The admin port: every ingress rule that can admit it names only the monitoring namespace.
  for (const n of nps) {
    for (const r of n.spec.ingress || []) {
      const admitsAdmin = !(r.ports || []).length || r.ports.some((p) => p.port === ADMIN_PORT || p.port === 'admin');
      const onApiPods = [cat, ord].some((p) => p && selectsPod(n, p.pod));
      if (!admitsAdmin || !onApiPods) continue;
      const onlyMon = (r.from || []).length > 0 && r.from.every((p) => !p.ipBlock && p.namespaceSelector &&
        JSON.stringify(p.namespaceSelector) === JSON.stringify({ matchLabels: { 'kubernetes.io/metadata.name': MONITORING_NS } }));
      if (!onlyMon) { fail(`NetworkPolicy/${n.metadata.name}: admits the admin port from something other than the ${MONITORING_NS} namespace`); flowsOk = false; }
    }
  }
  if (flowsOk) pass(`NetworkPolicies: ${flows.length} flows as intended; admin port ${ADMIN_PORT} only from namespace ${MONITORING_NS} (kubelet probes: node traffic)`);
}
function inStatusRange(spec, code) {
  const m = String(spec).match(/^(\d{3})(?:-(\d{3}))?$/);
  if (!m) return false;
  const lo = Number(m[1]);
  const hi = Number(m[2] || m[1]);
  return Number(code) >= lo && Number(code) <= hi;
}

// ---------------------------------------------------------------- main
if (renderOnly) {
  try {
    const out = kustomize(renderDir || path.join(root, 'k8s'));
    if (renderOut) fs.writeFileSync(renderOut, out); else process.stdout.write(out);
    process.exit(0);
  } catch (e) {
    console.log(`FAIL: kubectl kustomize: ${(e.stderr || e.message).toString().trim()}`);
    process.exit(1);
  }
}
if (!targets.length) {
  targets.push({ name: 'base', dir: path.join(root, 'k8s/base'), profile: 'base' },
    { name: 'dev', dir: path.join(root, 'k8s/overlays/dev'), profile: 'dev' },
    { name: 'prod', dir: path.join(root, 'k8s/overlays/prod'), profile: 'prod' },
    { name: 'gateway', dir: path.join(root, 'tests/k8s/variants/gateway'), profile: 'gateway' });
}
// CRD schemas (crd.mjs): the upstream CRD files where found (--crds, else the default folders),
// else the pinned npm packages; which one per API group is printed.
const crds = await loadSchemas(crdDirs.length ? { dirs: crdDirs } : { root });
for (const l of crds.sources()) console.log(`CRD schema source: ${l}`);
for (const p of crds.problems) fail(p);
if (crds.files.length && !crds.problems.length) pass(`${crds.files.length} upstream CRD files, all pinned by sha256`);
for (const g of ['gateway.networking.k8s.io', 'gateway.envoyproxy.io', 'traefik.io', 'monitoring.coreos.com']) {
  if (!crds.covers(g)) fail(`no CRD schema source for ${g}: neither CRD files nor the npm package (see tests/k8s/crds/README.md)`);
}
const { routes: routeList, problems: routeProblems } = parseRouteList(path.join(root, 'deploy/public-routes.txt'));
for (const p of routeProblems) fail(p);

for (const t of targets) {
  where0 = t.name;
  let text;
  try {
    text = kustomize(t.dir);
  } catch (e) {
    fail(`kubectl kustomize ${t.dir}: ${(e.stderr || e.message).toString().trim()}`);
    continue;
  }
  if (outDir) fs.writeFileSync(path.join(outDir, `k8s-${t.name}.yaml`), text);
  const objs = parseDocs(text, t.dir);
  const before = failures.length;
  for (const o of objs) await validateSchema(o, crds);
  const custom = objs.filter((o) => !fs.existsSync(path.join(modelsDir, o.apiVersion, `${o.kind}.js`))).length;
  if (failures.length === before) pass(`${objs.length} objects render (kubectl kustomize) and validate: ${objs.length - custom} against the Kubernetes schemas, ${custom} against CRD schemas (strict fields)`);
  checkTarget(objs, t.profile, routeList);
  if (failures.length === before) pass(`all policies hold (profile ${t.profile})`);
}
where0 = '';

// The CRD validation rejects what it must: every object of the fixture, with the expected message.
const fixture = path.join(here, 'fixtures', 'gateway-api-invalid.yaml');
{
  const text = fs.readFileSync(fixture, 'utf8');
  const expects = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1].trim());
  const objs = parseDocs(text, fixture);
  const got = [];
  let rejected = 0;
  for (const o of objs) {
    const errs = crds.validate(o);
    if (errs.length) rejected++;
    else fail(`fixture ${path.basename(fixture)}: ${o.kind}/${o.metadata.name} was accepted; the validation must reject it`);
    got.push(...errs);
  }
  for (const e of expects) if (!got.some((g) => g.includes(e))) fail(`fixture ${path.basename(fixture)}: no error "${e}" (got: ${got.join(' | ')})`);
  if (rejected === objs.length && objs.length === expects.length) pass(`the ${objs.length} invalid Gateway API objects of the fixture are rejected with the expected messages`);
  else if (objs.length !== expects.length) fail(`fixture ${path.basename(fixture)}: ${objs.length} objects but ${expects.length} expect lines`);
}

// The policy checks bite: a base with the mistakes they exist for must produce every expected
// message (tests/k8s/fixtures/policy-violations).
{
  const dir = path.join(here, 'fixtures', 'policy-violations');
  const expects = [...fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8').matchAll(/^# expect: (.+)$/gm)].map((m) => m[1].trim());
  const saved = failures;
  const savedUse = new Map([...usedSecrets].map(([k, v]) => [k, new Set(v)]));
  failures = [];
  try {
    const objs = parseDocs(kustomize(dir), dir);
    for (const o of objs) await validateSchema(o, crds);
    checkTarget(objs, 'base', routeList);
  } catch (e) {
    failures.push(`kubectl kustomize: ${(e.stderr || e.message).toString().trim()}`);
  }
  const got = failures;
  failures = saved;
  usedSecrets.clear();
  for (const [k, v] of savedUse) usedSecrets.set(k, v);
  const missing = expects.filter((e) => !got.some((g) => g.includes(e)));
  for (const e of missing) fail(`fixture policy-violations: the checks did not report "${e}"`);
  if (!missing.length) pass(`the policy checks report all ${expects.length} planted mistakes of fixtures/policy-violations (${got.length} problems in all)`);
}

// No ingress-nginx annotation anywhere under k8s/ (files, not only rendered objects).
{
  const hits = [];
  const walkDir = (d) => {
    for (const f of fs.readdirSync(d)) {
      const p = path.join(d, f);
      if (fs.statSync(p).isDirectory()) walkDir(p);
      else if (fs.readFileSync(p, 'utf8').includes('nginx.ingress.kubernetes.io/')) hits.push(path.relative(root, p));
    }
  };
  walkDir(path.join(root, 'k8s'));
  if (hits.length) fail(`nginx.ingress.kubernetes.io/ appears under k8s/: ${hits.join(', ')}`);
  else pass('no nginx.ingress.kubernetes.io/ annotation anywhere under k8s/');
}

// The public OpenAPI documents against the route list.
for (const [svc, doc] of Object.entries(OPENAPI)) {
  const problems = checkOpenApi(svc, path.join(root, doc), routeList);
  if (problems.length) for (const p of problems) fail(p);
  else pass(`${doc} documents exactly the routed paths of ${svc}`);
}

// Every external Secret is used, with every listed key, and has its command in docs/deploy.md.
{
  const deployDoc = fs.readFileSync(path.join(root, 'docs/deploy.md'), 'utf8');
  for (const [name, keys] of Object.entries(EXTERNAL_SECRETS)) {
    if (!usedSecrets.has(name)) fail(`external Secret ${name} is listed but no manifest uses it`);
    if (!new RegExp(`create secret [a-z]+ ${name}\\b`).test(deployDoc)) fail(`docs/deploy.md has no "kubectl create secret ... ${name}" command`);
    for (const k of keys) {
      const bare = k.replace(/\?$/, '');
      if (!deployDoc.includes(bare) && !['tls.crt', 'tls.key'].includes(bare)) fail(`docs/deploy.md does not mention key ${bare} of Secret ${name}`);
    }
  }
  pass(`external Secrets (${Object.keys(EXTERNAL_SECRETS).join(', ')}): used with their keys and documented`);
}

for (const p of passes) console.log(`ok: ${p}`);
for (const f of failures) console.log(`FAIL: ${f}`);
for (const n of crds.notes) console.log(`note (npm fallback): ${n}`);
if (crds.celRules) console.log(`note: ${crds.celRules} CEL rules (x-kubernetes-validations) of the CRDs were not evaluated; the API server checks them`);
console.log(failures.length ? `${failures.length} problem(s)` : `all k8s checks passed (${targets.length} targets)`);
process.exit(failures.length ? 1 : 0);
