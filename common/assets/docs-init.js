/* docs-init.js - starts Swagger UI on the service's own OpenAPI document (common/src/docs.c).
 *
 * Every URL is relative to the page, so the page works at any prefix (BASE_PATH, an ingress path,
 * X-Forwarded-Prefix): the document is data-spec (relative, "openapi.json"), and "Try it out" sends
 * requests to data-api-root resolved against the page (the document's own `servers` entry names
 * the address of a developer's machine, which is wrong behind any ingress). Served from the
 * service itself with the Swagger UI bundle: nothing is loaded from elsewhere. */
(function () {
  'use strict';
  var root = document.getElementById('swagger-ui');
  var specUrl = new URL(root.getAttribute('data-spec'), window.location.href).href;
  var apiRoot = new URL(root.getAttribute('data-api-root'), window.location.href).href
    .replace(/\/+$/, '');

  function fail(message) {
    var p = document.createElement('p');
    p.className = 'docs-error';
    p.textContent = 'Cannot load the API document ' + specUrl + ': ' + message;
    root.replaceChildren(p);
  }

  window.fetch(specUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
    .then(function (res) {
      if (!res.ok) {
        throw new Error('HTTP ' + res.status);
      }
      return res.json();
    })
    .then(function (spec) {
      spec.servers = [{ url: apiRoot, description: 'this server' }];
      if (spec.info && spec.info.title) {
        document.title = spec.info.title + ' - API docs';
      }
      window.ui = window.SwaggerUIBundle({
        spec: spec,
        dom_id: '#swagger-ui',
        deepLinking: true,
        presets: [window.SwaggerUIBundle.presets.apis],
        layout: 'BaseLayout',
        // No calls to swagger.io's online validator (air-gapped clusters, privacy).
        validatorUrl: null,
        tryItOutEnabled: false,
        displayRequestDuration: true
      });
    })
    .catch(function (err) {
      fail(err && err.message ? err.message : String(err));
    });
}());
