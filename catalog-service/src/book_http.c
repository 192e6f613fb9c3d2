/* book_http.c - the books API handlers (see book_http.h). */
#include "book_http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book.h"
#include "book_cache.h"
#include "book_repo.h"
#include "common/app.h"
#include "common/clock.h"
#include "common/etag.h"
#include "common/valid.h"

/* Catalogue reads are public and change rarely: shared caches may keep them briefly and
 * revalidate in the background (If-None-Match -> 304). Anything else is not stored. */
#define BOOK_CACHE_PUBLIC "public, max-age=5, stale-while-revalidate=30"
#define BOOK_CACHE_NONE "no-store"
/* A page of GET /books/{id} ETags: "b<version>". */
#define BOOK_ETAG_PREFIX "b"
/* Only the first this many entity tags of an If-Match list are compared; later ones are ignored
 * (a bound on the array literal below, stated in the OpenAPI document). */
#define BOOK_IF_MATCH_MAX 16

/* A unique violation: the ISBN one gets its own message; any other (a primary key clash after
 * rows were inserted with explicit ids) the common 409. */
static int isbn_conflict(const struct http_req *req, struct http_resp *resp,
			 const struct book_input *in)
{
	if (strcmp(db_last_error()->constraint, "books_isbn_key") == 0)
		return http_error(resp, 409, "Book with ISBN %s already exists", in->isbn);
	return app_db_failure(req, resp, DB_CONFLICT);
}

/* Every book answer is written as text directly (book.h: the one writer of book answers), with
 * the row version as its ETag. */
static int book_answer(struct http_resp *resp, int status, const struct book *b)
{
	char tag[ETAG_MAX];

	resp->text = book_text_json(b);
	resp->content_type = "application/json";
	if (b->version > 0) {
		etag_from_version(tag, BOOK_ETAG_PREFIX, b->version);
		http_resp_header(resp, "ETag", tag);
	}
	return status;
}

/* A GET answer the client already has (If-None-Match names tag): 304 with no body. Otherwise
 * the status given. The ETag and Cache-Control headers go with both. */
static int conditional_get(const struct http_req *req, struct http_resp *resp, const char *tag,
			   int status)
{
	http_resp_header(resp, "Cache-Control", BOOK_CACHE_PUBLIC);
	if (!etag_list_match(http_header(req, "If-None-Match"), tag, true))
		return status;
	free(resp->text);
	resp->text = NULL;
	resp->content_type = NULL;
	return 304;
}

/* Collects the versions of an If-Match list as a bigint array literal "{3,4}". A tag that is
 * not one of ours ("b<digits>") is skipped: it matches no version. */
struct if_match {
	char text[BOOK_IF_MATCH_MAX * 21 + 3];
	size_t len;
	int n;
};

static int if_match_add(const char *tag, size_t len, void *ctx)
{
	struct if_match *m = ctx;
	size_t plen = strlen(BOOK_ETAG_PREFIX);
	char digits[24];
	long long v;

	if (m->n >= BOOK_IF_MATCH_MAX)
		return 1;
	if (len < plen + 3 || len - plen - 2 >= sizeof(digits) ||
	    memcmp(tag + 1, BOOK_ETAG_PREFIX, plen) != 0)
		return 0;
	memcpy(digits, tag + 1 + plen, len - plen - 2);
	digits[len - plen - 2] = '\0';
	if (valid_parse_ll(digits, 1, LLONG_MAX, &v) != 0)
		return 0;
	m->len += (size_t)snprintf(m->text + m->len, sizeof(m->text) - m->len, "%s%lld",
				   m->n > 0 ? "," : "", v);
	m->n++;
	return 0;
}

/* The If-Match precondition of PUT/PATCH as book_repo_update takes it: NULL when there is no
 * If-Match or it is "*" (any current version), else the listed versions ("{}" for none). */
static const char *if_match_versions(const struct http_req *req, struct if_match *m)
{
	const char *h = http_header(req, "If-Match");

	memset(m, 0, sizeof(*m));
	if (h == NULL)
		return NULL;
	m->text[0] = '{';
	m->len = 1;
	if (etag_list_each(h, if_match_add, m) == 1)
		return NULL;
	m->text[m->len++] = '}';
	m->text[m->len] = '\0';
	return m->text;
}

static const char *query_get(void *ctx, const char *key)
{
	return http_query(ctx, key);
}

int book_http_list(struct http_req *req, struct http_resp *resp)
{
	struct book_query q;
	struct book_page page = { 0 };
	char *key = NULL;
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
	if (app_service(req) != NULL) /* the read cache is on */
		key = book_query_key(&q);
	if (book_cache_page_get(app_service(req), key, &resp->text) != 0) {
		long long read_ms = clock_mono_ms(); /* the entry's age counts from here */
		uint64_t ticket = book_cache_page_ticket(app_service(req));

		st = book_repo_list(app_pool(req), &q, &page);
		if (st != DB_OK) {
			status = app_db_failure(req, resp, st);
			goto out;
		}
		resp->text = book_page_json(page.total, page.books, page.n);
		book_cache_page_put(app_service(req), key, ticket, read_ms, resp->text);
	}
	resp->content_type = "application/json";
	{
		char tag[ETAG_MAX];

		etag_from_body(tag, resp->text, strlen(resp->text));
		http_resp_header(resp, "ETag", tag);
		status = conditional_get(req, resp, tag, 200);
	}
out:
	if (status != 200 && status != 304)
		http_resp_header(resp, "Cache-Control", BOOK_CACHE_NONE);
	json_decref(errors);
	book_page_free(&page);
	free(key);
	return status;
}

int book_http_get(struct http_req *req, struct http_resp *resp)
{
	struct book b = { 0 };
	uint64_t ticket;
	long long read_ms;
	long long id;
	enum db_status st;
	int status;

	status = app_path_id(req, resp, 0, "id", LLONG_MIN, &id);
	if (status != 0)
		goto out;
	if (book_cache_get(app_service(req), id, &resp->text, &b.version) == 0) {
		char tag[ETAG_MAX];

		resp->content_type = "application/json";
		etag_from_version(tag, BOOK_ETAG_PREFIX, b.version);
		http_resp_header(resp, "ETag", tag);
		status = conditional_get(req, resp, tag, 200);
		goto out;
	}
	read_ms = clock_mono_ms(); /* before the read: the entry's age counts from here */
	ticket = book_cache_ticket(app_service(req), id);
	st = book_repo_get(app_pool(req), id, &b);
	if (st == DB_OK) {
		char tag[ETAG_MAX];

		status = book_answer(resp, 200, &b);
		book_cache_put(app_service(req), id, ticket, read_ms, resp->text, b.version);
		etag_from_version(tag, BOOK_ETAG_PREFIX, b.version);
		status = conditional_get(req, resp, tag, status);
	} else if (st == DB_NOT_FOUND)
		status = http_error(resp, 404, "Book not found");
	else
		status = app_db_failure(req, resp, st);
out:
	if (status != 200 && status != 304)
		http_resp_header(resp, "Cache-Control", BOOK_CACHE_NONE);
	book_free(&b);
	return status;
}

int book_http_create(struct http_req *req, struct http_resp *resp)
{
	struct book_input in = { 0 };
	struct book b = { 0 };
	struct auth_identity who;
	json_t *body = NULL;
	json_t *errors = NULL;
	enum db_status st;
	int status;

	http_resp_header(resp, "Cache-Control", BOOK_CACHE_NONE);
	/* The route is admin-only (routes.c, checked before the body); the caller's sub is the
	 * audit actor. */
	status = app_caller(req, resp, &who);
	if (status != 0)
		goto out;
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
	st = book_repo_create(app_pool(req), &in, who.sub, req->request_id, &b);
	switch (st) {
	case DB_OK:
		book_cache_drop(app_service(req), b.id); /* the cached list pages may count it */
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
	struct auth_identity who;
	json_t *body = NULL;
	json_t *errors = NULL;
	long long id = 0;
	struct if_match m;
	const char *versions;
	enum db_status st;
	int status;

	http_resp_header(resp, "Cache-Control", BOOK_CACHE_NONE);
	status = app_caller(req, resp, &who);
	if (status != 0)
		goto out;
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
	versions = if_match_versions(req, &m);
	/* {} changes nothing (updated_at included): answer with the book as it is. */
	if (book_input_empty(&in))
		st = book_repo_get(app_pool(req), id, &b);
	else
		st = book_repo_update(app_pool(req), id, &in, versions, who.sub,
				      req->request_id, &b);
	/* This replica's cache forgets the book once the write is done (a read that started before
	 * cannot store the old answer afterwards: book_cache.h). */
	book_cache_drop(app_service(req), id);
	if (st == DB_OK && versions != NULL && book_input_empty(&in)) {
		char tag[ETAG_MAX];

		etag_from_version(tag, BOOK_ETAG_PREFIX, b.version);
		if (!etag_list_match(http_header(req, "If-Match"), tag, false))
			st = DB_NOT_FOUND;
	}
	/* With If-Match, "no row changed" is 404 only if the book is gone; else its version moved
	 * on: 412 (optimistic concurrency for admin edits). */
	if (st == DB_NOT_FOUND && versions != NULL) {
		book_free(&b);
		st = book_repo_get(app_pool(req), id, &b);
		if (st == DB_OK) {
			status = http_error(resp, 412, "Book %lld has changed (If-Match does not name"
					    " its current ETag)", id);
			goto out;
		}
	}
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
	struct auth_identity who;
	long long id;
	enum db_status st;
	int status;

	http_resp_header(resp, "Cache-Control", BOOK_CACHE_NONE);
	status = app_caller(req, resp, &who);
	if (status != 0)
		return status;
	status = app_path_id(req, resp, 0, "id", LLONG_MIN, &id);
	if (status != 0)
		return status;
	st = book_repo_delete(app_pool(req), id, who.sub, req->request_id);
	book_cache_drop(app_service(req), id);
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
