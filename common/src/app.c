/* app.c - the start-up routine and the handlers' shared helpers (see app.h). */
#include "common/app.h"

#include <curl/curl.h>
#include <limits.h>
#include <signal.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "common/build_info.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/netaddr.h"
#include "common/ops.h"
#include "common/otlp.h"
#include "common/valid.h"


/* The app being served, for the readiness and metrics callbacks of ops.c (which take no
 * context). One per process. */
static struct app *app_current;

static int app_ready(char *reason, size_t len)
{
	char why[256] = "";

	/* The database only: a dependency's outage (the catalog, for orders) must not take pods
	 * out of service. libpq's text (host, port, user) goes to the log only: the answer is a
	 * fixed string. */
	if (db_ping(app_current->pool, why, sizeof(why)) == 0)
		return 0;
	why[sizeof(why) - 1] = '\0';
	log_msg(LOG_WARN, NULL, "not ready: %s", why);
	snprintf(reason, len, "database unavailable");
	return -1;
}

/* ---- access control (app.h) ------------------------------------------------------------- */

/* The identity a hook or handler verified on this thread: req->actor points into it, and the
 * server copies the actor after the hook or handler returns, on the same thread. */
static __thread struct auth_identity app_tls_id;

int app_auth_answer(struct http_resp *resp, enum auth_result r)
{
	switch (r) {
	case AUTH_OK:
		return 0;
	case AUTH_MISSING:
		http_resp_header(resp, "WWW-Authenticate", AUTH_WWW_MISSING);
		return http_error(resp, 401, AUTH_DETAIL_MISSING);
	case AUTH_INVALID:
		break;
	}
	http_resp_header(resp, "WWW-Authenticate", AUTH_WWW_INVALID);
	return http_error(resp, 401, AUTH_DETAIL_INVALID);
}

int app_forbidden(struct http_resp *resp)
{
	return http_error(resp, 403, AUTH_DETAIL_FORBIDDEN);
}

/* The first Authorization header and how many the request carried (two are refused). */
static const char *authorization(const struct http_req *req, int *count)
{
	const char *first = NULL;

	*count = 0;
	for (size_t i = 0; i < req->nheaders; i++) {
		if (req->headers[i].name != NULL &&
		    strcasecmp(req->headers[i].name, "Authorization") == 0) {
			if (first == NULL)
				first = req->headers[i].value;
			(*count)++;
		}
	}
	return first;
}

/* Verifies the bearer token into the thread's identity. AUTH_DISABLED (no verifier): an
 * admin. */
static enum auth_result caller_check(struct http_req *req, const struct app *app)
{
	const char *why = "ok";
	const char *hdr;
	enum auth_result r;
	int count;

	memset(&app_tls_id, 0, sizeof(app_tls_id));
	if (app->auth == NULL) {
		snprintf(app_tls_id.sub, sizeof(app_tls_id.sub), "%s", APP_AUTH_DISABLED_SUB);
		app_tls_id.admin = true;
		return AUTH_OK;
	}
	hdr = authorization(req, &count);
	r = auth_check_why(app->auth, hdr, count, &app_tls_id, &why);
	if (r == AUTH_OK)
		req->actor = app_tls_id.sub;
	else if (hdr != NULL)
		log_msg(LOG_DEBUG, req->request_id, "auth: token refused (%s)", why);
	return r;
}

int app_caller(struct http_req *req, struct http_resp *resp, struct auth_identity *id)
{
	const struct app *app = req->app;
	enum auth_result r = caller_check(req, app);

	if (r != AUTH_OK)
		return app_auth_answer(resp, r);
	*id = app_tls_id;
	return 0;
}

const char *app_internal_token(const struct app *app)
{
	return app->internal.has_current ? app->internal_cfg.token : NULL;
}

/* The pre_body hook of every app_main daemon: the route's access rule, then spec->pre_body. */
static int app_pre_body(struct http_req *req, struct http_resp *resp)
{
	const struct app *app = req->app;
	const char *hdr;
	enum auth_result r;
	int count;

	switch ((enum http_access)req->access) {
	case HTTP_ACCESS_PUBLIC:
		break;
	case HTTP_ACCESS_INTERNAL:
		if (!app->internal.has_current)
			break; /* AUTH_DISABLED=1 without INTERNAL_API_TOKEN (warned at start) */
		hdr = authorization(req, &count);
		if (!auth_internal_ok(&app->internal, hdr, count))
			return app_auth_answer(resp, hdr == NULL || count != 1 ? AUTH_MISSING
									      : AUTH_INVALID);
		req->actor = "internal";
		break;
	case HTTP_ACCESS_CUSTOMER:
	case HTTP_ACCESS_ADMIN:
		r = caller_check(req, app);
		if (r != AUTH_OK)
			return app_auth_answer(resp, r);
		if (req->access == HTTP_ACCESS_ADMIN && !app_tls_id.admin)
			return app_forbidden(resp);
		break;
	case HTTP_ACCESS_UNSET:
	default:
		return app_forbidden(resp); /* refused at start; never reached */
	}
	if (app->spec->pre_body != NULL)
		return app->spec->pre_body(req, resp);
	return 0;
}

/* Every route names its access rule (fail closed: one that forgot it stops the start). */
static int app_routes_checked(const struct http_route *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i].access == HTTP_ACCESS_UNSET) {
			log_msg(LOG_ERROR, NULL, "route %s %s has no access rule", r[i].method,
				r[i].pattern);
			return -1;
		}
	}
	return 0;
}

/* AUTH_* and INTERNAL_API_TOKEN*: 0, or the exit status (2 a bad or missing setting, 1 keys
 * that cannot be loaded). Runs before the pool exists, so a refused start needs no database. */
static int app_auth_init(struct app *app)
{
	char err[512] = "";
	int c;

	c = auth_config_check(&app->auth_cfg, err, sizeof(err));
	if (c < 0) {
		log_msg(LOG_ERROR, NULL, "refusing to start: %s", err);
		return 2;
	}
	/* An empty value is unset. */
	if (app->internal_cfg.token != NULL && app->internal_cfg.token[0] == '\0')
		app->internal_cfg.token = NULL;
	if (app->internal_cfg.previous != NULL && app->internal_cfg.previous[0] == '\0')
		app->internal_cfg.previous = NULL;
	if (app->internal_cfg.token != NULL || app->internal_cfg.previous != NULL || c == 0) {
		if (auth_internal_init(&app->internal, &app->internal_cfg, err, sizeof(err)) != 0) {
			log_msg(LOG_ERROR, NULL, "refusing to start: %s", err);
			return 2;
		}
	} else {
		log_msg(LOG_WARN, NULL,
			"auth: no INTERNAL_API_TOKEN: the internal API is open (AUTH_DISABLED=1)");
	}
	if (c == 1)
		return 0;
	app->auth = auth_verifier_new(&app->auth_cfg, err, sizeof(err));
	if (app->auth == NULL) {
		log_msg(LOG_ERROR, NULL, "refusing to start: %s", err);
		return 1;
	}
	log_msg(LOG_INFO, NULL, "auth: %zu signing key(s) loaded, issuer %s, audience %s",
		auth_verifier_key_count(app->auth), app->auth_cfg.issuer, app->auth_cfg.audience);
	return 0;
}

static void app_metrics(struct buf *out)
{
	db_pool_metrics(app_current->pool, out);
	if (app_current->spec->metrics != NULL)
		app_current->spec->metrics(out);
}

/* The common settings, the service's, then MIGRATIONS_DIR, in one table (the --help order). */
static void app_config(struct app *app, int argc, char **argv)
{
	static const char *const extra_flags[] = { "--migrate", NULL };
	const struct app_spec *spec = app->spec;
	struct cfg_var common[] = { CFG_COMMON_VARS(&app->cfg), CFG_OBS_VARS(&app->cfg) };
	struct cfg_var base_path = CFG_BASE_PATH_VAR(&app->cfg);
	struct cfg_var auth[] = { CFG_AUTH_VARS(&app->auth_cfg),
				  CFG_INTERNAL_TOKEN_VARS(&app->internal_cfg) };
	size_t nauth = sizeof(auth) / sizeof(auth[0]);
	struct cfg_var migrations = {
		"MIGRATIONS_DIR", NULL, CFG_STR, 0, 0, &app->migrations_dir,
		"folder of NNNN_*.sql files for --migrate (default /migrations if it exists, else "
		"db/migrations)"
	};
	size_t ncommon = sizeof(common) / sizeof(common[0]);
	size_t n = ncommon + (spec->base_path ? 1 : 0) + nauth + spec->nvars + 1;
	struct cfg_var *vars = calloc(n, sizeof(*vars));
	size_t k = ncommon;

	if (vars == NULL)
		abort();
	memcpy(vars, common, sizeof(common));
	if (spec->base_path)
		vars[k++] = base_path; /* only a service with a public prefix reads it */
	memcpy(vars + k, auth, sizeof(auth));
	k += nauth;
	if (spec->nvars > 0)
		memcpy(vars + k, spec->vars, spec->nvars * sizeof(*vars));
	vars[n - 1] = migrations;
	cfg_load(argc, argv, spec->summary, vars, n, extra_flags);
	free(vars);
}

/* Every registered statement table, concatenated (the pool keeps the pointer: never freed). */
static int app_statements(const struct app_spec *spec, struct db_pool_config *pc)
{
	struct db_stmt *all = NULL;
	size_t total = 0;

	for (size_t i = 0; i < spec->nstmts; i++) {
		const struct db_stmt *v = NULL;
		size_t n = 0;
		struct db_stmt *grown;

		spec->stmts[i](&v, &n);
		grown = realloc(all, (total + n) * sizeof(*all));
		if (grown == NULL && total + n > 0) {
			free(all);
			return -1;
		}
		all = grown;
		if (n > 0)
			memcpy(all + total, v, n * sizeof(*v));
		total += n;
	}
	pc->stmts = all;
	pc->nstmts = total;
	return 0;
}

/* Serves until SIGTERM/SIGINT, then drains. Returns 0, or 1 if the server could not start. */
static int app_serve(struct app *app)
{
	static struct http_route admin[APP_ADMIN_MAX_ROUTES] = { OPS_ADMIN_ROUTES };
	static struct netaddr_list trusted;
	char why[160];
	const struct app_spec *spec = app->spec;
	struct http_server_config hc;
	struct http_server *srv;
	size_t nadmin = 3;
	int sig;

	if (spec->openapi_internal_json != NULL)
		admin[nadmin++] = (struct http_route){ "GET", "/openapi-internal.json",
						       ops_openapi_internal, HTTP_INTERNAL,
						       HTTP_ACCESS_PUBLIC };
	for (size_t i = 0; i < spec->nadmin_routes; i++) {
		if (nadmin == APP_ADMIN_MAX_ROUTES) {
			log_msg(LOG_ERROR, NULL, "more than %d admin routes", APP_ADMIN_MAX_ROUTES);
			return 1;
		}
		admin[nadmin++] = spec->admin_routes[i];
	}
	memset(&hc, 0, sizeof(hc));
	hc.host = app->cfg.host;
	hc.port = app->cfg.port;
	hc.threads = app->cfg.http_threads;
	hc.max_body = (size_t)app->cfg.max_body_bytes;
	hc.idle_timeout_s = app->cfg.idle_timeout_s;
	hc.routes = spec->routes;
	hc.nroutes = spec->nroutes;
	hc.app = app;
	hc.base_path = app->cfg.base_path;
	hc.max_connections = app->cfg.max_connections;
	hc.max_connections_per_ip = app->cfg.max_connections_per_ip;
	hc.request_timeout_s = app->cfg.request_timeout_s;
	hc.pre_body = app_pre_body;
	hc.admin_port = app->cfg.admin_port;
	hc.admin_routes = admin;
	hc.nadmin_routes = nadmin;
	/* Checked by cfg_load already; parsed here into the list the server reads. */
	if (netaddr_list_parse(app->cfg.trusted_proxies, &trusted, why, sizeof(why)) != 0) {
		log_msg(LOG_ERROR, NULL, "TRUSTED_PROXIES: %s", why);
		return 1;
	}
	hc.trusted_proxies = &trusted;
	srv = http_server_start(&hc);
	if (srv == NULL)
		return 1;
	sig = http_signals_wait();
	log_msg(LOG_INFO, NULL, "received %s, draining for up to %d ms",
		sig == SIGTERM ? "SIGTERM" : "SIGINT", app->cfg.shutdown_timeout_ms);
	http_server_stop(srv, app->cfg.shutdown_timeout_ms);
	otlp_stop(); /* the last spans go out once no request can add one */
	log_msg(LOG_INFO, NULL, "stopped");
	return 0;
}

int app_main(const struct app_spec *spec, int argc, char **argv)
{
	static struct app app;
	struct db_pool_config pc;
	struct ops_info info;
	bool migrate = false;
	bool inited = false;
	bool curl_inited = false;
	bool refreshing = false;
	size_t started = 0;
	int rc = 1;

	memset(&app, 0, sizeof(app));
	memset(&pc, 0, sizeof(pc));
	app.spec = spec;
	app_config(&app, argc, argv);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--migrate") == 0)
			migrate = true;
	log_init(spec->service, (enum log_level)app.cfg.log_level);
	if (migrate)
		return db_migrate(app.cfg.database_url, app.migrations_dir) == 0 ? 0 : 1;
	/* A changed applied migration: refuse to start (the log names the file). */
	if (db_migrate_verify(app.cfg.database_url, app.migrations_dir) != 0)
		return 1;

	/* Before any thread (pool, libcurl, workers, server) starts, so all inherit the mask;
	 * --migrate stays interruptible. */
	http_signals_block();
	if (app_routes_checked(spec->routes, spec->nroutes) != 0 ||
	    app_routes_checked(spec->admin_routes, spec->nadmin_routes) != 0)
		return 1;
	/* libcurl's global init, once, before any thread (FIELD-NOTES.md): the JWKS fetch, the
	 * span exporter, the catalog client. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_msg(LOG_ERROR, NULL, "cannot initialise libcurl");
		return 1;
	}
	curl_inited = true;
	rc = app_auth_init(&app);
	if (rc != 0)
		goto out;
	rc = 1;
	log_set_slow_ms(app.cfg.log_slow_ms);
	/* bookstore_build_info: the same identity --version prints (build_info.h). */
	metrics_init(spec->service, build_version, build_commit);
	json_object_seed(0);
	pc.conninfo = app.cfg.database_url;
	pc.app_name = spec->service;
	pc.size = app.cfg.db_pool_size;
	pc.statement_timeout_ms = app.cfg.db_statement_timeout_ms;
	pc.wait_ms = app.cfg.db_pool_wait_ms;
	pc.generic_plans = spec->generic_plans;
	if (app_statements(spec, &pc) != 0 || (app.pool = db_pool_create(&pc)) == NULL) {
		log_msg(LOG_ERROR, NULL, "cannot create the database pool");
		goto out;
	}
	app_current = &app;
	memset(&info, 0, sizeof(info));
	info.service = spec->service;
	info.version = OPS_VERSION;
	info.openapi_json = spec->openapi_json;
	info.openapi_internal_json = spec->openapi_internal_json;
	info.ready = app_ready;
	info.metrics_extra = app_metrics;
	ops_init(&info);

	if (spec->init != NULL && spec->init(&app) != 0) {
		log_msg(LOG_ERROR, NULL, "%s: initialisation failed", spec->service);
		goto out;
	}
	inited = true;
	/* The JWKS refresh thread (AUTH_JWKS_REFRESH_S), first of the workers. */
	if (app.auth != NULL) {
		if (auth_verifier_start_refresh(app.auth) != 0) {
			log_msg(LOG_ERROR, NULL, "cannot start the JWKS refresh thread");
			goto out;
		}
		refreshing = true;
	}
	{
		struct otlp_config oc = { app.cfg.otlp_endpoint, spec->service, build_version,
					  app.cfg.otlp_queue_size, app.cfg.otlp_batch_size,
					  app.cfg.otlp_delay_ms,   app.cfg.otlp_timeout_ms };

		if (otlp_start(&oc) != 0) {
			log_msg(LOG_ERROR, NULL, "cannot start the span exporter");
			goto out;
		}
	}
	for (; started < spec->nworkers; started++) {
		if (spec->workers[started].start(&app) != 0) {
			log_msg(LOG_ERROR, NULL, "cannot start the %s thread",
				spec->workers[started].name);
			goto out;
		}
	}
	rc = app_serve(&app);
out:
	otlp_stop(); /* a no-op when it never started or app_serve stopped it */
	while (started > 0)
		spec->workers[--started].stop(&app);
	if (refreshing)
		auth_verifier_stop_refresh(app.auth);
	if (inited && spec->cleanup != NULL)
		spec->cleanup(&app);
	auth_verifier_free(app.auth);
	app.auth = NULL;
	db_pool_destroy(app.pool);
	app.pool = NULL;
	free((void *)pc.stmts);
	if (curl_inited)
		curl_global_cleanup();
	return rc;
}

struct db_pool *app_pool(const struct http_req *req)
{
	return ((const struct app *)req->app)->pool;
}

void *app_service(const struct http_req *req)
{
	return ((const struct app *)req->app)->service;
}

int app_db_failure(const struct http_req *req, struct http_resp *resp, enum db_status st)
{
	const struct db_error *e = db_last_error();

	switch (st) {
	case DB_UNAVAILABLE:
		log_msg(LOG_WARN, req->request_id, "database unavailable (sqlstate %s): %s",
			e->sqlstate, e->message);
		http_resp_header(resp, "Retry-After", APP_RETRY_AFTER_S);
		return http_error(resp, 503, "Database unavailable");
	case DB_CONFLICT:
	case DB_FK:
	case DB_CHECK:
		/* A constraint the validation could not foresee (e.g. a release that would push a
		 * stock past the integer range): the request conflicts with the stored data. */
		log_msg(LOG_WARN, req->request_id, "constraint (sqlstate %s): %s", e->sqlstate,
			e->message);
		return http_error(resp, 409, "Request conflicts with the stored data");
	default:
		log_msg(LOG_ERROR, req->request_id, "database error %d (sqlstate %s): %s", (int)st,
			e->sqlstate, e->message);
		return http_error(resp, 500, "Internal Server Error");
	}
}

int app_path_id_collect(const struct http_req *req, size_t index, const char *name,
			long long min, long long *out, json_t *errors)
{
	const char *s = index < req->nparams ? req->params[index] : NULL;

	return valid_text_ll(s, "path", name, min, LLONG_MAX, out, errors) == VALID_OK ? 0 : -1;
}

int app_path_id(const struct http_req *req, struct http_resp *resp, size_t index,
		const char *name, long long min, long long *out)
{
	json_t *errors = json_array();

	if (errors == NULL)
		abort();
	if (app_path_id_collect(req, index, name, min, out, errors) == 0) {
		json_decref(errors);
		return 0;
	}
	return http_validation_error(resp, errors);
}
