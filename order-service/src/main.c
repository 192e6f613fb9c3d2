/* main.c - order-service wiring: configuration, pool, catalog client, recovery thread, routes.
 * `order-service --migrate` applies db/migrations and exits (0 ok, 1 failure). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "catalog_client.h"
#include "common/config.h"
#include "common/db.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/ops.h"
#include "order_http.h"
#include "order_repo.h"
#include "recovery.h"
#include "routes.h"

extern const char order_openapi_json[];

static struct db_pool *main_pool;

static int ready(char *reason, size_t len)
{
	/* The database only: a catalog outage must not take order pods out of service. */
	return db_ping(main_pool, reason, len);
}

static void metrics_extra(struct buf *out)
{
	/* Catalog call counters and latencies live in the metrics registry (catalog_client.c). */
	db_pool_metrics(main_pool, out);
}

int main(int argc, char **argv)
{
	static const char *const extra_flags[] = { "--migrate", NULL };
	struct cfg_common c = { 0 };
	const char *catalog_url = NULL, *mig_dir = NULL;
	int catalog_timeout_ms = 0, recovery_interval_ms = 0, intent_age_ms = 0;
	struct cfg_var vars[] = {
		CFG_COMMON_VARS(&c),
		{ "CATALOG_SERVICE_URL", "http://catalog-service:8000", CFG_URL, 0, 0, &catalog_url,
		  "base URL of the catalog service (a trailing / is ignored)" },
		{ "CATALOG_TIMEOUT_MS", "2000", CFG_INT, 10, 600000, &catalog_timeout_ms,
		  "connect and total timeout of one call to the catalog" },
		{ "RECOVERY_INTERVAL_MS", "5000", CFG_INT, 10, 3600000, &recovery_interval_ms,
		  "pause between recovery passes (half-done orders are finished or undone)" },
		{ "RECOVERY_INTENT_AGE_MS", "15000", CFG_INT, 100, 3600000, &intent_age_ms,
		  "an order still reserving after this long is considered abandoned and undone" },
		{ "MIGRATIONS_DIR", NULL, CFG_STR, 0, 0, &mig_dir,
		  "migrations folder for --migrate (default /migrations if it exists, else db/migrations)" },
	};
	const size_t nvars = sizeof vars / sizeof vars[0];
	struct db_pool_config pc = { 0 };
	struct recovery_config rc = { 0 };
	struct order_app app = { 0 };
	struct ops_info info = { 0 };
	bool migrate = false;
	int i, status = 1;

	cfg_load(argc, argv, "order-service: orders over HTTP, stock reserved in the catalog", vars,
		 nvars, extra_flags);
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--migrate") == 0)
			migrate = true;
	log_init("order-service", (enum log_level)c.log_level);
	if (migrate)
		return db_migrate(c.database_url, mig_dir) == 0 ? 0 : 1;

	http_signals_block(); /* before any thread, so all inherit the mask */
	if (catalog_global_init() != 0 || catalog_init(catalog_url, catalog_timeout_ms) != 0) {
		log_msg(LOG_ERROR, NULL, "cannot initialise the catalog client");
		return 1;
	}
	json_object_seed(0);
	metrics_init("order-service");

	pc.conninfo = c.database_url;
	pc.app_name = "order-service";
	pc.size = c.db_pool_size;
	pc.statement_timeout_ms = c.db_statement_timeout_ms;
	pc.wait_ms = c.db_pool_wait_ms;
	order_repo_stmts(&pc.stmts, &pc.nstmts);
	main_pool = db_pool_create(&pc);
	if (main_pool == NULL) {
		log_msg(LOG_ERROR, NULL, "cannot create the database pool");
		goto out;
	}
	app.saga.pool = main_pool;
	app.saga.catalog = &catalog_http_ops;
	app.saga.catalog_timeout_ms = catalog_timeout_ms;

	info.service = "order-service";
	info.version = OPS_VERSION;
	info.openapi_json = order_openapi_json;
	info.ready = ready;
	info.metrics_extra = metrics_extra;
	ops_init(&info);

	rc.saga = app.saga;
	rc.interval_ms = recovery_interval_ms;
	rc.limits.intent_age_ms = intent_age_ms;
	rc.limits.lease_ms = 2LL * CATALOG_ATTEMPTS * catalog_timeout_ms + 1000;
	rc.limits.key_stale_ms = 4LL * intent_age_ms > 60000 ? 4LL * intent_age_ms : 60000;
	if (recovery_start(&rc) != 0) {
		log_msg(LOG_ERROR, NULL, "cannot start the recovery thread");
		goto out;
	}
	log_msg(LOG_INFO, NULL, "order-service listening on port %d, catalog at %s", c.port,
		catalog_url);
	status = ops_serve(&c, order_routes, order_nroutes, &app);
	recovery_stop();
out:
	db_pool_destroy(main_pool);
	catalog_global_cleanup();
	return status;
}
