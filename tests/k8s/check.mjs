// check.mjs - offline `kubectl kustomize k8s/` + schema validation + policy checks.
//
// Usage: node tests/k8s/check.mjs --dir k8s [--render out.yaml]
//          [--vars catalog-service=help.txt] [--vars order-service=help.txt] [--nginx deploy/nginx/x]
//        node tests/k8s/check.mjs --dir k8s --render-only [--render out.yaml]   (like kubectl kustomize)
// Exit 0 when everything passes; 1 with one "FAIL: ..." line per problem otherwise.
//
// Rendering supports the kustomization features k8s/ uses (resources as files, namespace, labels
// without selectors, images) and rejects any other field, so the output equals kubectl's.
// Validation: every object against the Kubernetes OpenAPI schemas (kubernetes-models), plus a strict
// unknown-field check derived from the same models' type definitions (like kubectl's
// --validate=strict). Policies are listed in checkPolicies() below.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelsDir = path.join(here, 'node_modules', 'kubernetes-models');
const nmDir = path.join(here, 'node_modules');

const failures = [];
const fail = (msg) => failures.push(msg);
const passes = [];
const pass = (msg) => passes.push(msg);

// ---------------------------------------------------------------- arguments
const args = process.argv.slice(2);
let dir = 'k8s';
let renderOut = null;
let nginxConf = null;
let renderOnly = false;
const helpFiles = {};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--dir') dir = args[++i];
  else if (a === '--render') renderOut = args[++i];
  else if (a === '--nginx') nginxConf = args[++i];
  else if (a === '--render-only') renderOnly = true;
  else if (a === '--vars') {
    const [svc, file] = args[++i].split('=');
    helpFiles[svc] = file;
  } else {
    console.error(`check.mjs: unknown argument ${a}`);
    process.exit(2);
  }
}

// ---------------------------------------------------------------- render (kustomize subset)
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume',
  'StorageClass', 'IngressClass', 'CustomResourceDefinition', 'PriorityClass']);
const KUSTOMIZATION_KEYS = new Set(['apiVersion', 'kind', 'namespace', 'labels', 'resources', 'images']);

function podSpecOf(obj) {
  const s = obj.spec || {};
  switch (obj.kind) {
    case 'Deployment': case 'StatefulSet': case 'DaemonSet': case 'ReplicaSet': case 'Job':
      return s.template && s.template.spec;
    case 'CronJob':
      return s.jobTemplate && s.jobTemplate.spec && s.jobTemplate.spec.template &&
        s.jobTemplate.spec.template.spec;
    case 'Pod':
      return s;
    default:
      return null;
  }
}
function podLabelsOf(obj) {
  if (obj.kind === 'Pod') return (obj.metadata && obj.metadata.labels) || {};
  const t = obj.spec && obj.spec.template;
  return (t && t.metadata && t.metadata.labels) || {};
}
const allContainers = (ps) => [...(ps.initContainers || []).map((c) => ({ c, init: true })),
  ...(ps.containers || []).map((c) => ({ c, init: false }))];

function splitImage(image) {
  // name[:tag][@digest]; a ':' after the last '/' is the tag separator.
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

function render(kdir) {
  const kfile = ['kustomization.yaml', 'kustomization.yml', 'Kustomization']
    .map((f) => path.join(kdir, f)).find((f) => fs.existsSync(f));
  if (!kfile) { fail(`no kustomization.yaml in ${kdir}`); return []; }
  const k = YAML.parse(fs.readFileSync(kfile, 'utf8'));
  for (const key of Object.keys(k)) {
    if (!KUSTOMIZATION_KEYS.has(key)) fail(`kustomization: field '${key}' is not supported by this renderer`);
  }
  if (k.kind !== 'Kustomization') fail('kustomization: kind must be Kustomization');
  const objs = [];
  for (const res of k.resources || []) {
    const p = path.join(kdir, res);
    if (!fs.existsSync(p) || !fs.statSync(p).isFile()) { fail(`kustomization: resource ${res} not found`); continue; }
    const docs = YAML.parseAllDocuments(fs.readFileSync(p, 'utf8'));
    for (const d of docs) {
      if (d.errors.length) { fail(`${res}: YAML error ${d.errors[0].message}`); continue; }
      const o = d.toJS();
      if (o == null) continue;
      o.__file = res;
      objs.push(o);
    }
  }
  for (const o of objs) {
    o.metadata = o.metadata || {};
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const l of k.labels || []) {
      if (l.includeSelectors || l.includeTemplates) fail('kustomization: labels with includeSelectors/includeTemplates are not supported');
      o.metadata.labels = { ...(o.metadata.labels || {}), ...l.pairs };
    }
    const ps = podSpecOf(o);
    if (ps) {
      for (const { c } of allContainers(ps)) {
        if (!c.image) continue;
        const im = splitImage(c.image);
        for (const rule of k.images || []) {
          if (rule.name !== im.name) continue;
          const name = rule.newName || im.name;
          if (rule.digest) c.image = `${name}@${rule.digest}`;
          else c.image = `${name}:${rule.newTag || im.tag || 'latest'}`;
        }
      }
    }
    // A Namespace object must carry the kustomization namespace's name when both exist.
  }
  // Stable order like kustomize's legacy sort: Namespace first, then the rest in file order.
  objs.sort((a, b) => (a.kind === 'Namespace' ? 0 : 1) - (b.kind === 'Namespace' ? 0 : 1));
  return objs;
}

// ---------------------------------------------------------------- schema validation
const MODULE_FOR = (apiVersion) => (apiVersion.includes('/') ? apiVersion : apiVersion);
async function validateSchema(o) {
  const where = `${o.kind}/${o.metadata && o.metadata.name} (${o.__file})`;
  if (!o.apiVersion || !o.kind) { fail(`${o.__file}: object without apiVersion/kind`); return; }
  const modPath = path.join(modelsDir, MODULE_FOR(o.apiVersion), `${o.kind}.js`);
  if (!fs.existsSync(modPath)) { fail(`${where}: unknown apiVersion/kind ${o.apiVersion} ${o.kind}`); return; }
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
  strictFields(clean, path.join(modelsDir, MODULE_FOR(o.apiVersion), `${o.kind}.d.ts`), where, '');
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
const matches = (selector, labels) => selector && Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([k, v]) => labels[k] === v);
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
// Effective environment variable names of a container and the ConfigMap values it gets.
function containerEnv(objs, ns, c, where) {
  const names = new Map(); // name -> value (string) or null when from a Secret / unknown
  for (const ef of c.envFrom || []) {
    const ref = ef.configMapRef || ef.secretRef;
    const kind = ef.configMapRef ? 'ConfigMap' : 'Secret';
    const src = ref && find(objs, kind, ref.name, ns);
    if (!src) {
      if (!(ref && ref.optional)) fail(`${where}: envFrom ${kind} ${ref && ref.name} does not exist`);
      continue;
    }
    for (const key of dataKeys(src)) {
      const v = kind === 'ConfigMap' ? (src.data || {})[key] : null;
      names.set((ef.prefix || '') + key, v === undefined ? null : v);
    }
  }
  for (const e of c.env || []) {
    let v = e.value === undefined ? null : e.value;
    const vf = e.valueFrom || {};
    const ref = vf.configMapKeyRef || vf.secretKeyRef;
    if (ref) {
      const kind = vf.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const src = find(objs, kind, ref.name, ns);
      if (!src) { if (!ref.optional) fail(`${where}: env ${e.name}: ${kind} ${ref.name} does not exist`); }
      else if (!dataKeys(src).has(ref.key)) { if (!ref.optional) fail(`${where}: env ${e.name}: ${kind} ${ref.name} has no key ${ref.key}`); }
      else if (kind === 'ConfigMap') v = src.data[ref.key];
      else v = null;
    }
    names.set(e.name, v);
  }
  return names;
}

// ---------------------------------------------------------------- policies
function checkPolicies(objs) {
  const ns = objs.find((o) => o.kind === 'Namespace');
  if (!ns) fail('no Namespace object');
  else {
    const l = ns.metadata.labels || {};
    if (l['pod-security.kubernetes.io/enforce'] !== 'restricted') fail(`Namespace ${ns.metadata.name}: pod-security enforce label is not 'restricted'`);
    else pass('namespace enforces Pod Security restricted');
    for (const o of objs) {
      if (o.kind !== 'Namespace' && !CLUSTER_SCOPED.has(o.kind) && o.metadata.namespace !== ns.metadata.name) {
        fail(`${o.kind}/${o.metadata.name}: namespace ${o.metadata.namespace} is not ${ns.metadata.name}`);
      }
    }
  }
  const names = new Set();
  for (const o of objs) {
    const key = `${o.kind}/${o.metadata.namespace || ''}/${o.metadata.name}`;
    if (names.has(key)) fail(`duplicate object ${key}`);
    names.add(key);
  }

  const helpVars = {};
  for (const [svc, file] of Object.entries(helpFiles)) {
    const v = parseHelpVars(fs.readFileSync(file, 'utf8'));
    if (!v.has('DATABASE_URL') || !v.has('PORT')) fail(`${svc} --help: could not find DATABASE_URL and PORT in its output (${file})`);
    helpVars[svc] = v;
  }

  const workloads = objs.filter((o) => podSpecOf(o));
  for (const w of workloads) {
    const ps = podSpecOf(w);
    const where = `${w.kind}/${w.metadata.name}`;
    const podSc = ps.securityContext || {};
    const wns = w.metadata.namespace;
    const labels = podLabelsOf(w);
    if (w.spec.selector && !matches(w.spec.selector.matchLabels, labels)) fail(`${where}: selector does not match the pod template labels`);
    if (ps.hostNetwork || ps.hostPID || ps.hostIPC) fail(`${where}: host namespaces are not allowed`);
    for (const { c, init } of allContainers(ps)) {
      const cw = `${where} container ${c.name}`;
      const sc = c.securityContext || {};
      // Pinned image: an explicit tag other than latest, or a digest.
      const im = splitImage(c.image || '');
      if (!im.digest && (!im.tag || im.tag === 'latest')) fail(`${cw}: image ${c.image} is not pinned to a tag or digest`);
      // Resources.
      const r = c.resources || {};
      for (const kind of ['requests', 'limits']) {
        for (const res of ['cpu', 'memory']) {
          if (!(r[kind] && r[kind][res] != null)) fail(`${cw}: resources.${kind}.${res} missing`);
        }
      }
      if (r.requests && r.limits) {
        if (quantityCpu(r.requests.cpu) > quantityCpu(r.limits.cpu)) fail(`${cw}: cpu request above limit`);
        if (quantityBytes(r.requests.memory) > quantityBytes(r.limits.memory)) fail(`${cw}: memory request above limit`);
      }
      // Security context (container level, or inherited from the pod where Kubernetes allows it).
      const runAsNonRoot = sc.runAsNonRoot ?? podSc.runAsNonRoot;
      if (runAsNonRoot !== true) fail(`${cw}: runAsNonRoot is not true`);
      if ((sc.runAsUser ?? podSc.runAsUser) === 0) fail(`${cw}: runAsUser 0`);
      if (sc.readOnlyRootFilesystem !== true) fail(`${cw}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) fail(`${cw}: allowPrivilegeEscalation is not false`);
      if (sc.privileged) fail(`${cw}: privileged`);
      const drop = (sc.capabilities && sc.capabilities.drop) || [];
      if (!drop.includes('ALL')) fail(`${cw}: capabilities.drop does not include ALL`);
      if (((sc.capabilities && sc.capabilities.add) || []).length) fail(`${cw}: capabilities.add is not allowed`);
      const seccomp = (sc.seccompProfile || podSc.seccompProfile || {}).type;
      if (seccomp !== 'RuntimeDefault') fail(`${cw}: seccompProfile is not RuntimeDefault`);
      // Probes on long-running containers.
      if (!init && w.kind !== 'Job' && w.kind !== 'CronJob') {
        if (!c.livenessProbe) fail(`${cw}: no livenessProbe`);
        if (!c.readinessProbe) fail(`${cw}: no readinessProbe`);
        for (const pr of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
          const port = pr && pr.httpGet && pr.httpGet.port;
          if (typeof port === 'string' && !(c.ports || []).some((p) => p.name === port)) fail(`${cw}: probe port ${port} is not a named container port`);
        }
      }
      // References to ConfigMaps/Secrets, and the exact variable set for our services.
      const env = containerEnv(objs, wns, c, cw);
      const svc = Object.keys(helpVars).find((s) => im.name.endsWith(`/${s}`) || im.name === s);
      if (svc) {
        const want = new Set([...helpVars[svc]].filter((v) => v !== 'MIGRATIONS_DIR'));
        const have = new Set(env.keys());
        const isMigrate = (c.args || []).includes('--migrate');
        if (isMigrate) {
          const allowed = new Set([...helpVars[svc], 'MIGRATIONS_DIR']);
          for (const n of have) if (!allowed.has(n)) fail(`${cw}: sets ${n}, which ${svc} does not read`);
          if (!have.has('DATABASE_URL')) fail(`${cw}: migration container has no DATABASE_URL`);
        } else {
          for (const n of have) if (!want.has(n) && !(n === 'MIGRATIONS_DIR' && helpVars[svc].has(n))) fail(`${cw}: sets ${n}, which ${svc} does not read (--help)`);
          for (const n of want) if (!have.has(n)) fail(`${cw}: does not set ${n}, which ${svc} reads (--help)`);
          if (helpVars[svc].has('CATALOG_SERVICE_URL') && env.get('CATALOG_SERVICE_URL')) {
            const u = env.get('CATALOG_SERVICE_URL');
            const m = u.match(/^https?:\/\/([^:/]+)(?::(\d+))?/);
            const target = m && find(objs, 'Service', m[1], wns);
            if (!target) fail(`${cw}: CATALOG_SERVICE_URL ${u} does not name a Service`);
            else if (!target.spec.ports.some((p) => p.port === Number(m[2] || 80))) fail(`${cw}: CATALOG_SERVICE_URL port is not a port of Service ${m[1]}`);
          }
          // Graceful stop: preStop delay + drain deadline must fit in the grace period.
          const sleep = (c.lifecycle && c.lifecycle.preStop && c.lifecycle.preStop.sleep && c.lifecycle.preStop.sleep.seconds) || 0;
          const drainMs = Number(env.get('SHUTDOWN_TIMEOUT_MS') ?? 10000);
          const grace = ps.terminationGracePeriodSeconds ?? 30;
          if (!sleep) fail(`${cw}: no preStop delay (endpoints must be removed before SIGTERM drains)`);
          if (sleep + drainMs / 1000 >= grace) fail(`${cw}: preStop ${sleep}s + SHUTDOWN_TIMEOUT_MS ${drainMs}ms >= terminationGracePeriodSeconds ${grace}`);
          const port = Number(env.get('PORT'));
          if (!(c.ports || []).some((p) => p.containerPort === port)) fail(`${cw}: PORT ${port} is not a containerPort`);
        }
      }
      for (const vm of c.volumeMounts || []) {
        if (!(ps.volumes || []).some((v) => v.name === vm.name) &&
          !((w.spec.volumeClaimTemplates || []).some((t) => t.metadata.name === vm.name))) fail(`${cw}: volumeMount ${vm.name} has no volume`);
      }
    }
    for (const v of ps.volumes || []) {
      if (v.configMap && !find(objs, 'ConfigMap', v.configMap.name, wns) && !v.configMap.optional) fail(`${where}: volume ConfigMap ${v.configMap.name} missing`);
      if (v.secret && !find(objs, 'Secret', v.secret.secretName, wns) && !v.secret.optional) fail(`${where}: volume Secret ${v.secret.secretName} missing`);
    }
    if (w.kind === 'Deployment') {
      const st = w.spec.strategy || {};
      if (st.type !== 'RollingUpdate' || !st.rollingUpdate || String(st.rollingUpdate.maxUnavailable) !== '0') fail(`${where}: rolling update must have maxUnavailable 0`);
      if ((w.spec.replicas ?? 1) < 2) fail(`${where}: fewer than 2 replicas`);
      const tsc = ps.topologySpreadConstraints || [];
      if (!tsc.some((t) => t.topologyKey === 'kubernetes.io/hostname' && matches(t.labelSelector && t.labelSelector.matchLabels, labels))) fail(`${where}: no topologySpreadConstraint across nodes matching its pods`);
      if (!objs.some((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.kind === 'Deployment' && o.spec.scaleTargetRef.name === w.metadata.name)) fail(`${where}: no HorizontalPodAutoscaler`);
      if (!objs.some((o) => o.kind === 'PodDisruptionBudget' && matches(o.spec.selector && o.spec.selector.matchLabels, labels))) fail(`${where}: no PodDisruptionBudget`);
    }
    if (w.kind === 'StatefulSet') {
      if (!find(objs, 'Service', w.spec.serviceName, wns)) fail(`${where}: serviceName ${w.spec.serviceName} is not a Service`);
      else if (find(objs, 'Service', w.spec.serviceName, wns).spec.clusterIP !== 'None') fail(`${where}: Service ${w.spec.serviceName} is not headless`);
      if (!(w.spec.volumeClaimTemplates || []).length) fail(`${where}: no volumeClaimTemplates`);
    }
  }
  for (const o of objs.filter((x) => x.kind === 'HorizontalPodAutoscaler')) {
    const t = o.spec.scaleTargetRef;
    const w = find(objs, t.kind, t.name, o.metadata.namespace);
    if (!w) fail(`HPA ${o.metadata.name}: target ${t.kind}/${t.name} missing`);
    else if ((o.spec.metrics || []).some((m) => m.type === 'Resource' && m.resource.name === 'cpu') &&
      !podSpecOf(w).containers.every((c) => c.resources && c.resources.requests && c.resources.requests.cpu)) fail(`HPA ${o.metadata.name}: target containers lack cpu requests`);
  }
  for (const o of objs.filter((x) => x.kind === 'PodDisruptionBudget')) {
    if (!workloads.some((w) => matches(o.spec.selector && o.spec.selector.matchLabels, podLabelsOf(w)))) fail(`PDB ${o.metadata.name}: selects no workload`);
  }

  // Services select workload pods and name real container ports.
  for (const s of objs.filter((o) => o.kind === 'Service')) {
    const where = `Service/${s.metadata.name}`;
    const sel = s.spec.selector;
    const targets = workloads.filter((w) => w.metadata.namespace === s.metadata.namespace && matches(sel, podLabelsOf(w)));
    if (!targets.length) { fail(`${where}: selector ${JSON.stringify(sel)} matches no Deployment/StatefulSet pod labels`); continue; }
    for (const p of s.spec.ports || []) {
      const tp = p.targetPort ?? p.port;
      for (const w of targets) {
        const ports = podSpecOf(w).containers.flatMap((c) => c.ports || []);
        const ok = typeof tp === 'string' ? ports.some((cp) => cp.name === tp) : ports.some((cp) => cp.containerPort === tp);
        if (!ok) fail(`${where}: targetPort ${tp} is not a container port of ${w.kind}/${w.metadata.name}`);
      }
    }
    pass(`${where} selects ${targets.map((w) => w.metadata.name).join(', ')}`);
  }

  // Ingress backends name existing Service ports; regex paths use ImplementationSpecific.
  for (const ing of objs.filter((o) => o.kind === 'Ingress')) {
    const where = `Ingress/${ing.metadata.name}`;
    const ann = ing.metadata.annotations || {};
    if (ing.spec.ingressClassName !== 'nginx') fail(`${where}: ingressClassName is not nginx`);
    if (!(ing.spec.tls || []).every((t) => t.secretName) || !(ing.spec.tls || []).length) fail(`${where}: no TLS secretName`);
    if (!ann['nginx.ingress.kubernetes.io/limit-rps'] && !ann['nginx.ingress.kubernetes.io/limit-rpm']) fail(`${where}: no rate-limit annotation`);
    for (const rule of ing.spec.rules || []) {
      for (const p of (rule.http && rule.http.paths) || []) {
        const isRegex = /[()$^*+?[\]|\\]/.test(p.path);
        if (isRegex && p.pathType !== 'ImplementationSpecific') fail(`${where}: regex path ${p.path} needs pathType ImplementationSpecific`);
        if (isRegex && ann['nginx.ingress.kubernetes.io/use-regex'] !== 'true') fail(`${where}: regex path ${p.path} without use-regex`);
        const b = p.backend.service;
        const svc = b && find(objs, 'Service', b.name, ing.metadata.namespace);
        if (!svc) { fail(`${where}: backend Service ${b && b.name} missing`); continue; }
        const ok = b.port.name ? svc.spec.ports.some((sp) => sp.name === b.port.name) : svc.spec.ports.some((sp) => sp.port === b.port.number);
        if (!ok) fail(`${where}: backend ${b.name} port ${b.port.name || b.port.number} is not a port of the Service`);
        else pass(`${where} ${p.path} -> ${b.name}:${b.port.name || b.port.number}`);
      }
    }
  }

  // NetworkPolicies: a default deny for both directions, and DNS egress.
  const nps = objs.filter((o) => o.kind === 'NetworkPolicy');
  if (!nps.some((n) => Object.keys(n.spec.podSelector || {}).length === 0 && (n.spec.policyTypes || []).includes('Ingress') &&
    (n.spec.policyTypes || []).includes('Egress') && !n.spec.ingress && !n.spec.egress)) fail('no default-deny NetworkPolicy');
  if (!nps.some((n) => (n.spec.egress || []).some((e) => (e.ports || []).some((p) => p.port === 53)))) fail('no DNS egress NetworkPolicy');
}

// Local nginx "ingress" (scripts/cluster.sh) must mirror the Ingress: same regex locations, the
// same rewrite, X-Forwarded-Prefix, body size and retry policy.
function checkNginxMirror(objs, file) {
  const conf = fs.readFileSync(file, 'utf8');
  for (const ing of objs.filter((o) => o.kind === 'Ingress')) {
    const ann = ing.metadata.annotations || {};
    const where = `nginx mirror (${path.basename(file)}) vs Ingress/${ing.metadata.name}`;
    for (const rule of ing.spec.rules || []) {
      for (const p of rule.http.paths) {
        if (!conf.includes(`location ~* "^${p.path}"`)) fail(`${where}: no 'location ~* "^${p.path}"'`);
        const rt = ann['nginx.ingress.kubernetes.io/rewrite-target'];
        if (rt && !conf.includes(`rewrite "(?i)${p.path}" ${rt} break;`)) fail(`${where}: no 'rewrite "(?i)${p.path}" ${rt} break;'`);
      }
    }
    const xfp = ann['nginx.ingress.kubernetes.io/x-forwarded-prefix'];
    if (xfp && !conf.includes(`proxy_set_header X-Forwarded-Prefix "${xfp}";`)) fail(`${where}: no X-Forwarded-Prefix "${xfp}"`);
    const nu = ann['nginx.ingress.kubernetes.io/proxy-next-upstream'];
    if (nu && !conf.includes(`proxy_next_upstream ${nu};`)) fail(`${where}: proxy_next_upstream differs`);
    const nt = ann['nginx.ingress.kubernetes.io/proxy-next-upstream-tries'];
    if (nt && !conf.includes(`proxy_next_upstream_tries ${nt};`)) fail(`${where}: proxy_next_upstream_tries differs`);
    const bs = ann['nginx.ingress.kubernetes.io/proxy-body-size'];
    if (bs && !conf.includes(`client_max_body_size ${bs};`)) fail(`${where}: client_max_body_size differs`);
  }
  pass(`local nginx config mirrors the Ingress routes (${path.basename(file)})`);
}

// ---------------------------------------------------------------- main
const objs = render(dir);
if (renderOnly) {
  if (failures.length) { for (const f of failures) console.log(`FAIL: ${f}`); process.exit(1); }
  const out = objs.map((o) => { const c = { ...o }; delete c.__file; return YAML.stringify(c); }).join('---\n');
  if (renderOut) fs.writeFileSync(renderOut, out); else process.stdout.write(out);
  process.exit(0);
}
for (const o of objs) await validateSchema(o);
if (!failures.length) pass(`${objs.length} objects render and validate against the Kubernetes schemas (strict fields)`);
checkPolicies(objs);
if (nginxConf) checkNginxMirror(objs, nginxConf);
if (renderOut) {
  const out = objs.map((o) => { const c = { ...o }; delete c.__file; return YAML.stringify(c); }).join('---\n');
  fs.writeFileSync(renderOut, out);
}
for (const p of passes) console.log(`ok: ${p}`);
for (const f of failures) console.log(`FAIL: ${f}`);
console.log(failures.length ? `${failures.length} problem(s)` : `all k8s checks passed (${objs.length} objects)`);
process.exit(failures.length ? 1 : 0);
