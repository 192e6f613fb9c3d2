// crd.mjs - strict validation of custom resources against vendored CustomResourceDefinitions.
//
// One validator for every custom resource the manifests use (Gateway API, the controllers'
// policies, later Prometheus Operator and CloudNativePG): each object is checked against the
// openAPIV3Schema of its CRD version, the way the API server's structural-schema validation does,
// with unknown fields REJECTED (as `kubectl apply --validate=strict`; the server would prune them
// silently, which is how a misspelt or experimental-only field goes unnoticed).
// Checked: type, properties / additionalProperties / unknown fields, required, enum, pattern,
// min/max length, items and properties counts, minimum/maximum, allOf/anyOf/oneOf/not,
// x-kubernetes-int-or-string, x-kubernetes-preserve-unknown-fields, x-kubernetes-embedded-resource,
// nullable; the CRD version must be served. Not evaluated: CEL rules (x-kubernetes-validations);
// they are counted so the report says what was left to the API server.
//
// Usage as a module: const v = loadCrds([dir, ...]); v.validate(obj) -> [error strings]
// Usage as a tool:   node crd.mjs --crds DIR [--crds DIR] FILE.yaml...   (exit 1 on any error)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

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
  for (const f of files) {
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(f, 'utf8'))) {
      const o = doc.toJS();
      if (!o || o.kind !== 'CustomResourceDefinition') continue;
      for (const v of o.spec.versions || []) {
        const key = `${o.spec.group}/${v.name}/${o.spec.names.kind}`;
        byKey.set(key, { schema: v.schema && v.schema.openAPIV3Schema, served: v.served !== false, file: f,
          scope: o.spec.scope });
      }
    }
  }
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
  return { validate, files, count: byKey.size, get celRules() { return celRules; } };
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

// ---------------------------------------------------------------- command line
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const args = process.argv.slice(2);
  const dirs = [];
  const files = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--crds') dirs.push(args[++i]);
    else files.push(args[i]);
  }
  const v = loadCrds(dirs);
  let bad = 0;
  for (const f of files) {
    for (const d of YAML.parseAllDocuments(fs.readFileSync(f, 'utf8'))) {
      const o = d.toJS();
      if (!o || !o.kind) continue;
      for (const e of v.validate(o)) { console.log(`FAIL: ${o.kind}/${o.metadata && o.metadata.name}: ${e}`); bad++; }
    }
  }
  process.exit(bad ? 1 : 0);
}
