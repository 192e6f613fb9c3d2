/* reservation_http.c - the reservation API handlers (see reservation_http.h). */
#include "reservation_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "book_cache.h"
#include "common/app.h"
#include "common/valid.h"
#include "reservation.h"
#include "reservation_metrics.h"
#include "reservation_repo.h"

/* The {reservation_id} path parameter: 0 when valid, else 422 (resp filled). */
static int path_reservation_id(const struct http_req *req, struct http_resp *resp,
			       const char **id)
{
	const char *s = req->nparams > 0 ? req->params[0] : NULL;
	json_t *errors = NULL;
	json_t *input = NULL;

	if (s != NULL && reservation_id_valid(s)) {
		*id = s;
		return 0;
	}
	errors = json_array();
	if (errors == NULL)
		abort();
	if (s != NULL && valid_utf8(s, strlen(s)))
		input = json_string(s);
	valid_error(errors, "string_pattern_mismatch", "path", "reservation_id",
		    "String should match pattern '^[A-Za-z0-9_-]{1,64}$'", input);
	json_decref(input);
	return http_validation_error(resp, errors);
}

int reservation_http_reserve(struct http_req *req, struct http_resp *resp)
{
	char detail[160];
	struct reservation r;
	struct book b = { 0 };
	enum reservation_outcome outcome = RESERVATION_NO_BOOK;
	long long available = 0;
	json_t *body = NULL;
	json_t *errors = NULL;
	json_t *out = NULL;
	enum db_status st;
	int status;

	/* Customer and stock data: never stored by a cache. */
	http_resp_header(resp, "Cache-Control", "no-store");
	status = http_json_body(req, resp, &body);
	if (status != 0)
		goto out;
	errors = json_array();
	if (errors == NULL)
		abort();
	if (reservation_parse(body, &r, errors) != 0) {
		status = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	st = reservation_repo_reserve(app_pool(req), &r, &outcome, &b, &available);
	book_cache_drop(app_service(req), r.book_id); /* its stock may have changed */
	if (st != DB_OK) {
		status = app_db_failure(req, resp, st);
		goto out;
	}
	if (outcome == RESERVATION_CREATED)
		reservation_metrics_taken();
	else if (outcome == RESERVATION_NO_BOOK || outcome == RESERVATION_NO_STOCK)
		reservation_metrics_refused();
	switch (outcome) {
	case RESERVATION_CREATED:
	case RESERVATION_REPLAY:
		status = http_json(resp, outcome == RESERVATION_CREATED ? 201 : 200,
				   reservation_to_json(&r, &b));
		break;
	case RESERVATION_RELEASED:
		status = http_error(resp, 410, "Reservation %s has been released", r.id);
		break;
	case RESERVATION_MISMATCH:
		valid_error(errors, "reservation_mismatch", "body", "reservation_id",
			    "Reservation id already used for another book or quantity", NULL);
		status = http_validation_error(resp, errors);
		errors = NULL;
		break;
	case RESERVATION_NO_BOOK:
		status = http_error(resp, 404, "Book not found");
		break;
	case RESERVATION_NO_STOCK:
		snprintf(detail, sizeof(detail),
			 "Insufficient stock for book %lld: requested %lld, available %lld", r.book_id,
			 r.quantity, available);
		out = json_pack("{s:s, s:I, s:I, s:I}", "detail", detail, "book_id",
				(json_int_t)r.book_id, "requested", (json_int_t)r.quantity,
				"available", (json_int_t)available);
		if (out == NULL)
			abort();
		status = http_json(resp, 409, out);
		out = NULL;
		break;
	}
out:
	json_decref(body);
	json_decref(errors);
	json_decref(out);
	book_free(&b);
	return status;
}

int reservation_http_release(struct http_req *req, struct http_resp *resp)
{
	struct reservation r = { 0 };
	const char *id = NULL;
	enum db_status st;
	int status;

	/* Customer and stock data: never stored by a cache. */
	http_resp_header(resp, "Cache-Control", "no-store");
	status = path_reservation_id(req, resp, &id);
	if (status != 0)
		return status;
	st = reservation_repo_release(app_pool(req), id, &r);
	if (st == DB_OK)
		book_cache_drop(app_service(req), r.book_id); /* its stock came back */
	if (st != DB_OK)
		return app_db_failure(req, resp, st);
	return http_json(resp, 200, reservation_to_json(&r, NULL));
}

int reservation_http_get(struct http_req *req, struct http_resp *resp)
{
	struct reservation r = { 0 };
	const char *id = NULL;
	enum db_status st;
	int status;

	/* Customer and stock data: never stored by a cache. */
	http_resp_header(resp, "Cache-Control", "no-store");
	status = path_reservation_id(req, resp, &id);
	if (status != 0)
		return status;
	st = reservation_repo_get(app_pool(req), id, &r);
	if (st == DB_NOT_FOUND)
		return http_error(resp, 404, "Reservation not found");
	if (st != DB_OK)
		return app_db_failure(req, resp, st);
	return http_json(resp, 200, reservation_to_json(&r, NULL));
}
