/* http.h - the HTTP layer over libmicrohttpd: server start/stop, router with path parameters,
 * capped JSON bodies, request ids, access log and request metrics.
 *
 * Handlers never see libmicrohttpd. A handler reads struct http_req, fills struct http_resp and
 * returns the HTTP status:
 *
 *   static int get_book(struct http_req *req, struct http_resp *resp);
 *
 * The server serialises resp->body (or sends resp->text), adds X-Request-ID, logs the access
 * line (log.h: method, route template, path and query with customer_email redacted, status,
 * duration, bytes in/out, client, user agent, actor, request and trace ids; 5xx and slow ones at
 * warn) and counts the request (metrics.h). Each request is a server span of W3C Trace Context
 * (trace.h): a valid `traceparent` is continued, anything else starts a new trace; the span is
 * the thread's current trace context while the request is worked on, and is handed to the OTLP
 * exporter (otlp.h) when export is on. Unknown path -> 404 {"detail":"Not Found"}; known path with another
 * method -> 405 {"detail":"Method Not Allowed"} with Allow; body over max_body -> 413. HEAD is
 * answered like GET without a body. */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "common/netaddr.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 8
#define HTTP_REQUEST_ID_MAX 64

/* One query argument or request header. Both strings live as long as the request. */
struct http_kv {
	const char *name;
	const char *value;
};

/* Everything a handler may read about the request. The server fills it before dispatch; a unit
 * test can fill it by hand and call a handler without a socket. */
struct http_req {
	const char *method;      /* "GET", "POST", ... */
	const char *path;        /* URL path, without the query string */
	const char *params[HTTP_MAX_PARAMS]; /* path parameters in pattern order, NUL-terminated */
	size_t nparams;
	const char *route;       /* the matched pattern, e.g. "/books/{id}" (metrics label) */
	const char *request_id;  /* the client's sane X-Request-ID or a generated one */
	const char *body;        /* NUL-terminated; "" when there is none */
	size_t body_len;
	const struct http_kv *query;   /* query arguments, URL-decoded, in order; "?k" gives "" */
	size_t nquery;
	const struct http_kv *headers; /* request headers, in order */
	size_t nheaders;
	void *app;               /* the app pointer given to http_server_start */
	/* The public prefix this request came under: the server's base_path for a public route,
	 * "" for an internal one or when no base path is configured. Never NULL once dispatched. */
	const char *base_path;
	/* The route's access rule (struct http_route.access), for the pre_body hook. */
	int access;
	/* The authenticated subject (a JWT's sub), set by whoever verifies the caller (pre_body or
	 * the handler); the access line logs it as "actor". NULL = anonymous. Copied (up to 127
	 * bytes) once the hook or handler returns, so it may point into the request's headers or
	 * thread-local storage, never into the hook's or handler's stack frame. */
	const char *actor;
	void *srv_;              /* private to http.c (NULL in unit tests) */
};

struct http_header_kv {
	char name[48];
	char value[512];
};

struct http_resp {
	json_t *body;             /* owned by the response; NULL = no JSON body */
	char *text;               /* alternative body, malloc'd, owned by the response */
	const char *content_type; /* for text or data; static string */
	/* Alternative body of data_len bytes (may hold NULs) that outlives the server, e.g. bytes
	 * embedded at build time: sent as is, never copied or freed. */
	const void *data;
	size_t data_len;
	struct http_header_kv headers[HTTP_MAX_HEADERS];
	size_t nheaders;
};

/* A handler returns the HTTP status to send. */
typedef int (*http_handler_fn)(struct http_req *req, struct http_resp *resp);

/* Who may reach a route. Internal routes (the default: operations, reservations) are never
 * served under the public base path, so a front door that routes only that prefix cannot expose
 * them; public routes are served only under it (when one is configured). */
enum http_visibility { HTTP_INTERNAL = 0, HTTP_PUBLIC = 1 };

/* Who may call a route (applied by app.c's pre_body hook before the body is read; docs/auth.md):
 * PUBLIC anyone; CUSTOMER any caller with a valid bearer token (the handler then decides on
 * ownership); ADMIN a valid token with the admin role; INTERNAL only the internal service token
 * (INTERNAL_API_TOKEN), never a user token. UNSET (an entry that forgot it) is refused at start,
 * so a route can never be open by omission. */
enum http_access {
	HTTP_ACCESS_UNSET = 0,
	HTTP_ACCESS_PUBLIC,
	HTTP_ACCESS_CUSTOMER,
	HTTP_ACCESS_ADMIN,
	HTTP_ACCESS_INTERNAL
};

struct http_route {
	const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *pattern; /* "/books/{id}": a {name} segment matches one non-empty segment */
	http_handler_fn fn;
	enum http_visibility visibility; /* HTTP_INTERNAL when omitted */
	enum http_access access;         /* must be named: HTTP_ACCESS_UNSET refuses the start */
};

enum http_match { HTTP_MATCH_FOUND, HTTP_MATCH_NOT_FOUND, HTTP_MATCH_BAD_METHOD };

/* Which routes a match may consider: every route, or only those of one visibility. */
enum http_route_filter { HTTP_ROUTES_ALL, HTTP_ROUTES_PUBLIC, HTTP_ROUTES_INTERNAL };

/* The pure router. path is modified in place (segments are cut) and params point into it.
 * FOUND: *route set, params/nparams filled. BAD_METHOD: allow gets "GET, PUT" (the methods the
 * path does accept, HEAD implied by GET). NOT_FOUND otherwise. */
enum http_match http_route_match(const struct http_route *routes, size_t nroutes,
				 const char *method, char *path, const struct http_route **route,
				 const char **params, size_t *nparams, char *allow, size_t allowlen);
/* The same, considering only the routes that pass filter (405 and Allow are computed among
 * them too). */
enum http_match http_route_match_filtered(const struct http_route *routes, size_t nroutes,
					  enum http_route_filter filter, const char *method,
					  char *path, const struct http_route **route,
					  const char **params, size_t *nparams, char *allow,
					  size_t allowlen);
/* 0 when p is a valid base path: empty, or '/' followed by segments of [A-Za-z0-9._~-], single
 * '/' between them, no trailing '/', no "." or ".." segment, at most 128 bytes. Else -1. */
int http_base_path_valid(const char *p);

/* Query parameter (first occurrence, name compared case-insensitively as libmicrohttpd does,
 * URL-decoded) or NULL. Reads req->query only. */
const char *http_query(const struct http_req *req, const char *key);
/* Request header (case-insensitive name, first occurrence) or NULL. Reads req->headers only. */
const char *http_header(const struct http_req *req, const char *name);

/* Adds a response header (silently ignored past HTTP_MAX_HEADERS; values are truncated). */
void http_resp_header(struct http_resp *resp, const char *name, const char *value);
/* Sets {"detail": "<formatted>"} and returns status, so handlers can `return http_error(...)`. */
int http_error(struct http_resp *resp, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets {"detail": errors} (FastAPI list; stolen) and returns 422. */
int http_validation_error(struct http_resp *resp, json_t *errors);
/* Sets resp->body (stolen) and returns status. */
int http_json(struct http_resp *resp, int status, json_t *body);
/* Sets the Location header to the request's base path followed by the formatted path, e.g.
 * "/catalog" + "/books/42". When the server has no base path configured, a sane
 * X-Forwarded-Prefix (starts with '/', no CR/LF, no "..") is used instead, for proxies that strip
 * a prefix; with a base path configured that header is ignored. */
void http_location(const struct http_req *req, struct http_resp *resp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Decodes the request body as a JSON object.
 * Returns 0 with *out (caller decrefs), or a status with resp filled:
 * 415 when Content-Type is present and not application/json (or +json);
 * 422 [{"type":"json_invalid","loc":["body",<byte offset>],"msg":"JSON decode error",
 *       "ctx":{"error":"..."}}] for malformed JSON, invalid UTF-8, duplicate keys or an empty body;
 * 422 "model_attributes_type" when the JSON is not an object. */
int http_json_body(const struct http_req *req, struct http_resp *resp, json_t **out);

/* An early decision, taken once the headers are in and before the body is read (e.g. a 401
 * for a missing token). Called on the first callback of a request whose route matched, with
 * req->body NULL; returns 0 to go on, or a status (with resp filled) to answer instead of the
 * handler. The answer then uses the drain mechanism below. Must not block. */
typedef int (*http_pre_body_fn)(struct http_req *req, struct http_resp *resp);

/* Answers decided before the body is read (413 over max_body, a pre_body status):
 *  - with "Expect: 100-continue" the answer goes at once (no 100 Continue, connection closed);
 *  - otherwise the upload is read and discarded (not buffered) up to 16 x max_body bytes and
 *    within request_timeout_s, and the answer is sent after it, so a client that writes its
 *    whole body before reading sees it; past either bound the connection is closed.
 * Framing errors (two different Content-Length values, Transfer-Encoding other than exactly
 * "chunked", both, HTTP/1.1 without Host) get one 400 at once and the connection is closed. */
struct http_server_config {
	const char *host; /* listen address (IPv4 or IPv6 literal); NULL or "" = 0.0.0.0 */
	int port;
	int threads;
	size_t max_body;
	int idle_timeout_s;
	const struct http_route *routes;
	size_t nroutes;
	void *app;
	/* Public routes are served under this prefix ("" or NULL = none; see
	 * http_base_path_valid); internal routes never are. */
	const char *base_path;
	int max_connections;        /* global limit (0 = 512); split across the pool threads */
	int max_connections_per_ip; /* 0 = no per-address limit */
	/* A request must be complete within this many seconds of its start (0 = 10): of the
	 * connection's accept for its first request, of the request line for later ones on a
	 * keep-alive connection (whose wait for that line is bounded by idle_timeout_s). Past it
	 * the connection is shut down (slowloris, a drain that takes too long). */
	int request_timeout_s;
	http_pre_body_fn pre_body; /* NULL = none */
	/* The admin listener: a second daemon on its own threads (one per connection, at most
	 * 32), same host, serving admin_routes only; 0 = none. Probes and scraping use it, so they
	 * never queue behind API work. */
	int admin_port;
	const struct http_route *admin_routes;
	size_t nadmin_routes;
	/* Peers whose X-Forwarded-For names the client in the access log (TRUSTED_PROXIES); NULL
	 * or empty = none (the peer address is logged). Must outlive the server. */
	const struct netaddr_list *trusted_proxies;
};

struct http_server;

/* Blocks SIGTERM/SIGINT in the calling thread (so threads started later inherit the mask) and
 * ignores SIGPIPE. Call first thing in main. Idempotent. */
void http_signals_block(void);
/* Waits for SIGTERM or SIGINT (must be blocked). Returns the signal number. */
int http_signals_wait(void);

/* Starts listening on host:port with a thread pool and epoll (and on host:admin_port when set),
 * plus the reaper thread that enforces request_timeout_s. Returns NULL (and logs why) if a port
 * cannot be bound or the configuration is invalid (host, base_path). */
struct http_server *http_server_start(const struct http_server_config *cfg);
/* Graceful stop: stops accepting, waits up to grace_ms for in-flight requests, then stops and
 * frees. NULL is a no-op. */
void http_server_stop(struct http_server *srv, int grace_ms);

#endif
