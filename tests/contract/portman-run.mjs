// portman-run.mjs - the third-party half of the contract run (issue 15): Portman generates a
// Postman collection from each SERVED OpenAPI document, newman runs it against the live daemons.
//
// What is generated comes from the documents: contract tests on every operation (status,
// Content-Type, JSON body against the response schema, documented headers), Portman's fuzz
// variations on every constrained body field, query parameter and header (-> the documented 422),
// and one variation per documented error status that this file knows how to provoke (below: by
// where the input lives, so a new operation is covered when it documents the status). The only
// bookstore knowledge here is DATA: which seeded resource to use (ids the driver created) and,
// for 409/410, which existing state conflicts (the `conflicts` table). Then, with the catalog
// frozen (SIGSTOP), the documented 503 with Retry-After of every operation that calls the
// catalog on a write is requested once, within the bound.
//
// Usage: node portman-run.mjs CONFIG.json   (run.sh writes it)
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const newman = require('newman');
const portmanBin = path.join(here, 'node_modules', '.bin', 'portman');

const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const W = cfg.work;
const v = cfg.values; // seeded resources: bookId, scarceId, doomedId, orderId, deliveredId, customerOrderId, heldReservation, goneReservation, bookIsbn
fs.mkdirSync(path.join(W, 'portman'), { recursive: true });

// ---- documents --------------------------------------------------------------------------------------
async function fetchDocs(service) {
  const out = [];
  const seen = new Set();
  for (const url of service.documents) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(10000) });
      if (res.status !== 200) continue;
      const text = await res.text();
      const doc = JSON.parse(text);
      if (typeof doc.openapi !== 'string' || !doc.paths || seen.has(text)) continue;
      seen.add(text);
      out.push({ url, text, doc });
    } catch { /* not served there */ }
  }
  return out;
}

const methods = ['get', 'put', 'post', 'delete', 'patch'];
const ref = (doc, r) => r.slice(2).split('/').reduce((o, k) => o?.[k], doc);
const deref = (doc, s) => (s && s.$ref ? deref(doc, ref(doc, s.$ref)) : s);
function operations(doc) {
  const ops = [];
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const m of methods) {
      if (!item[m]) continue;
      const op = item[m];
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((x) => deref(doc, x));
      const body = deref(doc, op.requestBody?.content?.['application/json']?.schema);
      ops.push({ target: `${m.toUpperCase()}::${p}`, method: m, path: p, op, params, body: body ? deref(doc, body) : undefined, statuses: Object.keys(op.responses ?? {}) });
    }
  }
  return ops;
}

// ---- Portman configuration, derived from a document ---------------------------------------------------
const allContract = [
  { statusCode: { enabled: true } }, { contentType: { enabled: true } }, { jsonBody: { enabled: true } },
  { schemaValidation: { enabled: true } }, { headersPresent: { enabled: true } },
];
const fuzzAll = ['requiredFields', 'minimumNumberFields', 'maximumNumberFields', 'minLengthFields', 'maxLengthFields']
  .map((k) => ({ [k]: { enabled: true } }));

// Values for path parameters (by name): the seeded resources; a DELETE gets its own victim.
function pathValue(name, method) {
  if (method === 'delete' && name === 'id') return String(v.doomedId);
  return String({ id: v.bookId, order_id: v.orderId, reservation_id: v.heldReservation }[name] ?? '1');
}
// Body fields whose valid value must be an existing resource or must not conflict.
function bodyOverwrites(o) {
  const props = o.body?.properties ?? {};
  const out = [];
  for (const [k, s0] of Object.entries(props)) {
    const s = s0;
    if (k === 'book_id') out.push({ key: k, value: v.bookId, overwrite: true });
    else if (k === 'reservation_id') out.push({ key: k, value: 'contract-{{$randomInt}}{{$randomInt}}', overwrite: true });
    else if (k === 'quantity') out.push({ key: k, value: 1, overwrite: true });
    else if (s.format === 'email') out.push({ key: k, value: 'contract@example.com', overwrite: true });
  }
  return out;
}
// Main requests whose generated body would not be accepted in the seeded state, by operationId.
const mainBodies = {
  updateOrderStatus: [{ key: 'status', value: 'confirmed' }], // the created order is pending
};
// The conflicts each operation can be driven into with the seeded state (409, 410), by operationId.
const conflicts = {
  createBook: { 409: { body: [{ key: 'isbn', value: v.bookIsbn }] } },
  updateBook: { 409: { path: { id: v.scarceId }, body: [{ key: 'isbn', value: v.bookIsbn }] } },
  patchBook: { 409: { path: { id: v.scarceId }, body: [{ key: 'isbn', value: v.bookIsbn }] } },
  deleteBook: { 409: { path: { id: v.bookId } } },
  reserveStock: {
    409: { body: [{ key: 'book_id', value: v.scarceId }, { key: 'quantity', value: 1 }] },
    410: { body: [{ key: 'reservation_id', value: v.goneReservation }, { key: 'quantity', value: 1 }] },
  },
  createOrder: { 409: { body: [{ key: 'book_id', value: v.scarceId }, { key: 'quantity', value: 1 }] } },
  updateOrderStatus: { 409: { path: { order_id: v.deliveredId }, body: [{ key: 'status', value: 'pending' }] } },
};

function variation(o, status, name, overwrites, extra = {}) {
  return {
    openApiOperation: o.target, openApiResponse: status,
    variations: [{ name, overwrites: [overwrites], tests: { contractTests: allContract }, ...extra }],
  };
}

function portmanConfig(doc, mode) {
  const ops = operations(doc);
  const secured = !!doc.components?.securitySchemes && Object.keys(doc.components.securitySchemes).length > 0;
  const overwrites = [];
  const variationTests = [];
  const reached = {};
  // A POST that creates (201 with an id) names the resource the operations below its path use:
  // GET/PUT/PATCH /books/{id} act on the book POST /books made (its own ISBN is no conflict).
  const assignVariables = [];
  const created = {};
  for (const o of ops) {
    const schema = deref(doc, o.op.responses?.['201']?.content?.['application/json']?.schema);
    if (o.method !== 'post' || o.params.some((p) => p.in === 'path') || !schema?.properties?.id) continue;
    const name = `created${o.path.replace(/[^A-Za-z0-9]/g, '_')}`;
    created[o.path] = name;
    assignVariables.push({ openApiOperation: o.target, collectionVariables: [{ responseBodyProp: 'id', name }] });
  }
  for (const o of ops) {
    const parent = Object.keys(created).find((p) => o.path.startsWith(`${p}/{`));
    const firstParam = o.path.match(/\{([^}]+)\}/)?.[1];
    const pv = o.params.filter((p) => p.in === 'path').map((p) => ({
      key: p.name,
      value: parent && o.method !== 'delete' && p.name === firstParam && mode !== 'frozen' ? `{{${created[parent]}}}` : pathValue(p.name, o.method),
      overwrite: true,
    }));
    const ow = { openApiOperation: o.target };
    if (pv.length) ow.overwriteRequestPathVariables = pv;
    const bo = [...bodyOverwrites(o), ...(mode === 'frozen' ? [] : (mainBodies[o.op.operationId] ?? []).map((b) => ({ ...b, overwrite: true })))];
    if (bo.length) ow.overwriteRequestBody = bo;
    // A constrained optional header (Idempotency-Key) gets a fresh value per request: a value
    // generated once would make every later request a replay of the first.
    const hv = o.params.filter((p) => p.in === 'header' && !p.required && ['minLength', 'maxLength', 'pattern'].some((k) => deref(doc, p.schema)?.[k] !== undefined))
      .map((p) => ({ key: p.name, value: 'contract-{{$guid}}', overwrite: true }));
    if (hv.length) ow.overwriteRequestHeaders = hv;
    // An operation that names its own user scheme in a document whose global one is the
    // internal token (GET /audit in the catalog's internal document) gets the admin token.
    const ownSchemes = (o.op.security || []).flatMap((x) => Object.keys(x));
    if (ownSchemes.length && !ownSchemes.some((n) => /internal/i.test(n)) &&
      Object.keys(doc.components?.securitySchemes || {}).some((n) => /internal/i.test(n))) {
      ow.overwriteRequestSecurity = { bearer: { token: '{{adminToken}}' } };
    }
    if (Object.keys(ow).length > 1) overwrites.push(ow);
  }
  if (mode === 'frozen') {
    // Every write that calls the catalog documents a 503 with Retry-After: request it once.
    for (const o of ops) {
      if (o.method === 'get' || !o.statuses.includes('503') || !o.op.responses['503'].headers?.['Retry-After']) continue;
      if (!['createOrder'].includes(o.op.operationId)) continue;
      variationTests.push({
        openApiOperation: o.target, openApiResponse: '503',
        variations: [{ name: 'catalog frozen', tests: { contractTests: [...allContract, { responseTime: { enabled: true, maxMs: cfg.frozenBoundMs } }] } }],
      });
      reached[o.target] = ['503'];
    }
  } else {
    for (const o of ops) {
      const id = o.op.operationId;
      const r = (reached[o.target] = []);
      const has = (s) => o.statuses.includes(s);
      // 404: an id that does not exist, where the operation takes one.
      if (has('404')) {
        const pathIds = o.params.filter((p) => p.in === 'path');
        const bodyIds = Object.entries(o.body?.properties ?? {}).filter(([k, s]) => k.endsWith('_id') && s.type === 'integer');
        const ow = {};
        if (pathIds.length) ow.overwriteRequestPathVariables = pathIds.map((p) => ({ key: p.name, value: deref(doc, p.schema)?.type === 'integer' ? '999999999' : 'contract-missing', overwrite: true }));
        else if (bodyIds.length) ow.overwriteRequestBody = bodyIds.map(([k]) => ({ key: k, value: 999999999, overwrite: true }));
        if (Object.keys(ow).length) { variationTests.push(variation(o, '404', 'not found', ow)); r.push('404'); }
      }
      // Access control (once the documents declare it): no token -> 401; the customer's token on
      // an operation that documents 403 -> 403.
      if (secured && has('401')) { variationTests.push(variation(o, '401', 'no token', { overwriteRequestSecurity: { remove: true } })); r.push('401'); }
      // On an order (order_id in the path) a customer's 403 is for its own order only (someone
      // else's is a 404): the customer token's own seeded order (values.customerOrderId).
      if (secured && has('403') && cfg.tokens.customer) {
        const ow = { overwriteRequestSecurity: { bearer: { token: '{{customerToken}}' } } };
        if (o.params.some((p) => p.in === 'path' && p.name === 'order_id')) {
          if (v.customerOrderId === undefined) throw new Error(`${o.op.operationId}: no values.customerOrderId for the customer's 403`);
          ow.overwriteRequestPathVariables = [{ key: 'order_id', value: String(v.customerOrderId), overwrite: true }];
        }
        variationTests.push(variation(o, '403', 'customer token', ow)); r.push('403');
      }
      for (const s of ['409', '410']) {
        const c = conflicts[id]?.[s];
        if (!has(s) || !c) continue;
        const ow = {};
        if (c.path) ow.overwriteRequestPathVariables = Object.entries(c.path).map(([key, value]) => ({ key, value: String(value), overwrite: true }));
        if (c.body) ow.overwriteRequestBody = c.body.map((b) => ({ ...b, overwrite: true }));
        variationTests.push(variation(o, s, s === '409' ? 'conflict' : 'gone', ow));
        r.push(s);
      }
      // 413: the first string field of the body carries 1.1 MB (newman writes it all, then reads).
      const firstString = Object.entries(o.body?.properties ?? {}).find(([, s]) => deref(doc, s)?.type === 'string');
      if (has('413') && firstString) {
        variationTests.push(variation(o, '413', 'body over MAX_BODY_BYTES', { overwriteRequestBody: [{ key: firstString[0], value: '{{bigText}}', overwrite: true }] }));
        r.push('413');
      }
      if (has('415') && o.body) {
        variationTests.push(variation(o, '415', 'text/plain', { overwriteRequestHeaders: [{ key: 'Content-Type', value: 'text/plain', overwrite: true }] }));
        r.push('415');
      }
      if (has('422')) {
        // Portman's fuzzing: every constrained body field, query parameter and header.
        variationTests.push({
          openApiOperation: o.target, openApiResponse: '422',
          variations: [{ name: 'fuzz', fuzzing: [{ requestBody: fuzzAll, requestQueryParams: fuzzAll, requestHeaders: fuzzAll }], tests: { contractTests: allContract } }],
        });
        // Path parameters are not fuzzed by Portman: a value of the wrong type.
        const pathParams = o.params.filter((p) => p.in === 'path');
        if (pathParams.length) {
          variationTests.push(variation(o, '422', 'path parameter of the wrong type', {
            overwriteRequestPathVariables: pathParams.map((p) => ({ key: p.name, value: deref(doc, p.schema)?.type === 'integer' ? 'abc' : '~', overwrite: true })),
          }));
        }
        if (o.body) variationTests.push(variation(o, '422', 'body not an object', { overwriteRequestBody: [{ key: '.', value: [], overwrite: true }] }));
        r.push('422');
      }
    }
  }
  // The hook for access control: the documents' security schemes drive the token.
  // A document whose scheme is the internal one (the reservations API) gets the internal token.
  const internal = secured && Object.keys(doc.components.securitySchemes).some((n) => /internal/i.test(n));
  // openapi-to-postman gives every operation with a bearer requirement its own auth,
  // {{bearerToken}}, which wins over the collection's auth that securityOverwrites sets: both
  // carry the same token.
  const defaultToken = internal ? cfg.tokens.internal ?? '' : cfg.tokens.admin ?? '';
  const collectionVariables = {
    bookId: String(v.bookId), scarceId: String(v.scarceId), adminToken: cfg.tokens.admin ?? '', customerToken: cfg.tokens.customer ?? '', internalToken: cfg.tokens.internal ?? '',
    ...(secured ? { bearerToken: defaultToken } : {}),
  };
  const globals = {
    collectionVariables,
    collectionPreRequestScripts: ["if (!pm.collectionVariables.get('bigText')) pm.collectionVariables.set('bigText', 'x'.repeat(1100000));"],
    stripResponseExamples: true,
  };
  if (secured) globals.securityOverwrites = { bearer: { token: internal ? '{{internalToken}}' : '{{adminToken}}' } };
  return {
    config: {
      version: 1.0,
      tests: {
        contractTests: mode === 'frozen' ? [] : [
          { openApiOperation: '*::/*', statusSuccess: { enabled: true } },
          ...allContract.slice(1).map((t) => ({ openApiOperation: '*::/*', ...t })),
        ],
        variationTests,
      },
      assignVariables,
      overwrites,
      globals,
    },
    reached,
    operations: ops.length,
  };
}

function generate(name, docFile, baseUrl, config) {
  const cfgFile = path.join(W, 'portman', `${name}.portman.json`);
  const pmCfg = path.join(W, 'portman', 'postman-config.json');
  const out = path.join(W, 'portman', `${name}.collection.json`);
  fs.writeFileSync(cfgFile, JSON.stringify(config, null, 1));
  fs.writeFileSync(pmCfg, JSON.stringify({ folderStrategy: 'Tags', parametersResolution: 'Example', requestParametersResolution: 'Example', exampleParametersResolution: 'Example', keepImplicitHeaders: true, enableOptionalParameters: true }));
  const r = spawnSync(portmanBin, ['-l', docFile, '-c', cfgFile, '-s', pmCfg, '-o', out, '-b', baseUrl, '--logAssignVariables', 'false', '--warn', 'false'],
    { cwd: path.join(W, 'portman'), encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  if (r.status !== 0 || !fs.existsSync(out)) throw new Error(`portman failed for ${name}: ${r.stdout}\n${r.stderr}`);
  // Portman's security `remove` drops a request's own auth; a document whose requirement is
  // global (the internal one: top-level `security`) gives its requests none, so they would inherit
  // the collection's token. The "no token" variations get an explicit noauth: no Authorization.
  const coll = JSON.parse(fs.readFileSync(out, 'utf8'));
  const noAuth = (items) => { for (const it of items || []) { if (it.item) noAuth(it.item); else if (/\[no token\]/.test(it.name)) it.request.auth = { type: 'noauth' }; } };
  noAuth(coll.item);
  fs.writeFileSync(out, JSON.stringify(coll));
  return out;
}

function runNewman(collectionFile, folder) {
  return new Promise((resolve, reject) => {
    newman.run({
      collection: JSON.parse(fs.readFileSync(collectionFile, 'utf8')),
      folder, reporters: [], timeoutRequest: 15000, ignoreRedirects: true,
    }, (err, summary) => (err ? reject(err) : resolve(summary)));
  });
}

function tally(summary, name, totals, statuses, problems, allow503) {
  const st = summary.run.stats;
  totals.requests += st.requests.total;
  totals.assertions += st.assertions.total;
  totals.failed += st.assertions.failed + st.requests.failed;
  for (const ex of summary.run.executions) {
    const code = ex.response?.code;
    const label = `${name}: ${ex.item.name}`;
    if (code === undefined) problems.push(`${label}: no response (${ex.requestError?.message ?? 'transport error'})`);
    else statuses.add(code);
    if (code >= 500 && !(allow503 && code === 503)) problems.push(`${label}: answered ${code}`);
    if (code === 413) totals.bodies413.push(ex.response?.stream?.toString() ?? '');
    const failed = (ex.assertions ?? []).filter((a) => a.error);
    for (const a of failed) problems.push(`${label}: ${a.assertion}: ${a.error.message}`);
    if (failed.length) problems.push(`${label}: the answer was ${code} ${ex.response?.stream?.toString().slice(0, 300)}`);
  }
}

function lineCount(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
}

async function main() {
  const totals = { requests: 0, assertions: 0, failed: 0, operations: 0, documents: 0, bodies413: [] };
  const statuses = new Set();
  const problems = [];
  const docs = [];
  for (const s of cfg.services) {
    const found = await fetchDocs(s);
    if (found.length === 0 && !s.optional) problems.push(`${s.name}: no document served at ${s.documents.join(', ')}`);
    found.forEach((d, i) => docs.push({ ...d, service: s, name: `${s.name}-${i}` }));
  }
  // Through the edge (run.sh --edge): a public document holds public operations only, every one
  // routed by the edge (deploy/public-routes.txt, cfg.edgeRoutes). A documented path the edge does
  // not route fails the run (it would get the edge's 404) and is left out of the collection. A
  // path is the base's path + the document's path (the catalog's base is EDGE/catalog: its
  // document's paths are below BASE_PATH).
  if (cfg.edgeRoutes) {
    const routed = (p) => cfg.edgeRoutes.some((r) => (r.match === 'exact' ? p === r.path : p === r.path || p.startsWith(`${r.path}/`)));
    for (const d of docs) {
      const prefix = new URL(d.service.base).pathname.replace(/\/$/, '');
      const dropped = Object.keys(d.doc.paths).filter((p) => !routed(prefix + p));
      for (const p of dropped) { delete d.doc.paths[p]; problems.push(`${d.name}: ${p} is documented but the edge does not route ${prefix + p}`); }
      d.text = JSON.stringify(d.doc);
      console.log(`${d.name}: ${Object.keys(d.doc.paths).length} paths routed by the edge: ${Object.keys(d.doc.paths).map((p) => prefix + p).join(' ')}${dropped.length ? `; NOT routed: ${dropped.join(' ')}` : ''}`);
    }
  }
  let orderDoc;
  for (const d of docs) {
    const file = path.join(W, 'portman', `${d.name}.openapi.json`);
    fs.writeFileSync(file, d.text);
    const { config, reached, operations: n } = portmanConfig(d.doc, 'normal');
    totals.operations += n;
    totals.documents++;
    const coll = generate(d.name, file, d.service.base, config);
    const summary = await runNewman(coll);
    tally(summary, d.name, totals, statuses, problems, false);
    console.log(`newman ${d.name} (${d.url}): ${summary.run.stats.requests.total} requests, ${summary.run.stats.assertions.total} assertions, ${summary.run.stats.assertions.failed} failed`);
    for (const [t, rs] of Object.entries(reached)) if (rs.length) console.log(`  ${t}: variations for ${rs.join(', ')}`);
    if (operations(d.doc).some((o) => o.op.operationId === 'createOrder')) orderDoc = { ...d, file };
  }

  // The frozen catalog: SIGSTOP, the documented 503 + Retry-After within the bound, SIGCONT.
  // cfg.frozen === false (run.sh --edge): the phase is left to the direct run (docs/contract.md).
  if (cfg.frozen === false) console.log('frozen catalog: not run in this mode (the direct run covers it)');
  else if (!orderDoc) problems.push('no served document has createOrder: the frozen-catalog phase cannot run');
  else {
    const { config } = portmanConfig(orderDoc.doc, 'frozen');
    const coll = generate(`${orderDoc.name}-frozen`, orderDoc.file, orderDoc.service.base, config);
    const from = [lineCount(cfg.logs.catalog), lineCount(cfg.logs.order)];
    process.kill(cfg.catalogPid, 'SIGSTOP');
    let summary;
    try {
      summary = await runNewman(coll, 'Variation Tests');
    } finally {
      process.kill(cfg.catalogPid, 'SIGCONT');
    }
    // Settled: no half-done order left (the recovery pass releases what the freeze interrupted).
    const deadline = Date.now() + 30000;
    let unsettled = '1';
    while (Date.now() < deadline) {
      unsettled = execFileSync('psql', [cfg.db, '-tAc', cfg.unsettledSql], { encoding: 'utf8' }).trim();
      if (unsettled === '0') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (unsettled !== '0') problems.push(`after the freeze, ${unsettled} orders/intents stayed unsettled for 30 s`);
    await new Promise((r) => setTimeout(r, 500));
    const to = [lineCount(cfg.logs.catalog), lineCount(cfg.logs.order)];
    fs.writeFileSync(path.join(W, 'frozen.lines'), `${from[0]} ${to[0]} ${from[1]} ${to[1]}\n`);
    const before = totals.requests;
    tally(summary, 'frozen', totals, statuses, problems, true);
    const n503 = summary.run.executions.filter((e) => e.response?.code === 503).length;
    console.log(`frozen catalog: ${totals.requests - before} request(s) to the order service, ${n503} answered 503 with Retry-After within ${cfg.frozenBoundMs} ms (assertions failed: ${summary.run.stats.assertions.failed})`);
    if (n503 === 0) problems.push('frozen catalog: no 503');
  }

  // Through the edge the 413 is nginx's own answer (client_max_body_size, deploy/nginx/json-errors.conf):
  // say so, it is the edge's answer that the contract tests above held to the documented shape.
  const b413 = [...new Set(totals.bodies413)];
  console.log(`413 answers: ${totals.bodies413.length}, bodies: ${b413.join(' | ')}`);
  delete totals.bodies413;
  for (const s of cfg.requiredStatuses ?? [404, 409, 410, 413, 415, 422, 503]) if (!statuses.has(s)) problems.push(`documented status ${s} was never reached`);
  console.log(`portman: ${totals.documents} documents, ${totals.operations} operations, ${totals.requests} requests, ${totals.assertions} assertions, ${totals.failed} failed; statuses seen ${[...statuses].sort().join(' ')}`);
  fs.writeFileSync(path.join(W, 'portman-summary.json'), JSON.stringify({ ...totals, statuses: [...statuses].sort() }, null, 1));
  for (const p of problems) console.log(`FAIL  ${p}`);
  process.exit(problems.length === 0 && totals.failed === 0 ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(1); });
