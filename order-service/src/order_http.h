/* order_http.h - the HTTP handlers of the order service. Each parses and validates the request,
 * calls the saga (order_saga.h) or order_repo for reads, maps the outcome to one answer and
 * returns the HTTP status (see http.h). req->app is the struct app of common/app.h; its service
 * is the struct order_saga the saga steps run on (main.c). */
#ifndef ORDER_HTTP_H
#define ORDER_HTTP_H

#include "common/http.h"

/* POST /orders: the saga (docs/consistency.md). 201 order + Location; 409 insufficient stock or
 * an Idempotency-Key in progress; 422 validation / unknown book / key reused with another body;
 * 503 + Retry-After when the catalog or the database is unavailable. */
int order_http_create(struct http_req *req, struct http_resp *resp);
/* GET /orders: {"total", "orders"} newest first; skip, limit, status, customer_email, book_id. */
int order_http_list(struct http_req *req, struct http_resp *resp);
/* GET /orders/{id}: 200 / 404 / 422 for a non-integer id. */
int order_http_get(struct http_req *req, struct http_resp *resp);
/* PATCH /orders/{id}/status: the status machine; a cancel gives the stock back (exactly once,
 * finished by recovery if the catalog is down: the answer is 200 anyway). */
int order_http_set_status(struct http_req *req, struct http_resp *resp);
/* GET /orders/{id}/book: the catalog's book plus "available"; 404; 503 if the catalog is down. */
int order_http_get_book(struct http_req *req, struct http_resp *resp);

#endif
