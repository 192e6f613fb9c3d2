/* otlp.c - the OTLP/HTTP JSON span exporter (see otlp.h).
 *
 * The queue is a ring of fixed-size spans behind one mutex that is held only to copy a span in
 * or a batch out; the thread builds the JSON and POSTs with the lock released, so a slow or
 * dead collector costs requests nothing but dropped spans. The POST goes through common/httpc.c
 * (DECISIONS.md: one HTTP client module), on a client this thread owns. */
#include "common/otlp.h"

#include "common/httpc.h"
#include "common/log.h"
#include "common/metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct otlp_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	struct otlp_span *ring; /* queue_size entries */
	size_t head, len;       /* guarded by mu */
	int stopping;           /* guarded by mu */
	struct otlp_config cfg;
	char url[1024];
	char *service, *version;
	struct metrics_series *dropped, *exported, *failed;
};

static struct otlp_state *otlp; /* set by otlp_start, read by otlp_submit */
static atomic_int otlp_on;

static json_t *attr_str(const char *key, const char *value)
{
	return json_pack("{s:s, s:{s:s}}", "key", key, "value", "stringValue", value);
}

static json_t *attr_int(const char *key, long long value)
{
	char text[24];

	/* OTLP JSON writes 64-bit integers as strings. */
	snprintf(text, sizeof(text), "%lld", value);
	return json_pack("{s:s, s:{s:s}}", "key", key, "value", "intValue", text);
}

static json_t *span_json(const struct otlp_span *s)
{
	char start[24], end[24];
	json_t *o;

	snprintf(start, sizeof(start), "%lld", s->start_ns);
	snprintf(end, sizeof(end), "%lld", s->end_ns);
	o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:[o,o,o], s:{s:i}}", "traceId", s->trace_id,
		      "spanId", s->span_id, "name", s->name, "kind", s->kind,
		      "startTimeUnixNano", start, "endTimeUnixNano", end, "attributes",
		      attr_str("http.method", s->method), attr_str("http.route", s->route),
		      attr_int("http.status_code", s->status), "status", "code",
		      s->status >= 500 ? 2 : 0); /* STATUS_CODE_ERROR for 5xx, else UNSET */
	if (o != NULL && s->parent_id[0] != '\0' &&
	    json_object_set_new(o, "parentSpanId", json_string(s->parent_id)) != 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

json_t *otlp_payload(const struct otlp_span *v, size_t n, const char *service,
		     const char *version)
{
	json_t *spans = json_array();
	json_t *root;

	if (spans == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(spans, span_json(&v[i])) != 0) {
			json_decref(spans);
			return NULL;
		}
	}
	root = json_pack("{s:[{s:{s:[o,o]}, s:[{s:{s:s}, s:o}]}]}", "resourceSpans", "resource",
			 "attributes", attr_str("service.name", service != NULL ? service : ""),
			 attr_str("service.version", version != NULL ? version : ""),
			 "scopeSpans", "scope", "name", "bookstore", "spans", spans);
	return root;
}

/* Sends v[0..n): one POST. Counts the outcome; logs a failure (at most once per 10 s).
 * Returns 0 when the collector took it, else -1. */
static int send_batch(struct otlp_state *st, struct httpc *h, const struct otlp_span *v,
		      size_t n)
{
	static long long last_log_s;
	json_t *payload = otlp_payload(v, n, st->service, st->version);
	char *body = payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;
	struct httpc_resp resp = { 0 };
	long status = 0;
	int rc = -1;

	snprintf(resp.error, sizeof(resp.error), "out of memory");
	if (body != NULL && h != NULL) {
		struct httpc_req req = { .url = st->url,
					 .connect_timeout_ms = st->cfg.timeout_ms < 2000
								       ? st->cfg.timeout_ms
								       : 2000,
					 .timeout_ms = st->cfg.timeout_ms,
					 .max_body = 65536,
					 .body = body,
					 .body_len = strlen(body),
					 .content_type = "application/json" };

		if (httpc_post(h, &req, &resp) == HTTPC_OK)
			status = resp.status;
	}
	if (status >= 200 && status < 300) {
		metrics_inc(st->exported, n);
		rc = 0;
	} else {
		long long now = (long long)time(NULL);

		metrics_inc(st->failed, n);
		if (now - last_log_s >= 10) {
			last_log_s = now;
			if (status != 0)
				log_msg(LOG_WARN, NULL, "otlp: %s answered %ld; %zu spans lost",
					st->url, status, n);
			else
				log_msg(LOG_WARN, NULL, "otlp: POST %s failed (%s); %zu spans lost",
					st->url, resp.error, n);
		}
	}
	httpc_resp_free(&resp);
	free(body);
	json_decref(payload);
	return rc;
}

static void *otlp_main(void *arg)
{
	struct otlp_state *st = arg;
	size_t cap = (size_t)st->cfg.batch_size;
	struct otlp_span *batch = malloc(cap * sizeof(*batch));
	struct httpc *h = httpc_new();
	int stopping = 0;

	if (batch == NULL || h == NULL)
		log_msg(LOG_ERROR, NULL, "otlp: cannot start the exporter (out of memory)");
	while (!stopping) {
		size_t n = 0;
		int sent;
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += st->cfg.delay_ms / 1000;
		until.tv_nsec += (long)(st->cfg.delay_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&st->mu);
		while (!st->stopping && st->len < cap &&
		       pthread_cond_timedwait(&st->cv, &st->mu, &until) == 0)
			;
		stopping = st->stopping;
		/* On stop: whatever is queued goes out, one batch at a time, until a POST fails
		 * (a dead collector must not hold the shutdown for queue/batch timeouts). */
		do {
			n = 0;
			while (batch != NULL && n < cap && st->len > 0) {
				batch[n++] = st->ring[st->head];
				st->head = (st->head + 1) % (size_t)st->cfg.queue_size;
				st->len--;
			}
			pthread_mutex_unlock(&st->mu);
			sent = n > 0 ? send_batch(st, h, batch, n) : 0;
			pthread_mutex_lock(&st->mu);
		} while (stopping && sent == 0 && n > 0 && st->len > 0);
		pthread_mutex_unlock(&st->mu);
	}
	httpc_free(h);
	free(batch);
	return NULL;
}

int otlp_start(const struct otlp_config *cfg)
{
	struct otlp_state *st;
	pthread_condattr_t ca;
	size_t blen;

	if (cfg->endpoint == NULL || cfg->endpoint[0] == '\0')
		return 0;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return -1;
	st->cfg = *cfg;
	if (st->cfg.queue_size <= 0)
		st->cfg.queue_size = 2048;
	if (st->cfg.batch_size <= 0)
		st->cfg.batch_size = 512;
	if (st->cfg.batch_size > st->cfg.queue_size)
		st->cfg.batch_size = st->cfg.queue_size;
	if (st->cfg.delay_ms <= 0)
		st->cfg.delay_ms = 5000;
	if (st->cfg.timeout_ms <= 0)
		st->cfg.timeout_ms = 10000;
	/* The generic endpoint names the collector; traces go to its /v1/traces. */
	blen = strlen(cfg->endpoint);
	while (blen > 0 && cfg->endpoint[blen - 1] == '/')
		blen--;
	if (snprintf(st->url, sizeof(st->url), "%.*s/v1/traces", (int)blen, cfg->endpoint) >=
	    (int)sizeof(st->url)) {
		log_msg(LOG_ERROR, NULL, "otlp: endpoint too long");
		free(st);
		return -1;
	}
	st->ring = calloc((size_t)st->cfg.queue_size, sizeof(*st->ring));
	st->service = strdup(cfg->service != NULL ? cfg->service : "");
	st->version = strdup(cfg->version != NULL ? cfg->version : "");
	if (st->ring == NULL || st->service == NULL || st->version == NULL)
		goto fail;
	st->dropped = metrics_counter("otel_spans_dropped_total",
				      "Spans dropped because the export queue was full.", "");
	st->exported = metrics_counter("otel_spans_exported_total",
				       "Spans the collector accepted.", "");
	st->failed = metrics_counter("otel_spans_failed_total",
				     "Spans lost because their POST to the collector failed.", "");
	pthread_mutex_init(&st->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&st->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&st->thread, NULL, otlp_main, st) != 0) {
		pthread_cond_destroy(&st->cv);
		pthread_mutex_destroy(&st->mu);
		goto fail;
	}
	otlp = st;
	atomic_store(&otlp_on, 1);
	log_msg(LOG_INFO, NULL, "otlp: exporting spans to %s (queue %d, batch %d, every %d ms)",
		st->url, st->cfg.queue_size, st->cfg.batch_size, st->cfg.delay_ms);
	return 0;
fail:
	free(st->ring);
	free(st->service);
	free(st->version);
	free(st);
	return -1;
}

void otlp_stop(void)
{
	struct otlp_state *st = otlp;

	if (st == NULL)
		return;
	atomic_store(&otlp_on, 0);
	pthread_mutex_lock(&st->mu);
	st->stopping = 1;
	pthread_cond_signal(&st->cv);
	pthread_mutex_unlock(&st->mu);
	pthread_join(st->thread, NULL);
	otlp = NULL;
	pthread_cond_destroy(&st->cv);
	pthread_mutex_destroy(&st->mu);
	free(st->ring);
	free(st->service);
	free(st->version);
	free(st);
}

int otlp_enabled(void)
{
	return atomic_load_explicit(&otlp_on, memory_order_relaxed);
}

void otlp_submit(const struct otlp_span *s)
{
	struct otlp_state *st;
	int wake = 0;

	if (!otlp_enabled())
		return;
	st = otlp;
	pthread_mutex_lock(&st->mu);
	if (st->len == (size_t)st->cfg.queue_size) {
		pthread_mutex_unlock(&st->mu);
		metrics_inc(st->dropped, 1);
		return;
	}
	st->ring[(st->head + st->len) % (size_t)st->cfg.queue_size] = *s;
	st->len++;
	wake = st->len == (size_t)st->cfg.batch_size;
	pthread_mutex_unlock(&st->mu);
	if (wake)
		pthread_cond_signal(&st->cv);
}
