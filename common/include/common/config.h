/* config.h - settings from the environment, described by a table, validated at start.
 *
 * Each daemon lists its variables in one array of struct cfg_var (the common ones come from
 * CFG_COMMON_VARS). cfg_load() fills the destinations, prints --help, and on a bad value prints one
 * line naming the variable and exits with status 2. cfg_parse() is the pure core, unit-tested. */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stddef.h>

/* CFG_HOST: an IPv4 or IPv6 address literal (const char *). CFG_BASE_PATH: "" or
 * "/seg[/seg...]" without a trailing '/' (const char *; see http_base_path_valid). */
enum cfg_kind { CFG_INT, CFG_STR, CFG_LOG_LEVEL, CFG_URL, CFG_HOST, CFG_BASE_PATH, CFG_CIDRS };
/* CFG_CIDRS: a comma/space-separated list of IP addresses and CIDRs, checked with
 * netaddr_list_parse (const char *; "" when unset). */

struct cfg_var {
	const char *name;  /* environment variable */
	const char *def;   /* default as text; NULL = unset allowed (CFG_STR/CFG_URL only) */
	enum cfg_kind kind;
	long long min, max; /* CFG_INT bounds, inclusive */
	void *dest;        /* int* for CFG_INT, const char** for CFG_STR/CFG_URL, enum log_level* */
	const char *help;  /* one sentence for --help */
};

/* The settings both daemons read. */
struct cfg_common {
	const char *database_url;   /* DATABASE_URL; NULL => libpq's PG* variables */
	int port;                   /* PORT */
	int http_threads;           /* HTTP_THREADS */
	int db_pool_size;           /* DB_POOL_SIZE */
	int db_statement_timeout_ms;/* DB_STATEMENT_TIMEOUT_MS */
	int db_pool_wait_ms;        /* DB_POOL_WAIT_MS: how long a request waits for a free connection */
	int max_body_bytes;         /* MAX_BODY_BYTES */
	int log_level;              /* LOG_LEVEL (enum log_level) */
	int shutdown_timeout_ms;    /* SHUTDOWN_TIMEOUT_MS: drain deadline on SIGTERM */
	int idle_timeout_s;         /* HTTP_IDLE_TIMEOUT_S: idle keep-alive connections are closed */
	const char *host;           /* HOST: listen address of both listeners */
	int admin_port;             /* ADMIN_PORT: health/ready/metrics listener; 0 = none */
	const char *base_path;      /* BASE_PATH (catalog only: CFG_BASE_PATH_VAR); NULL = none */
	int max_connections;        /* HTTP_MAX_CONNECTIONS */
	int max_connections_per_ip; /* HTTP_MAX_CONNECTIONS_PER_IP; 0 = no limit */
	int request_timeout_s;      /* HTTP_REQUEST_TIMEOUT_S: a request must be in within this */
	/* Observability (CFG_OBS_VARS). */
	const char *trusted_proxies; /* TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed */
	int log_slow_ms;             /* LOG_SLOW_MS: slower requests are logged at warn */
	const char *otlp_endpoint;   /* OTEL_EXPORTER_OTLP_ENDPOINT; NULL = no span export */
	int otlp_queue_size;         /* OTEL_BSP_MAX_QUEUE_SIZE */
	int otlp_batch_size;         /* OTEL_BSP_MAX_EXPORT_BATCH_SIZE */
	int otlp_delay_ms;           /* OTEL_BSP_SCHEDULE_DELAY */
	int otlp_timeout_ms;         /* OTEL_EXPORTER_OTLP_TIMEOUT */
};

/* The entries for struct cfg_common, to put first in a daemon's table:
 *   struct cfg_var vars[] = { CFG_COMMON_VARS(&c), { "CATALOG_SERVICE_URL", ... } }; */
#define CFG_COMMON_VARS(c) \
	{ "DATABASE_URL", NULL, CFG_STR, 0, 0, &(c)->database_url, "libpq connection URL; when unset libpq reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE" }, \
	{ "PORT", "8000", CFG_INT, 1, 65535, &(c)->port, "TCP port to listen on" }, \
	{ "HTTP_THREADS", "4", CFG_INT, 0, 256, &(c)->http_threads, "HTTP worker threads (libmicrohttpd thread pool); 0 = one thread per connection" }, \
	{ "DB_POOL_SIZE", "4", CFG_INT, 1, 256, &(c)->db_pool_size, "PostgreSQL connections kept open" }, \
	{ "DB_STATEMENT_TIMEOUT_MS", "5000", CFG_INT, 1, 600000, &(c)->db_statement_timeout_ms, "per-statement timeout in PostgreSQL" }, \
	{ "DB_POOL_WAIT_MS", "2000", CFG_INT, 1, 600000, &(c)->db_pool_wait_ms, "how long a request waits for a free connection before 503" }, \
	{ "MAX_BODY_BYTES", "1048576", CFG_INT, 1, 1073741824, &(c)->max_body_bytes, "largest accepted request body; larger gets 413" }, \
	{ "LOG_LEVEL", "info", CFG_LOG_LEVEL, 0, 0, &(c)->log_level, "debug, info (access log), warn or error" }, \
	{ "SHUTDOWN_TIMEOUT_MS", "10000", CFG_INT, 0, 600000, &(c)->shutdown_timeout_ms, "on SIGTERM, how long in-flight requests may take to finish" }, \
	{ "HTTP_IDLE_TIMEOUT_S", "30", CFG_INT, 1, 3600, &(c)->idle_timeout_s, "idle keep-alive connections are closed after this" }, \
	{ "HOST", "0.0.0.0", CFG_HOST, 0, 0, &(c)->host, "listen address (IPv4 or IPv6 literal) of the API and admin listeners" }, \
	{ "ADMIN_PORT", "9000", CFG_INT, 0, 65535, &(c)->admin_port, "admin listener (/health, /ready, /metrics on their own thread); 0 = off; must differ per process on one host" }, \
	{ "HTTP_MAX_CONNECTIONS", "512", CFG_INT, 1, 65536, &(c)->max_connections, "open connections at most (split across HTTP_THREADS); more wait in the backlog" }, \
	{ "HTTP_MAX_CONNECTIONS_PER_IP", "200", CFG_INT, 0, 65536, &(c)->max_connections_per_ip, "open connections per client address (more are closed unanswered); 0 = no limit (behind a proxy, all clients share its address)" }, \
	{ "HTTP_REQUEST_TIMEOUT_S", "10", CFG_INT, 1, 3600, &(c)->request_timeout_s, "a request (headers and body) must arrive within this, else the connection is closed" }

/* The observability settings (docs/observability.md), read by app_main after the common ones. */
#define CFG_OBS_VARS(c) \
	{ "TRUSTED_PROXIES", "", CFG_CIDRS, 0, 0, &(c)->trusted_proxies, "proxies (comma-separated IPs/CIDRs) whose X-Forwarded-For names the client in the access log; empty = none" }, \
	{ "LOG_SLOW_MS", "1000", CFG_INT, 0, 3600000, &(c)->log_slow_ms, "requests slower than this (ms) are logged at warn; 0 = never" }, \
	{ "OTEL_EXPORTER_OTLP_ENDPOINT", NULL, CFG_URL, 0, 0, &(c)->otlp_endpoint, "OTLP/HTTP collector base URL (spans go to <url>/v1/traces as JSON); unset = no export" }, \
	{ "OTEL_BSP_MAX_QUEUE_SIZE", "2048", CFG_INT, 1, 1000000, &(c)->otlp_queue_size, "spans waiting for export at most; more are dropped (otel_spans_dropped_total)" }, \
	{ "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "512", CFG_INT, 1, 100000, &(c)->otlp_batch_size, "spans per export request at most" }, \
	{ "OTEL_BSP_SCHEDULE_DELAY", "5000", CFG_INT, 1, 600000, &(c)->otlp_delay_ms, "longest wait (ms) before queued spans are exported" }, \
	{ "OTEL_EXPORTER_OTLP_TIMEOUT", "10000", CFG_INT, 1, 600000, &(c)->otlp_timeout_ms, "timeout (ms) of one export request" }

/* BASE_PATH, for a daemon whose public routes may sit under a prefix (the catalog). */
#define CFG_BASE_PATH_VAR(c) \
	{ "BASE_PATH", "", CFG_BASE_PATH, 0, 0, &(c)->base_path, "public routes are served under this prefix, e.g. /catalog (internal routes never are); empty = none" }

/* Authentication settings (common/auth.h checks them together with auth_config_check()). */
struct cfg_auth {
	const char *jwks;        /* AUTH_JWKS: file path, http(s):// URL, or the JWKS itself ('{'...) */
	const char *issuer;      /* AUTH_ISSUER */
	const char *audience;    /* AUTH_AUDIENCE */
	int leeway_s;            /* AUTH_LEEWAY_S */
	const char *roles_claim; /* AUTH_ROLES_CLAIM: dotted path */
	int jwks_refresh_s;      /* AUTH_JWKS_REFRESH_S */
	int disabled;            /* AUTH_DISABLED: 0 or 1 */
};

#define CFG_AUTH_VARS(a) \
	{ "AUTH_JWKS", NULL, CFG_STR, 0, 0, &(a)->jwks, "token-signing public keys (JWKS): a file path or an http(s):// URL such as the identity provider's /.well-known/jwks.json; required unless AUTH_DISABLED=1" }, \
	{ "AUTH_ISSUER", NULL, CFG_STR, 0, 0, &(a)->issuer, "required value of the tokens' iss claim" }, \
	{ "AUTH_AUDIENCE", NULL, CFG_STR, 0, 0, &(a)->audience, "value the tokens' aud claim must contain" }, \
	{ "AUTH_LEEWAY_S", "30", CFG_INT, 0, 600, &(a)->leeway_s, "clock skew allowed on exp, nbf and iat, in seconds" }, \
	{ "AUTH_ROLES_CLAIM", "roles", CFG_STR, 0, 0, &(a)->roles_claim, "claim holding the roles array; dotted paths allowed (Keycloak: realm_access.roles)" }, \
	{ "AUTH_JWKS_REFRESH_S", "300", CFG_INT, 1, 86400, &(a)->jwks_refresh_s, "how often the JWKS is reloaded (the last good set is kept when a reload fails)" }, \
	{ "AUTH_DISABLED", "0", CFG_INT, 0, 1, &(a)->disabled, "1 turns token checks off (development and the no-auth benchmark baseline only; warned at every start)" }

/* The shared secret of the internal (service-to-service) API. */
struct cfg_internal_token {
	const char *token;    /* INTERNAL_API_TOKEN */
	const char *previous; /* INTERNAL_API_TOKEN_PREVIOUS: still accepted during a rotation */
};

#define CFG_INTERNAL_TOKEN_VARS(t) \
	{ "INTERNAL_API_TOKEN", NULL, CFG_STR, 0, 0, &(t)->token, "shared secret of the internal API (at least 32 characters), sent as Authorization: Bearer" }, \
	{ "INTERNAL_API_TOKEN_PREVIOUS", NULL, CFG_STR, 0, 0, &(t)->previous, "the previous internal token, still accepted while a rotation is rolled out" }

/* Pure core: reads each variable through get(name) (getenv-like; NULL = unset), checks it and
 * writes the destination. Returns 0, or -1 with one line in err naming the variable and the rule,
 * e.g. "PORT: \"abc\" is not an integer between 1 and 65535". Strings point into get()'s storage. */
int cfg_parse(const struct cfg_var *vars, size_t n, const char *(*get)(const char *name),
	      char *err, size_t errlen);
/* Prints every variable with its default and help to stdout. */
void cfg_print_help(const char *prog, const char *summary, const struct cfg_var *vars, size_t n);
/* Whole start-up: --help/-h prints help (flags and variables) and exits 0; --version prints
 * "<program> <version> (commit <commit>)" (build_info.h) and exits 0; an unknown argument or a
 * bad value prints one line on stderr and exits 2. Arguments listed in extra_flags (NULL-terminated, e.g. "--migrate")
 * are allowed and left for the caller. Returns only on success. */
void cfg_load(int argc, char **argv, const char *summary, const struct cfg_var *vars, size_t n,
	      const char *const *extra_flags);

#endif
