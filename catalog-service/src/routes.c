/* routes.c - every endpoint of the catalog service, in one table. Public routes (the books and
 * /openapi.json) are served under BASE_PATH when one is set; the rest never are. */
#include "routes.h"

#include "book_http.h"
#include "common/docs.h"
#include "common/ops.h"
#include "reservation_http.h"

const struct http_route catalog_routes[] = {
	OPS_ROUTES,
	DOCS_ROUTES(""), /* /docs: Swagger UI for the public document (public, under BASE_PATH) */
	{ "GET", "/books", book_http_list, HTTP_PUBLIC },
	{ "POST", "/books", book_http_create, HTTP_PUBLIC },
	{ "GET", "/books/{id}", book_http_get, HTTP_PUBLIC },
	{ "PUT", "/books/{id}", book_http_update, HTTP_PUBLIC },
	{ "PATCH", "/books/{id}", book_http_update, HTTP_PUBLIC },
	{ "DELETE", "/books/{id}", book_http_delete, HTTP_PUBLIC },
	/* Called by the order service only: never under BASE_PATH. */
	{ "POST", "/reservations", reservation_http_reserve, HTTP_INTERNAL },
	{ "GET", "/reservations/{reservation_id}", reservation_http_get, HTTP_INTERNAL },
	{ "POST", "/reservations/{reservation_id}/release", reservation_http_release,
	  HTTP_INTERNAL },
};

const size_t catalog_nroutes = sizeof(catalog_routes) / sizeof(catalog_routes[0]);
