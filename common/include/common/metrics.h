/* metrics.h - process-wide Prometheus metrics (text exposition format 0.0.4). Thread-safe.
 *
 * Two ways to record, both safe from any thread:
 *  - handles (the cheap path): register a series once at start-up and keep the pointer; every
 *    update is then a lock-free atomic operation, no lookup, no allocation:
 *
 *        static struct metrics_series *taken;
 *        taken = metrics_counter("reservations_total", "Stock reservations.", "result=\"taken\"");
 *        ...
 *        metrics_inc(taken, 1);
 *
 *  - by name (metrics_count, metrics_observe, metrics_gauge_set): find-or-create the series under
 *    a lock on every call; fine for rare events (errors, recovery passes), not for every request.
 *
 * Label sets are given pre-formatted (`route="/books/{id}",method="GET"`; "" for none); values a
 * client controls must be bounded by the caller (route templates, a fixed method set, status
 * codes), so the number of series stays small. Families and series are never freed. Asking for an
 * existing name with another type returns a handle that is never rendered (a programmer error,
 * logged once), so a mistake cannot break the exposition. Series appear in the scrape from the
 * moment they are registered (counters at 0), so dashboards and alerts see them before the first
 * event. */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include "common/buf.h"

/* Histogram bucket layouts (docs/observability.md): seconds 0.0005 .. 10, bytes 64 .. 1 MiB. */
enum metrics_buckets { METRICS_BUCKETS_SECONDS, METRICS_BUCKETS_BYTES };

struct metrics_series;

/* Records the service name, version and commit for bookstore_build_info{service,version,commit}
 * and the process start time. Call once before threads. NULL version/commit read "unknown". */
void metrics_init(const char *service, const char *version, const char *commit);

/* Declares a family without series yet (a labelled counter or histogram whose label values come
 * later): its HELP and TYPE lines are rendered from now on. */
void metrics_declare_counter(const char *name, const char *help);
void metrics_declare_histogram(const char *name, const char *help, enum metrics_buckets b);

/* Finds or creates a series and returns its handle (never NULL; aborts when out of memory). */
struct metrics_series *metrics_counter(const char *name, const char *help, const char *labels);
struct metrics_series *metrics_gauge(const char *name, const char *help, const char *labels);
struct metrics_series *metrics_histogram(const char *name, const char *help, const char *labels,
					 enum metrics_buckets b);

/* Updates through a handle: lock-free. NULL handles are ignored. */
void metrics_inc(struct metrics_series *s, unsigned long n);  /* counter += n */
void metrics_set(struct metrics_series *s, double v);         /* gauge = v */
void metrics_add(struct metrics_series *s, double d);         /* gauge += d (may be < 0) */
void metrics_observe_value(struct metrics_series *s, double v); /* histogram observation */

/* By name (a lookup under a lock): counter family{labels} += n; a seconds histogram
 * observation; gauge family{labels} = v. help is used when the family is created. */
void metrics_count(const char *family, const char *help, const char *labels, unsigned long n);
void metrics_observe(const char *family, const char *help, const char *labels, double seconds);
void metrics_gauge_set(const char *family, const char *help, const char *labels, double v);

/* One HTTP request, answered (called by http.c): http_requests_total{route,method,status},
 * http_request_duration_seconds, http_request_size_bytes and http_response_size_bytes
 * {route,method}. route NULL reads "unmatched"; methods outside the standard set read "OTHER".
 * A lookup under a read lock; new series (the first request of a route/method/status) take the
 * write lock once. */
void metrics_request(const char *route, const char *method, int status, double seconds,
		     unsigned long long bytes_in, unsigned long long bytes_out);
/* http_requests_in_flight += d (+1 when a request starts, -1 when it is done). */
void metrics_in_flight(int d);

/* Appends every family, then the process set (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds,
 * process_max_fds, process_start_time_seconds) and bookstore_build_info. */
void metrics_render(struct buf *out);

/* Escapes s as a Prometheus label value (\\, \", \n) into out (cut to fit; always terminated).
 * Returns the length written. */
size_t metrics_label_escape(char *out, size_t cap, const char *s);

#endif
