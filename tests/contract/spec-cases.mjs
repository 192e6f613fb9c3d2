// spec-cases.mjs - the spec-derived contract test (issue 15, "one source of truth").
//
// Reads each service's SERVED OpenAPI document(s) from live daemons and, for every operation,
// derives requests that break exactly one documented constraint: every path, query and header
// parameter (wrong type, below minimum / above maximum, beyond 64 bits, too short / too long, bad
// pattern, bad enum, bad format, missing when required) and every request-body field (the same,
// plus null where the field is not nullable, and missing when required), and a few per body
// (not an object, not JSON, wrong Content-Type). Each case must get the documented 4xx (422 when
// documented) whose body matches the documented schema and, for a 422 list, names the field
// (loc [in, name]). Each operation's unbroken request (its baseline) must get a documented,
// non-5xx answer that matches its documented schema. Nothing here names a field or a value of
// the bookstore: a new field or constraint in a document is covered without writing a case.
//
// Usage: node spec-cases.mjs CONFIG.json    (run.sh writes it; see loadConfig below)
// Exit status 0 when every case passed; prints the number of derived cases either way.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';

const here = path.dirname(fileURLToPath(import.meta.url));
const MAX_INT64 = (1n << 63n) - 1n;
const MIN_INT64 = -(1n << 63n);
const REQUEST_TIMEOUT_MS = 10000;

// ---- configuration ------------------------------------------------------------------------------
// {
//   "services": [ { "name": "catalog", "base": "http://127.0.0.1:P",
//                   "documents": ["http://127.0.0.1:P/openapi.json", ...candidates] } ],
//   "pathValues": { "id": 3, "order_id": 1, ... },     // existing resources for path parameters
//   "bodyValues": { "book_id": 3, ... },               // values a valid body needs (ids that exist)
//   "tokens": { "default": "…", "<scheme or scope>": "…" }  // used when a document declares security
//   "knownGaps": "known-gaps.json"                      // optional, see below
// }
function loadConfig(file) {
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  cfg.pathValues ??= {};
  cfg.bodyValues ??= {};
  cfg.tokens ??= {};
  return cfg;
}

// JSON.parse that keeps integers beyond 2^53 exact (as BigInt): documents state int64 bounds.
function parseJsonExact(text) {
  const marked = text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"__bigint:$2"');
  return JSON.parse(marked, (k, v) =>
    typeof v === 'string' && v.startsWith('__bigint:') ? BigInt(v.slice(9)) : v);
}

// JSON.stringify that writes BigInt as a JSON integer.
function stringifyExact(value) {
  return JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? `__bigint:${v}` : v))
    .replace(/"__bigint:(-?\d+)"/g, '$1');
}

// ---- documents ------------------------------------------------------------------------------------
async function fetchDocuments(service) {
  const docs = [];
  const seen = new Set();
  for (const url of service.documents) {
    let res;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    } catch {
      continue;
    }
    if (res.status !== 200) continue;
    const text = await res.text();
    let doc;
    try {
      doc = parseJsonExact(text);
    } catch {
      continue;
    }
    if (typeof doc !== 'object' || doc === null || typeof doc.openapi !== 'string' || !doc.paths) continue;
    if (seen.has(text)) continue;
    seen.add(text);
    docs.push({ url, doc });
  }
  return docs;
}

function resolveRef(doc, ref) {
  if (!ref.startsWith('#/')) throw new Error(`only local $ref supported: ${ref}`);
  return ref.slice(2).split('/').reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

// Resolves $ref and merges allOf (objects) so the generator sees one schema.
function deref(doc, schema, depth = 0) {
  if (schema == null || typeof schema !== 'object' || depth > 20) return schema;
  if (schema.$ref) return deref(doc, resolveRef(doc, schema.$ref), depth + 1);
  if (Array.isArray(schema.allOf)) {
    const merged = { ...schema, properties: { ...(schema.properties ?? {}) }, required: [...(schema.required ?? [])] };
    delete merged.allOf;
    for (const part of schema.allOf) {
      const p = deref(doc, part, depth + 1);
      Object.assign(merged.properties, p.properties ?? {});
      merged.required.push(...(p.required ?? []));
      if (p.type && !merged.type) merged.type = p.type;
    }
    return merged;
  }
  return schema;
}

// OpenAPI 3.0 schema -> JSON Schema (draft 7) for ajv: $ref inlined, nullable, boolean
// exclusiveMinimum/Maximum, OpenAPI-only keywords dropped.
function toJsonSchema(doc, schema, depth = 0) {
  if (schema == null || typeof schema !== 'object') return schema;
  if (depth > 40) return {};
  if (schema.$ref) return toJsonSchema(doc, resolveRef(doc, schema.$ref), depth + 1);
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (['nullable', 'example', 'examples', 'discriminator', 'xml', 'externalDocs', 'deprecated',
      'readOnly', 'writeOnly', 'format', 'description'].includes(k) || k.startsWith('x-')) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v).map(([n, s]) => [n, toJsonSchema(doc, s, depth + 1)]));
    } else if (k === 'items' || k === 'not' || k === 'additionalProperties') {
      out[k] = typeof v === 'object' ? toJsonSchema(doc, v, depth + 1) : v;
    } else if (k === 'allOf' || k === 'oneOf' || k === 'anyOf') {
      out[k] = v.map((s) => toJsonSchema(doc, s, depth + 1));
    } else if (typeof v === 'bigint') {
      out[k] = Number(v);
    } else {
      out[k] = v;
    }
  }
  if (schema.exclusiveMinimum === true) { out.exclusiveMinimum = Number(schema.minimum); delete out.minimum; }
  if (schema.exclusiveMaximum === true) { out.exclusiveMaximum = Number(schema.maximum); delete out.maximum; }
  if (schema.exclusiveMinimum === false) delete out.exclusiveMinimum;
  if (schema.exclusiveMaximum === false) delete out.exclusiveMaximum;
  if (schema.nullable === true) return { anyOf: [out, { type: 'null' }] };
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, multipleOfPrecision: 9 });
const validators = new Map();
function validatorFor(doc, schema) {
  const key = schema;
  if (!validators.has(key)) validators.set(key, ajv.compile(toJsonSchema(doc, schema)));
  return validators.get(key);
}

// ---- values -------------------------------------------------------------------------------------
const types = (s) => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);
const big = (v) => (typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v))));
const rx = (p) => new RegExp(p, 'u');

// A valid value for a schema (used to build the unbroken request).
function validValue(doc, schema, name, known) {
  const s = deref(doc, schema) ?? {};
  if (known && Object.hasOwn(known, name)) return known[name];
  if (s.example !== undefined && valueFits(doc, s, s.example)) return s.example;
  if (s.default !== undefined) return s.default;
  if (Array.isArray(s.enum)) return s.enum[0];
  if (Array.isArray(s.oneOf) || Array.isArray(s.anyOf)) return validValue(doc, (s.oneOf ?? s.anyOf)[0], name);
  const t = types(s)[0] ?? (s.properties ? 'object' : 'string');
  if (t === 'integer' || t === 'number') {
    let v = s.minimum !== undefined ? big(s.minimum) + (s.exclusiveMinimum === true ? 1n : 0n) : 1n;
    if (v < 1n && (s.maximum === undefined || big(s.maximum) >= 1n)) v = 1n;
    return Number(v);
  }
  if (t === 'boolean') return true;
  if (t === 'array') return [];
  if (t === 'object') {
    const o = {};
    for (const r of s.required ?? []) o[r] = validValue(doc, s.properties?.[r] ?? {}, r, known);
    return o;
  }
  if (s.format === 'email') return 'contract@example.com';
  const len = Math.max(1, s.minLength ?? 1);
  return 'x'.repeat(len);
}

function valueFits(doc, s, v) {
  try {
    return validatorFor(doc, s)(v);
  } catch {
    return true;
  }
}

// Values that break one constraint of schema s, for a parameter (as text) or a body field (as
// JSON). Each: { kind, value }. where: 'path' | 'query' | 'header' | 'body'.
function violations(doc, schema, where) {
  const s = deref(doc, schema) ?? {};
  const out = [];
  const text = where !== 'body';
  const add = (kind, value) => {
    if (!out.some((c) => stringifyExact(c.value) === stringifyExact(value))) out.push({ kind, value });
  };
  const branches = Array.isArray(s.oneOf) || Array.isArray(s.anyOf)
    ? (s.oneOf ?? s.anyOf).map((b) => deref(doc, b)) : [s];
  const allTypes = new Set(branches.flatMap(types));
  const nullable = s.nullable === true || branches.some((b) => b.nullable === true);

  // Wrong type.
  if (!text) {
    if (!nullable) add('null', null);
    if (!allTypes.has('array')) add('wrong-type', []);
    if (!allTypes.has('string')) add('wrong-type', 'not-a-number');
    else if (!allTypes.has('integer') && !allTypes.has('number') && !allTypes.has('boolean')) add('wrong-type', 12345);
    if (allTypes.has('integer') && !allTypes.has('number')) add('wrong-type', 1.5);
  } else if (allTypes.has('integer') || allTypes.has('number')) {
    add('wrong-type', 'abc');
    if (allTypes.has('integer')) add('wrong-type', '1.5');
  } else if (allTypes.has('boolean')) {
    add('wrong-type', 'maybe');
  }

  for (const b of branches) {
    const t = types(b);
    if (t.includes('integer') || t.includes('number')) {
      const enc = (v) => (text ? String(v) : (t.includes('integer') ? v : Number(v)));
      const int = t.includes('integer');
      if (b.minimum !== undefined) {
        const m = b.minimum;
        if (b.exclusiveMinimum === true) add('minimum', enc(int ? big(m) : Number(m)));
        else add('minimum', enc(int ? big(m) - 1n : Number(m) - 1));
      } else if (int && b.format === 'int64') {
        add('int64', text ? String(MIN_INT64 - 1n) : MIN_INT64 - 1n);
      }
      if (b.maximum !== undefined) {
        const m = b.maximum;
        if (b.exclusiveMaximum === true) add('maximum', enc(int ? big(m) : Number(m)));
        else add('maximum', enc(int ? big(m) + 1n : Number(m) + 1));
      } else if (int && b.format === 'int64') {
        add('int64', text ? String(MAX_INT64 + 1n) : MAX_INT64 + 1n);
      }
      if (b.multipleOf !== undefined && !int) {
        const base = b.minimum !== undefined ? Number(b.minimum) : 0;
        add('multipleOf', enc(base + Number(b.multipleOf) / 10 + Number(b.multipleOf)));
      }
    }
    if (t.includes('string') || (t.length === 0 && text)) {
      if (Array.isArray(b.enum)) add('enum', 'not-a-listed-value');
      if (b.minLength !== undefined && b.minLength > 0 && where !== 'path') add('minLength', 'x'.repeat(b.minLength - 1));
      if (b.maxLength !== undefined) {
        const n = b.maxLength + 1;
        add('maxLength', b.format === 'email' ? `${'a'.repeat(Math.max(1, n - 12))}@example.com` : 'a'.repeat(n));
      }
      if (b.pattern !== undefined) {
        const re = rx(b.pattern);
        const candidates = ['~', 'a b', '-', 'a'.repeat(300), '', 'x'];
        let found = 0;
        for (const c of candidates) {
          if (found >= 2) break;
          if (c === '' && where === 'path') continue;
          if (!re.test(c)) { add('pattern', c); found++; }
        }
      }
      if (b.format === 'email') add('format', 'not-an-email');
    }
  }
  return out;
}

// ---- requests -----------------------------------------------------------------------------------
function fillPath(template, values) {
  return template.replace(/\{([^}]+)\}/g, (_, n) => encodeURIComponent(String(values[n])));
}

function securityHeaders(doc, op, tokens) {
  const req = op.security ?? doc.security ?? [];
  if (!doc.components?.securitySchemes || req.length === 0) return {};
  // The first requirement that names a scheme: a token for that scheme (or one of its scopes),
  // else the default token.
  for (const alt of req) {
    const names = Object.keys(alt);
    if (names.length === 0) return {};
    for (const n of names) {
      const scopes = alt[n] ?? [];
      const tok = scopes.map((sc) => tokens[sc]).find(Boolean) ?? tokens[n] ??
        (/internal/i.test(n) ? tokens.internal : undefined) ?? tokens.default;
      if (!tok) throw new Error(`the document declares security scheme ${n} but no token was given (BOOKSTORE_ADMIN_TOKEN)`);
      return { Authorization: `Bearer ${tok}` };
    }
  }
  return {};
}

async function send(base, method, p, query, headers, body, contentType = 'application/json') {
  const url = new URL(base + p);
  for (const [k, v] of Object.entries(query)) url.searchParams.append(k, String(v));
  const h = { ...headers };
  let payload;
  if (body !== undefined) {
    payload = typeof body === 'string' && body.startsWith('\u0000raw:') ? body.slice(5) : stringifyExact(body);
    h['Content-Type'] = contentType;
  }
  const t0 = Date.now();
  const res = await fetch(url, { method, headers: h, body: payload, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, ms: Date.now() - t0 };
}

// ---- the run ------------------------------------------------------------------------------------
async function main() {
  const cfgFile = process.argv[2];
  if (!cfgFile) { console.error('usage: node spec-cases.mjs CONFIG.json'); process.exit(2); }
  const cfg = loadConfig(cfgFile);
  const gapsFile = cfg.knownGaps ? path.resolve(path.dirname(cfgFile), cfg.knownGaps) : path.join(here, 'known-gaps.json');
  const gaps = fs.existsSync(gapsFile) ? JSON.parse(fs.readFileSync(gapsFile, 'utf8')).gaps ?? [] : [];
  const gapIds = new Map(gaps.map((g) => [g.case, g.why]));
  const gapSeen = new Set();

  const counts = { documents: 0, operations: 0, cases: 0, path: 0, query: 0, header: 0, body: 0, request: 0, baseline: 0 };
  const failures = [];
  const opsDone = new Set();
  const statusesSeen = new Set();

  for (const service of cfg.services) {
    const docs = await fetchDocuments(service);
    if (docs.length === 0 && !service.optional) {
      failures.push(`${service.name}: no OpenAPI document answered at ${service.documents.join(', ')}`);
      continue;
    }
    for (const { url, doc } of docs) {
      counts.documents++;
      console.log(`document ${url} (${doc.info?.title ?? '?'} ${doc.info?.version ?? ''})`);
      const deferred = [];
      for (const [tmpl, item] of Object.entries(doc.paths)) {
        for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
          const op = item[method];
          if (!op) continue;
          const opKey = `${service.name} ${method.toUpperCase()} ${tmpl}`;
          if (opsDone.has(opKey)) continue;
          opsDone.add(opKey);
          counts.operations++;
          const run = () => runOperation(service, doc, tmpl, method, op, item, cfg, counts, failures, gapIds, gapSeen, statusesSeen);
          // A DELETE consumes its resource: run it after the rest of its document.
          if (method === 'delete') deferred.push(run); else await run();
        }
      }
      for (const run of deferred) await run();
    }
  }
  for (const [id, why] of gapIds) {
    if (!gapSeen.has(id)) failures.push(`known-gaps.json lists a case no document derives any more: "${id}" (${why}); remove it`);
  }
  console.log(`spec-derived cases: ${counts.cases} derived from ${counts.documents} documents, ` +
    `${counts.operations} operations (path ${counts.path}, query ${counts.query}, header ${counts.header}, ` +
    `body ${counts.body}, whole request ${counts.request}; plus ${counts.baseline} baselines); ` +
    `known gaps ${gapSeen.size}; failures ${failures.length}`);
  if (cfg.summaryFile) fs.writeFileSync(cfg.summaryFile, JSON.stringify({ ...counts, knownGaps: gapSeen.size, failures: failures.length }, null, 1));
  for (const f of failures) console.log(`FAIL  ${f}`);
  process.exit(failures.length === 0 ? 0 : 1);
}

async function runOperation(service, doc, tmpl, method, op, item, cfg, counts, failures, gapIds, gapSeen, statusesSeen) {
  const M = method.toUpperCase();
  const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => deref(doc, p))
    .filter((p, i, all) => all.findLastIndex((q) => q.name === p.name && q.in === p.in) === i);
  const pathValues = { ...cfg.pathValues };
  for (const p of params.filter((q) => q.in === 'path')) {
    if (!Object.hasOwn(pathValues, p.name)) pathValues[p.name] = validValue(doc, p.schema, p.name);
  }
  const auth = securityHeaders(doc, op, cfg.tokens);
  const bodySchema = op.requestBody?.content?.['application/json']?.schema;
  const bodyS = bodySchema ? deref(doc, bodySchema) : undefined;
  const baseBody = bodyS ? validValue(doc, bodyS, '', cfg.bodyValues) : undefined;
  // Required query/header parameters get a valid value in every request.
  const baseQuery = {};
  const baseHeaders = { ...auth };
  for (const p of params.filter((q) => q.required && (q.in === 'query' || q.in === 'header'))) {
    const v = validValue(doc, p.schema, p.name, cfg.bodyValues);
    if (p.in === 'query') baseQuery[p.name] = v; else baseHeaders[p.name] = String(v);
  }
  const expected4xx = Object.keys(op.responses ?? {}).filter((c) => /^4\d\d$/.test(c));
  const want = expected4xx.includes('422') ? '422' : expected4xx.includes('400') ? '400' : null;

  const check = async (label, where, name, req, expectStatus) => {
    const id = `${M} ${tmpl} ${label}`;
    counts.cases++;
    counts[where]++;
    let res;
    try {
      res = await send(service.base, M, req.path, req.query, req.headers, req.body, req.contentType);
    } catch (e) {
      return record(id, `${id}: transport error ${e.message}`);
    }
    statusesSeen.add(res.status);
    const problem = judge(doc, op, res, expectStatus, where, name);
    return record(id, problem ? `${id}: ${problem}` : null);
  };
  const record = (id, problem) => {
    if (gapIds.has(id)) {
      gapSeen.add(id);
      if (!problem) failures.push(`${id}: now answers as documented; remove it from known-gaps.json (${gapIds.get(id)})`);
      else console.log(`GAP   ${problem} [known: ${gapIds.get(id)}]`);
      return;
    }
    if (problem) failures.push(problem);
  };

  // The unbroken request: a documented status, never a 5xx, body as documented.
  if (method !== 'delete' || params.length === 0) {
    counts.baseline++;
    let res;
    try {
      res = await send(service.base, M, fillPath(tmpl, pathValues), baseQuery, baseHeaders, baseBody);
      const problem = judge(doc, op, res, null, null, null);
      if (problem) failures.push(`${M} ${tmpl} baseline ${stringifyExact(baseBody ?? {})}: ${problem}`);
      else if (res.status === 422) failures.push(`${M} ${tmpl} baseline was refused (422): the generated valid request is not valid: ${res.text.slice(0, 300)}`);
    } catch (e) {
      failures.push(`${M} ${tmpl} baseline: transport error ${e.message}`);
    }
  }
  if (!want) {
    const constrained = params.length > 0 || bodyS;
    if (constrained) failures.push(`${M} ${tmpl}: takes input but documents neither 422 nor 400`);
    return;
  }

  for (const p of params) {
    if (!['path', 'query', 'header'].includes(p.in)) continue;
    if (p.name.toLowerCase() === 'authorization') continue;
    const cases = violations(doc, p.schema, p.in);
    if (p.required && p.in !== 'path') cases.push({ kind: 'missing', value: undefined });
    for (const c of cases) {
      const req = { path: fillPath(tmpl, pathValues), query: { ...baseQuery }, headers: { ...baseHeaders }, body: baseBody };
      if (p.in === 'path') req.path = fillPath(tmpl, { ...pathValues, [p.name]: c.value });
      else if (p.in === 'query') { if (c.value === undefined) delete req.query[p.name]; else req.query[p.name] = c.value; }
      else if (c.value === undefined) delete req.headers[p.name]; else req.headers[p.name] = String(c.value);
      await check(`${p.in}.${p.name}=${short(c.value)} (${c.kind})`, p.in, p.name, req, want);
    }
  }

  if (bodyS) {
    const base = () => ({ path: fillPath(tmpl, pathValues), query: { ...baseQuery }, headers: { ...baseHeaders } });
    for (const r of bodyS.required ?? []) {
      const body = { ...baseBody };
      delete body[r];
      await check(`body.${r} missing`, 'body', r, { ...base(), body }, want);
    }
    for (const [name, schema] of Object.entries(bodyS.properties ?? {})) {
      for (const c of violations(doc, schema, 'body')) {
        await check(`body.${name}=${short(c.value)} (${c.kind})`, 'body', name, { ...base(), body: { ...baseBody, [name]: c.value } }, want);
      }
    }
    // The body as a whole: not an object, not JSON; another media type when 415 is documented.
    await check('body=[] (not an object)', 'request', null, { ...base(), body: [] }, want);
    await check('body={ (not JSON)', 'request', null, { ...base(), body: '\u0000raw:{' }, want);
    if (expected4xx.includes('415')) {
      await check('Content-Type: text/plain', 'request', null, { ...base(), body: baseBody, contentType: 'text/plain' }, '415');
    }
  }
}

function short(v) {
  if (v === undefined) return '(absent)';
  const s = typeof v === 'string' ? JSON.stringify(v) : stringifyExact(v);
  return s.length > 40 ? `${s.slice(0, 12)}…(${s.length} chars)` : s;
}

// Returns null when res is as documented, else what is wrong. expectStatus null: any documented
// status (a baseline); where/name: the field a 422 must name.
function judge(doc, op, res, expectStatus, where, name) {
  if (res.status >= 500) return `answered ${res.status} (a 5xx): ${res.text.slice(0, 200)}`;
  const documented = op.responses?.[String(res.status)] ?? op.responses?.[`${String(res.status)[0]}XX`] ?? op.responses?.default;
  if (expectStatus && String(res.status) !== expectStatus) return `expected ${expectStatus}, got ${res.status}: ${res.text.slice(0, 200)}`;
  if (!documented) return `answered ${res.status}, which the document does not list for this operation`;
  const resolved = documented.$ref ? resolveRef(doc, documented.$ref) : documented;
  const content = resolved.content ?? {};
  const types = Object.keys(content);
  if (types.length > 0) {
    const ct = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    if (!types.includes(ct)) return `Content-Type ${ct || '(none)'} is not documented (${types.join(', ')})`;
    const schema = content[ct]?.schema;
    if (schema && ct.endsWith('json')) {
      if (res.json === undefined) return `body is not JSON: ${res.text.slice(0, 200)}`;
      const v = validatorFor(doc, schema);
      if (!v(res.json)) return `body does not match the documented schema: ${ajv.errorsText(v.errors)}: ${res.text.slice(0, 200)}`;
    }
  }
  for (const h of Object.keys(resolved.headers ?? {})) {
    if (res.headers.get(h) === null) return `documented header ${h} is missing`;
  }
  if (where && where !== 'request' && res.status === 422) {
    const detail = res.json?.detail;
    if (!Array.isArray(detail)) return `422 detail is not a list: ${res.text.slice(0, 200)}`;
    const loc0 = where;
    const named = detail.some((e) => Array.isArray(e.loc) && e.loc[0] === loc0 &&
      (where === 'header' ? String(e.loc[1]).toLowerCase() === name.toLowerCase() : e.loc[1] === name));
    // A body integer beyond 64 bits cannot be parsed as JSON by the service: a 422 at the body
    // with the parse position is the answer (documented in docs/contract.md).
    const parseError = where === 'body' && detail.some((e) => e.type === 'json_invalid');
    if (!named && !parseError) return `422 does not name ${loc0}.${name}: ${res.text.slice(0, 300)}`;
  }
  return null;
}

main().catch((e) => { console.error(e); process.exit(1); });
