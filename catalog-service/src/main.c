/* main.c - catalog-service: wiring only (configuration, logging, pool, routes, serve).
 *
 *   catalog-service            serve the catalog API on PORT
 *   catalog-service --migrate  apply db/migrations (MIGRATIONS_DIR) and exit 0/1
 *   catalog-service --help     list the environment variables */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "book_http.h"
#include "book_repo.h"
#include "common/config.h"
#include "common/db.h"
#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ops.h"
#include "reservation_repo.h"
#include "routes.h"

#define SERVICE "catalog-service"

/* The OpenAPI document, embedded by CMake from catalog-service/openapi.json. */
extern const char catalog_openapi_json[];

static struct db_pool *catalog_pool;

static int catalog_ready(char *reason, size_t len)
{
	return db_ping(catalog_pool, reason, len);
}

static void catalog_metrics(struct buf *out)
{
	db_pool_metrics(catalog_pool, out);
}

int main(int argc, char **argv)
{
	static const char *const extra_flags[] = { "--migrate", NULL };
	static struct db_stmt stmts[BOOK_REPO_NSTMTS + RESERVATION_REPO_NSTMTS];
	struct cfg_common c = { 0 };
	const char *migrations = NULL;
	struct cfg_var vars[] = {
		CFG_COMMON_VARS(&c),
		{ "MIGRATIONS_DIR", NULL, CFG_STR, 0, 0, &migrations,
		  "folder of NNNN_*.sql files for --migrate (default /migrations if it exists, else "
		  "db/migrations)" },
	};
	struct catalog_app app = { 0 };
	struct db_pool_config pc = { 0 };
	struct ops_info info = { 0 };
	bool migrate = false;
	int rc = 1;

	http_signals_block();
	cfg_load(argc, argv, SERVICE ": the bookstore catalogue API (books and stock reservations)",
		 vars, sizeof(vars) / sizeof(vars[0]), extra_flags);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--migrate") == 0)
			migrate = true;
	log_init(SERVICE, (enum log_level)c.log_level);
	if (migrate)
		return db_migrate(c.database_url, migrations) == 0 ? 0 : 1;

	metrics_init(SERVICE);
	json_object_seed(0);
	memcpy(stmts, book_repo_stmts, sizeof(book_repo_stmts));
	memcpy(stmts + BOOK_REPO_NSTMTS, reservation_repo_stmts, sizeof(reservation_repo_stmts));
	pc.conninfo = c.database_url;
	pc.app_name = SERVICE;
	pc.size = c.db_pool_size;
	pc.statement_timeout_ms = c.db_statement_timeout_ms;
	pc.wait_ms = c.db_pool_wait_ms;
	pc.stmts = stmts;
	pc.nstmts = sizeof(stmts) / sizeof(stmts[0]);
	/* Every catalog statement is a key lookup, a keyed write or an index walk whose generic
	 * plan keeps the index (checked with EXPLAIN); planning once per session halves the
	 * server CPU of a list page (docs/performance.md). */
	pc.generic_plans = true;
	catalog_pool = db_pool_create(&pc);
	if (catalog_pool == NULL) {
		log_msg(LOG_ERROR, NULL, "cannot create the database pool");
		goto out;
	}
	app.pool = catalog_pool;

	info.service = SERVICE;
	info.version = OPS_VERSION;
	info.openapi_json = catalog_openapi_json;
	info.ready = catalog_ready;
	info.metrics_extra = catalog_metrics;
	ops_init(&info);
	rc = ops_serve(&c, catalog_routes, catalog_nroutes, &app);
out:
	db_pool_destroy(catalog_pool);
	return rc;
}
