// crd.mjs - strict validation of custom resources against their CustomResourceDefinition schemas.
//
// One validator for every custom resource the manifests use (Gateway API, the controllers'
// policies, Prometheus Operator, later CloudNativePG), used by tests/k8s/check.mjs and
// tests/monitoring/check.mjs. Unknown fields are REJECTED (as `kubectl apply --validate=strict`;
// the API server would prune them silently, which is how a misspelt or experimental-only field
// goes unnoticed).
//
// Schema sources, per API group, in this order (see tests/k8s/crds/README.md):
//   1. "files": the exact upstream CRD YAMLs of a pinned set (sha256 pins in tests/k8s/crds/README.md),
//      from tests/k8s/crds/, $K8S_CRDS_DIR, <repo>/../shared/vendor/k8s-crds/ and
//      <repo>/../../shared/vendor/k8s-crds/ (the last two skipped when K8S_CRDS_NO_SHARED=1). Each
//      object is checked against the openAPIV3Schema of its CRD version, the way the API server's
//      structural-schema validation does: type, properties / additionalProperties / unknown fields,
//      required, enum, pattern, min/max length, items and properties counts, minimum/maximum,
//      allOf/anyOf/oneOf/not, x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields,
//      x-kubernetes-embedded-resource, nullable; the CRD version must be served.
//   2. "npm": the npm packages pinned in tests/k8s/package-lock.json (NPM_PACKAGES below), generated
//      from the projects' Go API types. They ship precompiled validate functions (_schemas/*.js: type,
//      required, enum, pattern, lengths, counts) but no JSON schema, so unknown fields are rejected by
//      walking the package's TypeScript declarations (*.d.ts: every declared field of every type),
//      which is the same rule as additionalProperties: false on every object with properties. For
//      Gateway API the standard channel is enforced as upstream's generator does: fields marked
//      <gateway:experimental> are unknown, and only GATEWAY_STANDARD_SERVED kind/versions are served.
// An object whose group neither source covers fails; so does a set of files that breaks its pins.
// Not evaluated in either: CEL rules (x-kubernetes-validations); they are counted (files) so the
// report says what was left to the API server.
//
// Usage as a module: const v = await loadSchemas({ root }); v.sources() -> lines naming each group's
//   source; v.problems -> [pin/source errors]; v.validate(obj) -> [error strings]
//   (loadCrds(dirs) is the files-only validator.)
// Usage as a tool:   node crd.mjs [--crds DIR]... FILE.yaml...   (exit 1 on any error; without
//   --crds the default folders above, then npm)
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const nmDir = path.join(here, 'node_modules');

// The npm fallback: package -> the upstream version its Go types come from (the package's
// CHANGELOG in tommy351/kubernetes-models-ts; the tarball itself does not record it).
export const NPM_PACKAGES = {
  '@kubernetes-models/gateway-api': 'Gateway API v1.5.1 Go types (both channels; standard enforced here)',
  '@kubernetes-models/envoy-gateway': 'Envoy Gateway v1.7.3 Go types',
  '@kubernetes-models/traefik': 'Traefik Proxy v3.7.1 Go types',
  '@kubernetes-models/prometheus-operator': 'Prometheus Operator v0.91.0 Go types',
};
// Gateway API standard channel (the pinned v1.6.1 bundle): the versions its CRDs serve. With the
// files this table is checked against them (so it cannot drift unnoticed); with npm it decides.
export const GATEWAY_STANDARD_SERVED = {
  BackendTLSPolicy: ['v1'], GatewayClass: ['v1', 'v1beta1'], Gateway: ['v1', 'v1beta1'], GRPCRoute: ['v1'],
  HTTPRoute: ['v1', 'v1beta1'], ListenerSet: ['v1'], ReferenceGrant: ['v1', 'v1beta1'], TCPRoute: ['v1'],
  TLSRoute: ['v1'], UDPRoute: ['v1'],
};
const GATEWAY_GROUP = 'gateway.networking.k8s.io';
// Fields the pinned upstream CRDs have but the npm packages' older Go types lack, described with
// the packages' own types (used only with the npm source; each use is reported as a note). A field
// the manifests use that is in neither fails as unknown.
//   owner: the .d.ts type (package/path) that lacks the field; type: as dtsType() returns, plus
//   { kind: 'object', props, required }, array minItems/maxItems and `schema` (a _schemas validator).
const NPM_NEWER_FIELDS = [
  { owner: '@kubernetes-models/envoy-gateway/gateway.envoyproxy.io/v1alpha1/CustomResponseMatch', field: 'responseHeaders',
    note: 'BackendTrafficPolicy .spec.responseOverride[].match.responseHeaders is in the pinned Envoy Gateway v1.9.0 CRD but not in the npm package (v1.7.3 types): checked as a list (1..16) of {name: Gateway API HeaderName, value: Envoy StringMatch}',
    type: { kind: 'array', minItems: 1, maxItems: 16, of: { kind: 'object', required: ['name', 'value'], props: {
      name: { kind: 'leaf', schema: '@kubernetes-models/gateway-api/_schemas/IoK8sSigsGatewayApiApisV1HeaderName.js' },
      value: { kind: 'ref', file: '@kubernetes-models/envoy-gateway/gateway.envoyproxy.io/v1alpha1/StringMatch.d.ts',
        schema: '@kubernetes-models/envoy-gateway/_schemas/ComGithubEnvoyproxyGatewayApiV1alpha1StringMatch.js' } } } } },
];

// The folders searched for CRD files, in order (those that exist).
export function crdDirs(root, env = process.env) {
  const dirs = [path.join(root, 'tests/k8s/crds')];
  if (env.K8S_CRDS_DIR) dirs.push(env.K8S_CRDS_DIR);
  if (env.K8S_CRDS_NO_SHARED !== '1') {
    dirs.push(path.join(root, '..', 'shared/vendor/k8s-crds'), path.join(root, '..', '..', 'shared/vendor/k8s-crds'));
  }
  return dirs.filter((d) => fs.existsSync(d) && fs.statSync(d).isDirectory()).map((d) => path.resolve(d));
}

// sha256 pins: the tables of tests/k8s/crds/README.md (one per set folder, "### `SET/`"), or a
// SOURCE.md / README.md beside the files. Returns problems (unpinned or changed files).
function checkPins(files) {
  const pinned = new Map();
  const readTable = (file, keyOf) => {
    if (!fs.existsSync(file)) return;
    let set = '';
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const h = line.match(/^### `([^`]+)\/`/);
      if (h) set = h[1];
      const m = line.match(/^\|\s*`?([^`|\s]+\.ya?ml)`?\s*\|\s*`?([0-9a-f]{64})`?\s*\|\s*$/);
      if (m) pinned.set(keyOf(set, m[1]), m[2]);
    }
  };
  readTable(path.join(here, 'crds', 'README.md'), (set, f) => `set:${set}/${f}`);
  for (const d of new Set(files.map((f) => path.dirname(f)))) {
    for (const n of ['SOURCE.md', 'README.md']) readTable(path.join(d, n), (_set, f) => `dir:${path.resolve(d, f)}`);
  }
  const problems = [];
  for (const f of files) {
    const sum = crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
    const want = pinned.get(`dir:${path.resolve(f)}`) || pinned.get(`set:${path.basename(path.dirname(f))}/${path.basename(f)}`);
    if (!want) problems.push(`CRD file ${f} has no sha256 pin (tests/k8s/crds/README.md or a SOURCE.md beside it)`);
    else if (want !== sum) problems.push(`CRD file ${f}: sha256 ${sum} is not the pinned ${want}`);
  }
  return problems;
}

// The one entry point: files where they cover a group, else the npm packages; never silently nothing.
export async function loadSchemas({ root = path.resolve(here, '..', '..'), dirs = null, env = process.env } = {}) {
  const searched = dirs || crdDirs(root, env);
  const files = loadCrds(searched);
  const problems = checkPins(files.files);
  const fileGroups = files.groups;
  // The standard-channel table must agree with the Gateway API CRD files when they are read.
  if (fileGroups.has(GATEWAY_GROUP)) {
    const served = files.servedVersions(GATEWAY_GROUP);
    for (const k of new Set([...Object.keys(served), ...Object.keys(GATEWAY_STANDARD_SERVED)])) {
      const a = (served[k] || []).slice().sort().join(',');
      const b = (GATEWAY_STANDARD_SERVED[k] || []).slice().sort().join(',');
      if (a !== b) problems.push(`GATEWAY_STANDARD_SERVED in tests/k8s/crd.mjs says ${k}: [${b}], the CRD files serve [${a}]`);
    }
  }
  const npm = await loadNpm(env);
  const validate = (obj) => {
    const group = obj.apiVersion && obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
    if (fileGroups.has(group)) return files.validate(obj);
    if (npm.groups.has(group)) return npm.validate(obj);
    return [`no CRD schema for ${obj.apiVersion} ${obj.kind}: no CRD file of group "${group}" in ${searched.join(', ') || '(no CRD folder found)'}` +
      ` and ${npm.error || `no npm package of ${Object.keys(NPM_PACKAGES).join(', ')} defines it`} (see tests/k8s/crds/README.md)`];
  };
  const sources = () => {
    const lines = [];
    const byDir = new Map();
    for (const f of files.files) byDir.set(path.dirname(f), (byDir.get(path.dirname(f)) || 0) + 1);
    for (const g of [...fileGroups].sort()) {
      const ds = [...byDir.keys()].filter((d) => files.files.some((f) => path.dirname(f) === d && files.groupOfFile(f) === g));
      lines.push(`${g}: upstream CRD files (${ds.map((d) => `${d}, ${byDir.get(d)} file(s)`).join('; ')})`);
    }
    for (const g of [...npm.groups.keys()].sort()) {
      if (!fileGroups.has(g)) lines.push(`${g}: npm ${npm.groups.get(g)} (no CRD file of this group found)`);
    }
    if (npm.error && !lines.length) lines.push(`no source: no CRD files in ${searched.join(', ') || '(no CRD folder found)'} and ${npm.error}`);
    return lines;
  };
  return { validate, sources, problems, files: files.files, notes: npm.notes, get celRules() { return files.celRules; },
    covers: (group) => fileGroups.has(group) || npm.groups.has(group),
    sourceOf: (group) => (fileGroups.has(group) ? 'files' : npm.groups.has(group) ? 'npm' : null) };
}

export function loadCrds(dirs) {
  const byKey = new Map(); // group/version/Kind -> { schema, served, file }
  const files = [];
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    const walk = (p) => {
      if (fs.statSync(p).isDirectory()) for (const f of fs.readdirSync(p).sort()) walk(path.join(p, f));
      else if (/\.ya?ml$/.test(p)) files.push(p);
    };
    walk(d);
  }
  const groups = new Set();
  const fileGroup = new Map();
  for (const f of files) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(f, 'utf8'))) {
      const o = doc.toJS();
      if (!o || o.kind !== 'CustomResourceDefinition') continue;
      groups.add(o.spec.group);
      fileGroup.set(f, o.spec.group);
      for (const v of o.spec.versions || []) {
        const key = `${o.spec.group}/${v.name}/${o.spec.names.kind}`;
        byKey.set(key, { schema: v.schema && v.schema.openAPIV3Schema, served: v.served !== false, file: f,
          scope: o.spec.scope });
      }
    }
  }
  const servedVersions = (group) => {
    const out = {};
    for (const [key, c] of byKey) {
      const [g, v, k] = key.split('/');
      if (g === group && c.served) (out[k] = out[k] || []).push(v);
    }
    return out;
  };
  let celRules = 0;
  const validate = (obj) => {
    const errs = [];
    const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
    const crd = byKey.get(`${group}/${version}/${obj.kind}`);
    if (!crd) { errs.push(`no vendored CRD for ${obj.apiVersion} ${obj.kind}`); return errs; }
    if (!crd.served) errs.push(`${obj.apiVersion} ${obj.kind} is not served by its CRD (${path.basename(crd.file)})`);
    const clean = { ...obj };
    delete clean.__file;
    const c = { errs, cel: 0 };
    walk(crd.schema, clean, '', c, true);
    celRules += c.cel;
    return errs;
  };
  return { validate, files, groups, servedVersions, groupOfFile: (f) => fileGroup.get(f), count: byKey.size,
    get celRules() { return celRules; } };
}

const typeOf = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array'
  : typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'number') : typeof v);

// Kubernetes (RE2) patterns are mostly valid JavaScript; the 'u' flag keeps \x60-style escapes.
const reCache = new Map();
function re(p) {
  if (!reCache.has(p)) {
    let r = null;
    try { r = new RegExp(p, 'u'); } catch { try { r = new RegExp(p); } catch { r = null; } }
    reCache.set(p, r);
  }
  return reCache.get(p);
}

function objectMeta(v, at, c) {
  if (typeOf(v) !== 'object') { c.errs.push(`${at || '.'}: metadata must be an object`); return; }
  const known = new Set(['name', 'generateName', 'namespace', 'labels', 'annotations', 'finalizers',
    'ownerReferences', 'uid', 'resourceVersion', 'generation', 'creationTimestamp']);
  for (const k of Object.keys(v)) if (!known.has(k)) c.errs.push(`${at}.${k}: unknown field`);
  for (const m of ['labels', 'annotations']) {
    for (const [k, x] of Object.entries(v[m] || {})) if (typeof x !== 'string') c.errs.push(`${at}.${m}.${k}: must be a string`);
  }
}

function walk(s, v, at, c, root = false) {
  if (!s) return;
  const where = at || '.';
  if (s['x-kubernetes-validations']) c.cel += s['x-kubernetes-validations'].length;
  if (v === null) { if (!s.nullable) c.errs.push(`${where}: null is not allowed`); return; }
  for (const sub of s.allOf || []) walk(sub, v, at, c);
  if (s.anyOf && !s.anyOf.some((sub) => trial(sub, v))) c.errs.push(`${where}: matches none of anyOf`);
  if (s.oneOf && s.oneOf.filter((sub) => trial(sub, v)).length !== 1) c.errs.push(`${where}: must match exactly one of oneOf`);
  if (s.not && trial(s.not, v)) c.errs.push(`${where}: matches a forbidden schema (not)`);
  const t = typeOf(v);
  if (s['x-kubernetes-int-or-string']) {
    if (t !== 'integer' && t !== 'string') c.errs.push(`${where}: must be an integer or a string`);
  } else if (s.type) {
    const ok = s.type === t || (s.type === 'number' && t === 'integer');
    if (!ok) { c.errs.push(`${where}: must be ${s.type}, got ${t}`); return; }
  }
  if (s.enum && !s.enum.some((e) => e === v)) c.errs.push(`${where}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
  if (t === 'string') {
    if (s.maxLength != null && [...v].length > s.maxLength) c.errs.push(`${where}: longer than ${s.maxLength}`);
    if (s.minLength != null && [...v].length < s.minLength) c.errs.push(`${where}: shorter than ${s.minLength}`);
    if (s.pattern) { const r = re(s.pattern); if (r && !r.test(v)) c.errs.push(`${where}: ${JSON.stringify(v)} does not match ${s.pattern}`); }
  }
  if (t === 'integer' || t === 'number') {
    if (s.minimum != null && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) c.errs.push(`${where}: below minimum ${s.minimum}`);
    if (s.maximum != null && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) c.errs.push(`${where}: above maximum ${s.maximum}`);
  }
  if (t === 'array') {
    if (s.maxItems != null && v.length > s.maxItems) c.errs.push(`${where}: more than ${s.maxItems} items`);
    if (s.minItems != null && v.length < s.minItems) c.errs.push(`${where}: fewer than ${s.minItems} items`);
    v.forEach((x, i) => walk(s.items, x, `${at}[${i}]`, c));
  }
  if (t === 'object') {
    if (s['x-kubernetes-embedded-resource']) {
      for (const k of ['apiVersion', 'kind']) if (v[k] != null && typeof v[k] !== 'string') c.errs.push(`${at}.${k}: must be a string`);
      if (v.metadata !== undefined) objectMeta(v.metadata, `${at}.metadata`, c);
    }
    if (s.maxProperties != null && Object.keys(v).length > s.maxProperties) c.errs.push(`${where}: more than ${s.maxProperties} properties`);
    if (s.minProperties != null && Object.keys(v).length < s.minProperties) c.errs.push(`${where}: fewer than ${s.minProperties} properties`);
    for (const r of s.required || []) if (v[r] === undefined) c.errs.push(`${at}.${r}: required`);
    const props = s.properties || {};
    for (const [k, x] of Object.entries(v)) {
      const p = `${at}.${k}`;
      if (root && k === 'metadata') { objectMeta(x, p, c); continue; }
      if (root && (k === 'apiVersion' || k === 'kind')) continue;
      if (props[k]) walk(props[k], x, p, c);
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') walk(s.additionalProperties, x, p, c);
      else if (s.additionalProperties === true || s['x-kubernetes-preserve-unknown-fields']) continue;
      else if (s.properties || s.additionalProperties === false || s.type === 'object') c.errs.push(`${p}: unknown field`);
    }
  }
}
function trial(s, v) {
  const c = { errs: [], cel: 0 };
  walk(s, v, '', c);
  return c.errs.length === 0;
}

// ---------------------------------------------------------------- npm fallback
// The pinned packages' kinds: <pkg>/<group>/<version>/<Kind>.d.ts declares `static kind:`; its .js
// imports the precompiled validate function from ../../_schemas/.
async function loadNpm() {
  const groups = new Map(); // group -> "pkg@version (upstream)"
  const kinds = new Map(); // group/version/Kind -> { dts, validate }
  const missing = [];
  for (const [pkg, upstream] of Object.entries(NPM_PACKAGES)) {
    const dir = path.join(nmDir, pkg);
    if (!fs.existsSync(path.join(dir, 'package.json'))) { missing.push(pkg); continue; }
    const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
    // Groups: <group>/ folders; gateway.networking.x-k8s.io (XBackendTrafficPolicy, XMesh) is experimental only.
    for (const g of fs.readdirSync(dir).filter((d) => d.includes('.') && !d.endsWith('.x-k8s.io') && fs.statSync(path.join(dir, d)).isDirectory())) {
      for (const v of fs.readdirSync(path.join(dir, g)).filter((d) => fs.statSync(path.join(dir, g, d)).isDirectory())) {
        for (const f of fs.readdirSync(path.join(dir, g, v)).filter((x) => x.endsWith('.d.ts'))) {
          const dts = path.join(dir, g, v, f);
          const m = fs.readFileSync(dts, 'utf8').match(/static kind: I\w+\["kind"\];/);
          if (!m) continue;
          const js = fs.readFileSync(dts.replace(/\.d\.ts$/, '.js'), 'utf8');
          const sm = js.match(/import\{validate\}from"(\.\.\/\.\.\/_schemas\/\w+\.js)"/);
          if (!sm) continue;
          const kind = f.replace(/\.d\.ts$/, '');
          kinds.set(`${g}/${v}/${kind}`, { dts, schemaJs: path.resolve(path.dirname(dts), sm[1]) });
          groups.set(g, `${pkg}@${version} (${upstream})`);
        }
      }
    }
  }
  const error = missing.length ? `the npm package(s) ${missing.join(', ')} are not installed (cd tests/k8s && npm ci)` : null;
  // Import every kind's validate function now, so validate() stays synchronous.
  for (const k of kinds.values()) k.validate = (await import(pathToFileURL(k.schemaJs).href)).validate;
  const shims = new Map(); // absolute .d.ts of the owner + field -> { type, note }
  if (!missing.length) {
    const resolveShim = async (t) => {
      if (!t) return;
      if (t.file) t.file = path.join(nmDir, t.file);
      if (t.schema) t.validate = (await import(pathToFileURL(path.join(nmDir, t.schema)).href)).validate;
      await resolveShim(t.of);
      for (const x of Object.values(t.props || {})) await resolveShim(x);
    };
    for (const f of NPM_NEWER_FIELDS) {
      await resolveShim(f.type);
      shims.set(`${path.join(nmDir, f.owner)}.d.ts#${f.field}`, f);
    }
  }
  const notes = new Set();
  const validate = (obj) => {
    const errs = [];
    const [group, version] = obj.apiVersion.split('/');
    const k = kinds.get(`${group}/${version}/${obj.kind}`);
    if (!k) { errs.push(`no schema for ${obj.apiVersion} ${obj.kind} in the npm package ${groups.get(group)}`); return errs; }
    if (group === GATEWAY_GROUP && !(GATEWAY_STANDARD_SERVED[obj.kind] || []).includes(version)) {
      errs.push(`${obj.apiVersion} ${obj.kind} is not served by its CRD (the Gateway API standard channel serves ` +
        `${obj.kind} ${(GATEWAY_STANDARD_SERVED[obj.kind] || []).join(', ') || 'in no version'}; npm fallback)`);
    }
    const clean = { ...obj };
    delete clean.__file;
    if (!k.validate(clean)) {
      for (const e of k.validate.errors || []) errs.push(ajvMessage(e, clean));
    }
    // Unknown fields: every key must be declared by the Go type (TypeScript declaration).
    const c = { errs, standard: group === GATEWAY_GROUP, shims, notes };
    for (const [key, val] of Object.entries(clean)) {
      if (key === 'apiVersion' || key === 'kind') continue;
      if (key === 'metadata') { objectMeta(val, '.metadata', { errs }); continue; }
      const p = dtsType(k.dts).props;
      const d = p && p.get(key);
      if (!d) errs.push(`.${key}: unknown field`);
      else strictWalk(d.type, val, `.${key}`, c);
    }
    return [...new Set(errs)];
  };
  return { groups, validate, error, notes };
}

// JSON pointer of an ajv error -> the path notation of walk() (.spec.rules[0].name).
function ajvMessage(e, obj, base = '') {
  const parts = e.instancePath.split('/').slice(1).map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'));
  let at = base;
  let v = obj;
  for (const p of parts) {
    at += Array.isArray(v) && /^\d+$/.test(p) ? `[${p}]` : `.${p}`;
    v = v == null ? undefined : v[p];
  }
  const where = at || '.';
  const q = e.params || {};
  switch (e.keyword) {
    case 'type': return `${where}: must be ${q.type}, got ${typeOf(v)}`;
    case 'enum': return `${where}: ${JSON.stringify(v)} is not one of ${JSON.stringify(q.allowedValues)}`;
    case 'required': return `${at}.${q.missingProperty}: required`;
    case 'pattern': return `${where}: ${JSON.stringify(v)} does not match ${q.pattern}`;
    case 'format': return `${where}: ${JSON.stringify(v)} is not a ${q.format}`;
    case 'maxLength': return `${where}: longer than ${q.limit}`;
    case 'minLength': return `${where}: shorter than ${q.limit}`;
    case 'maxItems': return `${where}: more than ${q.limit} items`;
    case 'minItems': return `${where}: fewer than ${q.limit} items`;
    case 'maxProperties': return `${where}: more than ${q.limit} properties`;
    case 'minProperties': return `${where}: fewer than ${q.limit} properties`;
    case 'maximum': case 'exclusiveMaximum': return `${where}: above maximum ${q.limit}`;
    case 'minimum': case 'exclusiveMinimum': return `${where}: below minimum ${q.limit}`;
    case 'additionalProperties': return `${at}.${q.additionalProperty}: unknown field`;
    default: return `${where}: fails ${e.keyword} ${JSON.stringify(q)}`;
  }
}

// TypeScript declarations of the generated models -> field lists. A type is
//   { kind: 'ref', file } (a declared interface or type alias in another .d.ts),
//   { kind: 'array', of }, { kind: 'map', of }, { kind: 'empty' } (Go struct without fields) or
//   { kind: 'leaf' } (scalars, unions, any: the validate function checks them).
const dtsCache = new Map();
function resolveImport(from, spec) {
  if (spec.startsWith('.')) return path.resolve(path.dirname(from), spec.replace(/\.js$/, '.d.ts'));
  return path.join(nmDir, spec.replace(/\.js$/, '') + '.d.ts');
}
function parseTypeExpr(t, imports, next) {
  t = t.trim().replace(/;$/, '').trim();
  if (t.startsWith('Array<') && t.endsWith('>')) return { kind: 'array', of: parseTypeExpr(t.slice(6, -1), imports) };
  if (t === '{') { // a map: the value type is on the next line
    const m = (next || '').match(/\[key: string\]: (.*);$/);
    return m ? { kind: 'map', of: parseTypeExpr(m[1], imports) } : { kind: 'leaf' };
  }
  if (t === '{}') return { kind: 'empty' };
  if (/^I\w+$/.test(t) && imports.has(t)) return { kind: 'ref', file: imports.get(t) };
  return { kind: 'leaf' };
}
// dtsType(file) -> { props: Map(name -> { type, experimental }) } for an interface, { alias: type }
// for a type alias, or {} when the file declares neither.
function dtsType(file) {
  if (dtsCache.has(file)) return dtsCache.get(file);
  const out = {};
  dtsCache.set(file, out);
  if (!fs.existsSync(file)) return out;
  const src = fs.readFileSync(file, 'utf8');
  const imports = new Map();
  for (const m of src.matchAll(/^import (?:type )?\{ ([\w, ]+) \} from "([^"]+)";$/gm)) {
    for (const name of m[1].split(',').map((x) => x.trim())) imports.set(name, resolveImport(file, m[2]));
  }
  const alias = src.match(/^export type I\w+ = (.+);$/m);
  const iface = src.match(/^export interface I\w+(?: extends ([\w, ]+))? \{\n([\s\S]*?)\n\}/m);
  if (iface) {
    const props = new Map();
    for (const base of (iface[1] || '').split(',').map((x) => x.trim()).filter((x) => imports.has(x))) {
      const b = dtsType(imports.get(base));
      for (const [k, v] of b.props || []) props.set(k, v);
    }
    const lines = iface[2].split('\n');
    let doc = '';
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (/^ {4}\/\*\*/.test(l)) { doc = ''; while (i < lines.length && !/\*\/\s*$/.test(lines[i])) doc += `${lines[i++]}\n`; continue; }
      const m = l.match(/^ {4}"([^"]+)"\??: (.*)$/);
      if (!m) continue;
      props.set(m[1], { type: parseTypeExpr(m[2], imports, lines[i + 1]), experimental: /<gateway:experimental>/.test(doc) });
      doc = '';
    }
    out.props = props;
  } else if (alias) out.alias = parseTypeExpr(alias[1], imports);
  return out;
}
function strictWalk(t, v, at, c) {
  if (v === null || v === undefined || !t) return;
  if (t.validate && !t.validate(v)) for (const e of t.validate.errors || []) c.errs.push(ajvMessage(e, v, at));
  if (t.kind === 'array') {
    if (!Array.isArray(v)) { c.errs.push(`${at}: must be array, got ${typeOf(v)}`); return; }
    if (t.maxItems != null && v.length > t.maxItems) c.errs.push(`${at}: more than ${t.maxItems} items`);
    if (t.minItems != null && v.length < t.minItems) c.errs.push(`${at}: fewer than ${t.minItems} items`);
    v.forEach((x, i) => strictWalk(t.of, x, `${at}[${i}]`, c));
    return;
  }
  if (t.kind === 'object') {
    if (typeOf(v) !== 'object') { c.errs.push(`${at}: must be object, got ${typeOf(v)}`); return; }
    for (const r of t.required || []) if (v[r] === undefined) c.errs.push(`${at}.${r}: required`);
    for (const [k, x] of Object.entries(v)) {
      if (t.props[k]) strictWalk(t.props[k], x, `${at}.${k}`, c);
      else c.errs.push(`${at}.${k}: unknown field`);
    }
    return;
  }
  if (t.kind === 'map') { if (typeOf(v) === 'object') for (const [k, x] of Object.entries(v)) strictWalk(t.of, x, `${at}.${k}`, c); return; }
  if (t.kind === 'empty') { if (typeOf(v) === 'object') for (const k of Object.keys(v)) c.errs.push(`${at}.${k}: unknown field`); return; }
  if (t.kind !== 'ref') return;
  const d = dtsType(t.file);
  if (d.alias) { strictWalk(d.alias, v, at, c); return; }
  if (!d.props || typeOf(v) !== 'object') return;
  for (const [k, x] of Object.entries(v)) {
    const p = d.props.get(k);
    const shim = !p && c.shims && c.shims.get(`${t.file}#${k}`);
    if (shim) { c.notes.add(shim.note); strictWalk(shim.type, x, `${at}.${k}`, c); } else if (!p) c.errs.push(`${at}.${k}: unknown field`);
    else if (p.experimental && c.standard && t.file.includes(`${path.sep}gateway-api${path.sep}`)) {
      c.errs.push(`${at}.${k}: unknown field (experimental channel only)`);
    } else strictWalk(p.type, x, `${at}.${k}`, c);
  }
}

// ---------------------------------------------------------------- command line
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const dirs = [];
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--crds') dirs.push(args[++i]);
    else files.push(args[i]);
  }
  const v = await loadSchemas(dirs.length ? { dirs } : {});
  for (const l of v.sources()) console.log(`CRD schema source: ${l}`);
  let bad = 0;
  for (const p of v.problems) { console.log(`FAIL: ${p}`); bad++; }
  for (const f of files) {
    for (const d of YAML.parseAllDocuments(fs.readFileSync(f, 'utf8'))) {
      const o = d.toJS();
      if (!o || !o.kind) continue;
      for (const e of v.validate(o)) { console.log(`FAIL: ${o.kind}/${o.metadata && o.metadata.name}: ${e}`); bad++; }
    }
  }
  for (const n of v.notes) console.log(`note: ${n}`);
  process.exit(bad ? 1 : 0);
}
