/* book_http.h - the handlers of the books API and what every catalog handler shares.
 * Handlers read struct http_req, fill struct http_resp and return the HTTP status; they hold no
 * SQL (book_repo.c) and no libmicrohttpd (common/src/http.c). */
#ifndef CATALOG_BOOK_HTTP_H
#define CATALOG_BOOK_HTTP_H

#include "common/db.h"
#include "common/http.h"

/* The app pointer every catalog handler receives in req->app. */
struct catalog_app {
	struct db_pool *pool;
};

/* GET /books -> 200 {"total","books"} | 422 */
int book_http_list(struct http_req *req, struct http_resp *resp);
/* GET /books/{id} -> 200 book | 404 | 422 */
int book_http_get(struct http_req *req, struct http_resp *resp);
/* POST /books -> 201 book + Location | 409 | 415 | 422 */
int book_http_create(struct http_req *req, struct http_resp *resp);
/* PUT and PATCH /books/{id} (same meaning: partial update) -> 200 | 404 | 409 | 422 */
int book_http_update(struct http_req *req, struct http_resp *resp);
/* DELETE /books/{id} -> 200 {"message"} | 404 | 409 (orders reference it) */
int book_http_delete(struct http_req *req, struct http_resp *resp);

/* The answer for a failed repo call: DB_UNAVAILABLE -> 503 {"detail":"Database unavailable"},
 * DB_CHECK/DB_FK -> 409, anything else -> 500 (logged with the database's message). Returns the
 * status. */
int catalog_db_failure(const struct http_req *req, struct http_resp *resp, enum db_status st);

/* A path parameter that must be an integer: 0 with *out, or 422 (resp filled). */
int catalog_path_id(const struct http_req *req, struct http_resp *resp, size_t index,
		    const char *name, long long *out);

#endif
