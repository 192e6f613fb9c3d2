/* app.h - what both daemons share above the HTTP server: the app struct, the one start-up
 * routine, and the helpers every handler uses (the pool behind a request, the one database
 * error answer, path ids).
 *
 * A daemon's main.c describes itself in a struct app_spec and calls app_main(), which does, in
 * order: read the common settings, the service's own and MIGRATIONS_DIR (--help, --version,
 * exit 2 on a bad value); start logging; for --migrate apply the migrations and exit; refuse to
 * start (exit 1) if an applied migration file was changed (db_migrate_verify); block SIGTERM/SIGINT
 * (every thread started later inherits the mask); create the pool with every registered prepared
 * statement; call spec->init; start spec->workers; serve spec->routes on PORT until a signal;
 * drain; stop the workers in reverse order; call spec->cleanup; destroy the pool.
 *
 * The admin listener (ADMIN_PORT: /health, /ready, /metrics and spec->admin_routes on their
 * own threads) is served next to PORT. Growing it (planned, not built yet): a second pool (read replicas) is a second
 * struct db_pool in struct app with its own URL setting; background workers (JWKS refresh,
 * exporter, recovery) are struct app_worker entries, as recovery already is. */
#ifndef COMMON_APP_H
#define COMMON_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/auth.h"
#include "common/buf.h"
#include "common/config.h"
#include "common/db.h"
#include "common/http.h"

/* The process-wide state app_main builds; req->app points to it in every handler. */
struct app {
	const struct app_spec *spec;
	struct cfg_common cfg;      /* the common settings (PORT, DB_*, LOG_LEVEL, ...) */
	const char *migrations_dir; /* MIGRATIONS_DIR; NULL = the default */
	struct db_pool *pool;       /* the service's pool (lives from before init to the end) */
	void *service;              /* the service's own state for its handlers (e.g. the order
				       saga), set by spec->init; NULL when there is none */
	/* Authentication (docs/auth.md): AUTH_* and INTERNAL_API_TOKEN*, read for every service. */
	struct cfg_auth auth_cfg;
	struct cfg_internal_token internal_cfg;
	struct auth_verifier *auth; /* NULL only when AUTH_DISABLED=1 (or in handler unit tests) */
	struct auth_internal internal; /* has_current false: no INTERNAL_API_TOKEN (disabled only) */
};

/* A background thread that lives as long as the server: started after spec->init, stopped
 * (joined) after the server has drained, in reverse order. */
struct app_worker {
	const char *name;              /* for the log */
	int (*start)(struct app *app); /* 0, or -1: the daemon then logs it and exits 1 */
	void (*stop)(struct app *app); /* blocks until the thread is gone */
};

struct app_spec {
	const char *service;      /* "catalog-service": logs, application_name, metrics, GET / */
	const char *summary;      /* the first line of --help */
	const char *openapi_json; /* served at /openapi.json */
	/* The internal document (ops, audit, internal APIs: what the edge never routes), served on
	 * the admin listener at /openapi-internal.json. May be NULL. */
	const char *openapi_internal_json;
	const struct cfg_var *vars; /* the service's own settings (after the common ones) */
	size_t nvars;
	const db_stmts_fn *stmts; /* every repo's statement table, prepared on each connection */
	size_t nstmts;
	bool generic_plans;       /* see db_pool_config.generic_plans */
	const struct http_route *routes;
	size_t nroutes;
	/* Called once the pool exists, before any thread is started (e.g. libcurl's global init).
	 * Returns 0, or -1 (the daemon exits 1). May be NULL. */
	int (*init)(struct app *app);
	/* Called at the very end, after the workers stopped and only if init succeeded. May be
	 * NULL. */
	void (*cleanup)(struct app *app);
	/* Appends the service's own samples to /metrics (after the pool's). May be NULL. */
	void (*metrics)(struct buf *out);
	const struct app_worker *workers;
	size_t nworkers;
	/* Reads BASE_PATH: the public routes are served under that prefix (the catalog). */
	bool base_path;
	/* Routes served on ADMIN_PORT after /health, /ready and /metrics (e.g. internal
	 * documents); at most APP_ADMIN_MAX_ROUTES in all. May be NULL. */
	const struct http_route *admin_routes;
	size_t nadmin_routes;
	/* The server's early decision once the headers are in (see http.h), run after the
	 * route's access rule passed. May be NULL. */
	http_pre_body_fn pre_body;
	/* The audit_log entity this service writes and serves at GET /audit ("book", "order"). */
	const char *audit_entity;
};
#define APP_ADMIN_MAX_ROUTES 32

/* The sub recorded for writes while AUTH_DISABLED=1 (every caller is then an admin). */
#define APP_AUTH_DISABLED_SUB "auth-disabled"

/* The whole life of a daemon (see the top of this file). Returns the process exit status: 0 after
 * a clean stop or a successful --migrate, 1 when something could not start. Exits 0 for --help
 * and 2 for a bad setting or argument. */
int app_main(const struct app_spec *spec, int argc, char **argv);

/* The pool behind a request served by app_main (req->app is the struct app). */
struct db_pool *app_pool(const struct http_req *req);
/* The service's own state behind a request (struct app.service). */
void *app_service(const struct http_req *req);

/* Access control. app_main installs a pre_body hook that applies each route's access rule
 * (struct http_route.access) once the headers are in, before any body byte is read:
 *   PUBLIC    nothing checked (a token, valid or not, is not looked at);
 *   CUSTOMER  a valid bearer token, else 401;
 *   ADMIN     a valid bearer token with the admin role, else 401 (no or bad token) / 403;
 *   INTERNAL  Authorization: Bearer <INTERNAL_API_TOKEN or _PREVIOUS> (constant time), else
 *             401; a user token, admin included, never opens it.
 * 401: {"detail":"Not authenticated"} + WWW-Authenticate: Bearer when there are no usable
 * credentials (none, another scheme, two Authorization headers); {"detail":"Could not validate
 * credentials"} + WWW-Authenticate: Bearer error="invalid_token" for a token that does not
 * verify. 403 {"detail":"Not enough permissions"}. A token in the query string is never read.
 * Then spec->pre_body (if any) runs. With AUTH_DISABLED=1 every caller passes as an admin whose
 * sub is APP_AUTH_DISABLED_SUB (and INTERNAL routes are open unless INTERNAL_API_TOKEN is set). */

/* The caller of a CUSTOMER or ADMIN route, for the handler's ownership decisions and the audit
 * actor: verifies the Authorization header again (a cache hit after the hook) and fills *id,
 * sets req->actor. Returns 0, or 401 with resp filled (e.g. the token expired between the hook
 * and the handler). Never blocks on I/O. */
int app_caller(struct http_req *req, struct http_resp *resp, struct auth_identity *id);
/* Fills resp with the answer for r (AUTH_MISSING / AUTH_INVALID -> 401 with WWW-Authenticate)
 * and returns the status; 0 for AUTH_OK. */
int app_auth_answer(struct http_resp *resp, enum auth_result r);
/* 403 {"detail":"Not enough permissions"}. */
int app_forbidden(struct http_resp *resp);
/* The internal token this process sends on service-to-service calls (INTERNAL_API_TOKEN), or
 * NULL when none is configured. Valid after app_main read the settings. */
const char *app_internal_token(const struct app *app);

/* The ONE answer for a failed database call (DECISIONS.md, "Database errors -> HTTP"), per
 * the db_status that db.c's SQLSTATE table gives:
 *   DB_CONFLICT, DB_FK, DB_CHECK (23505 unique, 23503 foreign key, 23514 check, class 22 data)
 *     -> 409 {"detail":"Request conflicts with the stored data"}
 *   DB_UNAVAILABLE (no connection, pool wait timed out, 08xxx, 57014, 57P0x, 25006, 53xxx,
 *     40001, 40P01) -> 503 {"detail":"Database unavailable"} with Retry-After: 2
 *   anything else (DB_ERROR; also DB_OK/DB_NOT_FOUND passed by mistake) -> 500
 *     {"detail":"Internal Server Error"}
 * 4xx answers are permanent for a caller, 503 transient. Handlers answer the statuses they know
 * better first (a duplicate ISBN's 409, a missing row's 404) and pass the rest here. Logs the
 * SQLSTATE and message (warn for 409/503, error for 500). Returns the status. */
int app_db_failure(const struct http_req *req, struct http_resp *resp, enum db_status st);
#define APP_RETRY_AFTER_S "2"

/* The one path-id parser (valid_text_ll on the path). Reads path parameter index (named name in
 * the 422) as a decimal integer. Returns 0 with *out in [min, LLONG_MAX]; otherwise 422 with resp
 * filled: "int_parsing" with the input for anything that is not an integer, a range entry
 * ("greater_than_equal" / "less_than_equal") for an integer outside [min, 2^63-1], 0 and
 * negatives included when min is 1 (DECISIONS.md, "Integers"). */
int app_path_id(const struct http_req *req, struct http_resp *resp, size_t index,
		const char *name, long long min, long long *out);
/* The same check for handlers that collect every bad field before answering: 0 with *out, or
 * -1 with the entry appended to errors. */
int app_path_id_collect(const struct http_req *req, size_t index, const char *name,
			long long min, long long *out, json_t *errors);

#endif
