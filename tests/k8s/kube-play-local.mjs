// kube-play-local.mjs - turn the rendered k8s/ manifests into what `podman kube play` can run on
// one machine without a cluster, for tests/checks/images.sh. Only the wiring changes; the pod specs
// (init container, env from ConfigMap/Secret, securityContext, probes paths, image) are kept:
//   - Deployments catalog-service and order-service, replicas 1, hostNetwork (tests use loopback),
//     no containerPorts (podman refuses port mappings with host networking), probe ports numeric;
//   - PORT in each ConfigMap set to the given free port; order's CATALOG_SERVICE_URL to the catalog's;
//     ADMIN_PORT to the free ports in $KUBE_PLAY_ADMIN_PORTS ("catalog,order"; else 0 = off), since
//     both pods share the host network;
//   - images prefixed with localhost/ (podman's name for local builds);
//   - the Secret bookstore-db written separately as the flat JSON map of base64 values that
//     `podman secret create` + kube play (4.3) expect, with DATABASE_URL pointing at the test DB.
//   - names made unique per test run (RUN_ID), since podman names are machine-global and several
//     runs may share the machine: Deployments <name>-RUN_ID (pods <name>-RUN_ID-pod-0), the Secret
//     reference bookstore-db-RUN_ID, volumes <name>-RUN_ID; images use the per-run tag IMAGE_TAG.
// node kube-play-local.mjs RENDERED.yaml OUT.yaml SECRET.json DATABASE_URL CATALOG_PORT ORDER_PORT
//                           [RUN_ID [IMAGE_TAG]]
import fs from 'node:fs';
import YAML from 'yaml';

const [input, out, secretOut, dbUrl, catPort, ordPort, runId = '', imageTag = ''] = process.argv.slice(2);
const sfx = (name) => (runId ? `${name}-${runId}` : name);
const ports = { 'catalog-service': catPort, 'order-service': ordPort };
const [catAdmin = '0', ordAdmin = '0'] = (process.env.KUBE_PLAY_ADMIN_PORTS || '').split(',').filter(Boolean);
const adminPorts = { 'catalog-service': catAdmin, 'order-service': ordAdmin };
const cmName = { 'catalog-config': 'catalog-service', 'order-config': 'order-service' };
const docs = YAML.parseAllDocuments(fs.readFileSync(input, 'utf8')).map((d) => d.toJS()).filter(Boolean);
const keep = [];
for (const o of docs) {
  if (o.kind === 'Secret' && o.metadata.name === 'bookstore-db') {
    const data = { ...(o.stringData || {}) };
    for (const [k, v] of Object.entries(o.data || {})) data[k] = Buffer.from(v, 'base64').toString();
    data.DATABASE_URL = dbUrl;
    const b64 = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
    fs.writeFileSync(secretOut, JSON.stringify(b64));
  } else if (o.kind === 'ConfigMap' && cmName[o.metadata.name]) {
    o.data.PORT = String(ports[cmName[o.metadata.name]]);
    o.data.ADMIN_PORT = String(adminPorts[cmName[o.metadata.name]]);
    if (o.data.CATALOG_SERVICE_URL) o.data.CATALOG_SERVICE_URL = `http://127.0.0.1:${catPort}`;
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
      c.image = `localhost/${imageTag ? c.image.replace(/:[^:/@]+$/, '') + ':' + imageTag : c.image}`;
      for (const m of c.volumeMounts || []) m.name = sfx(m.name);
      for (const e of c.env || []) {
        const ref = e.valueFrom && e.valueFrom.secretKeyRef;
        if (ref) ref.name = sfx(ref.name);
      }
      for (const e of c.envFrom || []) if (e.secretRef) e.secretRef.name = sfx(e.secretRef.name);
      c.imagePullPolicy = 'Never';
      delete c.ports;
      for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        if (c[p] && c[p].httpGet) c[p].httpGet.port = port;
      }
    }
    keep.push(o);
  }
}
fs.writeFileSync(out, keep.map((o) => YAML.stringify(o)).join('---\n'));
