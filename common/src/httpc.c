/* httpc.c - minimal libcurl GET and POST (see httpc.h). */
#include "common/httpc.h"

#include "common/buf.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTPC_DEFAULT_CONNECT_MS 2000L
#define HTTPC_DEFAULT_TOTAL_MS 5000L
#define HTTPC_DEFAULT_MAX_BODY ((size_t)1024 * 1024)

struct httpc {
	CURL *easy;
};

/* Collects the body into a capped buffer; over the cap it flags the overflow and returns 0, which
 * makes libcurl stop with CURLE_WRITE_ERROR. */
struct httpc_sink {
	struct buf body;
	int overflow;
};

static size_t httpc_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct httpc_sink *s = userdata;
	size_t n = size * nmemb;

	if (buf_append(&s->body, ptr, n) != 0) {
		s->overflow = 1;
		return 0;
	}
	return n;
}

struct httpc *httpc_new(void)
{
	struct httpc *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->easy = curl_easy_init();
	if (c->easy == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

void httpc_free(struct httpc *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->easy);
	free(c);
}

void httpc_resp_free(struct httpc_resp *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

const char *httpc_status_name(enum httpc_status s)
{
	switch (s) {
	case HTTPC_OK:
		return "ok";
	case HTTPC_TIMEOUT:
		return "timeout";
	case HTTPC_TOO_LARGE:
		return "too_large";
	case HTTPC_ERROR:
		return "error";
	}
	return "error";
}

/* One exchange: GET, or POST of req->body when post is set. */
static enum httpc_status httpc_perform(struct httpc *c, const struct httpc_req *req,
				       struct httpc_resp *resp, int post)
{
	struct httpc_sink sink = { 0 };
	struct curl_slist *hdrs = NULL, *more;
	char ctype[160];
	char curl_err[CURL_ERROR_SIZE] = "";
	enum httpc_status st = HTTPC_ERROR;
	CURLcode cc;
	long connect_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms
						       : HTTPC_DEFAULT_CONNECT_MS;
	long total_ms = req->timeout_ms > 0 ? req->timeout_ms : HTTPC_DEFAULT_TOTAL_MS;

	memset(resp, 0, sizeof(*resp));
	sink.body.limit = req->max_body > 0 ? req->max_body : HTTPC_DEFAULT_MAX_BODY;
	if (c == NULL || c->easy == NULL || req->url == NULL) {
		snprintf(resp->error, sizeof(resp->error), "no client or no URL");
		goto out;
	}
	curl_easy_reset(c->easy); /* keeps the connection cache */
	if (curl_easy_setopt(c->easy, CURLOPT_URL, req->url) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		snprintf(resp->error, sizeof(resp->error), "URL rejected by libcurl");
		goto out;
	}
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		more = curl_slist_append(hdrs, req->headers[i]);
		if (more == NULL) {
			snprintf(resp->error, sizeof(resp->error), "out of memory");
			goto out;
		}
		hdrs = more;
	}
	if (post) {
		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
			 req->content_type != NULL ? req->content_type : "application/json");
		more = curl_slist_append(hdrs, ctype);
		if (more == NULL) {
			snprintf(resp->error, sizeof(resp->error), "out of memory");
			goto out;
		}
		hdrs = more;
		/* The body goes with the headers: no "Expect: 100-continue" round trip. */
		more = curl_slist_append(hdrs, "Expect:");
		if (more == NULL) {
			snprintf(resp->error, sizeof(resp->error), "out of memory");
			goto out;
		}
		hdrs = more;
		(void)curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
		(void)curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
		(void)curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE,
				       (curl_off_t)(req->body != NULL ? req->body_len : 0));
	} else {
		(void)curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
	}
	if (hdrs != NULL)
		(void)curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, hdrs);
	(void)curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	(void)curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, total_ms);
	(void)curl_easy_setopt(c->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	(void)curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
	(void)curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, curl_err);
	(void)curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, httpc_write);
	(void)curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, &sink);
	cc = curl_easy_perform(c->easy);
	(void)curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL); /* curl_err leaves scope */
	if (cc == CURLE_OK) {
		(void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &resp->status);
		st = HTTPC_OK;
	} else if (sink.overflow) {
		snprintf(resp->error, sizeof(resp->error), "body larger than %zu bytes",
			 sink.body.limit);
		st = HTTPC_TOO_LARGE;
	} else {
		snprintf(resp->error, sizeof(resp->error), "%.120s%s%.120s", curl_easy_strerror(cc),
			 curl_err[0] != '\0' ? ": " : "", curl_err);
		st = cc == CURLE_OPERATION_TIMEDOUT ? HTTPC_TIMEOUT : HTTPC_ERROR;
	}
out:
	if (hdrs != NULL) {
		(void)curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL); /* hdrs is freed now */
		curl_slist_free_all(hdrs);
	}
	resp->len = sink.body.len;
	resp->body = buf_steal(&sink.body);
	if (st != HTTPC_OK) {
		resp->status = 0;
	}
	return st;
}

enum httpc_status httpc_get(struct httpc *c, const struct httpc_req *req, struct httpc_resp *resp)
{
	return httpc_perform(c, req, resp, 0);
}

enum httpc_status httpc_post(struct httpc *c, const struct httpc_req *req, struct httpc_resp *resp)
{
	return httpc_perform(c, req, resp, 1);
}
