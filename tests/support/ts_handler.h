/* ts_handler.h - calling a service's handlers directly, without a socket (unit tests): an app
 * whose pool points at a closed port (every checkout fails fast with DB_UNAVAILABLE), a request
 * struct filled as the server fills it before dispatch, and small readers of the answer.
 * Header-only: each unit suite is one executable. */
#ifndef TS_HANDLER_H
#define TS_HANDLER_H

#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/app.h"
#include "common/db.h"
#include "common/http.h"

/* Resets *app and gives it a one-connection pool on 127.0.0.1:1 (refused at once). */
static inline void ts_handler_app_init(struct app *app, const char *app_name)
{
	struct db_pool_config pc = { 0 };

	memset(app, 0, sizeof(*app));
	pc.conninfo = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1";
	pc.app_name = app_name;
	pc.size = 1;
	pc.statement_timeout_ms = 1000;
	pc.wait_ms = 100;
	app->pool = db_pool_create(&pc);
	ck_assert_ptr_nonnull(app->pool);
}

static inline void ts_handler_app_free(struct app *app)
{
	db_pool_destroy(app->pool);
	app->pool = NULL;
}

/* A request for the route pattern (also its path), no body, request id "test". */
static inline void ts_handler_req(struct http_req *req, struct app *app, const char *method,
				  const char *route)
{
	memset(req, 0, sizeof(*req));
	req->method = method;
	req->path = route;
	req->route = route;
	req->request_id = "test";
	req->body = "";
	req->app = app;
}

/* Element k of the first validation error's "loc" (borrowed), or NULL. */
static inline const char *ts_handler_detail_loc(const struct http_resp *resp, size_t k)
{
	const json_t *e = json_array_get(json_object_get(resp->body, "detail"), 0);

	return json_string_value(json_array_get(json_object_get(e, "loc"), k));
}

static inline void ts_handler_resp_clear(struct http_resp *resp)
{
	json_decref(resp->body);
	free(resp->text);
	memset(resp, 0, sizeof(*resp));
}

#endif
