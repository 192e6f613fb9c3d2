/* metrics.h - process-wide Prometheus metrics. Thread-safe. Families are created on first use;
 * label sets are given pre-formatted (`route="/books/{id}",method="GET",status="200"`). */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include "common/buf.h"

/* Sets the prefix-free service label. Call once before threads. */
void metrics_init(const char *service);
/* Counts one HTTP request (http_requests_total) and observes its latency
 * (http_request_duration_seconds histogram, by route and method). Called by http.c. */
void metrics_request(const char *route, const char *method, int status, double seconds);
/* Adds n to counter `family{labels}` (labels may be "" for none). help is used once. */
void metrics_count(const char *family, const char *help, const char *labels, unsigned long n);
/* Observes seconds in histogram `family{labels}`. */
void metrics_observe(const char *family, const char *help, const char *labels, double seconds);
/* Appends every family in the text exposition format 0.0.4. */
void metrics_render(struct buf *out);

#endif
