/* http.c - the HTTP server over libmicrohttpd (see http.h). The only file that calls it.
 *
 * Request life cycle (libmicrohttpd calls on_request several times per request):
 *   1. after the headers (first_call): allocate the request context, pick the request id, count
 *      the request as in flight, check the framing (one 400 and close), and take the decisions
 *      that need no body: 413 for a declared Content-Length over max_body, the pre_body hook.
 *      Nothing else is queued here (queuing now would cost keep-alive in 0.9.75); an early
 *      decision is sent at once only to a client that waits for "100 Continue".
 *   2. zero or more calls with body chunks: appended to a capped buffer, or, once an answer is
 *      decided (or the cap is passed: 413), read and discarded up to 16 x max_body.
 *   3. the final call: route, run the handler (or take the early answer), serialise, queue, log
 *      the access line, count it.
 * The context is freed in on_completed, the only callback that also runs when a client goes away
 * mid-request.
 *
 * Connections: each has a record (struct http_conn, from NOTIFY_CONNECTION STARTED to CLOSED) with
 * the deadline of the request it is receiving. The reaper thread shutdown()s the socket of every
 * connection past its deadline; libmicrohttpd then sees the end of the stream and closes it in
 * its own thread (close() from another thread could hit a reused descriptor). */
#include "common/http.h"

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/otlp.h"
#include "common/trace.h"
#include "common/utf8.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_PATH_STACK 256
#define HTTP_ALLOW_MAX 128
#define HTTP_DRAIN_FACTOR 16ULL        /* an early answer drains up to this x max_body */
#define HTTP_DEFAULT_MAX_CONNECTIONS 512
#define HTTP_DEFAULT_REQUEST_TIMEOUT_S 10
#define HTTP_ADMIN_MAX_CONNECTIONS 32
#define HTTP_REAPER_TICK_MS 100
#define HTTP_TARGET_MAX 1024 /* the request target kept for the access log */
#define HTTP_ACTOR_MAX 128

struct http_server;

/* One listening daemon: the API or the admin one. */
struct http_listener {
	struct http_server *srv;
	struct MHD_Daemon *daemon;
	const struct http_route *routes;
	size_t nroutes;
	const char *base_path; /* "" = none */
	const char *name;      /* "api" or "admin", for logs */
};

/* One TCP connection, from NOTIFY_CONNECTION STARTED to CLOSED; on srv->conns. */
struct http_conn {
	struct http_conn *prev, *next;
	int fd;
	unsigned requests;         /* requests completed on it (its worker thread only) */
	atomic_llong deadline_ms;  /* CLOCK_MONOTONIC ms by which the request must be in; 0 = none */
	int reaped;                /* under srv->conns_lock */
	/* The request target (path and query) as received, for the access log: set when the
	 * request line is read; requests on a connection are handled one after another. */
	char target[HTTP_TARGET_MAX];
};

struct http_server {
	struct http_listener api;
	struct http_listener admin; /* admin.daemon NULL when there is none */
	struct http_server_config cfg;
	atomic_int inflight; /* requests between their first callback and on_completed */
	atomic_int draining; /* set by http_server_stop: responses then carry Connection: close */
	atomic_int serving;  /* set once the daemon runs (libmicrohttpd messages drop to debug) */
	pthread_mutex_t conns_lock;
	struct http_conn *conns;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	int stopping; /* under stop_lock */
	pthread_t reaper;
	int reaper_started;
};

/* Per-request state, from the first callback to on_completed. */
struct http_ctx {
	long long start_ns; /* clock_mono_ns() at the first callback */
	struct buf body;
	unsigned long long seen; /* body bytes received so far */
	int early_status;        /* decided before the body was read: 413, or pre_body's */
	struct http_resp early_resp;
	int close_after;         /* answer with Connection: close */
	int answered;            /* a response was queued */
	struct http_conn *rec;   /* the connection's record, or NULL */
	char request_id[HTTP_REQUEST_ID_MAX + 1];
	long long start_real_ns; /* CLOCK_REALTIME at the first callback (span start) */
	struct trace_ctx trace;  /* this request's server span */
	char actor[HTTP_ACTOR_MAX]; /* req->actor as the hook or handler left it; "" = none */
};

static const char http_json_type[] = "application/json";
static const char http_fallback_500[] = "{\"detail\":\"Internal Server Error\"}";

/* ---- small helpers ---------------------------------------------------------------------- */

/* Seconds since start_ns (clock_mono_ns). */
static double elapsed_s(long long start_ns)
{
	return (double)(clock_mono_ns() - start_ns) / 1e9;
}

/* Length of the valid UTF-8 sequence at p (NUL-terminated), or 0 when it is invalid. */
static size_t utf8_seq_len(const unsigned char *p)
{
	return utf8_decode(p, 4, NULL);
}

static int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t k = utf8_seq_len(p);

		if (k == 0)
			return 0;
		p += k;
	}
	return 1;
}

/* Replaces every byte that is not part of valid UTF-8 with '?', in place, so client-derived
 * text can always become a JSON string. */
static void utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p != '\0') {
		size_t k = utf8_seq_len(p);

		if (k == 0)
			*p++ = '?';
		else
			p += k;
	}
}

static json_t *detail_new(const char *msg)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set_new(o, "detail", json_string(msg)) != 0) {
		log_msg(LOG_ERROR, NULL, "out of memory building a JSON error");
		abort();
	}
	return o;
}

/* 1..64 characters of [A-Za-z0-9._:-]. */
static int request_id_sane(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		char c = s[n];

		if (n >= HTTP_REQUEST_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return n > 0;
}

/* The client's sane X-Request-ID, else 32 random hex digits (trace.c's per-thread generator:
 * request ids need uniqueness, not secrecy). */
static void request_id_pick(struct MHD_Connection *conn, char *out)
{
	const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID");

	if (given != NULL && request_id_sane(given)) {
		memcpy(out, given, strlen(given) + 1);
		return;
	}
	trace_random_hex(out, 16);
}

/* ---- the handler-facing API ------------------------------------------------------------- */

/* The value of the first entry named name (case-insensitive), or NULL. */
static const char *kv_find(const struct http_kv *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(kv[i].name, name) == 0)
			return kv[i].value;
	return NULL;
}

const char *http_query(const struct http_req *req, const char *key)
{
	if (req == NULL || key == NULL)
		return NULL;
	return kv_find(req->query, req->nquery, key);
}

const char *http_header(const struct http_req *req, const char *name)
{
	if (req == NULL || name == NULL)
		return NULL;
	return kv_find(req->headers, req->nheaders, name);
}

/* Copies at most cap-1 bytes, stopping at CR or LF (no header injection). */
static void copy_header_text(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	while (src[n] != '\0' && src[n] != '\r' && src[n] != '\n' && n + 1 < cap) {
		dst[n] = src[n];
		n++;
	}
	dst[n] = '\0';
}

void http_resp_header(struct http_resp *resp, const char *name, const char *value)
{
	struct http_header_kv *kv;

	if (resp->nheaders >= HTTP_MAX_HEADERS || name == NULL || value == NULL)
		return;
	kv = &resp->headers[resp->nheaders++];
	copy_header_text(kv->name, sizeof(kv->name), name);
	copy_header_text(kv->value, sizeof(kv->value), value);
}

int http_error(struct http_resp *resp, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	utf8_sanitize(msg);
	json_decref(resp->body);
	resp->body = detail_new(msg);
	return status;
}

int http_validation_error(struct http_resp *resp, json_t *errors)
{
	json_t *o = json_object();

	if (o == NULL || json_object_set_new(o, "detail", errors) != 0) {
		log_msg(LOG_ERROR, NULL, "out of memory building a validation error");
		abort();
	}
	json_decref(resp->body);
	resp->body = o;
	return 422;
}

int http_json(struct http_resp *resp, int status, json_t *body)
{
	json_decref(resp->body);
	resp->body = body;
	return status;
}

/* A sane X-Forwarded-Prefix starts with one '/', has no "//" start, no "..", no backslash, no
 * control characters, only ASCII (a Location value must be; a proxy percent-encodes) and fits
 * the header value. */
static int prefix_sane(const char *p)
{
	size_t i;

	if (p == NULL || p[0] != '/' || p[1] == '/' || strstr(p, "..") != NULL)
		return 0;
	for (i = 0; p[i] != '\0'; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x21 || c >= 0x7f || c == '\\' || i >= 256)
			return 0;
	}
	return 1;
}

void http_location(const struct http_req *req, struct http_resp *resp, const char *fmt, ...)
{
	char path[512];
	char value[sizeof(((struct http_header_kv *)0)->value)];
	const struct http_server *srv = req->srv_;
	const char *prefix = NULL;
	size_t plen = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	/* With a configured base path the service owns its public URLs: a proxy header cannot
	 * redirect them. Without one, a prefix-stripping proxy may name its prefix. */
	if (srv != NULL && srv->cfg.base_path[0] != '\0')
		prefix = req->base_path != NULL ? req->base_path : "";
	else
		prefix = http_header(req, "X-Forwarded-Prefix");
	if (prefix_sane(prefix)) {
		plen = strlen(prefix);
		while (plen > 0 && prefix[plen - 1] == '/')
			plen--; /* "/catalog/" + "/books/1" must not give "//" */
	} else {
		prefix = "";
	}
	/* A prefix and path too long for the header are cut: the header is capped anyway. */
	if (snprintf(value, sizeof(value), "%.*s%s", (int)plen, prefix, path) < 0)
		value[0] = '\0';
	http_resp_header(resp, "Location", value);
}

/* True for application/json and any type/subtype ending in "+json" (parameters ignored). */
static int content_type_is_json(const char *ct)
{
	size_t n;

	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, "; \t");
	if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
		return 1;
	return n > 5 && memchr(ct, '/', n) != NULL && strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* For jansson's "too big integer" error: finds the object key whose value is the integer that
 * ends near byte pos of body, and the integer's text. Returns 0 with key and num filled, or -1
 * (not an object member, an escaped key, or a buffer too small): the caller then reports the
 * generic decode error. The key precedes the error, so jansson has already checked its UTF-8. */
static int big_int_member(const char *body, size_t len, size_t pos, char *key, size_t keycap,
			  char *num, size_t numcap)
{
	size_t i = pos < len ? pos : len, end, kend, kstart, n;

	/* Back over the number (digits and a sign) to the ':' before it. */
	while (i > 0 && (isdigit((unsigned char)body[i - 1]) || body[i - 1] == '-' ||
			 body[i - 1] == '+' || body[i - 1] == '.' || body[i - 1] == 'e' ||
			 body[i - 1] == 'E'))
		i--;
	end = i;
	while (end < len && (isdigit((unsigned char)body[end]) || body[end] == '-'))
		end++;
	n = end - i;
	if (n == 0 || n >= numcap)
		return -1;
	memcpy(num, body + i, n);
	num[n] = '\0';
	while (i > 0 && isspace((unsigned char)body[i - 1]))
		i--;
	if (i == 0 || body[i - 1] != ':')
		return -1;
	i--;
	while (i > 0 && isspace((unsigned char)body[i - 1]))
		i--;
	if (i == 0 || body[i - 1] != '"')
		return -1;
	kend = i - 1;
	kstart = kend;
	while (kstart > 0 && body[kstart - 1] != '"') {
		if (body[kstart - 1] == '\\')
			return -1;
		kstart--;
	}
	if (kstart == 0 || kend - kstart >= keycap)
		return -1;
	memcpy(key, body + kstart, kend - kstart);
	key[kend - kstart] = '\0';
	return 0;
}

int http_json_body(const struct http_req *req, struct http_resp *resp, json_t **out)
{
	const char *ct = http_header(req, "Content-Type");
	json_error_t err;
	json_t *v = NULL;
	json_t *errors = NULL;
	int status = 0;

	*out = NULL;
	if (ct != NULL && !content_type_is_json(ct)) {
		status = http_error(resp, 415, "Unsupported Media Type: Content-Type must be "
					       "application/json");
		goto out;
	}
	v = json_loadb(req->body != NULL ? req->body : "", req->body_len,
		       JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	if (v == NULL) {
		char text[JSON_ERROR_TEXT_LENGTH];

		char key[128], num[64];

		/* An integer beyond 64 bits is out of the field's range, not a syntax error: name
		 * the field (DECISIONS.md "Integers"). */
		if (strncmp(err.text, "too big", 7) == 0 &&
		    big_int_member(req->body != NULL ? req->body : "", req->body_len,
				   (size_t)(err.position > 0 ? err.position : 0), key, sizeof key, num,
				   sizeof num) == 0) {
			errors = json_pack("[{s:s, s:[s,s], s:s, s:s}]", "type",
					   num[0] == '-' ? "greater_than_equal" : "less_than_equal",
					   "loc", "body", key, "msg",
					   num[0] == '-' ? "Input should be greater than or equal to "
							   "-9223372036854775808"
							 : "Input should be less than or equal to "
							   "9223372036854775807",
					   "input", num);
			goto invalid;
		}
		memcpy(text, err.text, sizeof(text));
		text[sizeof(text) - 1] = '\0';
		utf8_sanitize(text);
		errors = json_pack("[{s:s, s:[s,I], s:s, s:{s:s}}]", "type", "json_invalid", "loc",
				   "body", (json_int_t)(err.position > 0 ? err.position : 0), "msg",
				   "JSON decode error", "ctx", "error", text);
		goto invalid;
	}
	if (!json_is_object(v)) {
		errors = json_pack("[{s:s, s:[s], s:s, s:O}]", "type", "model_attributes_type", "loc",
				   "body", "msg",
				   "Input should be a valid dictionary or object to extract fields "
				   "from",
				   "input", v);
		goto invalid;
	}
	*out = v;
	v = NULL;
	goto out;
invalid:
	if (errors == NULL) {
		log_msg(LOG_ERROR, req->request_id, "out of memory building a 422");
		abort();
	}
	status = http_validation_error(resp, errors);
out:
	json_decref(v);
	return status;
}

/* ---- responses -------------------------------------------------------------------------- */

static void resp_clear(struct http_resp *resp)
{
	json_decref(resp->body);
	resp->body = NULL;
	free(resp->text);
	resp->text = NULL;
	resp->data = NULL;
}

/* The client address for the access log: the peer, or the X-Forwarded-For client when the
 * peer is a trusted proxy (netaddr.h). */
static void client_addr(struct http_server *srv, struct MHD_Connection *conn,
			char out[NETADDR_TEXT_MAX])
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char peer[NETADDR_TEXT_MAX] = "";
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, sizeof(peer));
	else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer,
			  sizeof(peer));
	if (srv->cfg.trusted_proxies == NULL || srv->cfg.trusted_proxies->n == 0) {
		memcpy(out, peer, sizeof(peer));
		return;
	}
	netaddr_client(srv->cfg.trusted_proxies, peer,
		       MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For"), out);
}

static long long now_real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Hands the finished server span to the exporter (when on and the trace is sampled). */
static void span_export(const struct http_ctx *ctx, int status, const char *method,
			const char *label)
{
	struct otlp_span sp;

	if (!otlp_enabled() || (ctx->trace.flags & 1) == 0)
		return;
	memset(&sp, 0, sizeof(sp));
	memcpy(sp.trace_id, ctx->trace.trace_id, sizeof(sp.trace_id));
	memcpy(sp.span_id, ctx->trace.span_id, sizeof(sp.span_id));
	memcpy(sp.parent_id, ctx->trace.parent_id, sizeof(sp.parent_id));
	sp.kind = OTLP_KIND_SERVER;
	sp.start_ns = ctx->start_real_ns;
	sp.end_ns = now_real_ns();
	snprintf(sp.method, sizeof(sp.method), "%s", method != NULL ? method : "");
	snprintf(sp.route, sizeof(sp.route), "%s", label);
	snprintf(sp.name, sizeof(sp.name), "%s %s", sp.method, sp.route);
	sp.status = status;
	otlp_submit(&sp);
}

/* A request was answered (or could not be): access line, metrics, span. */
static void request_done(struct http_server *srv, struct MHD_Connection *conn,
			 struct http_ctx *ctx, int status, const char *method, const char *url,
			 const char *label, size_t bytes_out)
{
	double secs = elapsed_s(ctx->start_ns);
	struct log_access_rec a;
	char client[NETADDR_TEXT_MAX];

	memset(&a, 0, sizeof(a));
	a.duration_ms = secs * 1000.0;
	if (log_enabled(log_access_level(status, a.duration_ms))) {
		client_addr(srv, conn, client);
		a.request_id = ctx->request_id;
		a.trace_id = ctx->trace.trace_id;
		a.span_id = ctx->trace.span_id;
		a.method = method;
		a.route = label;
		a.path_query = ctx->rec != NULL && ctx->rec->target[0] != '\0' ? ctx->rec->target
										: url;
		a.status = status;
		a.bytes_in = ctx->seen;
		a.bytes_out = bytes_out;
		a.client = client;
		a.user_agent = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "User-Agent");
		a.actor = ctx->actor[0] != '\0' ? ctx->actor : NULL;
		log_access(&a);
	}
	metrics_request(label, method, status, secs, ctx->seen, bytes_out);
	span_export(ctx, status, method, label);
}

/* Keeps the actor the hook or handler set (req->actor may point into request storage). */
static void actor_keep(struct http_ctx *ctx, const struct http_req *req)
{
	if (req->actor != NULL && req->actor[0] != '\0')
		snprintf(ctx->actor, sizeof(ctx->actor), "%s", req->actor);
}

/* Serialises resp, queues it with status, logs and counts the request. Takes over resp's
 * contents. Returns libmicrohttpd's verdict. */
static enum MHD_Result send_response(struct http_server *srv, struct MHD_Connection *conn,
				     struct http_ctx *ctx, struct http_resp *resp, int status,
				     const char *method, const char *url, const char *label)
{
	struct MHD_Response *r = NULL;
	enum MHD_Result ret = MHD_NO;
	char *payload = NULL;
	size_t len = 0;
	const char *ctype = NULL;
	size_t i;

	if (status < 200 || status > 599) {
		log_msg(LOG_ERROR, ctx->request_id, "handler returned invalid status %d", status);
		resp_clear(resp);
		status = 500;
	}
	if (status >= 400 && resp->body == NULL && resp->text == NULL && resp->data == NULL) {
		const char *reason = MHD_get_reason_phrase_for((unsigned)status);

		resp->body = detail_new(reason != NULL && reason[0] != '\0' ? reason : "Error");
	}
	if (status == 204 || status == 304) {
		resp_clear(resp); /* these statuses carry no body */
	} else if (resp->body != NULL) {
		payload = json_dumps(resp->body, JSON_COMPACT);
		if (payload == NULL) {
			log_msg(LOG_ERROR, ctx->request_id, "cannot serialise the response body");
			status = 500;
		} else {
			len = strlen(payload);
		}
		ctype = http_json_type;
	} else if (resp->text != NULL) {
		payload = resp->text;
		resp->text = NULL;
		len = strlen(payload);
		ctype = resp->content_type != NULL ? resp->content_type : "text/plain; charset=utf-8";
	} else if (resp->data != NULL) {
		ctype = resp->content_type != NULL ? resp->content_type : "application/octet-stream";
	}
	if (payload != NULL) {
		r = MHD_create_response_from_buffer(len, payload, MHD_RESPMEM_MUST_FREE);
		if (r == NULL)
			free(payload);
	} else if (resp->data != NULL) {
		r = MHD_create_response_from_buffer(resp->data_len, (void *)resp->data,
						    MHD_RESPMEM_PERSISTENT);
	} else if (status == 500 && ctype == http_json_type) {
		len = sizeof(http_fallback_500) - 1;
		r = MHD_create_response_from_buffer(len, (void *)http_fallback_500,
						    MHD_RESPMEM_PERSISTENT);
	} else {
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	}
	payload = NULL;
	if (r == NULL) {
		log_msg(LOG_ERROR, ctx->request_id, "cannot create a response");
		goto out;
	}
	if (ctype != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(r, "X-Request-ID", ctx->request_id);
	for (i = 0; i < resp->nheaders && i < HTTP_MAX_HEADERS; i++)
		if (resp->headers[i].name[0] != '\0')
			MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
	if (ctx->close_after || atomic_load_explicit(&srv->draining, memory_order_relaxed))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, (unsigned)status, r);
	ctx->answered = 1;
out:
	if (r != NULL)
		MHD_destroy_response(r);
	resp_clear(resp);
	/* A HEAD answer carries the headers of the GET but no body bytes. */
	request_done(srv, conn, ctx, status, method, url, label,
		     r != NULL && strcmp(method, "HEAD") != 0 ? len : 0);
	return ret;
}

/* The name of the k-th "{name}" segment of pattern, into out. */
static void param_name(const char *pattern, size_t k, char *out, size_t cap)
{
	const char *p = pattern;

	snprintf(out, cap, "param");
	while ((p = strchr(p, '{')) != NULL) {
		const char *end = strchr(p, '}');

		if (end == NULL)
			return;
		if (k-- == 0) {
			snprintf(out, cap, "%.*s", (int)(end - p - 1), p + 1);
			return;
		}
		p = end + 1;
	}
}

/* The query arguments or headers of a request, copied (as pointers into libmicrohttpd's storage)
 * into an array that starts on the stack and grows on the heap for unusual requests. */
#define HTTP_KV_STACK 32
struct kv_list {
	struct http_kv *v;
	size_t n, cap;
	/* The first entry whose decoded name or value holds a NUL byte ("%00"), or -1: its C string
	 * ends early (MHD reports the full decoded length), so reading it would see other text. */
	long nul_at;
	struct http_kv stack[HTTP_KV_STACK];
};

static enum MHD_Result kv_collect(void *cls, enum MHD_ValueKind kind, const char *key,
				  size_t key_size, const char *value, size_t value_size)
{
	struct kv_list *l = cls;

	(void)kind;
	if (l->nul_at < 0 && ((key != NULL && strlen(key) != key_size) ||
			      (value != NULL && strlen(value) != value_size)))
		l->nul_at = (long)l->n;
	if (l->n == l->cap) {
		struct http_kv *v = malloc(2 * l->cap * sizeof(*v));

		if (v == NULL) {
			log_msg(LOG_ERROR, NULL, "out of memory");
			abort();
		}
		memcpy(v, l->v, l->n * sizeof(*v));
		if (l->v != l->stack)
			free(l->v);
		l->v = v;
		l->cap *= 2;
	}
	l->v[l->n].name = key != NULL ? key : "";
	l->v[l->n].value = value != NULL ? value : ""; /* "?key" without '=' reads as empty */
	l->n++;
	return MHD_YES;
}

static void kv_read(struct MHD_Connection *conn, enum MHD_ValueKind kind, struct kv_list *l)
{
	l->v = l->stack;
	l->n = 0;
	l->cap = HTTP_KV_STACK;
	l->nul_at = -1;
	MHD_get_connection_values_n(conn, kind, kv_collect, l);
}

static void kv_free(struct kv_list *l)
{
	if (l->v != l->stack)
		free(l->v);
}

/* A safety net in front of every handler: path parameters and query arguments are text, so
 * bytes that are not UTF-8 (e.g. "%ff") are refused with a 422 here instead of reaching
 * jansson (which rejects them) or PostgreSQL. A query argument whose name or value decodes to
 * a NUL byte ("%00", at index nul_at, or -1 for none) is refused the same way: its C string
 * would end at the NUL and read as other text ("?search=%00" as an empty search).
 * Returns 0 or 422 with resp filled. */
static int check_text_input(const struct http_req *req, long nul_at, struct http_resp *resp)
{
	static const char msg[] =
		"Input should be a valid string, unable to parse raw data as a unicode string";
	static const char nul_msg[] = "Input should be a string without NUL characters";
	char name[128];
	size_t i;

	if (nul_at >= 0 && (size_t)nul_at < req->nquery) {
		snprintf(name, sizeof(name), "%s", req->query[nul_at].name);
		utf8_sanitize(name);
		return http_validation_error(resp, json_pack("[{s:s, s:[s,s], s:s}]", "type",
							     "string_type", "loc", "query", name,
							     "msg", nul_msg));
	}

	for (i = 0; i < req->nparams; i++) {
		if (!utf8_valid(req->params[i])) {
			param_name(req->route, i, name, sizeof(name));
			return http_validation_error(
				resp, json_pack("[{s:s, s:[s,s], s:s}]", "type", "string_unicode",
						"loc", "path", name, "msg", msg));
		}
	}
	for (i = 0; i < req->nquery; i++) {
		if (!utf8_valid(req->query[i].name) || !utf8_valid(req->query[i].value)) {
			snprintf(name, sizeof(name), "%s", req->query[i].name);
			utf8_sanitize(name);
			return http_validation_error(
				resp, json_pack("[{s:s, s:[s,s], s:s}]", "type", "string_unicode",
						"loc", "query", name, "msg", msg));
		}
	}
	return 0;
}

/* ---- routing ----------------------------------------------------------------------------- */

static long long now_ms(void)
{
	return clock_mono_ms();
}

/* A path copy that the router may cut: on the stack when it fits. */
struct path_copy {
	char stack[HTTP_PATH_STACK];
	char *p;
};

static char *path_copy_make(struct path_copy *pc, const char *url)
{
	size_t ulen = strlen(url);

	pc->p = pc->stack;
	if (ulen >= sizeof(pc->stack)) {
		pc->p = malloc(ulen + 1);
		if (pc->p == NULL) {
			log_msg(LOG_ERROR, NULL, "out of memory");
			abort();
		}
	}
	memcpy(pc->p, url, ulen + 1);
	return pc->p;
}

static void path_copy_free(struct path_copy *pc)
{
	if (pc->p != pc->stack)
		free(pc->p);
}

/* Matches url against the listener's routes, honouring the base path: under it only public
 * routes (the prefix stripped), elsewhere only internal ones. Fills req->params/nparams and
 * req->base_path; pc holds the cut path the params point into (path_copy_free after use). */
static enum http_match route_url(const struct http_listener *lst, const char *url,
				 const char *method, struct path_copy *pc, struct http_req *req,
				 const struct http_route **route, char *allow)
{
	const char *bp = lst->base_path;
	size_t bplen = strlen(bp);
	enum http_route_filter filter = HTTP_ROUTES_ALL;
	const char *sub = url;

	req->base_path = "";
	if (bplen > 0) {
		if (strncmp(url, bp, bplen) == 0 && (url[bplen] == '/' || url[bplen] == '\0')) {
			sub = url[bplen] == '\0' ? "/" : url + bplen;
			filter = HTTP_ROUTES_PUBLIC;
			req->base_path = bp;
		} else {
			filter = HTTP_ROUTES_INTERNAL;
		}
	}
	return http_route_match_filtered(lst->routes, lst->nroutes, filter, method,
					 path_copy_make(pc, sub), route, req->params, &req->nparams,
					 allow, HTTP_ALLOW_MAX);
}

/* The fields of req every handler (and pre_body) sees. */
static void req_fill(struct http_listener *lst, struct http_ctx *ctx, const char *url,
		     const char *method, const struct http_route *route, struct http_req *req)
{
	req->method = method;
	req->path = url;
	req->route = route->pattern;
	req->access = (int)route->access;
	req->request_id = ctx->request_id;
	req->body = ctx->body.data != NULL ? ctx->body.data : "";
	req->body_len = ctx->body.len;
	req->app = lst->srv->cfg.app;
	req->srv_ = lst->srv;
}

/* Appends s percent-encoded (RFC 3986 unreserved characters kept) to out. */
static void query_encode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			(void)buf_append(out, (const char *)&c, 1);
		else
			(void)buf_printf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

/* FastAPI's redirect_slashes: a path that matches nothing but does without its trailing '/'
 * gets 307 (method and body kept) to that path, query string kept, prefix as http_location. */
static int slash_redirect(struct http_listener *lst, struct MHD_Connection *conn, const char *url,
			  const char *method, struct http_req *req, struct http_resp *resp)
{
	size_t n = strlen(url);
	struct path_copy pc;
	const struct http_route *route = NULL;
	char allow[HTTP_ALLOW_MAX];
	struct kv_list query, headers;
	struct buf target = { 0 };
	char *bare;
	int status = 0;

	if (n < 2 || url[n - 1] != '/')
		return 0;
	/* The path arrives decoded: redirect only plain RFC 3986 path characters, so a control
	 * character or a space can never cut or bend the Location (it stays a 404). */
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)url[i]) && strchr("-._~/!$&'()*+,;=:@", url[i]) == NULL)
			return 0;
	while (n > 1 && url[n - 1] == '/')
		n--;
	bare = strndup(url, n);
	if (bare == NULL)
		return 0;
	if (route_url(lst, bare, method, &pc, req, &route, allow) != HTTP_MATCH_NOT_FOUND) {
		kv_read(conn, MHD_GET_ARGUMENT_KIND, &query);
		kv_read(conn, MHD_HEADER_KIND, &headers);
		req->headers = headers.v;
		req->nheaders = headers.n;
		req->srv_ = lst->srv;
		/* route_url matched without the base path: give it back to the Location. */
		(void)buf_printf(&target, "%s", bare + strlen(req->base_path));
		for (size_t i = 0; i < query.n; i++) {
			(void)buf_append(&target, i == 0 ? "?" : "&", 1);
			query_encode(&target, query.v[i].name);
			if (query.v[i].value[0] != '\0') {
				(void)buf_append(&target, "=", 1);
				query_encode(&target, query.v[i].value);
			}
		}
		http_location(req, resp, "%s", target.data != NULL ? target.data : "/");
		req->headers = NULL;
		req->nheaders = 0;
		kv_free(&query);
		kv_free(&headers);
		status = 307;
	}
	path_copy_free(&pc);
	buf_free(&target);
	free(bare);
	return status;
}

/* Routes and answers the request, or sends the answer decided before the body. */
static enum MHD_Result dispatch(struct http_listener *lst, struct MHD_Connection *conn,
				struct http_ctx *ctx, const char *url, const char *method)
{
	struct http_server *srv = lst->srv;
	struct path_copy pc;
	char allow[HTTP_ALLOW_MAX];
	const struct http_route *route = NULL;
	struct http_req req;
	struct http_resp resp;
	struct kv_list query, headers;
	const char *label = "unmatched";
	enum http_match m;
	enum MHD_Result ret;
	int status;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	m = route_url(lst, url, method, &pc, &req, &route, allow);
	if (m == HTTP_MATCH_FOUND)
		label = route->pattern;
	if (ctx->early_status != 0) {
		status = ctx->early_status;
		resp = ctx->early_resp;
		memset(&ctx->early_resp, 0, sizeof(ctx->early_resp));
	} else if (m == HTTP_MATCH_NOT_FOUND) {
		status = slash_redirect(lst, conn, url, method, &req, &resp);
		if (status == 0)
			status = http_error(&resp, 404, "Not Found");
	} else if (m == HTTP_MATCH_BAD_METHOD) {
		status = http_error(&resp, 405, "Method Not Allowed");
		http_resp_header(&resp, "Allow", allow);
	} else {
		req_fill(lst, ctx, url, method, route, &req);
		kv_read(conn, MHD_GET_ARGUMENT_KIND, &query);
		kv_read(conn, MHD_HEADER_KIND, &headers);
		req.query = query.v;
		req.nquery = query.n;
		req.headers = headers.v;
		req.nheaders = headers.n;
		status = check_text_input(&req, query.nul_at, &resp);
		if (status == 0)
			status = route->fn(&req, &resp);
		actor_keep(ctx, &req);
		kv_free(&query);
		kv_free(&headers);
	}
	ret = send_response(srv, conn, ctx, &resp, status, method, url, label);
	path_copy_free(&pc);
	return ret;
}

/* ---- framing and early answers ----------------------------------------------------------- */

struct framing_scan {
	const char *cl;  /* the first Content-Length value */
	int cl_conflict; /* another Content-Length differs from it (or is not a number) */
	int te_count;
};

/* Strict decimal, at most 19 digits (fits unsigned long long). 0 or -1. */
static int parse_length(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n >= 19)
			return -1;
		v = v * 10 + (unsigned long long)(s[n] - '0');
		n++;
	}
	if (n == 0 || s[n] != '\0')
		return -1;
	*out = v;
	return 0;
}

static enum MHD_Result framing_scan_one(void *cls, enum MHD_ValueKind kind, const char *key,
					const char *value)
{
	struct framing_scan *fs = cls;

	(void)kind;
	if (key == NULL)
		return MHD_YES;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		unsigned long long a, b;

		if (fs->cl == NULL) {
			fs->cl = value != NULL ? value : "";
		} else if (value == NULL || parse_length(value, &b) != 0 ||
			   parse_length(fs->cl, &a) != 0 || a != b) {
			fs->cl_conflict = 1;
		}
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		fs->te_count++;
	}
	return MHD_YES;
}

/* The framing rules libmicrohttpd 0.9.75 does not enforce at strictness 0 (it lets the first
 * Content-Length win, waits forever on an unknown coding, accepts HTTP/1.1 without Host).
 * Returns 0, or 400 with resp filled. */
static int framing_check(struct MHD_Connection *conn, const char *version,
			 struct http_resp *resp)
{
	struct framing_scan fs;
	const char *te;

	memset(&fs, 0, sizeof(fs));
	MHD_get_connection_values(conn, MHD_HEADER_KIND, framing_scan_one, &fs);
	te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
	if (fs.cl_conflict)
		return http_error(resp, 400, "Bad Request: conflicting Content-Length headers");
	if (fs.te_count > 1 || (te != NULL && strcasecmp(te, "chunked") != 0))
		return http_error(resp, 400, "Bad Request: unsupported Transfer-Encoding (only "
					     "\"chunked\" is accepted)");
	if (te != NULL && fs.cl != NULL)
		return http_error(resp, 400, "Bad Request: both Transfer-Encoding and "
					     "Content-Length");
	if (version != NULL && strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
	    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST) == NULL)
		return http_error(resp, 400, "Bad Request: HTTP/1.1 request without Host header");
	return 0;
}

static int expects_continue(struct MHD_Connection *conn)
{
	const char *e = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);

	return e != NULL && strcasecmp(e, "100-continue") == 0;
}

/* Sends ctx's early answer now and closes the connection after it. */
static enum MHD_Result answer_now(struct http_listener *lst, struct MHD_Connection *conn,
				  struct http_ctx *ctx, const char *url, const char *method,
				  const char *label)
{
	struct http_resp resp = ctx->early_resp;
	int status = ctx->early_status;

	memset(&ctx->early_resp, 0, sizeof(ctx->early_resp));
	ctx->early_status = 0;
	ctx->close_after = 1;
	if (ctx->rec != NULL)
		atomic_store(&ctx->rec->deadline_ms, 0);
	return send_response(lst->srv, conn, ctx, &resp, status, method, url, label);
}

static void early_413(struct http_server *srv, struct http_ctx *ctx)
{
	if (ctx->early_status != 0)
		return;
	ctx->early_status = http_error(&ctx->early_resp, 413,
				       "Request body too large (limit %zu bytes)", srv->cfg.max_body);
}

/* The first call, once the headers are in. Returns MHD_YES (or libmicrohttpd's verdict on an
 * answer sent at once). */
static enum MHD_Result first_call(struct http_listener *lst, struct MHD_Connection *conn,
				  struct http_ctx *ctx, const char *url, const char *method,
				  const char *version)
{
	struct http_server *srv = lst->srv;
	unsigned long long declared = 0;
	unsigned long long bound = HTTP_DRAIN_FACTOR * (unsigned long long)srv->cfg.max_body;
	const char *label = "unmatched";
	const char *cl;
	int has_cl = 0;

	ctx->early_status = framing_check(conn, version, &ctx->early_resp);
	if (ctx->early_status != 0)
		return answer_now(lst, conn, ctx, url, method, label);
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl != NULL && parse_length(cl, &declared) == 0)
		has_cl = 1;
	if (has_cl && declared > (unsigned long long)srv->cfg.max_body)
		early_413(srv, ctx);
	if (srv->cfg.pre_body != NULL && ctx->early_status == 0) {
		struct path_copy pc;
		char allow[HTTP_ALLOW_MAX];
		const struct http_route *route = NULL;
		struct http_req req;

		struct kv_list query, headers;

		memset(&req, 0, sizeof(req));
		if (route_url(lst, url, method, &pc, &req, &route, allow) == HTTP_MATCH_FOUND) {
			req_fill(lst, ctx, url, method, route, &req);
			req.body = NULL;
			req.body_len = 0;
			kv_read(conn, MHD_GET_ARGUMENT_KIND, &query);
			kv_read(conn, MHD_HEADER_KIND, &headers);
			req.query = query.v;
			req.nquery = query.n;
			req.headers = headers.v;
			req.nheaders = headers.n;
			label = route->pattern;
			ctx->early_status = srv->cfg.pre_body(&req, &ctx->early_resp);
			actor_keep(ctx, &req);
			if (ctx->early_status < 0)
				ctx->early_status = 500;
			kv_free(&query);
			kv_free(&headers);
		}
		path_copy_free(&pc);
	}
	if (ctx->early_status == 0)
		return MHD_YES;
	/* An answer is decided and a body may follow. A client that waits for "100 Continue"
	 * gets it at once; so does one whose declared body exceeds the drain bound (it would be
	 * cut off anyway). Everyone else gets it after the body was read and discarded. */
	if (expects_continue(conn) || (has_cl && declared > bound))
		return answer_now(lst, conn, ctx, url, method, label);
	return MHD_YES;
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------------ */

static enum MHD_Result on_request_work(void *cls, struct MHD_Connection *conn,
				       const char *url, const char *method, const char *version,
				       const char *upload_data, size_t *upload_data_size,
				       void **con_cls)
{
	struct http_listener *lst = cls;
	struct http_server *srv = lst->srv;
	struct http_ctx *ctx = *con_cls;

	if (ctx == NULL) {
		const union MHD_ConnectionInfo *ci;

		ctx = calloc(1, sizeof(*ctx));
		if (ctx == NULL)
			return MHD_NO;
		ctx->start_ns = clock_mono_ns();
		ctx->start_real_ns = now_real_ns();
		ctx->body.limit = srv->cfg.max_body;
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		ctx->rec = ci != NULL ? ci->socket_context : NULL;
		request_id_pick(conn, ctx->request_id);
		trace_begin(&ctx->trace,
			    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "traceparent"),
			    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "tracestate"));
		*con_cls = ctx;
		atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
		metrics_in_flight(1);
		trace_set_current(&ctx->trace);
		return first_call(lst, conn, ctx, url, method, version);
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		ctx->seen += n;
		if (ctx->answered)
			return MHD_YES;
		if (ctx->early_status == 0 && buf_append(&ctx->body, upload_data, n) != 0) {
			early_413(srv, ctx); /* keep draining; 413 at the end */
			buf_free(&ctx->body);
		}
		if (ctx->early_status != 0) {
			buf_free(&ctx->body);
			if (ctx->seen > HTTP_DRAIN_FACTOR * (unsigned long long)srv->cfg.max_body) {
				log_msg(LOG_INFO, ctx->request_id,
					"closing: the body passed the drain bound of %llu bytes",
					HTTP_DRAIN_FACTOR * (unsigned long long)srv->cfg.max_body);
				return MHD_NO;
			}
		}
		return MHD_YES;
	}
	if (ctx->answered)
		return MHD_YES;
	if (ctx->rec != NULL)
		atomic_store(&ctx->rec->deadline_ms, 0); /* the request is complete */
	return dispatch(lst, conn, ctx, url, method);
}

/* Every call of a request runs with its span as the thread's current trace context, so the
 * log lines it prints carry its ids; the context is cleared before the thread moves on. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	enum MHD_Result r;

	if (*con_cls != NULL)
		trace_set_current(&((struct http_ctx *)*con_cls)->trace);
	r = on_request_work(cls, conn, url, method, version, upload_data, upload_data_size,
			    con_cls);
	trace_set_current(NULL);
	return r;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_listener *lst = cls;
	struct http_server *srv = lst->srv;
	struct http_ctx *ctx = *con_cls;

	(void)conn;
	(void)toe;
	if (ctx == NULL)
		return;
	if (ctx->rec != NULL) {
		/* Waiting for the next request line is bounded by the idle timeout, even for a
		 * client that drips it (libmicrohttpd's own idle timer restarts on every byte). */
		ctx->rec->requests++;
		atomic_store(&ctx->rec->deadline_ms,
			     now_ms() + 1000LL * (long long)srv->cfg.idle_timeout_s);
	}
	resp_clear(&ctx->early_resp);
	buf_free(&ctx->body);
	free(ctx);
	*con_cls = NULL;
	atomic_fetch_sub_explicit(&srv->inflight, 1, memory_order_relaxed);
	metrics_in_flight(-1);
}

/* A connection opens or closes: its record joins or leaves srv->conns. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct http_listener *lst = cls;
	struct http_server *srv = lst->srv;
	struct http_conn *rec = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		rec = calloc(1, sizeof(*rec));
		if (rec == NULL || ci == NULL) {
			free(rec); /* no deadline for this one; logged, not fatal */
			log_msg(LOG_ERROR, NULL, "cannot track a new connection (out of memory)");
			return;
		}
		rec->fd = ci->connect_fd;
		atomic_init(&rec->deadline_ms,
			    now_ms() + 1000LL * (long long)srv->cfg.request_timeout_s);
		pthread_mutex_lock(&srv->conns_lock);
		rec->next = srv->conns;
		if (srv->conns != NULL)
			srv->conns->prev = rec;
		srv->conns = rec;
		pthread_mutex_unlock(&srv->conns_lock);
		*socket_context = rec;
		return;
	}
	if (rec == NULL)
		return;
	pthread_mutex_lock(&srv->conns_lock);
	if (rec->prev != NULL)
		rec->prev->next = rec->next;
	else
		srv->conns = rec->next;
	if (rec->next != NULL)
		rec->next->prev = rec->prev;
	pthread_mutex_unlock(&srv->conns_lock);
	free(rec);
	*socket_context = NULL;
}

/* Called when a request line has been read: a later request on a keep-alive connection gets
 * its own full request_timeout_s from here (the first one counts from the accept). Returns
 * NULL, the initial request context. */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_listener *lst = cls;
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct http_conn *rec = ci != NULL ? ci->socket_context : NULL;

	if (rec != NULL)
		snprintf(rec->target, sizeof(rec->target), "%s", uri != NULL ? uri : "");
	if (rec != NULL && rec->requests > 0)
		atomic_store(&rec->deadline_ms,
			     now_ms() + 1000LL * (long long)lst->srv->cfg.request_timeout_s);
	return NULL;
}

/* The reaper: every HTTP_REAPER_TICK_MS, shuts down the sockets of connections past their
 * deadline. */
static void *reaper_main(void *arg)
{
	struct http_server *srv = arg;

	pthread_mutex_lock(&srv->stop_lock);
	while (!srv->stopping) {
		struct timespec until;
		struct http_conn *c;
		long long now;
		int n = 0;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += HTTP_REAPER_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->stop_cond, &srv->stop_lock, &until);
		if (srv->stopping)
			break;
		pthread_mutex_unlock(&srv->stop_lock);
		now = now_ms();
		pthread_mutex_lock(&srv->conns_lock);
		for (c = srv->conns; c != NULL; c = c->next) {
			long long d = atomic_load(&c->deadline_ms);

			if (d != 0 && now >= d && !c->reaped) {
				shutdown(c->fd, SHUT_RDWR);
				c->reaped = 1;
				n++;
			}
		}
		pthread_mutex_unlock(&srv->conns_lock);
		if (n > 0)
			log_msg(LOG_INFO, NULL,
				"closed %d connection%s without a complete request within the "
				"deadline (HTTP_REQUEST_TIMEOUT_S=%d, HTTP_IDLE_TIMEOUT_S=%d)",
				n, n == 1 ? "" : "s", srv->cfg.request_timeout_s,
				srv->cfg.idle_timeout_s);
		pthread_mutex_lock(&srv->stop_lock);
	}
	pthread_mutex_unlock(&srv->stop_lock);
	return NULL;
}

/* libmicrohttpd's own messages: errors while starting (e.g. why bind failed), debug afterwards,
 * since once serving they mostly describe client behaviour (a peer closing mid-request). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *srv = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_msg(atomic_load(&srv->serving) ? LOG_DEBUG : LOG_ERROR, NULL, "libmicrohttpd: %s", msg);
}

/* ---- signals ---------------------------------------------------------------------------- */

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

void http_signals_block(void)
{
	sigset_t set;

	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int http_signals_wait(void)
{
	sigset_t set;
	int sig = 0;

	stop_signals(&set);
	for (;;) {
		if (sigwait(&set, &sig) == 0 && (sig == SIGTERM || sig == SIGINT))
			return sig;
	}
}

/* ---- start / stop ----------------------------------------------------------------------- */

/* Fills *ss from host and port. Returns the address length, or 0 when host is not an IPv4 or
 * IPv6 literal (*v6 tells which it was). */
static socklen_t listen_addr(const char *host, int port, struct sockaddr_storage *ss, int *v6)
{
	memset(ss, 0, sizeof(*ss));
	*v6 = 0;
	if (host == NULL || host[0] == '\0')
		host = "0.0.0.0";
	{
		struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

		if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
			a4->sin_family = AF_INET;
			a4->sin_port = htons((uint16_t)port);
			return sizeof(*a4);
		}
	}
	{
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
			a6->sin6_family = AF_INET6;
			a6->sin6_port = htons((uint16_t)port);
			*v6 = 1;
			return sizeof(*a6);
		}
	}
	return 0;
}

/* Starts one daemon for lst on host:port. admin: thread per connection (a blocked probe handler
 * never delays another probe), else the epoll pool. Returns 0 or -1 (logged). */
static int listener_start(struct http_listener *lst, int port, int admin)
{
	struct http_server *srv = lst->srv;
	const struct http_server_config *cfg = &srv->cfg;
	struct sockaddr_storage ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : 1;
	unsigned limit = admin ? HTTP_ADMIN_MAX_CONNECTIONS : (unsigned)cfg->max_connections;
	struct MHD_OptionItem opts[4];
	size_t nopts = 0;
	char threads_text[32];
	int v6;

	(void)snprintf(threads_text, sizeof threads_text, "%u threads", threads);
	if (listen_addr(cfg->host, port, &ss, &v6) == 0) {
		log_msg(LOG_ERROR, NULL, "HOST \"%s\" is not an IPv4 or IPv6 address", cfg->host);
		return -1;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	if (admin || cfg->threads == 0) {
		/* One thread per connection: the admin listener, and the API with HTTP_THREADS=0.
		 * A handler that blocks (database, catalog) then holds only its own connection; in
		 * the pool a worker accepts several connections at a time and serves them in turn,
		 * so one can wait behind another's blocked call (README, "Sizing"). */
		flags |= MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL;
	} else {
		flags |= MHD_USE_EPOLL | MHD_USE_TURBO;
		opts[nopts++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, threads, NULL };
	}
	if (!admin && cfg->max_connections_per_ip > 0)
		opts[nopts++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT,
							 cfg->max_connections_per_ip, NULL };
	opts[nopts] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	lst->daemon = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, on_request, lst, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)cfg->idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, lst,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, lst, MHD_OPTION_URI_LOG_CALLBACK,
		on_request_line, lst, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_ARRAY, opts,
		MHD_OPTION_END);
	if (lst->daemon == NULL) {
		log_msg(LOG_ERROR, NULL, "cannot listen on %s:%d for the %s listener (port in use or "
					 "not permitted)",
			cfg->host, port, lst->name);
		return -1;
	}
	if (admin)
		log_msg(LOG_INFO, NULL, "admin listener on %s:%d (%zu routes)", cfg->host, port,
			lst->nroutes);
	else
		log_msg(LOG_INFO, NULL,
			"listening on %s:%d with %s (max %d connections, %d per address, "
			"request timeout %d s%s%s)",
			cfg->host, port, cfg->threads == 0 ? "a thread per connection" : threads_text,
			cfg->max_connections, cfg->max_connections_per_ip,
			cfg->request_timeout_s, cfg->base_path[0] != '\0' ? ", public routes under " : "",
			cfg->base_path);
	return 0;
}

static void reaper_stop(struct http_server *srv)
{
	if (!srv->reaper_started)
		return;
	pthread_mutex_lock(&srv->stop_lock);
	srv->stopping = 1;
	pthread_cond_signal(&srv->stop_cond);
	pthread_mutex_unlock(&srv->stop_lock);
	pthread_join(srv->reaper, NULL);
	srv->reaper_started = 0;
}

static void server_free(struct http_server *srv)
{
	if (srv->api.daemon != NULL)
		MHD_stop_daemon(srv->api.daemon);
	if (srv->admin.daemon != NULL)
		MHD_stop_daemon(srv->admin.daemon);
	reaper_stop(srv);
	pthread_mutex_destroy(&srv->conns_lock);
	pthread_mutex_destroy(&srv->stop_lock);
	pthread_cond_destroy(&srv->stop_cond);
	free(srv);
}

struct http_server *http_server_start(const struct http_server_config *cfg)
{
	struct http_server *srv;
	pthread_condattr_t ca;

	if (cfg->port <= 0 || cfg->port > 65535 || cfg->admin_port < 0 || cfg->admin_port > 65535 ||
	    (cfg->admin_port != 0 && cfg->admin_port == cfg->port)) {
		log_msg(LOG_ERROR, NULL, "invalid port %d or admin port %d", cfg->port,
			cfg->admin_port);
		return NULL;
	}
	if (http_base_path_valid(cfg->base_path) != 0) {
		log_msg(LOG_ERROR, NULL, "invalid base path \"%s\" (\"\" or /segment[/segment...])",
			cfg->base_path);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		log_msg(LOG_ERROR, NULL, "out of memory starting the server");
		return NULL;
	}
	srv->cfg = *cfg;
	if (srv->cfg.max_body == 0)
		srv->cfg.max_body = 1048576;
	if (srv->cfg.host == NULL || srv->cfg.host[0] == '\0')
		srv->cfg.host = "0.0.0.0";
	if (srv->cfg.base_path == NULL)
		srv->cfg.base_path = "";
	if (srv->cfg.idle_timeout_s <= 0)
		srv->cfg.idle_timeout_s = 30;
	if (srv->cfg.request_timeout_s <= 0)
		srv->cfg.request_timeout_s = HTTP_DEFAULT_REQUEST_TIMEOUT_S;
	if (srv->cfg.max_connections <= 0)
		srv->cfg.max_connections = HTTP_DEFAULT_MAX_CONNECTIONS;
	atomic_init(&srv->inflight, 0);
	atomic_init(&srv->draining, 0);
	atomic_init(&srv->serving, 0);
	pthread_mutex_init(&srv->conns_lock, NULL);
	pthread_mutex_init(&srv->stop_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	srv->api = (struct http_listener){ srv, NULL, srv->cfg.routes, srv->cfg.nroutes,
					   srv->cfg.base_path, "api" };
	srv->admin = (struct http_listener){ srv, NULL, srv->cfg.admin_routes,
					     srv->cfg.nadmin_routes, "", "admin" };
	json_object_seed(0);
	if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0) {
		log_msg(LOG_ERROR, NULL, "cannot start the connection reaper thread");
		goto fail;
	}
	srv->reaper_started = 1;
	/* The admin listener first: once the API answers, the probes and /metrics answer too
	 * (a client that saw the API's /health may go straight to the admin port). */
	if (srv->cfg.admin_port != 0 && listener_start(&srv->admin, srv->cfg.admin_port, 1) != 0)
		goto fail;
	if (listener_start(&srv->api, srv->cfg.port, 0) != 0)
		goto fail;
	atomic_store(&srv->serving, 1);
	return srv;
fail:
	server_free(srv);
	return NULL;
}

static unsigned current_connections(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info != NULL ? info->num_connections : 0;
}

void http_server_stop(struct http_server *srv, int grace_ms)
{
	long long start_ns;
	MHD_socket fd;
	int idle_polls = 0;

	if (srv == NULL)
		return;
	start_ns = clock_mono_ns();
	atomic_store(&srv->draining, 1);
	fd = MHD_quiesce_daemon(srv->api.daemon);
	/* Stop listening at once, so new clients are refused (a proxy then tries another replica)
	 * instead of waiting in the backlog to be reset. The descriptor itself stays open until
	 * MHD_stop_daemon: the worker threads may still hold it for a moment. The admin listener
	 * keeps answering probes until the end. */
	if (fd != MHD_INVALID_SOCKET && shutdown(fd, SHUT_RDWR) != 0)
		log_msg(LOG_DEBUG, NULL, "shutdown of the listening socket: %s", strerror(errno));
	/* Wait until no connection is left, or until none has a request in flight twice in a row
	 * (idle keep-alive connections would otherwise hold us to the deadline). */
	for (;;) {
		const struct timespec tick = { 0, 10 * 1000 * 1000 };

		if (current_connections(srv->api.daemon) == 0)
			break;
		if (atomic_load(&srv->inflight) == 0) {
			if (++idle_polls >= 2)
				break;
		} else {
			idle_polls = 0;
		}
		if (elapsed_s(start_ns) * 1000.0 >= (double)grace_ms) {
			log_msg(LOG_WARN, NULL, "shutdown deadline reached with %d requests in flight",
				atomic_load(&srv->inflight));
			break;
		}
		nanosleep(&tick, NULL);
	}
	MHD_stop_daemon(srv->api.daemon);
	srv->api.daemon = NULL;
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	server_free(srv);
}
