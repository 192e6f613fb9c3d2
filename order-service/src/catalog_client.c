/* catalog_client.c - calls to the catalog service over common/httpc (see catalog_client.h). */
#include "catalog_client.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/money.h"
#include "common/trace.h"

#define CATALOG_MAX_RESPONSE (1024 * 1024)

static char *catalog_base;
static char *catalog_books_prefix; /* the catalog's BASE_PATH; NULL or "" = none */
static char *catalog_auth_header;  /* "Authorization: Bearer <INTERNAL_API_TOKEN>" or NULL */
static long catalog_timeout_ms = 2000;
static pthread_key_t client_key;
static pthread_once_t client_once = PTHREAD_ONCE_INIT;

/* Circuit breaker (see catalog_client.h). All fields under breaker_mu. */
enum breaker_state { BREAKER_CLOSED = 0, BREAKER_HALF_OPEN = 1, BREAKER_OPEN = 2 };
static pthread_mutex_t breaker_mu = PTHREAD_MUTEX_INITIALIZER;
static enum breaker_state breaker_state = BREAKER_CLOSED;
static int breaker_failures;       /* consecutive failures while closed */
static long long breaker_opened_ms; /* monotonic time it last opened */
static bool breaker_trial_busy;     /* half-open: the one trial attempt is running */
static int breaker_threshold = 5;
static long long breaker_open_ms = 5000;

/* Bulkhead. */
static atomic_int inflight;
static int max_inflight = 16;

/* How an admitted attempt ended, for the breaker. */
enum attempt_result { ATTEMPT_ANSWER, ATTEMPT_FAILURE };

/* The outcome of one HTTP exchange. */
struct exchange {
	long status;      /* 0 on a transport failure */
	json_t *json;     /* parsed body (object) or NULL */
};

static void client_free(void *c)
{
	httpc_free(c);
}

static void client_key_make(void)
{
	if (pthread_key_create(&client_key, client_free) != 0) {
		log_msg(LOG_ERROR, NULL, "catalog client: pthread_key_create failed");
		abort();
	}
}

/* The calling thread's HTTP client, created on first use and kept until the thread exits, so its
 * connection cache keeps the catalog connection alive across requests (httpc.h: one client per
 * thread). NULL if libcurl cannot make one. */
static struct httpc *thread_client(void)
{
	struct httpc *c;

	(void)pthread_once(&client_once, client_key_make);
	c = pthread_getspecific(client_key);
	if (c == NULL) {
		c = httpc_new();
		if (c != NULL && pthread_setspecific(client_key, c) != 0) {
			httpc_free(c);
			c = NULL;
		}
	}
	return c;
}

void catalog_global_cleanup(void)
{
	free(catalog_base);
	catalog_base = NULL;
	free(catalog_books_prefix);
	catalog_books_prefix = NULL;
	free(catalog_auth_header);
	catalog_auth_header = NULL;
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

int catalog_set_internal_token(const char *token)
{
	struct buf b = { 0 };

	free(catalog_auth_header);
	catalog_auth_header = NULL;
	if (token == NULL || token[0] == '\0')
		return 0;
	if (buf_printf(&b, "Authorization: Bearer %s", token) != 0) {
		buf_free(&b);
		return -1;
	}
	catalog_auth_header = buf_steal(&b);
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
	case CATALOG_SHED:
		return "shed";
	}
	return "unknown";
}

static double now_s(void)
{
	return (double)clock_mono_ns() / 1e9;
}

void catalog_resilience_init(int max, int failures, int open_ms)
{
	max_inflight = max > 0 ? max : 16;
	breaker_threshold = failures > 0 ? failures : 5;
	breaker_open_ms = open_ms > 0 ? open_ms : 5000;
}

/* May an attempt touch the catalog now? Closed: yes. Open: no, until CATALOG_BREAKER_OPEN_MS
 * have passed; then the first caller becomes the half-open trial (*trial = true) and everyone
 * else is refused until the trial reports. */
static bool breaker_admit(bool *trial)
{
	bool ok = false;

	*trial = false;
	pthread_mutex_lock(&breaker_mu);
	switch (breaker_state) {
	case BREAKER_CLOSED:
		ok = true;
		break;
	case BREAKER_OPEN:
		if (clock_mono_ms() - breaker_opened_ms < breaker_open_ms)
			break;
		breaker_state = BREAKER_HALF_OPEN;
		log_msg(LOG_INFO, NULL, "catalog breaker half-open: one trial call");
		/* fall through */
	case BREAKER_HALF_OPEN:
		if (!breaker_trial_busy) {
			breaker_trial_busy = true;
			*trial = true;
			ok = true;
		}
		break;
	}
	pthread_mutex_unlock(&breaker_mu);
	return ok;
}

/* Reports how an admitted attempt ended. */
static void breaker_record(bool trial, enum attempt_result res)
{
	pthread_mutex_lock(&breaker_mu);
	if (trial) {
		breaker_trial_busy = false;
		if (res == ATTEMPT_ANSWER) {
			breaker_state = BREAKER_CLOSED;
			breaker_failures = 0;
			log_msg(LOG_INFO, NULL, "catalog breaker closed: the trial call was answered");
		} else {
			breaker_state = BREAKER_OPEN;
			breaker_opened_ms = clock_mono_ms();
			log_msg(LOG_WARN, NULL,
				"catalog breaker open again: the trial call failed; next trial in %lld ms",
				breaker_open_ms);
		}
	} else if (res == ATTEMPT_ANSWER) {
		if (breaker_state == BREAKER_CLOSED)
			breaker_failures = 0;
	} else if (breaker_state == BREAKER_CLOSED && ++breaker_failures >= breaker_threshold) {
		breaker_state = BREAKER_OPEN;
		breaker_opened_ms = clock_mono_ms();
		log_msg(LOG_WARN, NULL,
			"catalog breaker open after %d consecutive failures: calls fail fast for %lld ms",
			breaker_failures, breaker_open_ms);
	}
	pthread_mutex_unlock(&breaker_mu);
}

/* True while the breaker refuses every call (open and not yet due for a trial). */
static bool breaker_refusing(void)
{
	bool refusing;

	pthread_mutex_lock(&breaker_mu);
	refusing = (breaker_state == BREAKER_OPEN &&
		    clock_mono_ms() - breaker_opened_ms < breaker_open_ms) ||
		   (breaker_state == BREAKER_HALF_OPEN && breaker_trial_busy);
	pthread_mutex_unlock(&breaker_mu);
	return refusing;
}

static void count_call(const char *outcome)
{
	char labels[64];

	(void)snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
	metrics_count("catalog_client_calls_total",
		      "Catalog call attempts by outcome (docs/operations.md): ok, client_error (4xx), "
		      "server_error (5xx or an unparseable answer), timeout, connect_error, "
		      "breaker_open and bulkhead_full (refused here, nothing sent)",
		      labels, 1);
}

enum catalog_status catalog_enter(void)
{
	int n;

	if (breaker_refusing()) {
		count_call("breaker_open");
		return CATALOG_SHED;
	}
	n = atomic_fetch_add(&inflight, 1);
	if (n >= max_inflight) {
		atomic_fetch_sub(&inflight, 1);
		count_call("bulkhead_full");
		metrics_count("catalog_bulkhead_rejections_total",
			      "Requests refused (503) because CATALOG_MAX_INFLIGHT catalog calls were "
			      "already in flight",
			      "", 1);
		return CATALOG_SHED;
	}
	return CATALOG_OK;
}

void catalog_leave(void)
{
	atomic_fetch_sub(&inflight, 1);
}

void catalog_metrics(struct buf *out)
{
	enum breaker_state st;

	pthread_mutex_lock(&breaker_mu);
	st = breaker_state;
	if (st == BREAKER_OPEN && clock_mono_ms() - breaker_opened_ms >= breaker_open_ms)
		st = BREAKER_HALF_OPEN; /* the next call is the trial */
	pthread_mutex_unlock(&breaker_mu);
	(void)buf_printf(out,
			 "# HELP catalog_breaker_state Circuit breaker around catalog calls: 0 closed, "
			 "1 half-open, 2 open\n# TYPE catalog_breaker_state gauge\n"
			 "catalog_breaker_state %d\n",
			 (int)st);
}

/* A failed call, by operation and reason, for the debug log. (The metrics are the documented
 * catalog_client_calls_total{outcome} and catalog_client_duration_seconds: docs/operations.md
 * allows no other series under catalog_.) */
static void count_failure(const char *op, const char *reason)
{
	log_msg(LOG_DEBUG, NULL, "catalog %s failed: %s", op, reason);
}

#define EXCHANGE_NOT_SENT (-2)

/* One HTTP exchange with the catalog. method is "GET" or "POST" (POST sends body, which may be
 * NULL for an empty body). Fills ex (the caller frees it with exchange_clear). Returns 0 when an
 * HTTP answer arrived (any status), -1 on a transport failure or timeout, EXCHANGE_NOT_SENT when
 * the breaker refused the attempt (no socket touched). Every attempt the breaker admitted is
 * reported back to it. */
static int exchange_once(const char *op, const char *method, const char *path, const char *body,
			 const char *request_id, struct exchange *ex)
{
	struct httpc *h = thread_client();
	struct httpc_resp resp = { 0 };
	struct buf url = { 0 }, request_id_hdr = { 0 };
	char trace_lines[2][TRACE_HEADER_LINE_MAX];
	const char *headers[6];
	size_t nh = 0;
	enum httpc_status hs;
	double t0 = now_s();
	int rc = -1;
	bool trial = false, sent = false, post = strcmp(method, "POST") == 0;
	const char *outcome = "ok";

	ex->status = 0;
	if (h == NULL || catalog_base == NULL)
		goto out;
	if (buf_printf(&url, "%s%s", catalog_base, path) != 0)
		goto out;
	headers[nh++] = "Accept: application/json";
	if (catalog_auth_header != NULL)
		headers[nh++] = catalog_auth_header;
	if (request_id != NULL && request_id[0] != '\0') {
		if (buf_printf(&request_id_hdr, "X-Request-ID: %s", request_id) != 0)
			goto out;
		headers[nh++] = request_id_hdr.data;
	}
	/* W3C Trace Context: the current request's span is the parent of the catalog's. */
	trace_header_lines(trace_lines);
	for (int i = 0; i < 2 && trace_lines[i][0] != '\0'; i++)
		headers[nh++] = trace_lines[i];
	headers[nh] = NULL;
	const struct httpc_req req = {
		.url = url.data,
		.connect_timeout_ms = catalog_timeout_ms,
		.timeout_ms = catalog_timeout_ms,
		.max_body = CATALOG_MAX_RESPONSE,
		.headers = headers,
		.body = body != NULL ? body : "",
		.body_len = body != NULL ? strlen(body) : 0,
		.content_type = "application/json",
	};
	if (!breaker_admit(&trial)) {
		count_call("breaker_open");
		rc = EXCHANGE_NOT_SENT;
		goto out;
	}
	sent = true;
	hs = post ? httpc_post(h, &req, &resp) : httpc_get(h, &req, &resp);
	if (hs != HTTPC_OK) {
		log_msg(LOG_WARN, request_id, "catalog %s %s failed: %s", method, path, resp.error);
		outcome = hs == HTTPC_TIMEOUT ? "timeout" : "connect_error";
		count_failure(op, hs == HTTPC_TIMEOUT ? "timeout" : "transport");
		breaker_record(trial, ATTEMPT_FAILURE);
		goto out;
	}
	ex->status = resp.status;
	if (resp.len > 0)
		ex->json = json_loadb(resp.body, resp.len, 0, NULL);
	if (ex->json != NULL && !json_is_object(ex->json)) {
		json_decref(ex->json);
		ex->json = NULL;
	}
	/* A 4xx is the catalog answering; 5xx and unparseable bodies count against it. */
	if (ex->status >= 500 || ex->json == NULL)
		outcome = "server_error";
	else if (ex->status >= 400)
		outcome = "client_error";
	breaker_record(trial, strcmp(outcome, "server_error") == 0 ? ATTEMPT_FAILURE
								  : ATTEMPT_ANSWER);
	rc = 0;
out:
	if (sent) {
		count_call(outcome);
		metrics_observe("catalog_client_duration_seconds",
				"Duration of catalog call attempts that were sent", "", now_s() - t0);
	}
	httpc_resp_free(&resp);
	buf_free(&url);
	buf_free(&request_id_hdr);
	return rc;
}

static void exchange_clear(struct exchange *ex)
{
	json_decref(ex->json);
	memset(ex, 0, sizeof *ex);
}

/* Runs an idempotent exchange with up to CATALOG_ATTEMPTS attempts: transport failures, 5xx
 * and unparseable bodies are retried after a short pause. Returns 0 with a parsed answer whose
 * status is below 500, EXCHANGE_NOT_SENT if the breaker refused the first attempt (ex cleared,
 * nothing sent), else -1 (ex cleared). *retried (may be NULL) tells whether an earlier attempt
 * was sent and failed: that attempt may still be running in the catalog. */
static int exchange(const char *op, const char *method, const char *path, const char *body,
		    const char *request_id, int attempts, struct exchange *ex, bool *retried)
{
	int attempt;
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	int rc;

	for (attempt = 0; attempt < attempts; attempt++) {
		if (attempt > 0)
			(void)nanosleep(&pause, NULL);
		memset(ex, 0, sizeof *ex);
		rc = exchange_once(op, method, path, body, request_id, ex);
		if (rc == EXCHANGE_NOT_SENT) {
			/* The breaker opened: no retry. Nothing at all was sent if this was the
			 * first attempt. */
			exchange_clear(ex);
			return attempt == 0 ? EXCHANGE_NOT_SENT : -1;
		}
		if (retried != NULL)
			*retried = attempt > 0;
		if (rc == 0) {
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
	int rc;

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
	rc = exchange("reserve", "POST", "/reservations", body, request_id, CATALOG_ATTEMPTS, &ex,
		      retried);
	if (rc == EXCHANGE_NOT_SENT)
		st = CATALOG_SHED;
	if (rc != 0)
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
	int rc;

	if (buf_printf(&path, "/reservations/%s/release", reservation_id) != 0)
		goto out;
	rc = exchange("release", "POST", path.data, NULL, request_id, attempts, &ex, NULL);
	if (rc == EXCHANGE_NOT_SENT)
		st = CATALOG_SHED;
	if (rc != 0)
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
	int rc;

	memset(book, 0, sizeof *book);
	if (catalog_enter() != CATALOG_OK)
		return CATALOG_SHED;
	if (buf_printf(&path, "%s/books/%lld",
		       catalog_books_prefix != NULL ? catalog_books_prefix : "", book_id) != 0)
		goto out;
	rc = exchange("get_book", "GET", path.data, NULL, request_id, CATALOG_ATTEMPTS, &ex, NULL);
	if (rc == EXCHANGE_NOT_SENT)
		st = CATALOG_SHED;
	if (rc != 0)
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
	catalog_leave();
	exchange_clear(&ex);
	buf_free(&path);
	return st;
}

const struct catalog_ops catalog_http_ops = {
	.reserve = catalog_reserve,
	.release = catalog_release,
	.release_once = catalog_release_once,
	.get_book = catalog_get_book,
	.enter = catalog_enter,
	.leave = catalog_leave,
};
