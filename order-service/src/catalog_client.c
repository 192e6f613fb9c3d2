/* catalog_client.c - libcurl calls to the catalog service (see catalog_client.h). */
#include "catalog_client.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/money.h"

#define CATALOG_MAX_RESPONSE (1024 * 1024)

static char *catalog_base;
static char *catalog_books_prefix; /* the catalog's BASE_PATH; NULL or "" = none */
static long catalog_timeout_ms = 2000;
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

/* The outcome of one HTTP exchange. */
struct exchange {
	long status;      /* 0 on a transport failure */
	struct buf body;  /* response body */
	json_t *json;     /* parsed body (object) or NULL */
};

static void handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void handle_key_make(void)
{
	if (pthread_key_create(&handle_key, handle_free) != 0) {
		log_msg(LOG_ERROR, NULL, "catalog client: pthread_key_create failed");
		abort();
	}
}

/* The calling thread's easy handle, created on first use and kept until the thread exits, so
 * its connection cache keeps the catalog connection alive across requests. NULL if curl fails. */
static CURL *thread_handle(void)
{
	CURL *h;

	(void)pthread_once(&handle_once, handle_key_make);
	h = pthread_getspecific(handle_key);
	if (h == NULL) {
		h = curl_easy_init();
		if (h != NULL && pthread_setspecific(handle_key, h) != 0) {
			curl_easy_cleanup(h);
			h = NULL;
		}
	}
	return h;
}

int catalog_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void catalog_global_cleanup(void)
{
	free(catalog_base);
	catalog_base = NULL;
	free(catalog_books_prefix);
	catalog_books_prefix = NULL;
	curl_global_cleanup();
}

int catalog_init(const char *base_url, int timeout_ms)
{
	size_t n;

	if (base_url == NULL || base_url[0] == '\0')
		return -1;
	free(catalog_base);
	catalog_base = strdup(base_url);
	if (catalog_base == NULL)
		return -1;
	n = strlen(catalog_base);
	while (n > 0 && catalog_base[n - 1] == '/')
		catalog_base[--n] = '\0';
	catalog_timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
	return 0;
}

int catalog_set_books_prefix(const char *prefix)
{
	char *copy = strdup(prefix != NULL ? prefix : "");

	if (copy == NULL)
		return -1;
	free(catalog_books_prefix);
	catalog_books_prefix = copy;
	return 0;
}

const char *catalog_status_name(enum catalog_status s)
{
	switch (s) {
	case CATALOG_OK:
		return "ok";
	case CATALOG_NOT_FOUND:
		return "not_found";
	case CATALOG_INSUFFICIENT:
		return "insufficient";
	case CATALOG_GONE:
		return "gone";
	case CATALOG_REJECTED:
		return "rejected";
	case CATALOG_BAD_ANSWER:
		return "bad_answer";
	case CATALOG_UNAVAILABLE:
		return "unavailable";
	}
	return "unknown";
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;

	if (buf_append(b, ptr, n) != 0)
		return 0; /* over the cap: curl aborts with CURLE_WRITE_ERROR */
	return n;
}

static double now_s(void)
{
	return (double)clock_mono_ns() / 1e9;
}

static void count_failure(const char *op, const char *reason)
{
	char labels[96];

	(void)snprintf(labels, sizeof labels, "op=\"%s\",reason=\"%s\"", op, reason);
	metrics_count("catalog_failures_total",
		      "Catalog calls that failed (transport error, timeout, 5xx, garbage, unexpected status)", labels,
		      1);
}

/* One HTTP exchange with the catalog. method is "GET" or "POST" (POST sends body, which may be
 * NULL for an empty body). Fills ex (the caller frees it with exchange_clear). Returns 0 when an
 * HTTP answer arrived (any status), -1 on a transport failure or timeout. */
static int exchange_once(const char *op, const char *method, const char *path, const char *body,
			 const char *request_id, struct exchange *ex)
{
	CURL *h = thread_handle();
	struct curl_slist *headers = NULL, *tmp;
	struct buf url = { 0 }, request_id_hdr = { 0 };
	char labels[96];
	CURLcode cc = CURLE_FAILED_INIT;
	double t0 = now_s();
	int rc = -1;

	ex->status = 0;
	ex->body.limit = CATALOG_MAX_RESPONSE;
	if (h == NULL || catalog_base == NULL)
		goto out;
	curl_easy_reset(h); /* keeps the connection cache */
	if (buf_printf(&url, "%s%s", catalog_base, path) != 0)
		goto out;
	tmp = curl_slist_append(headers, "Accept: application/json");
	if (tmp == NULL)
		goto out;
	headers = tmp;
	if (request_id != NULL && request_id[0] != '\0') {
		if (buf_printf(&request_id_hdr, "X-Request-ID: %s", request_id) != 0)
			goto out;
		tmp = curl_slist_append(headers, request_id_hdr.data);
		if (tmp == NULL)
			goto out;
		headers = tmp;
	}
	if (strcmp(method, "POST") == 0) {
		tmp = curl_slist_append(headers, "Content-Type: application/json");
		if (tmp == NULL)
			goto out;
		headers = tmp;
		tmp = curl_slist_append(headers, "Expect:");
		if (tmp == NULL)
			goto out;
		headers = tmp;
		(void)curl_easy_setopt(h, CURLOPT_POST, 1L);
		(void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, body != NULL ? body : "");
		(void)curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
				       (long)(body != NULL ? strlen(body) : 0));
	} else {
		(void)curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	(void)curl_easy_setopt(h, CURLOPT_URL, url.data);
	(void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, catalog_timeout_ms);
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, catalog_timeout_ms);
	(void)curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	(void)curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	(void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex->body);
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		log_msg(LOG_WARN, request_id, "catalog %s %s failed: %s", method, path,
			curl_easy_strerror(cc));
		count_failure(op, cc == CURLE_OPERATION_TIMEDOUT ? "timeout" : "transport");
		goto out;
	}
	(void)curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ex->status);
	if (ex->body.len > 0)
		ex->json = json_loadb(ex->body.data, ex->body.len, 0, NULL);
	if (ex->json != NULL && !json_is_object(ex->json)) {
		json_decref(ex->json);
		ex->json = NULL;
	}
	rc = 0;
out:
	if (h != NULL)
		(void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	buf_free(&url);
	buf_free(&request_id_hdr);
	(void)snprintf(labels, sizeof labels, "op=\"%s\",code=\"%ld\"", op, ex->status);
	metrics_count("catalog_requests_total", "Calls to the catalog by operation and HTTP code",
		      labels, 1);
	(void)snprintf(labels, sizeof labels, "op=\"%s\"", op);
	metrics_observe("catalog_request_duration_seconds", "Latency of calls to the catalog",
			labels, now_s() - t0);
	return rc;
}

static void exchange_clear(struct exchange *ex)
{
	json_decref(ex->json);
	buf_free(&ex->body);
	memset(ex, 0, sizeof *ex);
}

/* Runs an idempotent exchange with up to CATALOG_ATTEMPTS attempts: transport failures, 5xx
 * and unparseable bodies are retried after a short pause. Returns 0 with a parsed answer whose
 * status is below 500, else -1 (ex cleared). *retried (may be NULL) tells whether an earlier
 * attempt failed: that attempt may still be running in the catalog. */
static int exchange(const char *op, const char *method, const char *path, const char *body,
		    const char *request_id, int attempts, struct exchange *ex, bool *retried)
{
	int attempt;
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	for (attempt = 0; attempt < attempts; attempt++) {
		if (retried != NULL)
			*retried = attempt > 0;
		if (attempt > 0)
			(void)nanosleep(&pause, NULL);
		memset(ex, 0, sizeof *ex);
		if (exchange_once(op, method, path, body, request_id, ex) == 0) {
			if (ex->status >= 500)
				count_failure(op, "5xx");
			else if (ex->json == NULL)
				count_failure(op, "garbage");
			else
				return 0;
		}
		exchange_clear(ex);
	}
	return -1;
}

void catalog_book_clear(struct catalog_book *b)
{
	free(b->title);
	json_decref(b->raw);
	memset(b, 0, sizeof *b);
}

json_t *catalog_book_answer(const struct catalog_book *b)
{
	json_t *out = json_deep_copy(b->raw);

	if (out != NULL && json_object_set_new(out, "available", json_boolean(b->quantity > 0)) != 0) {
		json_decref(out);
		out = NULL;
	}
	return out;
}

/* Reads a book the order service can use: integer id and quantity, a title, and a price that
 * is a positive money amount. Returns 0 with *b filled (raw holds a new reference), or -1 for
 * anything else (a garbage answer, counted as a failure by the caller; *b stays zeroed). */
static int book_parse(json_t *j, struct catalog_book *b)
{
	const json_t *id = json_object_get(j, "id"), *title = json_object_get(j, "title");
	const json_t *qty = json_object_get(j, "quantity");
	int64_t cents = 0;

	memset(b, 0, sizeof *b);
	if (!json_is_object(j) || !json_is_integer(id) || !json_is_string(title) ||
	    !json_is_integer(qty) || money_from_json(json_object_get(j, "price"), &cents) != MONEY_OK ||
	    cents <= 0)
		return -1;
	b->title = strdup(json_string_value(title));
	if (b->title == NULL)
		return -1;
	b->id = json_integer_value(id);
	b->quantity = json_integer_value(qty);
	b->price_cents = cents;
	b->raw = json_incref(j);
	return 0;
}

enum catalog_status catalog_reserve(const char *reservation_id, long long book_id, int quantity,
				    const char *request_id, struct catalog_book *book,
				    char **detail, bool *retried)
{
	enum catalog_status st = CATALOG_UNAVAILABLE;
	struct exchange ex = { 0 };
	json_t *req = NULL;
	const json_t *d;
	char *body = NULL;

	memset(book, 0, sizeof *book);
	*detail = NULL;
	*retried = false;
	req = json_pack("{s:s, s:I, s:i}", "reservation_id", reservation_id, "book_id",
			(json_int_t)book_id, "quantity", quantity);
	if (req == NULL)
		goto out;
	body = json_dumps(req, JSON_COMPACT);
	if (body == NULL)
		goto out;
	if (exchange("reserve", "POST", "/reservations", body, request_id, CATALOG_ATTEMPTS, &ex,
		     retried) != 0)
		goto out;
	switch (ex.status) {
	case 200:
	case 201:
		if (book_parse(json_object_get(ex.json, "book"), book) != 0) {
			count_failure("reserve", "garbage");
			st = CATALOG_BAD_ANSWER;
			goto out;
		}
		st = CATALOG_OK;
		break;
	case 404:
		st = CATALOG_NOT_FOUND;
		break;
	case 409:
		d = json_object_get(ex.json, "detail");
		*detail = strdup(json_is_string(d) ? json_string_value(d) : "Insufficient stock");
		if (*detail == NULL)
			goto out;
		st = CATALOG_INSUFFICIENT;
		break;
	case 410:
		st = CATALOG_GONE;
		break;
	default:
		log_msg(LOG_WARN, request_id, "catalog reserve %s answered %ld", reservation_id,
			ex.status);
		count_failure("reserve", "unexpected_status");
		st = ex.status >= 400 && ex.status < 500 ? CATALOG_REJECTED : CATALOG_UNAVAILABLE;
		break;
	}
out:
	exchange_clear(&ex);
	json_decref(req);
	free(body);
	return st;
}

/* The release call with the given number of attempts (see catalog_release). */
static enum catalog_status release_attempts(const char *reservation_id, const char *request_id,
					    int attempts)
{
	enum catalog_status st = CATALOG_UNAVAILABLE;
	struct exchange ex = { 0 };
	struct buf path = { 0 };

	if (buf_printf(&path, "/reservations/%s/release", reservation_id) != 0)
		goto out;
	if (exchange("release", "POST", path.data, NULL, request_id, attempts, &ex, NULL) != 0)
		goto out;
	if (ex.status == 200 || ex.status == 201) {
		st = CATALOG_OK;
	} else {
		log_msg(LOG_WARN, request_id, "catalog release %s answered %ld", reservation_id,
			ex.status);
		count_failure("release", "unexpected_status");
		st = ex.status >= 400 && ex.status < 500 ? CATALOG_REJECTED : CATALOG_UNAVAILABLE;
	}
out:
	exchange_clear(&ex);
	buf_free(&path);
	return st;
}

enum catalog_status catalog_release(const char *reservation_id, const char *request_id)
{
	return release_attempts(reservation_id, request_id, CATALOG_ATTEMPTS);
}

enum catalog_status catalog_release_once(const char *reservation_id, const char *request_id)
{
	return release_attempts(reservation_id, request_id, 1);
}

enum catalog_status catalog_get_book(long long book_id, const char *request_id,
				     struct catalog_book *book)
{
	enum catalog_status st = CATALOG_UNAVAILABLE;
	struct exchange ex = { 0 };
	struct buf path = { 0 };

	memset(book, 0, sizeof *book);
	if (buf_printf(&path, "%s/books/%lld",
		       catalog_books_prefix != NULL ? catalog_books_prefix : "", book_id) != 0)
		goto out;
	if (exchange("get_book", "GET", path.data, NULL, request_id, CATALOG_ATTEMPTS, &ex, NULL) !=
	    0)
		goto out;
	if (ex.status == 200) {
		if (book_parse(ex.json, book) != 0) {
			count_failure("get_book", "garbage");
			st = CATALOG_BAD_ANSWER;
			goto out;
		}
		st = CATALOG_OK;
	} else if (ex.status == 404) {
		st = CATALOG_NOT_FOUND;
	} else {
		count_failure("get_book", "unexpected_status");
		st = ex.status >= 400 && ex.status < 500 ? CATALOG_REJECTED : CATALOG_UNAVAILABLE;
	}
out:
	exchange_clear(&ex);
	buf_free(&path);
	return st;
}

const struct catalog_ops catalog_http_ops = {
	.reserve = catalog_reserve,
	.release = catalog_release,
	.release_once = catalog_release_once,
	.get_book = catalog_get_book,
};
