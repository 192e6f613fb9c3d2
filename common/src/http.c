/* http.c - the HTTP server over libmicrohttpd (see http.h). The only file that calls it.
 *
 * Request life cycle (libmicrohttpd calls on_request several times per request):
 *   1. after the headers: allocate the request context, pick the request id, count the request
 *      as in flight. Nothing is queued here (queuing now would cost keep-alive in 0.9.75), except
 *      an early 413 when Content-Length already exceeds max_body.
 *   2. zero or more calls with body chunks: appended to a capped buffer; past the cap the rest is
 *      drained and discarded, and the answer is 413.
 *   3. the final call: route, run the handler, serialise, queue, log the access line, count it.
 * The context is freed in on_completed, the only callback that also runs when a client goes away
 * mid-request. */
#include "common/http.h"

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/utf8.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_PATH_STACK 256
#define HTTP_ALLOW_MAX 128

struct http_server {
	struct MHD_Daemon *daemon;
	struct http_server_config cfg;
	atomic_int inflight; /* requests between their first callback and on_completed */
	atomic_int draining; /* set by http_server_stop: responses then carry Connection: close */
	atomic_int serving;  /* set once the daemon runs (libmicrohttpd messages drop to debug) */
};

/* Per-request state, from the first callback to on_completed. */
struct http_ctx {
	long long start_ns; /* clock_mono_ns() at the first callback */
	struct buf body;
	int too_large; /* the body passed max_body: drained, answered 413 */
	int answered;  /* a response was queued */
	char request_id[HTTP_REQUEST_ID_MAX + 1];
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

/* A per-thread splitmix64 generator seeded from getrandom(2): request ids need uniqueness, not
 * secrecy, and this keeps a syscall off the request path. */
static uint64_t rng_next(void)
{
	static _Thread_local uint64_t state;
	uint64_t z;

	if (state == 0) {
		if (getrandom(&state, sizeof(state), 0) != (ssize_t)sizeof(state) || state == 0) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			state = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^
				(uint64_t)(uintptr_t)&state;
			state |= 1;
		}
	}
	z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
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

/* The client's sane X-Request-ID, else 32 random hex digits. */
static void request_id_pick(struct MHD_Connection *conn, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-ID");
	int i;

	if (given != NULL && request_id_sane(given)) {
		memcpy(out, given, strlen(given) + 1);
		return;
	}
	for (i = 0; i < 2; i++) {
		uint64_t r = rng_next();
		int k;

		for (k = 0; k < 16; k++)
			out[i * 16 + k] = hex[(r >> (k * 4)) & 15];
	}
	out[32] = '\0';
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
	const char *prefix = http_header(req, "X-Forwarded-Prefix");
	size_t plen = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
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
	if (status >= 400 && resp->body == NULL && resp->text == NULL) {
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
	}
	if (payload != NULL) {
		r = MHD_create_response_from_buffer(len, payload, MHD_RESPMEM_MUST_FREE);
		if (r == NULL)
			free(payload);
	} else if (status == 500 && ctype == http_json_type) {
		r = MHD_create_response_from_buffer(sizeof(http_fallback_500) - 1,
						    (void *)http_fallback_500,
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
	if (atomic_load_explicit(&srv->draining, memory_order_relaxed))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, (unsigned)status, r);
	ctx->answered = 1;
out:
	if (r != NULL)
		MHD_destroy_response(r);
	resp_clear(resp);
	{
		double secs = elapsed_s(ctx->start_ns);

		if (log_enabled(LOG_INFO))
			log_access(ctx->request_id, method, url, status, secs * 1000.0);
		metrics_request(label, method, status, secs);
	}
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
	struct http_kv stack[HTTP_KV_STACK];
};

static enum MHD_Result kv_collect(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct kv_list *l = cls;

	(void)kind;
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
	MHD_get_connection_values(conn, kind, kv_collect, l);
}

static void kv_free(struct kv_list *l)
{
	if (l->v != l->stack)
		free(l->v);
}

/* A safety net in front of every handler: path parameters and query arguments are text, so
 * bytes that are not UTF-8 (e.g. "%ff") are refused with a 422 here instead of reaching
 * jansson (which rejects them) or PostgreSQL. Returns 0 or 422 with resp filled. */
static int check_utf8_input(const struct http_req *req, struct http_resp *resp)
{
	static const char msg[] =
		"Input should be a valid string, unable to parse raw data as a unicode string";
	char name[128];
	size_t i;

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

/* Routes and answers the request. early_413: Content-Length was already too large. */
static enum MHD_Result dispatch(struct http_server *srv, struct MHD_Connection *conn,
				struct http_ctx *ctx, const char *url, const char *method,
				int early_413)
{
	char stack_path[HTTP_PATH_STACK];
	char *path = stack_path;
	char allow[HTTP_ALLOW_MAX];
	const struct http_route *route = NULL;
	struct http_req req;
	struct http_resp resp;
	struct kv_list query, headers;
	const char *label = "unmatched";
	size_t ulen = strlen(url);
	enum http_match m;
	enum MHD_Result ret;
	int status;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	if (ulen >= sizeof(stack_path)) {
		path = malloc(ulen + 1);
		if (path == NULL) {
			log_msg(LOG_ERROR, ctx->request_id, "out of memory");
			abort();
		}
	}
	memcpy(path, url, ulen + 1);
	m = http_route_match(srv->cfg.routes, srv->cfg.nroutes, method, path, &route, req.params,
			     &req.nparams, allow, sizeof(allow));
	if (m == HTTP_MATCH_FOUND)
		label = route->pattern;
	if (early_413 || (m == HTTP_MATCH_FOUND && ctx->too_large)) {
		status = http_error(&resp, 413, "Request body too large (limit %zu bytes)",
				    srv->cfg.max_body);
	} else if (m == HTTP_MATCH_NOT_FOUND) {
		status = http_error(&resp, 404, "Not Found");
	} else if (m == HTTP_MATCH_BAD_METHOD) {
		status = http_error(&resp, 405, "Method Not Allowed");
		http_resp_header(&resp, "Allow", allow);
	} else {
		req.method = method;
		req.path = url;
		req.route = route->pattern;
		req.request_id = ctx->request_id;
		req.body = ctx->body.data != NULL ? ctx->body.data : "";
		req.body_len = ctx->body.len;
		req.app = srv->cfg.app;
		kv_read(conn, MHD_GET_ARGUMENT_KIND, &query);
		kv_read(conn, MHD_HEADER_KIND, &headers);
		req.query = query.v;
		req.nquery = query.n;
		req.headers = headers.v;
		req.nheaders = headers.n;
		status = check_utf8_input(&req, &resp);
		if (status == 0)
			status = route->fn(&req, &resp);
		kv_free(&query);
		kv_free(&headers);
	}
	ret = send_response(srv, conn, ctx, &resp, status, method, url, label);
	if (path != stack_path)
		free(path);
	return ret;
}

/* ---- libmicrohttpd callbacks ------------------------------------------------------------ */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct http_server *srv = cls;
	struct http_ctx *ctx = *con_cls;

	(void)version;
	if (ctx == NULL) {
		const char *cl;

		ctx = calloc(1, sizeof(*ctx));
		if (ctx == NULL)
			return MHD_NO;
		ctx->start_ns = clock_mono_ns();
		ctx->body.limit = srv->cfg.max_body;
		request_id_pick(conn, ctx->request_id);
		*con_cls = ctx;
		atomic_fetch_add_explicit(&srv->inflight, 1, memory_order_relaxed);
		/* The one response allowed on the first call: a declared body that is too big is
		 * refused before it is read (the connection is then closed). */
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl != NULL) {
			char *end = NULL;
			unsigned long long n;

			errno = 0;
			n = strtoull(cl, &end, 10);
			if (end != cl && errno == 0 && n > (unsigned long long)srv->cfg.max_body)
				return dispatch(srv, conn, ctx, url, method, 1);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!ctx->too_large && !ctx->answered &&
		    buf_append(&ctx->body, upload_data, *upload_data_size) != 0) {
			ctx->too_large = 1; /* keep draining; 413 at the end */
			buf_free(&ctx->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (ctx->answered)
		return MHD_YES;
	return dispatch(srv, conn, ctx, url, method, 0);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_server *srv = cls;
	struct http_ctx *ctx = *con_cls;

	(void)conn;
	(void)toe;
	if (ctx == NULL)
		return;
	buf_free(&ctx->body);
	free(ctx);
	*con_cls = NULL;
	atomic_fetch_sub_explicit(&srv->inflight, 1, memory_order_relaxed);
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

struct http_server *http_server_start(const struct http_server_config *cfg)
{
	struct http_server *srv;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
			 MHD_USE_TURBO | MHD_USE_ERROR_LOG;
	unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : 1;

	if (cfg->port <= 0 || cfg->port > 65535) {
		log_msg(LOG_ERROR, NULL, "invalid port %d", cfg->port);
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
	atomic_init(&srv->inflight, 0);
	atomic_init(&srv->draining, 0);
	atomic_init(&srv->serving, 0);
	json_object_seed(0);
	srv->daemon = MHD_start_daemon(
		flags, (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
		on_mhd_log, srv, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s : 30),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
		MHD_OPTION_END);
	if (srv->daemon == NULL) {
		log_msg(LOG_ERROR, NULL, "cannot listen on 0.0.0.0:%d (port in use or not permitted)",
			cfg->port);
		free(srv);
		return NULL;
	}
	atomic_store(&srv->serving, 1);
	log_msg(LOG_INFO, NULL, "listening on 0.0.0.0:%d with %u threads", cfg->port, threads);
	return srv;
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
	fd = MHD_quiesce_daemon(srv->daemon);
	/* Stop listening at once, so new clients are refused (a proxy then tries another replica)
	 * instead of waiting in the backlog to be reset. The descriptor itself stays open until
	 * MHD_stop_daemon: the worker threads may still hold it for a moment. */
	if (fd != MHD_INVALID_SOCKET && shutdown(fd, SHUT_RDWR) != 0)
		log_msg(LOG_DEBUG, NULL, "shutdown of the listening socket: %s", strerror(errno));
	/* Wait until no connection is left, or until none has a request in flight twice in a row
	 * (idle keep-alive connections would otherwise hold us to the deadline). */
	for (;;) {
		const struct timespec tick = { 0, 10 * 1000 * 1000 };

		if (current_connections(srv->daemon) == 0)
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
	MHD_stop_daemon(srv->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	free(srv);
}
