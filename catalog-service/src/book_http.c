/* book_http.c - the books API handlers (see book_http.h). */
#include "book_http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "book_repo.h"
#include "common/app.h"
#include "common/valid.h"

/* A unique violation: the ISBN one gets its own message; any other (a primary key clash after
 * rows were inserted with explicit ids) the common 409. */
static int isbn_conflict(const struct http_req *req, struct http_resp *resp,
			 const struct book_input *in)
{
	if (strcmp(db_last_error()->constraint, "books_isbn_key") == 0)
		return http_error(resp, 409, "Book with ISBN %s already exists", in->isbn);
	return app_db_failure(req, resp, DB_CONFLICT);
}

/* Every book answer is written as text directly (book.h: the one writer of book answers). */
static int book_answer(struct http_resp *resp, int status, const struct book *b)
{
	resp->text = book_text_json(b);
	resp->content_type = "application/json";
	return status;
}

static const char *query_get(void *ctx, const char *key)
{
	return http_query(ctx, key);
}

int book_http_list(struct http_req *req, struct http_resp *resp)
{
	struct book_query q;
	struct book_page page = { 0 };
	json_t *errors = json_array();
	enum db_status st;
	int status;

	if (errors == NULL)
		abort();
	if (book_query_parse(query_get, req, &q, errors) != 0) {
		status = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	st = book_repo_list(app_pool(req), &q, &page);
	if (st != DB_OK) {
		status = app_db_failure(req, resp, st);
		goto out;
	}
	resp->text = book_page_json(page.total, page.books, page.n);
	resp->content_type = "application/json";
	status = 200;
out:
	json_decref(errors);
	book_page_free(&page);
	return status;
}

int book_http_get(struct http_req *req, struct http_resp *resp)
{
	struct book b = { 0 };
	long long id;
	enum db_status st;
	int status;

	status = app_path_id(req, resp, 0, "id", LLONG_MIN, &id);
	if (status != 0)
		goto out;
	st = book_repo_get(app_pool(req), id, &b);
	if (st == DB_OK)
		status = book_answer(resp, 200, &b);
	else if (st == DB_NOT_FOUND)
		status = http_error(resp, 404, "Book not found");
	else
		status = app_db_failure(req, resp, st);
out:
	book_free(&b);
	return status;
}

int book_http_create(struct http_req *req, struct http_resp *resp)
{
	struct book_input in = { 0 };
	struct book b = { 0 };
	json_t *body = NULL;
	json_t *errors = NULL;
	enum db_status st;
	int status;

	status = http_json_body(req, resp, &body);
	if (status != 0)
		goto out;
	errors = json_array();
	if (errors == NULL)
		abort();
	if (book_parse_create(body, &in, errors) != 0) {
		status = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	st = book_repo_create(app_pool(req), &in, &b);
	switch (st) {
	case DB_OK:
		http_location(req, resp, "/books/%lld", b.id);
		status = book_answer(resp, 201, &b);
		break;
	case DB_CONFLICT:
		status = isbn_conflict(req, resp, &in);
		break;
	default:
		status = app_db_failure(req, resp, st);
		break;
	}
out:
	json_decref(body);
	json_decref(errors);
	book_input_free(&in);
	book_free(&b);
	return status;
}

int book_http_update(struct http_req *req, struct http_resp *resp)
{
	struct book_input in = { 0 };
	struct book b = { 0 };
	json_t *body = NULL;
	json_t *errors = NULL;
	long long id = 0;
	enum db_status st;
	int status;

	errors = json_array();
	if (errors == NULL)
		abort();
	/* A bad id and bad fields are reported together (FastAPI's list names every bad field);
	 * an unreadable body (415, json_invalid) is answered alone, as FastAPI does. */
	(void)app_path_id_collect(req, 0, "id", LLONG_MIN, &id, errors);
	status = http_json_body(req, resp, &body);
	if (status != 0)
		goto out;
	if (book_parse_update(body, &in, errors) != 0 || json_array_size(errors) > 0) {
		status = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	/* {} changes nothing (updated_at included): answer with the book as it is. */
	if (book_input_empty(&in))
		st = book_repo_get(app_pool(req), id, &b);
	else
		st = book_repo_update(app_pool(req), id, &in, &b);
	switch (st) {
	case DB_OK:
		status = book_answer(resp, 200, &b);
		break;
	case DB_NOT_FOUND:
		status = http_error(resp, 404, "Book not found");
		break;
	case DB_CONFLICT:
		status = isbn_conflict(req, resp, &in);
		break;
	default:
		status = app_db_failure(req, resp, st);
		break;
	}
out:
	json_decref(body);
	json_decref(errors);
	book_input_free(&in);
	book_free(&b);
	return status;
}

int book_http_delete(struct http_req *req, struct http_resp *resp)
{
	char msg[64];
	long long id;
	enum db_status st;
	int status;

	status = app_path_id(req, resp, 0, "id", LLONG_MIN, &id);
	if (status != 0)
		return status;
	st = book_repo_delete(app_pool(req), id);
	switch (st) {
	case DB_OK:
		snprintf(msg, sizeof(msg), "Book %lld deleted successfully", id);
		return http_json(resp, 200, json_pack("{s:s}", "message", msg));
	case DB_NOT_FOUND:
		return http_error(resp, 404, "Book not found");
	case DB_FK:
		return http_error(resp, 409,
				  "Book %lld cannot be deleted: orders reference it", id);
	default:
		return app_db_failure(req, resp, st);
	}
}
