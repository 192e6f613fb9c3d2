/* routes.c - every endpoint of the catalog service, in one table. */
#include "routes.h"

#include "book_http.h"
#include "common/ops.h"
#include "reservation_http.h"

const struct http_route catalog_routes[] = {
	OPS_ROUTES,
	{ "GET", "/books", book_http_list },
	{ "POST", "/books", book_http_create },
	{ "GET", "/books/{id}", book_http_get },
	{ "PUT", "/books/{id}", book_http_update },
	{ "PATCH", "/books/{id}", book_http_update },
	{ "DELETE", "/books/{id}", book_http_delete },
	{ "POST", "/reservations", reservation_http_reserve },
	{ "GET", "/reservations/{reservation_id}", reservation_http_get },
	{ "POST", "/reservations/{reservation_id}/release", reservation_http_release },
};

const size_t catalog_nroutes = sizeof(catalog_routes) / sizeof(catalog_routes[0]);
