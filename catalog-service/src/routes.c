/* routes.c - every endpoint of the catalog service, in one table: method, path, handler, where
 * it is served (public routes under BASE_PATH, internal ones never) and who may call it (the
 * access rule, checked before the body is read; docs/auth.md). */
#include "routes.h"

#include "book_http.h"
#include "common/audit.h"
#include "common/docs.h"
#include "common/ops.h"
#include "reservation_http.h"

const struct http_route catalog_routes[] = {
	OPS_ROUTES,
	DOCS_ROUTES(""), /* /docs: Swagger UI for the public document (public, under BASE_PATH) */
	{ "GET", "/books", book_http_list, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "POST", "/books", book_http_create, HTTP_PUBLIC, HTTP_ACCESS_ADMIN },
	{ "GET", "/books/{id}", book_http_get, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "PUT", "/books/{id}", book_http_update, HTTP_PUBLIC, HTTP_ACCESS_ADMIN },
	{ "PATCH", "/books/{id}", book_http_update, HTTP_PUBLIC, HTTP_ACCESS_ADMIN },
	{ "DELETE", "/books/{id}", book_http_delete, HTTP_PUBLIC, HTTP_ACCESS_ADMIN },
	/* The catalog's own audit rows (book writes). */
	{ "GET", "/audit", audit_http_list, HTTP_PUBLIC, HTTP_ACCESS_ADMIN },
	/* Called by the order service only, with INTERNAL_API_TOKEN: never under BASE_PATH. */
	{ "POST", "/reservations", reservation_http_reserve, HTTP_INTERNAL, HTTP_ACCESS_INTERNAL },
	{ "GET", "/reservations/{reservation_id}", reservation_http_get, HTTP_INTERNAL,
	  HTTP_ACCESS_INTERNAL },
	{ "POST", "/reservations/{reservation_id}/release", reservation_http_release,
	  HTTP_INTERNAL, HTTP_ACCESS_INTERNAL },
};

const size_t catalog_nroutes = sizeof(catalog_routes) / sizeof(catalog_routes[0]);
