// routes.mjs - the public URL map (deploy/public-routes.txt) against what routes it and what
// documents it: the Ingress, the Gateway API HTTPRoutes and the public OpenAPI documents.
// Used by check.mjs; each function returns a list of problems (strings).
import fs from 'node:fs';

export const SERVICE_OF = { catalog: 'catalog-service', orders: 'order-service' };

// deploy/public-routes.txt: "<service> <match> <path>" a line, '#' comments.
export function parseRouteList(file) {
  const routes = [];
  const problems = [];
  fs.readFileSync(file, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const f = line.split(/\s+/);
    const [svc, match, p] = f;
    if (f.length !== 3 || !SERVICE_OF[svc] || !['prefix', 'exact'].includes(match) || !/^\/[A-Za-z0-9._~\-/]*$/.test(p) ||
      (p.length > 1 && p.endsWith('/'))) {
      problems.push(`${file}:${i + 1}: expected "<catalog|orders> <prefix|exact> /path" (no trailing /), got "${raw}"`);
      return;
    }
    routes.push({ service: SERVICE_OF[svc], match, path: p });
  });
  if (!routes.length) problems.push(`${file}: no routes`);
  return { routes, problems };
}

const key = (r) => `${r.service} ${r.match} ${r.path}`;
function compareSets(what, got, want) {
  const g = new Set(got.map(key));
  const w = new Set(want.map(key));
  const problems = [];
  for (const k of w) if (!g.has(k)) problems.push(`${what}: missing route "${k}" of deploy/public-routes.txt`);
  for (const k of g) if (!w.has(k)) problems.push(`${what}: routes "${k}", which deploy/public-routes.txt does not list`);
  return problems;
}

// Element-wise prefix match, as Ingress pathType Prefix and Gateway API PathPrefix do.
export function covers(route, p) {
  if (route.match === 'exact') return p === route.path;
  return p === route.path || p.startsWith(route.path.endsWith('/') ? route.path : `${route.path}/`);
}

export function ingressRoutes(ing) {
  const out = [];
  for (const rule of ing.spec.rules || []) {
    for (const p of (rule.http && rule.http.paths) || []) {
      const svc = p.backend && p.backend.service && p.backend.service.name;
      out.push({ service: svc, match: p.pathType === 'Exact' ? 'exact' : p.pathType === 'Prefix' ? 'prefix' : p.pathType, path: p.path });
    }
  }
  return out;
}
export function checkIngress(ing, list) {
  return compareSets(`Ingress/${ing.metadata.name}`, ingressRoutes(ing), list);
}

// HTTPRoutes whose backends are the two services; the catch-all to the JSON 404 backend is checked
// by check.mjs. A path may appear in several rules (reads/writes split): compared as a set.
export function checkHttpRoutes(objs, list) {
  const got = [];
  for (const r of objs.filter((o) => o.kind === 'HTTPRoute')) {
    for (const rule of r.spec.rules || []) {
      const svcs = (rule.backendRefs || []).map((b) => b.name).filter((n) => Object.values(SERVICE_OF).includes(n));
      for (const s of svcs) {
        for (const m of rule.matches || [{ path: { type: 'PathPrefix', value: '/' } }]) {
          const t = (m.path && m.path.type) || 'PathPrefix';
          got.push({ service: s, match: t === 'Exact' ? 'exact' : t === 'PathPrefix' ? 'prefix' : t, path: (m.path && m.path.value) || '/' });
        }
      }
    }
  }
  const dedup = [...new Map(got.map((r) => [key(r), r])).values()];
  return compareSets('HTTPRoutes', dedup, list);
}

// The public OpenAPI documents: every documented path, under the document's server path, must be
// routed to that service, and every routed prefix must be documented (the docs page and the
// document itself excepted: they are not operations). Returns {problems, notes}.
const DOC_ONLY = (p) => /\/docs$/.test(p) || /\/openapi\.json$/.test(p);
export function checkOpenApi(service, docFile, list) {
  const problems = [];
  const doc = JSON.parse(fs.readFileSync(docFile, 'utf8'));
  const servers = doc.servers || [];
  const mine = list.filter((r) => r.service === service);
  if (servers.length !== 1) problems.push(`${docFile}: expected exactly one server, has ${servers.length}`);
  let base = '';
  const url = servers[0] && servers[0].url;
  if (url != null) {
    const m = String(url).match(/^(?:[a-z]+:\/\/[^/]+)?(\/.*)?$/i);
    base = ((m && m[1]) || '').replace(/\/$/, '');
    if (/^[a-z]+:\/\//i.test(url)) problems.push(`${docFile}: server url ${url} is absolute; a relative path (the public prefix) works through any front door`);
  }
  const documented = Object.keys(doc.paths || {}).map((p) => base + p);
  for (const p of documented) {
    const concrete = p.replace(/\{[^}]+\}/g, 'x');
    if (!mine.some((r) => covers(r, concrete))) problems.push(`${docFile}: documents ${p}, which the edge does not route to ${service}`);
  }
  for (const r of mine) {
    if (DOC_ONLY(r.path)) continue;
    if (!documented.some((p) => covers(r, p.replace(/\{[^}]+\}/g, 'x')))) problems.push(`${docFile}: route "${r.match} ${r.path}" has no documented operation`);
  }
  return problems;
}
