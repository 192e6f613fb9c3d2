/* httpc.h - the one outbound HTTP client of common/ (libcurl underneath).
 *
 * Every outbound call goes through it (DECISIONS.md: one HTTP client module): the JWKS fetch of
 * auth.c, the span exporter (otlp.c) and the order service's catalog calls (catalog_client.c).
 * A struct httpc wraps one libcurl easy handle that keeps its connections alive between calls, so
 * the intended use is one handle per thread (a worker, the JWKS refresher, an exporter), never
 * shared between threads. Every call has a connect timeout and a total timeout (libcurl's defaults
 * are 300 s and never), a capped response body, CURLOPT_NOSIGNAL (safe in threaded servers),
 * TCP_NODELAY, and only http/https, without following redirects. GET and POST (a body with its
 * Content-Type), each with optional extra request header lines.
 *
 * The process must call curl_global_init() once in main before any thread starts (libcurl's own
 * rule); httpc never calls it. */
#ifndef COMMON_HTTPC_H
#define COMMON_HTTPC_H

#include <stddef.h>

enum httpc_status {
	HTTPC_OK,        /* an HTTP answer arrived (any status code: look at resp->status) */
	HTTPC_TIMEOUT,   /* connect or total timeout */
	HTTPC_TOO_LARGE, /* the body passed max_body */
	HTTPC_ERROR      /* anything else: DNS, refused, TLS, bad URL, out of memory */
};

struct httpc_req {
	const char *url;         /* http:// or https:// */
	long connect_timeout_ms; /* <= 0: 2000 */
	long timeout_ms;         /* whole exchange; <= 0: 5000 */
	size_t max_body;         /* 0: 1 MiB */
	/* Extra request header lines ("Name: value"), NULL-terminated; NULL for none. Copied. */
	const char *const *headers;
	/* httpc_post only: the request body (not copied; must live until the call returns) and
	 * its Content-Type (NULL: application/json). */
	const char *body;
	size_t body_len;
	const char *content_type;
};

struct httpc_resp {
	long status;      /* HTTP status; 0 when no answer arrived */
	char *body;       /* NUL-terminated (the NUL is not counted in len); never NULL after a call */
	size_t len;
	char error[256];  /* a one-line reason when the result is not HTTPC_OK */
};

/* A new client (one libcurl easy handle). Returns NULL if libcurl cannot create one. */
struct httpc *httpc_new(void);
/* Frees the client and closes its connections. NULL is a no-op. */
void httpc_free(struct httpc *c);
/* GET req->url and wait for the whole answer (blocks up to timeout_ms). resp is filled in every
 * case; the caller frees it with httpc_resp_free (also after an error). */
enum httpc_status httpc_get(struct httpc *c, const struct httpc_req *req, struct httpc_resp *resp);
/* POST req->body (body_len bytes, Content-Type req->content_type) to req->url and wait for the
 * whole answer; otherwise as httpc_get. Used by the span exporter (otlp.c). */
enum httpc_status httpc_post(struct httpc *c, const struct httpc_req *req, struct httpc_resp *resp);
/* Frees resp->body and clears resp. */
void httpc_resp_free(struct httpc_resp *resp);
/* A short name for a status: "ok", "timeout", "too_large", "error". */
const char *httpc_status_name(enum httpc_status s);

#endif
