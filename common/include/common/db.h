/* db.h - a fixed-size PostgreSQL connection pool over libpq, and the migration runner.
 *
 * Connections are opened lazily, every statement in the service's table is prepared on each
 * (re)connect, sessions run with TimeZone=UTC and statement_timeout. A checkout waits at most
 * wait_ms (then DB_UNAVAILABLE -> 503), rolls back a connection left in a failed transaction and
 * reconnects a broken one, so a database restart heals without restarting the process.
 * The repo files are the only callers; PGresult never leaves them. This header does not include
 * <libpq-fe.h> (PGresult is libpq's typedef of struct pg_result): only db.c and the *_repo.c
 * files, which include it themselves, ever look inside a result. */
#ifndef COMMON_DB_H
#define COMMON_DB_H

#include <stdbool.h>
#include <stddef.h>

enum db_status {
	DB_OK,
	DB_NOT_FOUND,   /* for callers' own use: the pool never returns it */
	DB_CONFLICT,    /* 23505 unique_violation */
	DB_FK,          /* 23503 foreign_key_violation */
	DB_CHECK,       /* 23514 check_violation, 22003 numeric out of range, 22P02 bad text;
			   also every other class-22 data exception (22001, 22007, 22025...) */
	DB_UNAVAILABLE, /* cannot connect, pool wait timed out, 57014 statement timeout, 08xxx,
			   57P0x shutdown, 25006 read-only (a standby), 53xxx resources,
			   40001/40P01: answer 503 */
	DB_ERROR,       /* anything else (a bug): answer 500, logged with the message */
};

struct pg_result; /* libpq's PGresult */

/* THE SWITCH for the saga's asynchronous commits (docs/consistency.md, "Durability of each
 * commit"). The steps of POST /orders before its synchronous finalize (key claim, intent, the
 * catalog's reservation) and a few settle steps that recovery repeats commit with
 * synchronous_commit = off. That is safe only because the order tables and the catalog live in ONE
 * PostgreSQL cluster (one WAL, flushed in order): the finalize's flush makes them durable too. If
 * the catalog ever gets its own cluster, build with -DDB_SHARED_WAL=0 (or set it to 0 here): every
 * such commit then keeps the server's synchronous_commit. */
#ifndef DB_SHARED_WAL
#define DB_SHARED_WAL 1
#endif
/* An SQL expression that sets synchronous_commit for the current transaction only (set_config
 * with is_local = true, i.e. SET LOCAL). Used by order_repo.c (as a CTE of the one statement) and
 * reservation_repo.c (inside its transaction); nothing else may turn commits asynchronous. */
#if DB_SHARED_WAL
#define DB_SAGA_ASYNC_COMMIT_SQL "set_config('synchronous_commit', 'off', true)"
#else
#define DB_SAGA_ASYNC_COMMIT_SQL \
	"set_config('synchronous_commit', current_setting('synchronous_commit'), true)"
#endif

struct db_stmt {
	const char *name;
	const char *sql;
};

/* How a repo registers its prepared statements: it exports one function of this type that
 * hands out its table (static, or built once on the first call; never freed), and the service's
 * app_spec lists these functions (common/app.h). No hand-kept counts. */
typedef void (*db_stmts_fn)(const struct db_stmt **stmts, size_t *n);

struct db_pool_config {
	const char *conninfo;      /* URL or key=value; NULL/"" => libpq's PG* variables */
	const char *app_name;      /* application_name */
	int size;
	int statement_timeout_ms;
	int wait_ms;
	const struct db_stmt *stmts; /* prepared on every connection */
	size_t nstmts;
	/* true: sessions run with plan_cache_mode=force_generic_plan, so prepared statements
	 * are planned once, not per execution. Only for statement sets whose generic plans were
	 * checked (the catalog's); false keeps the server's default ("auto"). */
	bool generic_plans;
};

struct db_pool;
struct db_conn;

/* Allocates the pool; does not connect (a database that is down at start is not fatal).
 * Returns NULL only when out of memory. */
struct db_pool *db_pool_create(const struct db_pool_config *cfg);
/* Closes every connection. No connection may be checked out. NULL is a no-op. */
void db_pool_destroy(struct db_pool *pool);

/* Checks out a healthy, prepared connection, waiting at most wait_ms.
 * DB_OK with *conn, or DB_UNAVAILABLE. */
enum db_status db_acquire(struct db_pool *pool, struct db_conn **conn);
/* Returns a connection (rolls back an open transaction first). NULL is a no-op. */
void db_release(struct db_pool *pool, struct db_conn *conn);

/* Runs a prepared statement on a checked-out connection. values are text parameters (NULL =
 * SQL NULL). On DB_OK, *res holds a TUPLES_OK/COMMAND_OK result the caller PQclears; on any other
 * status *res is NULL and db_last_error() describes the failure. */
enum db_status db_run(struct db_conn *conn, const char *stmt, int nparams,
		      const char *const *values, struct pg_result **res);
/* Runs plain SQL without parameters (BEGIN, COMMIT...). Same contract as db_run. */
enum db_status db_run_sql(struct db_conn *conn, const char *sql, struct pg_result **res);

/* Acquire + run + release. When idempotent is true and the connection turns out broken (server
 * restarted), reconnects and runs once more. */
enum db_status db_exec(struct db_pool *pool, const char *stmt, int nparams,
		       const char *const *values, struct pg_result **res, bool idempotent);

/* Copies row `row` of a result into out (a repo's row reader). Returns 0, or -1 when a value
 * cannot be read (out is then left empty). */
typedef int (*db_row_fn)(const struct pg_result *res, int row, void *out);
/* db_exec / db_run for a statement that returns at most one row, copied with read: DB_OK with
 * *out filled, DB_NOT_FOUND when no row came back, DB_ERROR when read failed, or the failure.
 * The result never reaches the caller. */
enum db_status db_exec_row(struct db_pool *pool, const char *stmt, int nparams,
			   const char *const *values, bool idempotent, db_row_fn read, void *out);
enum db_status db_run_row(struct db_conn *conn, const char *stmt, int nparams,
			  const char *const *values, db_row_fn read, void *out);

/* Column copies for the repo files. db_col_dup: a malloc'd copy of the value (aborts when out of
 * memory), NULL for SQL NULL. db_col_ll: 0 with the integer in *out when the value is a decimal
 * integer in [min, max]; -1 for SQL NULL or anything else. */
char *db_col_dup(const struct pg_result *res, int row, int col);
int db_col_ll(const struct pg_result *res, int row, int col, long long min, long long max,
	      long long *out);

struct db_error {
	char sqlstate[6];
	char constraint[64];
	char message[256];
};
/* The calling thread's last failure (from db_run/db_exec/db_acquire). */
const struct db_error *db_last_error(void);

/* Runs SELECT 1. Returns 0, or -1 with a reason. When every connection is checked out (and
 * the last connect did not fail) it returns 0 at once instead of waiting for a slot: a busy
 * pool is a working database, and a readiness probe must not time out under load. */
int db_ping(struct db_pool *pool, char *reason, size_t len);

struct db_stats {
	int size, in_use;
	unsigned long waits, wait_timeouts, errors, reconnects;
};
void db_pool_stats(struct db_pool *pool, struct db_stats *out);
/* Appends the pool gauges db_pool_size, db_pool_in_use and db_pool_waiters in Prometheus
 * format. The pool's other series live in the metrics registry (metrics.h) from
 * db_pool_create on: db_pool_wait_seconds (histogram), db_pool_connect_failures_total and
 * db_statement_errors_total{sqlstate_class} (every failed statement, by SQLSTATE's first two
 * characters or "unknown"). */
struct buf;
void db_pool_metrics(struct db_pool *pool, struct buf *out);

/* Applies every pending dir/NNNN_*.sql in name order, each in its own transaction, recording it
 * in schema_migrations(version text primary key, applied_at timestamptz, checksum text: the
 * file's SHA-256 in hex). Holds a session advisory lock so replicas starting together apply each
 * file once. First compares every applied file with its recorded checksum: any difference is
 * logged naming the file and the run fails with nothing applied. Rows recorded before checksums
 * were kept get theirs from the files. Also (re)creates schema_migrations_checksums(), the
 * read-only view of (version, checksum) the services' roles may call. Returns 0 or -1 (logged).
 * dir NULL or "" means the default: /migrations when it exists (the container images), else
 * db/migrations (a checkout). */
int db_migrate(const char *conninfo, const char *dir);
/* The start-up check of a daemon: compares the files of dir (same default) with the checksums
 * recorded in schema_migrations (through schema_migrations_checksums(), so a service role without
 * rights on the table can check), read-only, on one short-lived connection (no retries). Returns -1
 * when an applied file was changed (each logged with its name: the daemon should refuse to
 * start), else 0 - also when nothing can be compared (folder missing, database unreachable or not
 * migrated, rows without checksums, a version without a file here), which is logged as a
 * warning: a database that is down at start is not fatal. */
int db_migrate_verify(const char *conninfo, const char *dir);

#endif
