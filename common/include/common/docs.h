/* docs.h - the interactive API docs page (Swagger UI), like FastAPI's /docs, served entirely by the
 * service itself from bytes embedded at build time (third_party/swagger-ui, common/assets): no CDN
 * at run time, so it works in an air-gapped cluster.
 *
 * Place DOCS_ROUTES(at) in a route table (public routes: served under BASE_PATH when one is set,
 * whose prefix the router strips, so req->route stays the table's pattern), where `at` is the
 * literal path the service's public API lives under inside its own table ("" for the catalog, whose /books are at the root;
 * "/orders" for the order service, whose paths all start with /orders). It adds
 *
 *   GET <at>/docs           the page (text/html, Cache-Control: no-cache, a strict CSP)
 *   GET <at>/docs/{asset}   swagger-ui-bundle.js, swagger-ui.css, docs-init.js, favicon-32x32.png,
 *                           LICENSE, swagger-ui-bundle.js.LICENSE.txt; anything else 404
 *
 * The page loads the public document from "openapi.json" relative to itself (so <at>/openapi.json
 * must be routed too) and points "Try it out" at the page's own URL minus the route's segments
 * (minus "docs" for the catalog, minus "orders/docs" for orders), so behind any prefix the calls
 * go where the page came from. Assets are referenced with ?v=<first 16 hex digits of their
 * SHA-256>; a request carrying the current tag is cacheable for a year ("immutable"), any other
 * is "no-cache". Every asset has that tag as its ETag and answers If-None-Match with 304.
 * Both handlers are pure (no I/O, no allocation for assets) and thread-safe. */
#ifndef COMMON_DOCS_H
#define COMMON_DOCS_H

#include <stddef.h>

#include "common/http.h"

/* The page. Reads req->route (the matched pattern, as written in the table). Returns 200. */
int docs_page(struct http_req *req, struct http_resp *resp);
/* One asset, named by the route's first parameter. Returns 200, 304 or 404. */
int docs_asset(struct http_req *req, struct http_resp *resp);

/* The relative URL of the API root seen from a page served by pattern: "./" for "/docs",
 * "../" for "/orders/docs", "../../" for "/a/b/docs" (at most 8 levels). Pure, for tests. */
const char *docs_api_root(const char *pattern);

#define DOCS_ROUTES(at) \
	{ "GET", at "/docs", docs_page, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC }, \
	{ "GET", at "/docs/{asset}", docs_asset, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC }

#endif
