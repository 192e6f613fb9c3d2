// kube-play-local.mjs - turn the rendered k8s/base manifests into what `podman kube play` can run on
// one machine without a cluster, for tests/checks/images.sh. Only the wiring changes; the pod specs
// (init container, env from ConfigMap/Secrets, securityContext, probe paths, image) are kept:
//   - Deployments catalog-service and order-service, replicas 1, hostNetwork (tests use loopback),
//     no containerPorts (podman refuses port mappings with host networking), probe ports numeric
//     (the API port: /health and /ready also answer there, so this works before and after the
//     admin listener exists);
//   - in each service's ConfigMap (catalog-config-<hash>, order-config-<hash>): PORT = the given
//     free port, ADMIN_PORT = its own port ($KUBE_PLAY_ADMIN_PORTS "catalog,order", else a free
//     one: two pods share the host network), the order
//     service's CATALOG_SERVICE_URL = the catalog's port, BASE_PATH and CATALOG_BASE_PATH removed
//     (the smoke story calls the catalog at its root, as with `make run`), AUTH_JWKS = the dev JWKS
//     document $KUBE_PLAY_AUTH_JWKS when set (tokens signed by scripts/token.sh with its key);
//   - images localhost/bookstore/<service>:<IMAGE_TAG> (podman's name for local builds), whatever
//     registry the manifests name;
//   - every external Secret the pods reference gets a podman secret of the same name (+ RUN_ID),
//     written to SECRET_DIR/<podman secret name>.json as the flat JSON map of base64 values that
//     `podman secret create` + kube play (4.3) expect: bookstore-db-owner's DATABASE_URL = the
//     owner's URL of the test database (the migrate init containers), bookstore-db-catalog's and
//     bookstore-db-orders's = the login roles' URLs ($KUBE_PLAY_DATABASE_URL_CATALOG,
//     $KUBE_PLAY_DATABASE_URL_ORDERS; without them the owner's URL, as a single user-supplied
//     DATABASE_URL does in development), bookstore-internal-token's INTERNAL_API_TOKEN[_PREVIOUS];
//     a reference to any other Secret fails;
//   - names made unique per test run (RUN_ID), since podman names are machine-global and several
//     runs may share the machine: Deployments <name>-RUN_ID (pods <name>-RUN_ID-pod-0), Secrets
//     <name>-RUN_ID, volumes <name>-RUN_ID; images use the per-run tag IMAGE_TAG.
// node kube-play-local.mjs RENDERED.yaml OUT.yaml SECRET_DIR OWNER_DATABASE_URL CATALOG_PORT
//                           ORDER_PORT [RUN_ID [IMAGE_TAG]]
import fs from 'node:fs';
import net from 'node:net';
import crypto from 'node:crypto';
import YAML from 'yaml';

const [input, out, secretDir, dbUrl, catPort, ordPort, runId = '', imageTag = ''] = process.argv.slice(2);
const sfx = (name) => (runId ? `${name}-${runId}` : name);
const ports = { 'catalog-service': catPort, 'order-service': ordPort };
const freePort = () => new Promise((resolve, reject) => {
  const s = net.createServer();
  s.on('error', reject);
  s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
// ADMIN_PORT: the ports images.sh picked ($KUBE_PLAY_ADMIN_PORTS = "catalog,order"), else free ones.
const [catAdmin, ordAdmin] = (process.env.KUBE_PLAY_ADMIN_PORTS || '').split(',').filter(Boolean);
const adminPorts = { 'catalog-service': catAdmin || await freePort(), 'order-service': ordAdmin || await freePort() };
const docs = YAML.parseAllDocuments(fs.readFileSync(input, 'utf8')).map((d) => d.toJS()).filter(Boolean);
// ConfigMap name (with kustomize's hash suffix) -> the service whose container reads it.
const cmOwner = {};
for (const o of docs) {
  if (o.kind !== 'Deployment' || !ports[o.metadata.name]) continue;
  for (const c of o.spec.template.spec.containers) for (const e of c.envFrom || []) if (e.configMapRef) cmOwner[e.configMapRef.name] = o.metadata.name;
}
const keep = [];
const used = new Set(); // the Secrets the kept pods reference
for (const o of docs) {
  if (o.kind === 'ConfigMap' && cmOwner[o.metadata.name]) {
    const svc = cmOwner[o.metadata.name];
    o.data.PORT = String(ports[svc]);
    if (o.data.ADMIN_PORT) o.data.ADMIN_PORT = String(adminPorts[svc]);
    delete o.data.BASE_PATH;
    delete o.data.CATALOG_BASE_PATH;
    if (o.data.CATALOG_SERVICE_URL) o.data.CATALOG_SERVICE_URL = `http://127.0.0.1:${catPort}`;
    // The keys of the manifests' identity provider are not reachable here: a dev JWKS document
    // given inline ($KUBE_PLAY_AUTH_JWKS); issuer and audience stay the manifests'.
    if (o.data.AUTH_JWKS && process.env.KUBE_PLAY_AUTH_JWKS) o.data.AUTH_JWKS = process.env.KUBE_PLAY_AUTH_JWKS;
    keep.push(o);
  } else if (o.kind === 'ConfigMap' && docs.some((d) => d.kind === 'Deployment' && ports[d.metadata.name] &&
    JSON.stringify(d).includes(`"name":"${o.metadata.name}"`))) {
    keep.push(o);
  } else if (o.kind === 'Deployment' && ports[o.metadata.name]) {
    const spec = o.spec.template.spec;
    const port = Number(ports[o.metadata.name]);
    o.metadata.name = sfx(o.metadata.name);
    o.spec.replicas = 1;
    for (const v of spec.volumes || []) v.name = sfx(v.name);
    spec.hostNetwork = true;
    // podman applies the pod's restartPolicy to init containers too: with Always it restarts the
    // finished migrate container forever. OnFailure keeps the semantics that matter here.
    spec.restartPolicy = 'OnFailure';
    // podman 4.3 removes "once" init containers right after they exit and sometimes races with
    // their exit ("cannot remove container ... as it is running"); "always" keeps them.
    o.spec.template.metadata.annotations = { ...(o.spec.template.metadata.annotations || {}),
      'io.podman.annotations.init.container.type': 'always' };
    delete spec.topologySpreadConstraints;
    for (const c of [...(spec.initContainers || []), ...spec.containers]) {
      const [name, tag] = c.image.replace(/@.*$/, '').split(/:(?=[^:/]+$)/);
      c.image = `localhost/bookstore/${name.split('/').pop()}:${imageTag || tag}`;
      for (const m of c.volumeMounts || []) m.name = sfx(m.name);
      for (const e of c.env || []) {
        const ref = e.valueFrom && e.valueFrom.secretKeyRef;
        if (ref) { used.add(ref.name); ref.name = sfx(ref.name); delete ref.optional; }
      }
      for (const e of c.envFrom || []) if (e.secretRef) { used.add(e.secretRef.name); e.secretRef.name = sfx(e.secretRef.name); }
      c.imagePullPolicy = 'Never';
      delete c.ports;
      for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        if (c[p] && c[p].httpGet) c[p].httpGet.port = port;
      }
    }
    keep.push(o);
  }
}
const token = crypto.randomBytes(24).toString('hex');
const secrets = {
  'bookstore-db-owner': { DATABASE_URL: dbUrl },
  'bookstore-db-catalog': { DATABASE_URL: process.env.KUBE_PLAY_DATABASE_URL_CATALOG || dbUrl },
  'bookstore-db-orders': { DATABASE_URL: process.env.KUBE_PLAY_DATABASE_URL_ORDERS || dbUrl },
  'bookstore-internal-token': { INTERNAL_API_TOKEN: token, INTERNAL_API_TOKEN_PREVIOUS: token },
};
fs.mkdirSync(secretDir, { recursive: true });
for (const name of used) {
  if (!secrets[name]) { console.error(`kube-play-local: no local stand-in for Secret ${name}`); process.exit(1); }
  fs.writeFileSync(`${secretDir}/${sfx(name)}.json`, JSON.stringify(Object.fromEntries(
    Object.entries(secrets[name]).map(([k, v]) => [k, Buffer.from(v).toString('base64')]))));
}
fs.writeFileSync(out, keep.map((o) => YAML.stringify(o)).join('---\n'));
