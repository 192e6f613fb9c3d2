// load.mjs - a mixed read/order load through the local ingress, for tests/checks/cluster.sh.
//
// node load.mjs --base http://127.0.0.1:8080 --books 3,4,5 --workers 8 --duration-ms 20000
//               --out result.json [--stop-file F]   (ends early once file F exists)
//               [--tokens FILE]   (one bearer token per line, line w for worker w: its customer,
//                                  email load<w>@example.com; the reads stay anonymous)
// Each worker loops until the deadline over: GET /catalog/books/{id}, GET /catalog/books?search=,
// POST /orders (quantity 1 of a random test book), and PATCH /orders/{id}/status cancelled for one of
// its own pending orders. One TCP connection per request (no keep-alive), so a request can only fail
// because of the server side, never because a reused idle connection was closed under it.
// Expected answers: GET 200; POST /orders 201 or 409 (out of stock); PATCH 200. Everything else
// (5xx, 4xx other than those, network errors) is a failure, recorded with its time and details.
import fs from 'node:fs';
import http from 'node:http';

const opts = { base: 'http://127.0.0.1:8080', books: '', workers: 8, 'duration-ms': 20000, out: '', 'stop-file': '', tokens: '' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1];
const base = new URL(opts.base);
const books = opts.books.split(',').filter(Boolean).map(Number);
const tokens = opts.tokens ? fs.readFileSync(opts.tokens, 'utf8').split('\n').filter(Boolean) : [];
if (opts.tokens && tokens.length < Number(opts.workers)) {
  console.error(`load: ${opts.tokens} has ${tokens.length} tokens for ${opts.workers} workers`);
  process.exit(2);
}
let deadline = Date.now() + Number(opts['duration-ms']);
// SIGTERM ends the run early but still writes the result (workers finish their current request).
process.on('SIGTERM', () => { deadline = 0; });
const t0 = Date.now();

const stats = {};
const failures = [];
function record(op, ok, detail) {
  const s = (stats[op] ||= { ok: 0, fail: 0, statuses: {} });
  s.statuses[detail.status] = (s.statuses[detail.status] || 0) + 1;
  if (ok) s.ok++;
  else {
    s.fail++;
    failures.push({ t_ms: Date.now() - t0, t_epoch_ms: Date.now(), op, ...detail });
  }
}

function request(method, path, body, token) {
  return new Promise((resolve) => {
    const data = body ? JSON.stringify(body) : null;
    const req = http.request({
      host: base.hostname, port: base.port || 80, method, path, agent: false, timeout: 15000,
      headers: {
        Connection: 'close',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}),
      },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, json, text: text.slice(0, 200) });
      });
      res.on('error', (e) => resolve({ status: 'network', text: String(e.message) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 'network', text: String(e.message) }));
    if (data) req.write(data);
    req.end();
  });
}

const pick = (a) => a[Math.floor(Math.random() * a.length)];
async function worker(w) {
  const mine = [];
  const token = tokens[w];
  let n = 0;
  while (Date.now() < deadline && !(opts['stop-file'] && fs.existsSync(opts['stop-file']))) {
    const r = Math.random();
    n++;
    if (r < 0.4) {
      const res = await request('GET', `/catalog/books/${pick(books)}`);
      record('get_book', res.status === 200, res);
    } else if (r < 0.55) {
      const res = await request('GET', '/catalog/books?limit=5&search=load');
      record('list_books', res.status === 200, res);
    } else if (r < 0.85 || mine.length === 0) {
      const book = pick(books);
      const res = await request('POST', '/orders', {
        book_id: book, customer_name: `Load ${w}`, customer_email: `load${w}@example.com`, quantity: 1,
      }, token);
      record('post_order', res.status === 201 || res.status === 409, res);
      if (res.status === 201 && res.json) mine.push(res.json.id);
    } else {
      const id = mine.splice(Math.floor(Math.random() * mine.length), 1)[0];
      const res = await request('PATCH', `/orders/${id}/status`, { status: 'cancelled' }, token);
      record('cancel_order', res.status === 200, res);
    }
  }
  return n;
}

// The result file is always written, even if the generator itself breaks (then with "error" set
// and a non-zero exit), so the check reports what happened instead of "no load result".
const counts = new Array(Number(opts.workers)).fill(0);
function writeResult(error) {
  const total = counts.reduce((a, b) => a + b, 0);
  const result = {
    duration_ms: Date.now() - t0,
    requests: total,
    failed: failures.length + (error ? 1 : 0),
    stats,
    failures: error ? [{ t_ms: Date.now() - t0, t_epoch_ms: Date.now(), op: 'load-generator', status: 'error', text: String(error) }, ...failures.slice(0, 199)] : failures.slice(0, 200),
    ...(error ? { error: String(error) } : {}),
  };
  if (opts.out) fs.writeFileSync(opts.out, JSON.stringify(result, null, 1));
  return { total, result };
}
const crash = (e) => { writeResult(e && e.stack ? e.stack : e); console.error('load: generator error:', e); process.exit(2); };
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
await Promise.all(counts.map((_, i) => worker(i).then((n) => { counts[i] = n; })));
const { total, result } = writeResult(null);
console.log(`load: ${total} requests in ${result.duration_ms} ms, ${failures.length} failed; ` +
  Object.entries(stats).map(([k, v]) => `${k} ${JSON.stringify(v.statuses)}`).join(', '));
