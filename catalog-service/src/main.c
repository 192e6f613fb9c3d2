/* main.c - catalog-service: wiring only. What the daemon is made of is listed in one struct
 * app_spec; common/app.h's app_main does the rest (configuration, logging, pool, signals,
 * serve, drain).
 *
 *   catalog-service            serve the catalog API on PORT
 *   catalog-service --migrate  apply db/migrations (MIGRATIONS_DIR) and exit 0/1
 *   catalog-service --help     list the environment variables */
#include "book_cache.h"
#include "book_repo.h"
#include "common/app.h"
#include "common/audit.h"
#include "reservation_metrics.h"
#include "reservation_repo.h"
#include "routes.h"


/* The OpenAPI documents, embedded by CMake from catalog-service/openapi.json (public, the edge
 * routes it) and openapi-internal.json (reservations, ops, audit: admin listener only). */
extern const char catalog_openapi_json[];
extern const char catalog_openapi_internal_json[];

static int cache_ttl_ms;
static int cache_max_entries;

/* Registers the catalog's own metric series (so a scrape shows them before the first event)
 * and makes the handlers' state (app->service): the read cache, or NULL when CACHE_TTL_MS is 0. */
static int catalog_init(struct app *app)
{
	reservation_metrics_init();
	app->service = book_cache_new(cache_ttl_ms, cache_max_entries);
	return 0;
}

static void catalog_cleanup(struct app *app)
{
	book_cache_free(app->service);
	app->service = NULL;
}

int main(int argc, char **argv)
{
	static const db_stmts_fn stmts[] = { book_repo_stmts, reservation_repo_stmts, audit_stmts };
	static const struct cfg_var vars[] = {
		{ "CACHE_TTL_MS", "0", CFG_INT, 0, 3600000, &cache_ttl_ms,
		  "per-replica cache of GET /books/{id}: answers at most this old (another replica's write shows after at most this long; this replica's own writes at once); 0 = off" },
		{ "CACHE_MAX_ENTRIES", "1024", CFG_INT, 1, 1000000, &cache_max_entries,
		  "books the cache holds at most (each answer up to 4 KB)" },
	};
	struct app_spec spec = {
		.service = "catalog-service",
		.summary = "catalog-service: the bookstore catalogue API (books and stock reservations)",
		.openapi_json = catalog_openapi_json,
		.openapi_internal_json = catalog_openapi_internal_json,
		.stmts = stmts,
		.nstmts = sizeof(stmts) / sizeof(stmts[0]),
		.vars = vars,
		.nvars = sizeof(vars) / sizeof(vars[0]),
		.init = catalog_init,
		.cleanup = catalog_cleanup,
		/* Every catalog statement is a key lookup, a keyed write or an index walk whose
		 * generic plan keeps the index (checked with EXPLAIN); planning once per session
		 * halves the server CPU of a list page (docs/performance.md). */
		.generic_plans = true,
		.routes = catalog_routes,
		.audit_entity = "book",
		.nroutes = catalog_nroutes,
		/* BASE_PATH (e.g. /catalog): the books and the public document under it. */
		.base_path = true,
	};

	return app_main(&spec, argc, argv);
}
