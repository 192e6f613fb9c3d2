/* main.c - catalog-service: wiring only. What the daemon is made of is listed in one struct
 * app_spec; common/app.h's app_main does the rest (configuration, logging, pool, signals,
 * serve, drain).
 *
 *   catalog-service            serve the catalog API on PORT
 *   catalog-service --migrate  apply db/migrations (MIGRATIONS_DIR) and exit 0/1
 *   catalog-service --help     list the environment variables */
#include "book_repo.h"
#include "common/app.h"
#include "reservation_metrics.h"
#include "reservation_repo.h"
#include "routes.h"

/* The OpenAPI document, embedded by CMake from catalog-service/openapi.json. */
extern const char catalog_openapi_json[];

/* Registers the catalog's own metric series, so a scrape shows them before the first event. */
static int catalog_init(struct app *app)
{
	(void)app;
	reservation_metrics_init();
	return 0;
}

int main(int argc, char **argv)
{
	static const db_stmts_fn stmts[] = { book_repo_stmts, reservation_repo_stmts };
	struct app_spec spec = {
		.service = "catalog-service",
		.summary = "catalog-service: the bookstore catalogue API (books and stock reservations)",
		.openapi_json = catalog_openapi_json,
		.stmts = stmts,
		.nstmts = sizeof(stmts) / sizeof(stmts[0]),
		/* Every catalog statement is a key lookup, a keyed write or an index walk whose
		 * generic plan keeps the index (checked with EXPLAIN); planning once per session
		 * halves the server CPU of a list page (docs/performance.md). */
		.generic_plans = true,
		.routes = catalog_routes,
		.nroutes = catalog_nroutes,
		/* BASE_PATH (e.g. /catalog): the books and the public document under it. */
		.base_path = true,
		.init = catalog_init,
	};

	return app_main(&spec, argc, argv);
}
