/* order_http.c - handlers of the order API. The saga of POST /orders and of cancellation is
 * described step by step in docs/consistency.md; the comments below name its steps. */
#include "order_http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "catalog_client.h"
#include "common/jsonx.h"
#include "common/log.h"
#include "common/valid.h"
#include "order.h"
#include "order_repo.h"

#define RETRY_AFTER_S "2"
#define IDEM_HEADER "Idempotency-Key"

static struct db_pool *app_pool(const struct http_req *req)
{
	return ((const struct order_app *)req->app)->pool;
}

static int unavailable(struct http_resp *resp, const char *what)
{
	http_resp_header(resp, "Retry-After", RETRY_AFTER_S);
	return http_error(resp, 503, "%s unavailable, retry later", what);
}

/* Maps a failed repository call to its one HTTP answer. */
static int db_failure(const struct http_req *req, struct http_resp *resp, enum db_status st)
{
	if (st == DB_UNAVAILABLE)
		return unavailable(resp, "Database");
	log_msg(LOG_ERROR, req->request_id, "database error: %s", db_last_error()->message);
	return http_error(resp, 500, "Internal Server Error");
}

/* Parses the {order_id} path parameter into *id. Returns 0, or the HTTP status already filled
 * into resp: 404 for an integer that cannot be an order id (0, negative: as the catalog answers
 * for /books/{id}), 422 (with the input) for anything that is not a 64-bit integer. */
static int path_id(const struct http_req *req, struct http_resp *resp, long long *id)
{
	const char *raw = req->nparams >= 1 ? req->params[0] : NULL;
	long long any = 0;
	json_t *errors, *input;

	if (order_parse_id(raw, id) == 0)
		return 0;
	if (raw != NULL && valid_parse_ll(raw, LLONG_MIN, LLONG_MAX, &any) == 0)
		return http_error(resp, 404, "Order not found");
	errors = json_array();
	input = raw != NULL ? json_string(raw) : NULL;
	valid_error(errors, "int_parsing", "path", "order_id",
		    "Input should be a valid integer, unable to parse string as an integer", input);
	json_decref(input);
	return http_validation_error(resp, errors);
}

/* 32 random hex digits from the kernel's CSPRNG (the unguessable part of a reservation id; the
 * order id in front of it makes the id unique). Returns 0 or -1. */
static int new_random_hex(char out[33])
{
	unsigned char raw[16];
	size_t i;

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	for (i = 0; i < sizeof raw; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

static int order_created(const struct http_req *req, struct http_resp *resp,
			 const struct order *o)
{
	http_location(req, resp, "/orders/%lld", o->id);
	return http_json(resp, 201, order_to_json(o));
}

/* Idempotency-Key step: claims the key, or answers for an earlier request with it.
 * Returns 0 when this request owns the key and must run the saga; otherwise the HTTP status
 * already filled into resp (201 replay, 409 in progress, 422 other body, 503). */
static int idem_begin(const struct http_req *req, struct http_resp *resp, const char *key,
		      const char *canonical)
{
	struct db_pool *pool = app_pool(req);
	struct idem_row row;
	struct order o = { 0 };
	enum db_status st;
	bool claimed;
	json_t *errors;
	int attempt, rc;

	for (attempt = 0; attempt < 3; attempt++) {
		st = order_repo_idem_claim(pool, key, canonical, &claimed);
		if (st != DB_OK)
			return db_failure(req, resp, st);
		if (claimed)
			return 0;
		st = order_repo_idem_get(pool, key, canonical, &row);
		if (st == DB_NOT_FOUND)
			continue; /* the earlier attempt failed and was forgotten: claim again */
		if (st != DB_OK)
			return db_failure(req, resp, st);
		if (!row.same_body) {
			errors = json_array();
			valid_error(errors, "idempotency_key_reused", "header", IDEM_HEADER,
				    "This Idempotency-Key was used with a different request body",
				    NULL);
			return http_validation_error(resp, errors);
		}
		if (!row.done)
			break;
		st = order_repo_get(pool, row.order_id, &o);
		if (st == DB_NOT_FOUND)
			return http_error(resp, 404, "Order not found");
		if (st != DB_OK)
			return db_failure(req, resp, st);
		rc = order_created(req, resp, &o);
		order_clear(&o);
		return rc;
	}
	return http_error(resp, 409, "A request with this Idempotency-Key is in progress");
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Undoes an intent after a failed or doubtful reservation that started at reserve_ms (monotonic).
 * The client's wait stays bounded by about 2 x CATALOG_TIMEOUT_MS (docs/consistency.md): only if
 * the reserve failed within one timeout is the release tried here, once (idempotent; it also
 * stops a late reserve, which the catalog then refuses with 410), and the intent deleted.
 * Otherwise (a hung or slow catalog), or if that release fails, the intent is marked failed and
 * recovery releases it without waiting for the intent age. */
static void undo_intent(const struct http_req *req, long long id, const char *rid,
			long long reserve_ms)
{
	struct db_pool *pool = app_pool(req);
	enum catalog_status cs = CATALOG_UNAVAILABLE;

	if (mono_ms() - reserve_ms < catalog_timeout()) {
		cs = catalog_release_once(rid, req->request_id);
		if (cs == CATALOG_OK) {
			if (order_repo_discard_intent(pool, id) != DB_OK)
				log_msg(LOG_WARN, req->request_id,
					"order %lld: intent left for recovery (release done)", id);
			return;
		}
	}
	log_msg(LOG_WARN, req->request_id,
		"order %lld: reservation %s not released here (%s); recovery will release it", id,
		rid, catalog_status_name(cs));
	if (order_repo_fail_intent(pool, id) != DB_OK)
		log_msg(LOG_WARN, req->request_id,
			"order %lld: intent left 'reserving'; recovery undoes it after its age", id);
}

/* The saga once the intent row exists. Returns the HTTP status (resp filled). */
static int reserve_and_finalize(const struct http_req *req, struct http_resp *resp,
				const struct order_input *in, long long id, const char *rid,
				const char *key)
{
	struct db_pool *pool = app_pool(req);
	struct order o = { 0 };
	json_t *book = NULL, *errors;
	char *detail = NULL;
	char unit[32], total[32];
	const json_t *title;
	enum catalog_status cs;
	enum db_status st;
	long long reserve_ms = mono_ms();
	bool retried = false;
	int rc;

	cs = catalog_reserve(rid, in->book_id, in->quantity, req->request_id, &book, &detail,
			     &retried);
	switch (cs) {
	case CATALOG_OK:
		title = json_object_get(book, "title");
		if (order_price_total(json_object_get(book, "price"), in->quantity, unit, total) !=
		    0) {
			log_msg(LOG_WARN, req->request_id, "catalog sent an unusable price");
			undo_intent(req, id, rid, reserve_ms);
			rc = unavailable(resp, "Catalog service");
			break;
		}
		st = order_repo_finalize(pool, id, json_string_value(title), unit, total, key, &o);
		if (st == DB_OK) {
			rc = order_created(req, resp, &o);
		} else if (st == DB_NOT_FOUND) {
			/* Recovery judged the intent abandoned and is undoing it. */
			rc = unavailable(resp, "Order service");
		} else if (st == DB_FK) {
			/* The book was deleted after the reservation; the catalog's delete took the
			 * reservation with it (ON DELETE CASCADE), so there is no stock to give
			 * back. Nothing committed: drop the intent. */
			(void)order_repo_discard_intent(pool, id);
			errors = json_array();
			valid_error(errors, "value_error", "body", "book_id", "Book not found", NULL);
			rc = http_validation_error(resp, errors);
		} else {
			/* Ambiguous: the finalize may have committed before the connection broke.
			 * Releasing now could free the stock of a live order, so leave it: if the
			 * row is still 'reserving', recovery undoes it after the intent age. */
			rc = db_failure(req, resp, st);
		}
		break;
	case CATALOG_NOT_FOUND:
		/* Nothing is reserved under this id: the book does not exist (book ids are never
		 * reused, so a delayed earlier attempt cannot reserve either; if it had reserved
		 * before the book was deleted, the reservation was deleted with the book). */
		(void)order_repo_discard_intent(pool, id);
		errors = json_array();
		valid_error(errors, "value_error", "body", "book_id", "Book not found", NULL);
		rc = http_validation_error(resp, errors);
		break;
	case CATALOG_INSUFFICIENT:
		/* After a retry, the failed first attempt may still be queued in the catalog and
		 * reserve later (stock can come back meanwhile): release R first, which also leaves
		 * a tombstone so that late attempt gets 410. Without a retry nothing can follow. */
		if (retried)
			undo_intent(req, id, rid, reserve_ms);
		else
			(void)order_repo_discard_intent(pool, id);
		rc = http_error(resp, 409, "%s", detail);
		break;
	case CATALOG_GONE:
		/* Recovery released this reservation id already and owns the intent. */
		rc = unavailable(resp, "Order service");
		break;
	default:
		undo_intent(req, id, rid, reserve_ms);
		rc = unavailable(resp, "Catalog service");
		break;
	}
	json_decref(book);
	free(detail);
	order_clear(&o);
	return rc;
}

int order_http_create(struct http_req *req, struct http_resp *resp)
{
	struct db_pool *pool = app_pool(req);
	struct order_input in = { 0 };
	json_t *body = NULL, *errors = NULL;
	const char *key = http_header(req, IDEM_HEADER);
	char *canonical = NULL;
	char rnd[33], rid[65];
	long long id = 0;
	bool own_key = false;
	enum db_status st;
	int rc;

	rc = http_json_body(req, resp, &body);
	if (rc != 0)
		goto out;
	errors = json_array();
	(void)order_validate_create(body, &in, errors);
	if (key != NULL && !order_idempotency_key_valid(key))
		valid_error(errors, "value_error", "header", IDEM_HEADER,
			    "Idempotency-Key must be 1 to 255 visible ASCII characters", NULL);
	if (json_array_size(errors) > 0) {
		rc = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	if (key != NULL) {
		canonical = jsonx_canonical(body);
		rc = idem_begin(req, resp, key, canonical);
		if (rc != 0)
			goto out;
		own_key = true;
	}
	if (new_random_hex(rnd) != 0) {
		rc = unavailable(resp, "Random source");
		goto out;
	}
	/* Step 1: record the intent before anything happens in the catalog. */
	st = order_repo_insert_intent(pool, &in, rnd, &id, rid);
	if (st != DB_OK) {
		rc = db_failure(req, resp, st);
		goto out;
	}
	/* Steps 2-3: reserve in the catalog (no DB connection held), then finalize. */
	rc = reserve_and_finalize(req, resp, &in, id, rid, own_key ? key : NULL);
out:
	if (own_key && rc != 201 && order_repo_idem_forget(pool, key) != DB_OK)
		log_msg(LOG_WARN, req->request_id, "idempotency key left for recovery to expire");
	json_decref(body);
	json_decref(errors);
	free(canonical);
	order_input_clear(&in);
	return rc;
}

int order_http_list(struct http_req *req, struct http_resp *resp)
{
	struct order_filter f;
	struct order *items = NULL;
	json_t *errors = json_array(), *arr = NULL;
	long long total = 0;
	size_t n = 0, i;
	enum db_status st;
	int rc;

	if (order_validate_filter(http_query(req, "skip"), http_query(req, "limit"),
				  http_query(req, "status"), http_query(req, "customer_email"),
				  http_query(req, "book_id"), &f, errors) != 0) {
		rc = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	st = order_repo_list(app_pool(req), &f, &total, &items, &n);
	if (st != DB_OK) {
		rc = db_failure(req, resp, st);
		goto out;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		(void)json_array_append_new(arr, order_to_json(&items[i]));
	rc = http_json(resp, 200, json_pack("{s:I, s:o}", "total", (json_int_t)total, "orders", arr));
out:
	for (i = 0; i < n; i++)
		order_clear(&items[i]);
	free(items);
	json_decref(errors);
	return rc;
}

int order_http_get(struct http_req *req, struct http_resp *resp)
{
	struct order o = { 0 };
	enum db_status st;
	long long id;
	int rc;

	rc = path_id(req, resp, &id);
	if (rc != 0)
		goto out;
	st = order_repo_get(app_pool(req), id, &o);
	if (st == DB_NOT_FOUND)
		rc = http_error(resp, 404, "Order not found");
	else if (st != DB_OK)
		rc = db_failure(req, resp, st);
	else
		rc = http_json(resp, 200, order_to_json(&o));
out:
	order_clear(&o);
	return rc;
}

/* Cancel step 2: give the stock back. If the catalog cannot be reached the order stays
 * cancelled with stock_released=false and recovery releases it later (the answer is still 200:
 * the cancellation itself is durable). */
static void release_cancelled(const struct http_req *req, const struct order *o)
{
	enum catalog_status cs;

	if (o->reservation_id == NULL || o->stock_released)
		return;
	cs = catalog_release(o->reservation_id, req->request_id);
	if (cs != CATALOG_OK) {
		log_msg(LOG_WARN, req->request_id,
			"order %lld cancelled; release failed (%s), recovery will restock", o->id,
			catalog_status_name(cs));
		return;
	}
	if (order_repo_mark_released(app_pool(req), o->id) != DB_OK)
		log_msg(LOG_WARN, req->request_id,
			"order %lld restocked; flag left for recovery (release is idempotent)",
			o->id);
}

int order_http_set_status(struct http_req *req, struct http_resp *resp)
{
	struct db_pool *pool = app_pool(req);
	struct order cur = { 0 }, upd = { 0 };
	enum order_status to = ORDER_STATUS_INVALID;
	json_t *body = NULL, *errors = NULL;
	enum db_status st;
	long long id;
	int rc, attempt;

	rc = path_id(req, resp, &id);
	if (rc != 0)
		goto out;
	rc = http_json_body(req, resp, &body);
	if (rc != 0)
		goto out;
	errors = json_array();
	if (order_validate_status(body, &to, errors) != 0) {
		rc = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	/* Optimistic: read, check the move, update only if the status is still the one read. */
	for (attempt = 0; attempt < 5; attempt++) {
		order_clear(&cur);
		st = order_repo_get(pool, id, &cur);
		if (st == DB_NOT_FOUND) {
			rc = http_error(resp, 404, "Order not found");
			goto out;
		}
		if (st != DB_OK) {
			rc = db_failure(req, resp, st);
			goto out;
		}
		switch (order_transition(cur.status, to)) {
		case ORDER_MOVE_SAME:
			/* A retried cancel also retries a release that did not get through. */
			if (to == ORDER_CANCELLED)
				release_cancelled(req, &cur);
			rc = http_json(resp, 200, order_to_json(&cur));
			goto out;
		case ORDER_MOVE_FORBIDDEN:
			rc = http_error(resp, 409, "Cannot change order status from %s to %s",
					order_status_name(cur.status), order_status_name(to));
			goto out;
		case ORDER_MOVE_OK:
			break;
		}
		st = order_repo_set_status(pool, id, cur.status, to, &upd);
		if (st == DB_NOT_FOUND)
			continue; /* changed meanwhile: judge the move again */
		if (st != DB_OK) {
			rc = db_failure(req, resp, st);
			goto out;
		}
		if (to == ORDER_CANCELLED)
			release_cancelled(req, &upd);
		rc = http_json(resp, 200, order_to_json(&upd));
		goto out;
	}
	rc = http_error(resp, 409, "Order %lld is being changed concurrently, retry", id);
out:
	order_clear(&cur);
	order_clear(&upd);
	json_decref(body);
	json_decref(errors);
	return rc;
}

int order_http_get_book(struct http_req *req, struct http_resp *resp)
{
	struct order o = { 0 };
	json_t *book = NULL;
	enum catalog_status cs;
	enum db_status st;
	long long id, qty;
	int rc;

	rc = path_id(req, resp, &id);
	if (rc != 0)
		goto out;
	st = order_repo_get(app_pool(req), id, &o);
	if (st == DB_NOT_FOUND) {
		rc = http_error(resp, 404, "Order not found");
		goto out;
	}
	if (st != DB_OK) {
		rc = db_failure(req, resp, st);
		goto out;
	}
	cs = catalog_get_book(o.book_id, req->request_id, &book);
	if (cs == CATALOG_NOT_FOUND) {
		rc = http_error(resp, 404, "Book not found");
		goto out;
	}
	if (cs != CATALOG_OK) {
		rc = unavailable(resp, "Catalog service");
		goto out;
	}
	qty = json_integer_value(json_object_get(book, "quantity"));
	(void)json_object_set_new(book, "available", json_boolean(qty > 0));
	rc = http_json(resp, 200, book);
	book = NULL;
out:
	json_decref(book);
	order_clear(&o);
	return rc;
}
