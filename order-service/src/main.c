/* main.c - order-service: wiring only. What the daemon is made of is listed in one struct
 * app_spec (its settings, statements, routes, the catalog client and the recovery thread);
 * common/app.h's app_main does the rest (configuration, logging, pool, signals, serve, drain).
 *
 *   order-service            serve the order API on PORT
 *   order-service --migrate  apply db/migrations (MIGRATIONS_DIR) and exit 0/1
 *   order-service --help     list the environment variables */
#include "catalog_client.h"
#include "common/app.h"
#include "common/audit.h"
#include "order_metrics.h"
#include "common/log.h"
#include "order_saga.h"
#include "order_repo.h"
#include "recovery.h"
#include "routes.h"

/* The OpenAPI documents, embedded by CMake from order-service/openapi.json (public: exactly what
 * the edge routes) and openapi-internal.json (ops, audit: admin listener only). */
extern const char order_openapi_json[];
extern const char order_openapi_internal_json[];

/* The order service's own settings (filled by app_main from the environment). */
static const char *catalog_url;
static const char *catalog_base_path;
static int catalog_timeout_ms;
static int recovery_interval_ms;
static int intent_age_ms;
static int max_inflight, breaker_failures, breaker_open_ms;
static int backoff_base_ms, backoff_max_ms, parked_retry_ms;

/* What the handlers and the recovery thread run on (app->service). */
static struct order_saga saga;

static int order_init(struct app *app)
{
	saga.pool = app->pool;
	saga.catalog = &catalog_http_ops;
	saga.catalog_timeout_ms = catalog_timeout_ms;
	app->service = &saga;
	order_metrics_init();
	if (catalog_init(catalog_url, catalog_timeout_ms) != 0 ||
	    catalog_set_books_prefix(catalog_base_path) != 0 ||
	    catalog_set_internal_token(app_internal_token(app)) != 0) {
		catalog_global_cleanup();
		return -1;
	}
	/* Default: as many slots as workers (the bulkhead then never sheds healthy traffic: a
	 * burst of orders measured 15-33 % 503s with half), or 16 with a thread per connection.
	 * Set it below HTTP_THREADS to keep workers for database-only requests while a hung
	 * catalog holds the others until the breaker opens (README, "Sizing"). */
	if (max_inflight == 0)
		max_inflight = app->cfg.http_threads > 0 ? app->cfg.http_threads : 16;
	else if (app->cfg.http_threads > 0 && max_inflight > app->cfg.http_threads)
		log_msg(LOG_WARN, NULL,
			"CATALOG_MAX_INFLIGHT (%d) > HTTP_THREADS (%d): the bulkhead can never be "
			"reached",
			max_inflight, app->cfg.http_threads);
	catalog_resilience_init(max_inflight, breaker_failures, breaker_open_ms);
	log_msg(LOG_INFO, NULL, "order-service on port %d, catalog at %s", app->cfg.port,
		catalog_url);
	return 0;
}

static void order_cleanup(struct app *app)
{
	(void)app;
	catalog_global_cleanup();
}

static int recovery_worker_start(struct app *app)
{
	struct recovery_config rc = { 0 };

	(void)app;
	rc.saga = saga;
	rc.interval_ms = recovery_interval_ms;
	rc.limits.intent_age_ms = intent_age_ms;
	rc.limits.lease_ms = 60000 + 2LL * CATALOG_ATTEMPTS * catalog_timeout_ms;
	rc.limits.backoff_base_ms = backoff_base_ms;
	rc.limits.backoff_max_ms = backoff_max_ms;
	rc.limits.parked_retry_ms = parked_retry_ms;
	rc.limits.key_stale_ms = 4LL * intent_age_ms > 60000 ? 4LL * intent_age_ms : 60000;
	return recovery_start(&rc);
}

/* The breaker, the bulkhead and recovery's gauges, after the pool's on /metrics. */
static void order_metrics(struct buf *out)
{
	catalog_metrics(out);
	recovery_metrics(out);
}

static void recovery_worker_stop(struct app *app)
{
	(void)app;
	recovery_stop();
}

int main(int argc, char **argv)
{
	static const struct cfg_var vars[] = {
		{ "CATALOG_SERVICE_URL", "http://catalog-service:8000", CFG_URL, 0, 0, &catalog_url,
		  "base URL of the catalog service (a trailing / is ignored)" },
		{ "CATALOG_BASE_PATH", "", CFG_BASE_PATH, 0, 0, &catalog_base_path,
		  "the catalog's BASE_PATH (e.g. /catalog): book reads go under it, reservations never" },
		{ "CATALOG_TIMEOUT_MS", "2000", CFG_INT, 10, 600000, &catalog_timeout_ms,
		  "connect and total timeout of one call to the catalog" },
		{ "RECOVERY_INTERVAL_MS", "5000", CFG_INT, 10, 3600000, &recovery_interval_ms,
		  "pause between recovery passes (half-done orders are finished or undone)" },
		{ "RECOVERY_INTENT_AGE_MS", "15000", CFG_INT, 100, 3600000, &intent_age_ms,
		  "an order still reserving after this long is considered abandoned and undone" },
		{ "CATALOG_MAX_INFLIGHT", "0", CFG_INT, 0, 4096, &max_inflight,
		  "bulkhead: concurrent catalog calls per process; past it POST /orders answers 503 at once (0 = HTTP_THREADS, or 16 when HTTP_THREADS is 0; below HTTP_THREADS keeps workers free while the catalog hangs)" },
		{ "CATALOG_BREAKER_FAILURES", "5", CFG_INT, 1, 1000, &breaker_failures,
		  "consecutive catalog failures or timeouts that open the circuit breaker" },
		{ "CATALOG_BREAKER_OPEN_MS", "5000", CFG_INT, 10, 3600000, &breaker_open_ms,
		  "how long an open breaker fails catalog calls fast before one trial call" },
		{ "RECOVERY_BACKOFF_BASE_MS", "1000", CFG_INT, 0, 3600000, &backoff_base_ms,
		  "first retry delay of a recovery item after a transient failure (doubles per attempt, jittered)" },
		{ "RECOVERY_BACKOFF_MAX_MS", "300000", CFG_INT, 0, 86400000, &backoff_max_ms,
		  "cap of a recovery item's retry delay" },
		{ "RECOVERY_PARKED_RETRY_MS", "600000", CFG_INT, 0, 86400000, &parked_retry_ms,
		  "retry cadence of a parked recovery item (one the catalog refused with a 4xx)" },
	};
	static const db_stmts_fn stmts[] = { order_repo_stmts, audit_stmts };
	static const struct app_worker workers[] = {
		{ "recovery", recovery_worker_start, recovery_worker_stop },
	};
	struct app_spec spec = {
		.service = "order-service",
		.summary = "order-service: orders over HTTP, stock reserved in the catalog",
		.openapi_json = order_openapi_json,
		.openapi_internal_json = order_openapi_internal_json,
		.vars = vars,
		.nvars = sizeof(vars) / sizeof(vars[0]),
		.stmts = stmts,
		.nstmts = sizeof(stmts) / sizeof(stmts[0]),
		.routes = order_routes,
		.audit_entity = "order",
		.nroutes = order_nroutes,
		.init = order_init,
		.cleanup = order_cleanup,
		.metrics = order_metrics,
		.workers = workers,
		.nworkers = sizeof(workers) / sizeof(workers[0]),
	};

	return app_main(&spec, argc, argv);
}
