/* routes.c - every route of the order service, in one table. */
#include "routes.h"

#include "common/docs.h"
#include "common/ops.h"
#include "order_http.h"

const struct http_route order_routes[] = {
	OPS_ROUTES,
	{ "POST", "/orders", order_http_create, HTTP_PUBLIC },
	{ "GET", "/orders", order_http_list, HTTP_PUBLIC },
	/* The public URL map puts the document and the docs page under /orders (literal routes
	 * before /orders/{order_id}). */
	{ "GET", "/orders/openapi.json", ops_openapi, HTTP_PUBLIC },
	DOCS_ROUTES("/orders"),
	{ "GET", "/orders/{order_id}", order_http_get, HTTP_PUBLIC },
	{ "PATCH", "/orders/{order_id}/status", order_http_set_status, HTTP_PUBLIC },
	{ "GET", "/orders/{order_id}/book", order_http_get_book, HTTP_PUBLIC },
};

const size_t order_nroutes = sizeof order_routes / sizeof order_routes[0];
