/* order_http.c - handlers of the order API: parse the request, call the saga (order_saga.c) or
 * order_repo for plain reads, map the outcome to one answer. */
#include "order_http.h"

#include <stdlib.h>
#include <strings.h>

#include "common/app.h"
#include "common/jsonx.h"
#include "common/valid.h"
#include "order.h"
#include "order_repo.h"
#include "order_metrics.h"
#include "order_saga.h"

#define IDEM_HEADER "Idempotency-Key"

static const struct order_saga *app_saga(const struct http_req *req)
{
	return app_service(req);
}

/* 503 for a dependency other than the database (the catalog, recovery, the random source); the
 * database's own answers come from app_db_failure. */
static int unavailable(struct http_resp *resp, const char *what)
{
	http_resp_header(resp, "Retry-After", APP_RETRY_AFTER_S);
	return http_error(resp, 503, "%s unavailable, retry later", what);
}

/* The {order_id} path parameter: anything that is not an integer in [1, 2^63-1] (0, negative,
 * too many digits, not a number) is a 422 naming order_id (DECISIONS.md "Integers"). */
static int path_id(const struct http_req *req, struct http_resp *resp, long long *id)
{
	return app_path_id(req, resp, 0, "order_id", 1, id);
}

/* Ownership (docs/auth.md, the matrix): an admin may see and change every order; any other
 * caller only the orders placed under the e-mail its token carries (compared
 * case-insensitively, as GET /orders filters). A caller without an e-mail owns nothing. */
static bool owns_email(const struct auth_identity *who, const char *email)
{
	return who->email[0] != '\0' && email != NULL && strcasecmp(who->email, email) == 0;
}

static bool may_see(const struct auth_identity *who, const struct order *o)
{
	return who->admin || owns_email(who, o->customer_email);
}

static int order_created(const struct http_req *req, struct http_resp *resp,
			 const struct order *o)
{
	http_location(req, resp, "/orders/%lld", o->id);
	return http_json(resp, 201, order_to_json(o));
}

static int book_missing(struct http_resp *resp)
{
	json_t *errors = json_array();

	valid_error(errors, "value_error", "body", "book_id", "Book not found", NULL);
	return http_validation_error(resp, errors);
}

/* The one answer for each outcome of the saga. o is the order the outcome carries (created,
 * replayed, updated, or the order as read for an invalid transition); detail the catalog's
 * message for insufficient stock; id and to name the order and target status of a move. */
static int saga_answer(struct http_resp *resp, const struct http_req *req,
		       enum saga_outcome oc, const struct order *o, const char *detail,
		       long long id, enum order_status to)
{
	json_t *errors;

	switch (oc) {
	case SAGA_CREATED:
	case SAGA_REPLAYED:
		return order_created(req, resp, o);
	case SAGA_UPDATED:
		return http_json(resp, 200, order_to_json(o));
	case SAGA_INSUFFICIENT_STOCK:
		return http_error(resp, 409, "%s", detail != NULL ? detail : "Insufficient stock");
	case SAGA_BOOK_MISSING:
		return book_missing(resp);
	case SAGA_CATALOG_UNAVAILABLE:
	case SAGA_CATALOG_SHED:
		return unavailable(resp, "Catalog service");
	case SAGA_RECOVERY_OWNS:
		return unavailable(resp, "Order service");
	case SAGA_IN_PROGRESS:
		return http_error(resp, 409, "A request with this Idempotency-Key is in progress");
	case SAGA_IDEMPOTENCY_CONFLICT:
		errors = json_array();
		valid_error(errors, "idempotency_key_reused", "header", IDEM_HEADER,
			    "This Idempotency-Key was used with a different request body", NULL);
		return http_validation_error(resp, errors);
	case SAGA_NO_RANDOM:
		return unavailable(resp, "Random source");
	case SAGA_NOT_FOUND:
		return http_error(resp, 404, "Order not found");
	case SAGA_INVALID_TRANSITION:
		return http_error(resp, 409, "Cannot change order status from %s to %s",
				  order_status_name(o->status), order_status_name(to));
	case SAGA_CONCURRENT_CHANGE:
		return http_error(resp, 409, "Order %lld is being changed concurrently, retry", id);
	case SAGA_DB_UNAVAILABLE:
		return app_db_failure(req, resp, DB_UNAVAILABLE);
	case SAGA_DB_CONFLICT:
		return app_db_failure(req, resp, DB_CHECK);
	case SAGA_DB_ERROR:
		break;
	}
	return app_db_failure(req, resp, DB_ERROR);
}

int order_http_create(struct http_req *req, struct http_resp *resp)
{
	struct order_input in = { 0 };
	struct order o = { 0 };
	struct auth_identity who;
	json_t *body = NULL, *errors = NULL;
	const char *key = http_header(req, IDEM_HEADER);
	char *canonical = NULL, *detail = NULL;
	enum saga_outcome oc;
	int rc;

	/* Customer and stock data: never stored by a cache. */
	http_resp_header(resp, "Cache-Control", "no-store");
	rc = app_caller(req, resp, &who);
	if (rc != 0)
		goto out;
	rc = http_json_body(req, resp, &body);
	if (rc != 0) {
		order_metrics_invalid();
		goto out;
	}
	errors = json_array();
	(void)order_validate_create(body, &in, errors);
	if (key != NULL && !order_idempotency_key_valid(key))
		valid_error(errors, "value_error", "header", IDEM_HEADER,
			    "Idempotency-Key must be 1 to 255 visible ASCII characters", NULL);
	if (json_array_size(errors) > 0) {
		order_metrics_invalid();
		rc = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	/* A customer orders for itself only; an admin for anyone. */
	if (!who.admin && !owns_email(&who, in.customer_email)) {
		rc = app_forbidden(resp);
		goto out;
	}
	if (key != NULL)
		canonical = jsonx_canonical(body);
	/* The key is the caller's: the same key of another sub is another request. */
	oc = order_saga_place(app_saga(req), &in, key, canonical, who.sub, req->request_id, &o,
			      &detail);
	order_metrics_place(oc);
	rc = saga_answer(resp, req, oc, &o, detail, 0, ORDER_STATUS_INVALID);
out:
	json_decref(body);
	json_decref(errors);
	free(canonical);
	free(detail);
	order_clear(&o);
	order_input_clear(&in);
	return rc;
}

int order_http_list(struct http_req *req, struct http_resp *resp)
{
	struct order_filter f;
	struct order *items = NULL;
	struct auth_identity who;
	json_t *errors = json_array(), *arr = NULL;
	long long total = 0;
	size_t n = 0, i;
	enum db_status st;
	int rc;

	/* Customer and stock data: never stored by a cache. */
	http_resp_header(resp, "Cache-Control", "no-store");
	rc = app_caller(req, resp, &who);
	if (rc != 0)
		goto out;
	if (order_validate_filter(http_query(req, "skip"), http_query(req, "limit"),
				  http_query(req, "status"), http_query(req, "customer_email"),
				  http_query(req, "book_id"), &f, errors) != 0) {
		rc = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	/* A customer lists its own orders: a filter naming someone else is refused, none means
	 * its own e-mail. */
	if (!who.admin) {
		if (who.email[0] == '\0' ||
		    (f.customer_email != NULL && !owns_email(&who, f.customer_email))) {
			rc = app_forbidden(resp);
			goto out;
		}
		f.customer_email = who.email;
	}
	st = order_repo_list(app_pool(req), &f, &total, &items, &n);
	if (st != DB_OK) {
		rc = app_db_failure(req, resp, st);
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
	struct auth_identity who;
	enum db_status st;
	long long id;
	int rc;

	/* Customer and stock data: never stored by a cache. */
	http_resp_header(resp, "Cache-Control", "no-store");
	rc = app_caller(req, resp, &who);
	if (rc != 0)
		goto out;
	rc = path_id(req, resp, &id);
	if (rc != 0)
		goto out;
	st = order_repo_get(app_pool(req), id, &o);
	/* Someone else's order is answered as missing: its existence is not revealed. */
	if (st == DB_NOT_FOUND || (st == DB_OK && !may_see(&who, &o)))
		rc = http_error(resp, 404, "Order not found");
	else if (st != DB_OK)
		rc = app_db_failure(req, resp, st);
	else
		rc = http_json(resp, 200, order_to_json(&o));
out:
	order_clear(&o);
	return rc;
}

int order_http_set_status(struct http_req *req, struct http_resp *resp)
{
	struct order o = { 0 };
	struct auth_identity who;
	enum order_status to = ORDER_STATUS_INVALID;
	json_t *body = NULL, *errors = NULL;
	enum saga_outcome oc;
	enum db_status st;
	long long id;
	int rc;

	/* Customer and stock data: never stored by a cache. */
	http_resp_header(resp, "Cache-Control", "no-store");
	rc = app_caller(req, resp, &who);
	if (rc != 0)
		goto out;
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
	/* A customer may only cancel, and only its own order (someone else's is a 404). */
	if (!who.admin) {
		st = order_repo_get(app_pool(req), id, &o);
		if (st == DB_NOT_FOUND || (st == DB_OK && !may_see(&who, &o))) {
			rc = http_error(resp, 404, "Order not found");
			goto out;
		}
		if (st != DB_OK) {
			rc = app_db_failure(req, resp, st);
			goto out;
		}
		order_clear(&o);
		if (to != ORDER_CANCELLED) {
			rc = app_forbidden(resp);
			goto out;
		}
	}
	oc = order_saga_set_status(app_saga(req), id, to, who.sub, req->request_id, &o);
	rc = saga_answer(resp, req, oc, &o, NULL, id, to);
out:
	order_clear(&o);
	json_decref(body);
	json_decref(errors);
	return rc;
}

int order_http_get_book(struct http_req *req, struct http_resp *resp)
{
	struct order o = { 0 };
	struct catalog_book book = { 0 };
	struct auth_identity who;
	json_t *answer;
	enum catalog_status cs;
	enum db_status st;
	long long id;
	int rc;

	/* Customer and stock data: never stored by a cache. */
	http_resp_header(resp, "Cache-Control", "no-store");
	rc = app_caller(req, resp, &who);
	if (rc != 0)
		goto out;
	rc = path_id(req, resp, &id);
	if (rc != 0)
		goto out;
	st = order_repo_get(app_pool(req), id, &o);
	if (st == DB_NOT_FOUND || (st == DB_OK && !may_see(&who, &o))) {
		rc = http_error(resp, 404, "Order not found");
		goto out;
	}
	if (st != DB_OK) {
		rc = app_db_failure(req, resp, st);
		goto out;
	}
	cs = app_saga(req)->catalog->get_book(o.book_id, req->request_id, &book);
	if (cs == CATALOG_NOT_FOUND) {
		rc = http_error(resp, 404, "Book not found");
		goto out;
	}
	answer = cs == CATALOG_OK ? catalog_book_answer(&book) : NULL;
	if (answer == NULL) {
		rc = unavailable(resp, "Catalog service");
		goto out;
	}
	rc = http_json(resp, 200, answer);
out:
	catalog_book_clear(&book);
	order_clear(&o);
	return rc;
}
