/* reservation_http.h - handlers of the reservation API used by the order service. */
#ifndef CATALOG_RESERVATION_HTTP_H
#define CATALOG_RESERVATION_HTTP_H

#include "common/http.h"

/* POST /reservations -> 201 | 200 (replay) | 404 | 409 | 410 | 422 */
int reservation_http_reserve(struct http_req *req, struct http_resp *resp);
/* POST /reservations/{reservation_id}/release -> 200 (also for an unknown id: tombstone) */
int reservation_http_release(struct http_req *req, struct http_resp *resp);
/* GET /reservations/{reservation_id} -> 200 | 404 */
int reservation_http_get(struct http_req *req, struct http_resp *resp);

#endif
