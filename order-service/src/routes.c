/* routes.c - every route of the order service, in one table: method, path, handler, where it is
 * served and who may call it (checked before the body is read; ownership is decided by the
 * handlers: a customer sees and changes only orders with their own e-mail; docs/auth.md). */
#include "routes.h"

#include "common/audit.h"
#include "common/docs.h"
#include "common/ops.h"
#include "order_http.h"

const struct http_route order_routes[] = {
	OPS_ROUTES,
	{ "POST", "/orders", order_http_create, HTTP_PUBLIC, HTTP_ACCESS_CUSTOMER },
	{ "GET", "/orders", order_http_list, HTTP_PUBLIC, HTTP_ACCESS_CUSTOMER },
	/* The public URL map puts the document and the docs page under /orders (literal routes
	 * before /orders/{order_id}). */
	{ "GET", "/orders/openapi.json", ops_openapi, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	DOCS_ROUTES("/orders"),
	/* The order service's own audit rows (order writes). */
	{ "GET", "/audit", audit_http_list, HTTP_PUBLIC, HTTP_ACCESS_ADMIN },
	{ "GET", "/orders/{order_id}", order_http_get, HTTP_PUBLIC, HTTP_ACCESS_CUSTOMER },
	{ "PATCH", "/orders/{order_id}/status", order_http_set_status, HTTP_PUBLIC,
	  HTTP_ACCESS_CUSTOMER },
	{ "GET", "/orders/{order_id}/book", order_http_get_book, HTTP_PUBLIC,
	  HTTP_ACCESS_CUSTOMER },
};

const size_t order_nroutes = sizeof order_routes / sizeof order_routes[0];
