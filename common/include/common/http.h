/* http.h - the HTTP layer over libmicrohttpd: server start/stop, router with path parameters,
 * capped JSON bodies, request ids, access log and request metrics.
 *
 * Handlers never see libmicrohttpd. A handler reads struct http_req, fills struct http_resp and
 * returns the HTTP status:
 *
 *   static int get_book(struct http_req *req, struct http_resp *resp);
 *
 * The server serialises resp->body (or sends resp->text), adds X-Request-ID, logs the access
 * line and counts the request. Unknown path -> 404 {"detail":"Not Found"}; known path with another
 * method -> 405 {"detail":"Method Not Allowed"} with Allow; body over max_body -> 413. HEAD is
 * answered like GET without a body. */
#ifndef COMMON_HTTP_H
#define COMMON_HTTP_H

#include <jansson.h>
#include <stddef.h>

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
};

struct http_header_kv {
	char name[48];
	char value[512];
};

struct http_resp {
	json_t *body;             /* owned by the response; NULL = no JSON body */
	char *text;               /* alternative body, malloc'd, owned by the response */
	const char *content_type; /* for text; static string */
	struct http_header_kv headers[HTTP_MAX_HEADERS];
	size_t nheaders;
};

/* A handler returns the HTTP status to send. */
typedef int (*http_handler_fn)(struct http_req *req, struct http_resp *resp);

struct http_route {
	const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *pattern; /* "/books/{id}": a {name} segment matches one non-empty segment */
	http_handler_fn fn;
};

enum http_match { HTTP_MATCH_FOUND, HTTP_MATCH_NOT_FOUND, HTTP_MATCH_BAD_METHOD };

/* The pure router. path is modified in place (segments are cut) and params point into it.
 * FOUND: *route set, params/nparams filled. BAD_METHOD: allow gets "GET, PUT" (the methods the
 * path does accept, HEAD implied by GET). NOT_FOUND otherwise. */
enum http_match http_route_match(const struct http_route *routes, size_t nroutes,
				 const char *method, char *path, const struct http_route **route,
				 const char **params, size_t *nparams, char *allow, size_t allowlen);

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
/* Sets the Location header to X-Forwarded-Prefix (when sane: starts with '/', no CR/LF, no "..")
 * followed by the formatted path, e.g. "/catalog" + "/books/42". */
void http_location(const struct http_req *req, struct http_resp *resp, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Decodes the request body as a JSON object.
 * Returns 0 with *out (caller decrefs), or a status with resp filled:
 * 415 when Content-Type is present and not application/json (or +json);
 * 422 [{"type":"json_invalid","loc":["body",<byte offset>],"msg":"JSON decode error",
 *       "ctx":{"error":"..."}}] for malformed JSON, invalid UTF-8, duplicate keys or an empty body;
 * 422 "model_attributes_type" when the JSON is not an object. */
int http_json_body(const struct http_req *req, struct http_resp *resp, json_t **out);

struct http_server_config {
	int port;
	int threads;
	size_t max_body;
	int idle_timeout_s;
	const struct http_route *routes;
	size_t nroutes;
	void *app;
};

struct http_server;

/* Blocks SIGTERM/SIGINT in the calling thread (so threads started later inherit the mask) and
 * ignores SIGPIPE. Call first thing in main. Idempotent. */
void http_signals_block(void);
/* Waits for SIGTERM or SIGINT (must be blocked). Returns the signal number. */
int http_signals_wait(void);

/* Starts listening on 0.0.0.0:port with a thread pool and epoll. Returns NULL (and logs why) if
 * the port cannot be bound. */
struct http_server *http_server_start(const struct http_server_config *cfg);
/* Graceful stop: stops accepting, waits up to grace_ms for in-flight requests, then stops and
 * frees. NULL is a no-op. */
void http_server_stop(struct http_server *srv, int grace_ms);

#endif
