/* otlp.h - optional export of server spans as OTLP/HTTP JSON (POST <endpoint>/v1/traces).
 *
 * Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. When on, the HTTP server hands every sampled
 * request span to otlp_submit, which copies it into a bounded queue and returns: it never waits
 * for the network, and when the queue is full the span is dropped and counted
 * (otel_spans_dropped_total). One background thread takes batches off the queue (when a batch is
 * full or every schedule delay) and POSTs them; a failed POST is logged and its spans counted in
 * otel_spans_failed_total (no retry: tracing must not add load to a struggling collector).
 * Settings follow the OpenTelemetry SDK names: OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_SCHEDULE_DELAY,
 * OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_EXPORTER_OTLP_TIMEOUT. */
#ifndef COMMON_OTLP_H
#define COMMON_OTLP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define OTLP_KIND_SERVER 2 /* SpanKind SPAN_KIND_SERVER */

/* One finished span, fixed size (copied into the queue; no allocation). */
struct otlp_span {
	char trace_id[33];
	char span_id[17];
	char parent_id[17]; /* "" for a root span */
	int kind;
	long long start_ns, end_ns; /* Unix epoch nanoseconds */
	char name[160];             /* "GET /books/{id}" */
	char method[16];
	char route[128];
	int status;                 /* HTTP status code */
};

struct otlp_config {
	const char *endpoint;   /* base URL; "" or NULL = export off */
	const char *service;    /* resource service.name */
	const char *version;    /* resource service.version */
	int queue_size;         /* spans held at most (<= 0: 2048) */
	int batch_size;         /* spans per POST at most (<= 0: 512) */
	int delay_ms;           /* longest wait before a partial batch is sent (<= 0: 5000) */
	int timeout_ms;         /* one POST's total timeout (<= 0: 10000) */
};

/* Starts the exporter thread (a no-op returning 0 when the endpoint is empty). libcurl's global
 * init must have run. Returns 0, or -1 (out of memory, no thread). */
int otlp_start(const struct otlp_config *cfg);
/* Sends what is queued (one last POST, bounded by the timeout), stops and joins the thread,
 * frees the queue. A no-op when export is off. */
void otlp_stop(void);
/* True while export is on (otlp_start succeeded with an endpoint). */
int otlp_enabled(void);
/* Queues a copy of s, or drops and counts it when the queue is full. Never blocks on I/O; a
 * no-op when export is off. */
void otlp_submit(const struct otlp_span *s);

/* The OTLP JSON request body for spans v[0..n) (a new reference; NULL when out of memory):
 * {"resourceSpans":[{"resource":{"attributes":[service.name, service.version]},
 *   "scopeSpans":[{"scope":{"name":"bookstore"},"spans":[{"traceId","spanId","parentSpanId"?,
 *   "name","kind","startTimeUnixNano","endTimeUnixNano","attributes":[http.method, http.route,
 *   http.status_code],"status"}]}]}]}. Pure: unit-tested. */
json_t *otlp_payload(const struct otlp_span *v, size_t n, const char *service,
		     const char *version);

#endif
