/* book_http.h - the handlers of the books API. Handlers read struct http_req, fill struct
 * http_resp and return the HTTP status; they hold no SQL (book_repo.c) and no libmicrohttpd
 * (common/src/http.c). What every handler shares (req->app, the database error answer, path
 * ids) is in common/app.h. */
#ifndef CATALOG_BOOK_HTTP_H
#define CATALOG_BOOK_HTTP_H

#include "common/http.h"

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

#endif
