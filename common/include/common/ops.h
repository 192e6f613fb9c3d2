/* ops.h - the operational endpoints both services expose (served by app_main, common/app.h).
 *
 *   GET /             {"service": name, "version": version}
 *   GET /health       200 {"status":"ok"}  (liveness; no I/O)
 *   GET /ready        200 {"status":"ready"} | 503 {"detail": reason}  (calls info.ready)
 *   GET /metrics      Prometheus text: request counters/histogram + info.metrics_extra output
 *   GET /openapi.json the service's OpenAPI document (embedded at build time)
 *
 * /health, /ready and /metrics answer on the API port and on the admin listener (ADMIN_PORT),
 * whose own threads keep them fast while every API worker is busy. /openapi.json is public
 * (served under BASE_PATH); the others are internal (never under it). None needs a token: the
 * perimeter (the edge routes only the public API) keeps /ready and /metrics inside; /ready's
 * answer never carries libpq's text.
 */
#ifndef COMMON_OPS_H
#define COMMON_OPS_H

#include "common/buf.h"
#include "common/build_info.h"
#include "common/http.h"

/* The CMake project version (build_info.h). */
#define OPS_VERSION build_version

struct ops_info {
	const char *service;      /* "catalog-service" */
	const char *version;      /* OPS_VERSION */
	const char *openapi_json; /* the document text */
	/* The internal document (what the API port answers but the edge never routes), served on
	 * the admin listener at /openapi-internal.json; NULL = none. */
	const char *openapi_internal_json;
	/* Returns 0 when ready, else -1 with a reason (e.g. "database unavailable: ..."). */
	int (*ready)(char *reason, size_t len);
	/* Appends service-specific metric families (pool gauges, catalog calls...). May be NULL. */
	void (*metrics_extra)(struct buf *out);
};

/* Stores info (pointers must outlive the server). Call once before serving. */
void ops_init(const struct ops_info *info);

/* The five route entries, to place in a service's route table: { OPS_ROUTES, {...}, ... } */
int ops_root(struct http_req *req, struct http_resp *resp);
int ops_health(struct http_req *req, struct http_resp *resp);
int ops_ready(struct http_req *req, struct http_resp *resp);
int ops_metrics(struct http_req *req, struct http_resp *resp);
int ops_openapi(struct http_req *req, struct http_resp *resp);
int ops_openapi_internal(struct http_req *req, struct http_resp *resp);
#define OPS_ROUTES \
	{ "GET", "/", ops_root, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC }, { "GET", "/health", ops_health, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC }, \
	{ "GET", "/ready", ops_ready, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC }, \
	{ "GET", "/metrics", ops_metrics, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC }, \
	{ "GET", "/openapi.json", ops_openapi, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC }
/* The admin listener's own entries (app_main serves them on ADMIN_PORT, and
 * GET /openapi-internal.json -> ops_openapi_internal when the service has an internal document). */
#define OPS_ADMIN_ROUTES \
	{ "GET", "/health", ops_health, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC }, \
	{ "GET", "/ready", ops_ready, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC }, \
	{ "GET", "/metrics", ops_metrics, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC }

#endif
