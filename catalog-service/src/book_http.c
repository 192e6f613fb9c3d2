/* book_http.c - the books API handlers (see book_http.h). */
#include "book_http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "book_repo.h"
#include "common/log.h"
#include "common/valid.h"

int catalog_db_failure(const struct http_req *req, struct http_resp *resp, enum db_status st)
{
	const struct db_error *e = db_last_error();

	if (st == DB_UNAVAILABLE) {
		log_msg(LOG_WARN, req->request_id, "database unavailable: %s", e->message);
		return http_error(resp, 503, "Database unavailable");
	}
	if (st == DB_CHECK || st == DB_FK) {
		/* A constraint the validation could not foresee (e.g. a release that would push a
		 * stock past the integer range): the client's request conflicts with stored data. */
		log_msg(LOG_WARN, req->request_id, "constraint (sqlstate %s): %s", e->sqlstate,
			e->message);
		return http_error(resp, 409, "Request conflicts with the stored data");
	}
	log_msg(LOG_ERROR, req->request_id, "database error %d (sqlstate %s): %s", (int)st,
		e->sqlstate, e->message);
	return http_error(resp, 500, "Internal Server Error");
}

/* Parses path parameter index as an integer into *out; on failure appends the int_parsing entry
 * (loc ["path", name]) to errors and returns -1. */
static int path_id_parse(const struct http_req *req, size_t index, const char *name, long long *out,
			 json_t *errors)
{
	const char *s = index < req->nparams ? req->params[index] : NULL;
	json_t *input = NULL;

	if (s != NULL && valid_parse_ll(s, LLONG_MIN, LLONG_MAX, out) == 0)
		return 0;
	if (s != NULL && valid_utf8(s, strlen(s)))
		input = json_string(s);
	valid_error(errors, "int_parsing", "path", name,
		    "Input should be a valid integer, unable to parse string as an integer", input);
	json_decref(input);
	return -1;
}

int catalog_path_id(const struct http_req *req, struct http_resp *resp, size_t index,
		    const char *name, long long *out)
{
	json_t *errors = json_array();

	if (errors == NULL)
		abort();
	if (path_id_parse(req, index, name, out, errors) == 0) {
		json_decref(errors);
		return 0;
	}
	return http_validation_error(resp, errors);
}

/* A unique violation: the ISBN one is the client's 409; any other (a primary key clash after
 * rows were inserted with explicit ids) is the server's problem. */
static int isbn_conflict(const struct http_req *req, struct http_resp *resp,
			 const struct book_input *in)
{
	if (strcmp(db_last_error()->constraint, "books_isbn_key") == 0)
		return http_error(resp, 409, "Book with ISBN %s already exists", in->isbn);
	return catalog_db_failure(req, resp, DB_ERROR);
}

static struct db_pool *pool_of(const struct http_req *req)
{
	return ((const struct catalog_app *)req->app)->pool;
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
	json_t *books = NULL;
	enum db_status st;
	int status;

	if (errors == NULL)
		abort();
	if (book_query_parse(query_get, req, &q, errors) != 0) {
		status = http_validation_error(resp, errors);
		errors = NULL;
		goto out;
	}
	st = book_repo_list(pool_of(req), &q, &page);
	if (st != DB_OK) {
		status = catalog_db_failure(req, resp, st);
		goto out;
	}
	/* The page is written as text directly (a jansson tree and json_dumps were about half of
	 * the service's CPU per page); the tree remains the fallback for non-UTF-8 text. */
	resp->text = book_page_json(page.total, page.books, page.n);
	if (resp->text != NULL) {
		resp->content_type = "application/json";
		status = 200;
		goto out;
	}
	books = json_array();
	if (books == NULL)
		abort();
	for (size_t i = 0; i < page.n; i++)
		json_array_append_new(books, book_to_json(&page.books[i]));
	status = http_json(resp, 200, json_pack("{s:I, s:o}", "total", (json_int_t)page.total,
						"books", books));
	books = NULL;
out:
	json_decref(errors);
	json_decref(books);
	book_page_free(&page);
	return status;
}

int book_http_get(struct http_req *req, struct http_resp *resp)
{
	struct book b = { 0 };
	long long id;
	enum db_status st;
	int status;

	status = catalog_path_id(req, resp, 0, "id", &id);
	if (status != 0)
		goto out;
	st = book_repo_get(pool_of(req), id, &b);
	if (st == DB_OK) {
		/* Written as text directly, like list pages; the tree is the non-UTF-8 fallback. */
		resp->text = book_text_json(&b);
		if (resp->text != NULL) {
			resp->content_type = "application/json";
			status = 200;
		} else {
			status = http_json(resp, 200, book_to_json(&b));
		}
	} else if (st == DB_NOT_FOUND)
		status = http_error(resp, 404, "Book not found");
	else
		status = catalog_db_failure(req, resp, st);
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
	st = book_repo_create(pool_of(req), &in, &b);
	switch (st) {
	case DB_OK:
		http_location(req, resp, "/books/%lld", b.id);
		status = http_json(resp, 201, book_to_json(&b));
		break;
	case DB_CONFLICT:
		status = isbn_conflict(req, resp, &in);
		break;
	default:
		status = catalog_db_failure(req, resp, st);
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
	(void)path_id_parse(req, 0, "id", &id, errors);
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
		st = book_repo_get(pool_of(req), id, &b);
	else
		st = book_repo_update(pool_of(req), id, &in, &b);
	switch (st) {
	case DB_OK:
		status = http_json(resp, 200, book_to_json(&b));
		break;
	case DB_NOT_FOUND:
		status = http_error(resp, 404, "Book not found");
		break;
	case DB_CONFLICT:
		status = isbn_conflict(req, resp, &in);
		break;
	default:
		status = catalog_db_failure(req, resp, st);
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

	status = catalog_path_id(req, resp, 0, "id", &id);
	if (status != 0)
		return status;
	st = book_repo_delete(pool_of(req), id);
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
		return catalog_db_failure(req, resp, st);
	}
}
