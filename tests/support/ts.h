/* ts.h - integration-test support: throwaway databases on the test PostgreSQL server, real
 * daemons spawned on free loopback ports, and an HTTP client (libcurl) that decodes JSON.
 *
 * The test PostgreSQL server is started by the ctest fixture `pg` (scripts/pg.sh); its admin URL
 * is read from the file named by TEST_PG_URL_FILE. Daemon binaries come from CATALOG_BIN and
 * ORDER_BIN; the migrations folder from MIGRATIONS_DIR (all set by CMake on each test). */
#ifndef TESTS_TS_H
#define TESTS_TS_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* The database roles (db/setup/roles.sql, DECISIONS "Roles and secrets"): the migration owner and
 * the login roles the services connect as (members of the NOLOGIN groups catalog and orders). */
#define TS_ROLE_OWNER "bookstore_owner"
#define TS_ROLE_CATALOG "catalog_app"
#define TS_ROLE_ORDERS "orders_app"

/* The admin URL of the test server (static storage). Aborts the test if missing. */
const char *ts_pg_admin_url(void);
/* Creates a new empty database set up like every bookstore database: the roles are created on
 * the server if missing (db/setup/roles.sql; idempotent, safe from parallel tests), the database
 * belongs to TS_ROLE_OWNER (db/setup/database.sql), db/migrations are applied as TS_ROLE_OWNER.
 * Returns the owner's URL (malloc'd): use it for assertions and direct SQL, and
 * ts_db_url_as(url, TS_ROLE_CATALOG / TS_ROLE_ORDERS) for the services. With seed != 0 also loads
 * db/seed/books.sql (as the owner). Aborts the test on failure. */
char *ts_db_create(int seed);
/* db_url with its user (and password) replaced by role, same host, database and options
 * (malloc'd). The test server trusts loopback, so no password is needed. */
char *ts_db_url_as(const char *db_url, const char *role);
/* Runs db/setup/<file> (plain SQL) on url as one PQexec; returns 0, or -1 with the server's
 * message in *err (malloc'd; may be NULL). Aborts the test if the file cannot be read. */
int ts_db_setup_sql(const char *url, const char *file, char **err);
/* Runs one SQL statement on url and returns the first column of the first row (malloc'd; NULL
 * if no row). Aborts on error. For assertions on database state. */
char *ts_sql(const char *url, const char *sql);

struct ts_proc {
	pid_t pid;
	int port;
	char url[64];      /* "http://127.0.0.1:PORT" */
	char log_path[256];/* stdout+stderr of the daemon */
	int admin_port;    /* ADMIN_PORT given to it (a free port unless env sets it; 0 = none) */
	char admin_url[64];/* "http://127.0.0.1:ADMIN_PORT", "" when there is none */
};

/* Spawns binary (a path) with the current environment plus env ("K=V", NULL-terminated; PORT
 * and ADMIN_PORT are chosen free and set here unless env sets them, HOST is 127.0.0.1 unless
 * env sets it; authentication is on with the test key: AUTH_JWKS=ts_jwks_path() unless env sets
 * AUTH_JWKS or AUTH_DISABLED, AUTH_ISSUER=TS_ISSUER, AUTH_AUDIENCE=TS_AUDIENCE and
 * INTERNAL_API_TOKEN=TS_INTERNAL_TOKEN unless env sets them), waits until GET /health answers
 * 200 (10 s max).
 * Returns 0, or -1 if it exited or never answered (log_path tells why). */
int ts_spawn(struct ts_proc *p, const char *binary, const char *const *env);
/* Like ts_spawn but does not wait for /health (for tests of bad configuration). */
int ts_spawn_nowait(struct ts_proc *p, const char *binary, const char *const *env);
/* Sends sig and waits up to timeout_ms for the exit. Returns the exit status (as from
 * WEXITSTATUS), 128+signal if killed by a signal, or -1 if it did not exit (then SIGKILLed). */
int ts_stop(struct ts_proc *p, int sig, int timeout_ms);
/* A free TCP port on 127.0.0.1 (bind to port 0, read, close). */
int ts_free_port(void);
/* Runs a command line through /bin/sh, returns its exit status. */
int ts_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct ts_resp {
	long status;       /* 0 when the request failed at the transport level */
	char *body;        /* NUL-terminated raw body */
	size_t body_len;
	json_t *json;      /* parsed body, or NULL if not JSON */
	char *headers;     /* raw response header block */
};

/* Performs method url with an optional body (sent as application/json unless a Content-Type is
 * among headers) and extra headers ("Name: value", NULL-terminated, may be NULL). Unless headers
 * name Authorization, it sends "Authorization: Bearer" with the internal token when the URL
 * contains "/reservations" and an admin token (ts_admin_token) otherwise; pass
 * "Authorization:" to send none. 10 s timeout.
 * Returns 0 (resp filled; status may be any code) or -1 on transport failure (resp->status 0). */
int ts_http(struct ts_resp *resp, const char *method, const char *url, const char *body,
	    const char *const *headers);
/* Convenience: ts_http on base + path formatted. */
int ts_req(struct ts_resp *resp, const char *method, const char *base, const char *body,
	   const char *path_fmt, ...) __attribute__((format(printf, 5, 6)));
/* A response header value (case-insensitive name, malloc'd) or NULL. */
char *ts_header(const struct ts_resp *resp, const char *name);
void ts_resp_free(struct ts_resp *resp);
/* Convenience accessors on resp->json (NULL/0 when absent). */
const char *ts_str(const json_t *obj, const char *key);
long long ts_int(const json_t *obj, const char *key);

/* Authentication for tests (DECISIONS.md: the one test-support helper). A process-wide RSA key
 * (kid "ts-key-1") whose JWKS is written to ts_jwks_path(); spawned daemons trust it. */
#define TS_ISSUER "http://localhost/test"
#define TS_AUDIENCE "bookstore"
#define TS_INTERNAL_TOKEN "ts-internal-token-0123456789abcdef0123456789abcdef"
struct token_key;
const struct token_key *ts_auth_key(void);
const char *ts_jwks_path(void);
/* A valid token for sub with email (NULL = none), the admin role or none, valid ttl_s seconds
 * (negative: already expired). malloc'd. */
char *ts_token(const char *sub, const char *email, int admin, long ttl_s);
/* An admin token (sub "ts-admin", valid 1 h; static storage) and the internal token. */
const char *ts_admin_token(void);
const char *ts_internal_token(void);

#endif
