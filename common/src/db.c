/* db.c - a fixed-size PostgreSQL connection pool over libpq (see db.h).
 *
 * Slots are handed out under a mutex + condition variable with a deadline. Everything that
 * talks to the server (connect, prepare, rollback) happens outside the mutex on a slot the
 * caller already owns, so a slow or failing connect never blocks other threads' checkouts.
 * Connecting is asynchronous (PQconnectStartParams + poll) and bounded by the checkout
 * deadline. After a failed connect, checkouts that would need a new connection fail fast for a
 * short back-off instead of each waiting on a dead server. */
#include "common/db.h"

#include "common/buf.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/valid.h"

#include <libpq-fe.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long checkouts fail fast after a failed connect (ms). */
#define DB_CONNECT_BACKOFF_MS 200
/* The shortest time a connect attempt gets, even late in a checkout's wait (ms). */
#define DB_CONNECT_MIN_MS 1000
#define DB_ANSWER_MARGIN_MS 100

struct db_conn {
	struct db_pool *pool;
	PGconn *pg;          /* NULL when not connected */
	bool in_use;         /* guarded by pool->mu */
	bool ever_connected; /* a later connect counts as a reconnect */
};

struct db_pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *conninfo;
	char *app_name;
	char options[256];
	int size;
	int wait_ms;
	int answer_ms;           /* client-side bound of one statement: statement_timeout + margin */
	const struct db_stmt *stmts;
	size_t nstmts;
	struct db_conn *conns;
	int in_use;              /* guarded by mu */
	int64_t retry_after_ms;  /* guarded by mu: monotonic time before which we do not connect */
	char down_reason[128];   /* guarded by mu: why the last connect failed */
	int waiters;             /* guarded by mu: callers waiting for a free slot */
	atomic_ulong waits, wait_timeouts, errors, reconnects;
	atomic_llong last_ok_ms; /* monotonic time the last statement succeeded */
	struct metrics_series *wait_seconds;     /* db_pool_wait_seconds */
	struct metrics_series *connect_failures; /* db_pool_connect_failures_total */
};

#define DB_STATEMENT_ERRORS "db_statement_errors_total"
#define DB_STATEMENT_ERRORS_HELP \
	"Statements that failed, by the first two characters of their SQLSTATE."

/* Counts a failed statement by SQLSTATE class: two characters of [0-9A-Z] (SQLSTATE's
 * alphabet), else "unknown", so the label stays bounded whatever libpq reports. */
static void count_statement_error(const char *sqlstate)
{
	char labels[40];
	int ok = sqlstate != NULL && strlen(sqlstate) == 5;

	for (int i = 0; ok && i < 2; i++) {
		char c = sqlstate[i];

		ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
	}
	snprintf(labels, sizeof(labels), "sqlstate_class=\"%.2s\"", ok ? sqlstate : "unknown");
	if (!ok)
		snprintf(labels, sizeof(labels), "sqlstate_class=\"unknown\"");
	metrics_count(DB_STATEMENT_ERRORS, DB_STATEMENT_ERRORS_HELP, labels, 1);
}

static _Thread_local struct db_error db_tls_error;

const struct db_error *db_last_error(void)
{
	return &db_tls_error;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies at most dstlen-1 bytes of src and terminates (src may be NULL). */
static void copy_text(char *dst, size_t dstlen, const char *src)
{
	size_t n;

	if (src == NULL)
		src = "";
	n = strlen(src);
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	/* libpq messages end in a newline; a log line should not. */
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r'))
		dst[--n] = '\0';
}

/* Records the failure for db_last_error(); the message keeps its first line only (libpq adds
 * hints and "LINE 1: ..." context on the following ones). */
static void set_error(const char *sqlstate, const char *constraint, const char *message)
{
	char *nl;

	copy_text(db_tls_error.sqlstate, sizeof(db_tls_error.sqlstate), sqlstate);
	copy_text(db_tls_error.constraint, sizeof(db_tls_error.constraint), constraint);
	copy_text(db_tls_error.message, sizeof(db_tls_error.message), message);
	nl = strchr(db_tls_error.message, '\n');
	if (nl != NULL)
		*nl = '\0';
}

/* The error text of a failed result: the primary message, else libpq's full text. */
static const char *result_message(PGconn *pg, const PGresult *r)
{
	const char *m = r != NULL ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (m == NULL && r != NULL)
		m = PQresultErrorMessage(r);
	if (m == NULL || m[0] == '\0')
		m = PQerrorMessage(pg);
	return m;
}

/* Maps a SQLSTATE (may be NULL or empty) to a status, per db.h. */
static enum db_status map_sqlstate(const char *st)
{
	if (st == NULL || strlen(st) != 5)
		return DB_ERROR;
	if (strcmp(st, "23505") == 0)
		return DB_CONFLICT;
	if (strcmp(st, "23503") == 0)
		return DB_FK;
	/* Class 22 (data exception: bad text for a type, out of range, too long, invalid escape in
	 * a LIKE pattern, character not in repertoire...) is always about a value, i.e. input the
	 * client sent: a 422, never a 500. */
	if (strcmp(st, "23514") == 0 || strncmp(st, "22", 2) == 0)
		return DB_CHECK;
	if (strcmp(st, "57014") == 0 || strncmp(st, "08", 2) == 0 || strncmp(st, "57P0", 4) == 0 ||
	    strcmp(st, "25006") == 0 ||
	    strncmp(st, "53", 2) == 0 || strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0)
		return DB_UNAVAILABLE;
	return DB_ERROR;
}

/* Notices (e.g. "relation already exists, skipping") go to the debug log, not stderr. */
static void db_notice(void *arg, const char *message)
{
	char text[256];

	(void)arg;
	if (!log_enabled(LOG_DEBUG))
		return;
	copy_text(text, sizeof(text), message);
	log_msg(LOG_DEBUG, NULL, "postgres: %s", text);
}

struct db_pool *db_pool_create(const struct db_pool_config *cfg)
{
	struct db_pool *pool = calloc(1, sizeof(*pool));
	pthread_condattr_t attr;
	int idle_ms;
	int size = cfg->size > 0 ? cfg->size : 1;

	if (pool == NULL)
		return NULL;
	pool->conns = calloc((size_t)size, sizeof(*pool->conns));
	pool->conninfo = strdup(cfg->conninfo != NULL ? cfg->conninfo : "");
	pool->app_name = strdup(cfg->app_name != NULL ? cfg->app_name : "bookstore");
	if (pool->conns == NULL || pool->conninfo == NULL || pool->app_name == NULL) {
		free(pool->conns);
		free(pool->conninfo);
		free(pool->app_name);
		free(pool);
		return NULL;
	}
	pool->size = size;
	pool->wait_ms = cfg->wait_ms > 0 ? cfg->wait_ms : 1;
	/* The server enforces statement_timeout, but a server that stops answering altogether
	 * (SIGSTOP, a frozen VM that keeps the TCP connection) does not: the client gives up a
	 * little later itself (0 = no statement timeout, no client bound either). */
	pool->answer_ms = cfg->statement_timeout_ms > 0
				  ? cfg->statement_timeout_ms + DB_ANSWER_MARGIN_MS
				  : 0;
	pool->stmts = cfg->stmts;
	pool->nstmts = cfg->nstmts;
	/* A session left idle inside a transaction is a bug (we never hold a connection across
	 * I/O); the server ends it so it cannot hold locks forever. */
	idle_ms = cfg->statement_timeout_ms > 0 ? cfg->statement_timeout_ms * 2 : 60000;
	if (idle_ms < 10000)
		idle_ms = 10000;
	/* plan_cache_mode (cfg->generic_plans): for a statement with OFFSET/LIMIT parameters the
	 * server's "auto" mode re-plans on every execution (the generic plan's LIMIT estimate
	 * makes it look costlier than a custom plan); for the catalog's list statements that was
	 * ~40 % of the server CPU of a GET /books page. */
	snprintf(pool->options, sizeof(pool->options),
		 "-c statement_timeout=%d -c TimeZone=UTC -c idle_in_transaction_session_timeout=%d%s",
		 cfg->statement_timeout_ms > 0 ? cfg->statement_timeout_ms : 0, idle_ms,
		 cfg->generic_plans ? " -c plan_cache_mode=force_generic_plan" : "");
	for (int i = 0; i < size; i++)
		pool->conns[i].pool = pool;
	pool->wait_seconds = metrics_histogram(
		"db_pool_wait_seconds",
		"Time a caller waited for a database connection (0 when one was free), seconds.", "",
		METRICS_BUCKETS_SECONDS);
	pool->connect_failures = metrics_counter("db_pool_connect_failures_total",
						 "Failed attempts to open a connection to "
						 "PostgreSQL.",
						 "");
	metrics_declare_counter(DB_STATEMENT_ERRORS, DB_STATEMENT_ERRORS_HELP);
	pthread_mutex_init(&pool->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->cv, &attr);
	pthread_condattr_destroy(&attr);
	return pool;
}

void db_pool_destroy(struct db_pool *pool)
{
	if (pool == NULL)
		return;
	for (int i = 0; i < pool->size; i++)
		PQfinish(pool->conns[i].pg);
	pthread_cond_destroy(&pool->cv);
	pthread_mutex_destroy(&pool->mu);
	free(pool->conns);
	free(pool->conninfo);
	free(pool->app_name);
	free(pool);
}

static void conn_close(struct db_conn *c)
{
	PQfinish(c->pg);
	c->pg = NULL;
}

/* Opens a connection, bounded by deadline (monotonic ms). Returns it, or NULL with the reason
 * in the thread's db error. */
static PGconn *conn_open(struct db_pool *pool, int64_t deadline)
{
	const char *keys[10];
	const char *vals[10];
	int k = 0;
	PGconn *pg = NULL;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	struct pollfd pfd;
	int64_t left;
	int rc;

	/* A peer that vanished without a FIN (node lost, network cut) would otherwise block a
	 * worker inside PQexec until the kernel gives up (~15 min): statement_timeout runs on the
	 * server and cannot help. Keepalives plus TCP_USER_TIMEOUT bound that to ~20 s. Placed
	 * before dbname, so a URL that sets them wins. */
	keys[k] = "keepalives_idle";
	vals[k++] = "10";
	keys[k] = "keepalives_interval";
	vals[k++] = "5";
	keys[k] = "keepalives_count";
	vals[k++] = "3";
	keys[k] = "tcp_user_timeout";
	vals[k++] = "20000";
	/* dbname next: with expand_dbname a URL or key=value string there is expanded, and the
	 * keywords after it take precedence over what it says. Empty: libpq reads PG*. */
	if (pool->conninfo[0] != '\0') {
		keys[k] = "dbname";
		vals[k++] = pool->conninfo;
	}
	/* A fallback, so an application_name in the URL or PGAPPNAME wins. */
	keys[k] = "fallback_application_name";
	vals[k++] = pool->app_name;
	keys[k] = "options";
	vals[k++] = pool->options;
	keys[k] = "connect_timeout";
	vals[k++] = "5";
	keys[k] = NULL;
	vals[k] = NULL;

	pg = PQconnectStartParams(keys, vals, 1);
	if (pg == NULL) {
		set_error("08000", NULL, "out of memory while connecting");
		return NULL;
	}
	while (st != PGRES_POLLING_OK) {
		if (PQstatus(pg) == CONNECTION_BAD || st == PGRES_POLLING_FAILED) {
			set_error("08001", NULL, PQerrorMessage(pg));
			goto fail;
		}
		left = deadline - now_ms();
		if (left <= 0) {
			set_error("08001", NULL, "timed out connecting to the database");
			goto fail;
		}
		pfd.fd = PQsocket(pg);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd.revents = 0;
		if (pfd.fd < 0) {
			set_error("08001", NULL, "no socket while connecting");
			goto fail;
		}
		rc = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
		if (rc < 0 && errno != EINTR) {
			set_error("08001", NULL, "poll failed while connecting");
			goto fail;
		}
		if (rc > 0)
			st = PQconnectPoll(pg);
	}
	PQsetNoticeProcessor(pg, db_notice, NULL);
	return pg;
fail:
	PQfinish(pg);
	return NULL;
}

/* Prepares every statement of the pool on pg. Returns 0 or -1 with the thread's db error. */
static int conn_prepare(struct db_pool *pool, PGconn *pg)
{
	PGresult *res = NULL;
	int rc = 0;

	for (size_t i = 0; i < pool->nstmts && rc == 0; i++) {
		res = PQprepare(pg, pool->stmts[i].name, pool->stmts[i].sql, 0, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			set_error(PQresultErrorField(res, PG_DIAG_SQLSTATE), NULL,
				  result_message(pg, res));
			log_msg(LOG_ERROR, NULL, "db: preparing statement %s failed: %s",
				pool->stmts[i].name, db_tls_error.message);
			rc = -1;
		}
		PQclear(res);
	}
	return rc;
}

/* True when an idle connection has something to read: the server does not talk to an idle
 * session except to end it (restart, pg_terminate_backend), so it must be replaced. */
static bool conn_stale(PGconn *pg)
{
	struct pollfd pfd = { .fd = PQsocket(pg), .events = POLLIN, .revents = 0 };

	if (pfd.fd < 0)
		return true;
	return poll(&pfd, 1, 0) != 0;
}

static void rollback_or_close(struct db_conn *c);

/* Makes an owned slot usable: rolls back a leftover transaction, replaces a broken or stale
 * connection, prepares statements on a new one. Returns DB_OK or DB_UNAVAILABLE. */
static enum db_status conn_ready(struct db_conn *c, int64_t deadline)
{
	struct db_pool *pool = c->pool;
	PGTransactionStatusType ts;
	int64_t now;
	char reason[128];

	if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK) {
		ts = PQtransactionStatus(c->pg);
		if (ts == PQTRANS_INERROR || ts == PQTRANS_INTRANS) {
			rollback_or_close(c);
		} else if (ts != PQTRANS_IDLE || conn_stale(c->pg)) {
			conn_close(c);
		}
		if (c->pg != NULL && PQstatus(c->pg) == CONNECTION_OK)
			return DB_OK;
	}
	conn_close(c);

	now = now_ms();
	pthread_mutex_lock(&pool->mu);
	if (now < pool->retry_after_ms) {
		copy_text(reason, sizeof(reason), pool->down_reason);
		pthread_mutex_unlock(&pool->mu);
		set_error("08001", NULL, reason);
		return DB_UNAVAILABLE;
	}
	pthread_mutex_unlock(&pool->mu);

	if (deadline < now + DB_CONNECT_MIN_MS)
		deadline = now + DB_CONNECT_MIN_MS;
	c->pg = conn_open(pool, deadline);
	if (c->pg != NULL && conn_prepare(pool, c->pg) != 0)
		conn_close(c);
	if (c->pg == NULL) {
		pthread_mutex_lock(&pool->mu);
		pool->retry_after_ms = now_ms() + DB_CONNECT_BACKOFF_MS;
		copy_text(pool->down_reason, sizeof(pool->down_reason), db_tls_error.message);
		pthread_mutex_unlock(&pool->mu);
		metrics_inc(pool->connect_failures, 1);
		log_msg(LOG_WARN, NULL, "db: cannot open a connection: %s", db_tls_error.message);
		return DB_UNAVAILABLE;
	}
	if (c->ever_connected) {
		atomic_fetch_add(&pool->reconnects, 1);
		log_msg(LOG_INFO, NULL, "db: reconnected");
	}
	c->ever_connected = true;
	pthread_mutex_lock(&pool->mu);
	pool->retry_after_ms = 0;
	pthread_mutex_unlock(&pool->mu);
	return DB_OK;
}

/* Returns an owned slot to the free set and wakes one waiter. */
static void slot_put(struct db_pool *pool, struct db_conn *c)
{
	pthread_mutex_lock(&pool->mu);
	c->in_use = false;
	pool->in_use--;
	pthread_cond_signal(&pool->cv);
	pthread_mutex_unlock(&pool->mu);
}

enum db_status db_acquire(struct db_pool *pool, struct db_conn **conn)
{
	int64_t deadline = now_ms() + pool->wait_ms;
	struct timespec t0, t1;
	struct db_conn *c = NULL;
	struct timespec ts;
	bool waited = false;
	enum db_status st;

	*conn = NULL;
	pthread_mutex_lock(&pool->mu);
	t0.tv_sec = 0;
	t0.tv_nsec = 0;
	for (;;) {
		/* Prefer a slot with a live connection; else any free slot. */
		for (int i = 0; i < pool->size; i++) {
			if (pool->conns[i].in_use)
				continue;
			if (pool->conns[i].pg != NULL) {
				c = &pool->conns[i];
				break;
			}
			if (c == NULL)
				c = &pool->conns[i];
		}
		if (c != NULL)
			break;
		if (!waited) {
			waited = true;
			clock_gettime(CLOCK_MONOTONIC, &t0);
			pool->waiters++;
			atomic_fetch_add(&pool->waits, 1);
		}
		ts.tv_sec = (time_t)(deadline / 1000);
		ts.tv_nsec = (long)(deadline % 1000) * 1000000L;
		if (pthread_cond_timedwait(&pool->cv, &pool->mu, &ts) == ETIMEDOUT &&
		    now_ms() >= deadline) {
			pool->waiters--;
			pthread_mutex_unlock(&pool->mu);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			metrics_observe_value(pool->wait_seconds,
					      (double)(t1.tv_sec - t0.tv_sec) +
						      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
			atomic_fetch_add(&pool->wait_timeouts, 1);
			set_error("53300", NULL, "timed out waiting for a free database connection");
			return DB_UNAVAILABLE;
		}
	}
	c->in_use = true;
	pool->in_use++;
	if (waited)
		pool->waiters--;
	pthread_mutex_unlock(&pool->mu);
	if (waited) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		metrics_observe_value(pool->wait_seconds,
				      (double)(t1.tv_sec - t0.tv_sec) +
					      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	} else {
		metrics_observe_value(pool->wait_seconds, 0);
	}

	st = conn_ready(c, deadline);
	if (st != DB_OK) {
		atomic_fetch_add(&pool->errors, 1);
		slot_put(pool, c);
		return st;
	}
	*conn = c;
	return DB_OK;
}

void db_release(struct db_pool *pool, struct db_conn *conn)
{
	PGTransactionStatusType ts;

	if (conn == NULL)
		return;
	if (conn->pg != NULL) {
		ts = PQstatus(conn->pg) == CONNECTION_OK ? PQtransactionStatus(conn->pg)
							 : PQTRANS_UNKNOWN;
		if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
			rollback_or_close(conn);
		} else if (ts != PQTRANS_IDLE) {
			conn_close(conn);
		}
	}
	slot_put(pool, conn);
}

/* Turns a finished PGresult into a status; clears it unless it is returned in *res. */
static enum db_status finish(struct db_conn *conn, PGresult *r, PGresult **res)
{
	ExecStatusType es = PQresultStatus(r);
	enum db_status st;
	const char *sqlstate;

	if (r != NULL && (es == PGRES_TUPLES_OK || es == PGRES_COMMAND_OK)) {
		atomic_store(&conn->pool->last_ok_ms, (long long)now_ms());
		*res = r;
		return DB_OK;
	}
	if (r == NULL || PQstatus(conn->pg) == CONNECTION_BAD) {
		sqlstate = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		set_error(sqlstate != NULL ? sqlstate : "08006", NULL, result_message(conn->pg, r));
		st = DB_UNAVAILABLE;
	} else if (es == PGRES_FATAL_ERROR || es == PGRES_NONFATAL_ERROR) {
		set_error(PQresultErrorField(r, PG_DIAG_SQLSTATE),
			  PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME), result_message(conn->pg, r));
		st = map_sqlstate(db_tls_error.sqlstate);
	} else {
		set_error("", NULL, "unexpected result status");
		copy_text(db_tls_error.message, sizeof(db_tls_error.message), PQresStatus(es));
		st = DB_ERROR;
	}
	PQclear(r);
	count_statement_error(db_tls_error.sqlstate);
	if (st == DB_UNAVAILABLE || st == DB_ERROR) {
		atomic_fetch_add(&conn->pool->errors, 1);
		log_msg(st == DB_ERROR ? LOG_ERROR : LOG_WARN, NULL, "db: [%s] %s",
			db_tls_error.sqlstate, db_tls_error.message);
	}
	return st;
}

/* Runs one statement (the prepared stmt, or sql when stmt is NULL) and waits at most
 * pool->answer_ms for its result. Returns the last result (NULL on a send or receive failure:
 * finish() reports the connection's error), or sets *timed_out: the connection is then closed
 * (its state is unknown) and the slot reconnects on its next checkout. */
static PGresult *exec_bounded(struct db_conn *conn, const char *stmt, const char *sql,
			      int nparams, const char *const *values, bool *timed_out)
{
	PGconn *pg = conn->pg;
	PGresult *last = NULL, *r;
	struct pollfd pfd = { .fd = PQsocket(pg), .events = POLLIN, .revents = 0 };
	int64_t deadline = now_ms() + conn->pool->answer_ms, left;
	int sent;

	*timed_out = false;
	if (conn->pool->answer_ms <= 0)
		return stmt != NULL ? PQexecPrepared(pg, stmt, nparams, values, NULL, NULL, 0)
				    : PQexec(pg, sql);
	sent = stmt != NULL ? PQsendQueryPrepared(pg, stmt, nparams, values, NULL, NULL, 0)
			    : PQsendQuery(pg, sql);
	if (sent != 1)
		return NULL;
	for (;;) {
		while (PQisBusy(pg)) {
			left = deadline - now_ms();
			if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
				*timed_out = true;
				PQclear(last);
				return NULL;
			}
			if (PQconsumeInput(pg) != 1) {
				PQclear(last);
				return NULL;
			}
		}
		r = PQgetResult(pg);
		if (r == NULL)
			return last;
		PQclear(last);
		last = r;
	}
}

/* Ends the open transaction of c with a ROLLBACK bounded like any statement (exec_bounded): a
 * server that froze mid-transaction must not hold the releasing worker, and the pool slot, for
 * good. Closes the connection when the rollback fails or gets no answer in time. */
static void rollback_or_close(struct db_conn *c)
{
	bool timed_out;
	PGresult *r = exec_bounded(c, NULL, "ROLLBACK", 0, NULL, &timed_out);

	if (timed_out)
		log_msg(LOG_WARN, NULL, "db: no answer to ROLLBACK within %d ms; connection dropped",
			c->pool->answer_ms);
	if (timed_out || PQresultStatus(r) != PGRES_COMMAND_OK)
		conn_close(c);
	PQclear(r);
}

/* db_run / db_run_sql: one statement, bounded (exec_bounded). */
static enum db_status run_bounded(struct db_conn *conn, const char *stmt, const char *sql,
				  int nparams, const char *const *values, PGresult **res)
{
	PGresult *r;
	bool timed_out;

	*res = NULL;
	if (conn->pg == NULL) {
		set_error("08003", NULL, "no connection");
		return DB_UNAVAILABLE;
	}
	r = exec_bounded(conn, stmt, sql, nparams, values, &timed_out);
	if (!timed_out)
		return finish(conn, r, res);
	conn_close(conn);
	set_error("08006", NULL, "no answer from the database within the statement timeout");
	atomic_fetch_add(&conn->pool->errors, 1);
	log_msg(LOG_WARN, NULL, "db: no answer within %d ms; connection dropped",
		conn->pool->answer_ms);
	return DB_UNAVAILABLE;
}

enum db_status db_run(struct db_conn *conn, const char *stmt, int nparams,
		      const char *const *values, PGresult **res)
{
	return run_bounded(conn, stmt, NULL, nparams, values, res);
}

enum db_status db_run_sql(struct db_conn *conn, const char *sql, PGresult **res)
{
	return run_bounded(conn, NULL, sql, 0, NULL, res);
}

enum db_status db_exec(struct db_pool *pool, const char *stmt, int nparams,
		       const char *const *values, PGresult **res, bool idempotent)
{
	struct db_conn *conn = NULL;
	enum db_status st;
	bool broken;

	*res = NULL;
	st = db_acquire(pool, &conn);
	if (st != DB_OK)
		return st;
	st = db_run(conn, stmt, nparams, values, res);
	/* A connection that died under us is worth one more try; one the database did not answer
	 * in time (dropped, pg NULL) is not: the retry would double the wait. */
	broken = st == DB_UNAVAILABLE && conn->pg != NULL && PQstatus(conn->pg) == CONNECTION_BAD;
	db_release(pool, conn);
	conn = NULL;
	if (!broken || !idempotent)
		return st;
	/* The connection died under us (e.g. a server restart): one more try on a fresh one. */
	st = db_acquire(pool, &conn);
	if (st != DB_OK)
		return st;
	st = db_run(conn, stmt, nparams, values, res);
	db_release(pool, conn);
	return st;
}

int db_ping(struct db_pool *pool, char *reason, size_t len)
{
	struct db_conn *conn = NULL;
	PGresult *res = NULL;
	enum db_status st;
	bool saturated;

	/* Every connection checked out, and the last connect did not fail: the database is
	 * answering the requests that hold them. Waiting up to wait_ms for a slot would make a
	 * readiness probe (timeoutSeconds 1-2) fail exactly when the service is busiest, and take
	 * the pod out of rotation under load. */
	pthread_mutex_lock(&pool->mu);
	/* ... as long as statements still complete: a frozen server (every connection stuck in a
	 * statement that never ends) is not busy but gone. */
	saturated = pool->in_use >= pool->size && now_ms() >= pool->retry_after_ms &&
		    now_ms() - atomic_load(&pool->last_ok_ms) <
			    (pool->answer_ms > 1000 ? pool->answer_ms : 1000);
	pthread_mutex_unlock(&pool->mu);
	if (saturated)
		return 0;
	st = db_acquire(pool, &conn);
	if (st == DB_OK) {
		st = db_run_sql(conn, "SELECT 1", &res);
		PQclear(res);
		db_release(pool, conn);
	}
	if (st != DB_OK) {
		if (reason != NULL && len > 0)
			copy_text(reason, len, db_tls_error.message);
		return -1;
	}
	return 0;
}

void db_pool_stats(struct db_pool *pool, struct db_stats *out)
{
	pthread_mutex_lock(&pool->mu);
	out->size = pool->size;
	out->in_use = pool->in_use;
	pthread_mutex_unlock(&pool->mu);
	out->waits = atomic_load(&pool->waits);
	out->wait_timeouts = atomic_load(&pool->wait_timeouts);
	out->errors = atomic_load(&pool->errors);
	out->reconnects = atomic_load(&pool->reconnects);
}

void db_pool_metrics(struct db_pool *pool, struct buf *out)
{
	int size, in_use, waiters;

	pthread_mutex_lock(&pool->mu);
	size = pool->size;
	in_use = pool->in_use;
	waiters = pool->waiters;
	pthread_mutex_unlock(&pool->mu);
	buf_printf(out,
		   "# HELP db_pool_size Configured number of connections of the pool.\n"
		   "# TYPE db_pool_size gauge\n"
		   "db_pool_size %d\n"
		   "# HELP db_pool_in_use Connections lent to a request or worker now.\n"
		   "# TYPE db_pool_in_use gauge\n"
		   "db_pool_in_use %d\n"
		   "# HELP db_pool_waiters Callers waiting for a free connection now.\n"
		   "# TYPE db_pool_waiters gauge\n"
		   "db_pool_waiters %d\n",
		   size, in_use, waiters);
}

char *db_col_dup(const PGresult *res, int row, int col)
{
	char *s;

	if (PQgetisnull(res, row, col))
		return NULL;
	s = strdup(PQgetvalue(res, row, col));
	if (s == NULL) {
		log_msg(LOG_ERROR, NULL, "out of memory copying a column");
		abort();
	}
	return s;
}

int db_col_ll(const PGresult *res, int row, int col, long long min, long long max,
	      long long *out)
{
	if (PQgetisnull(res, row, col))
		return -1;
	return valid_parse_ll(PQgetvalue(res, row, col), min, max, out);
}

/* The first row of a finished result into out; clears res. */
static enum db_status db_first_row(PGresult *res, db_row_fn read, void *out)
{
	enum db_status st = DB_OK;

	if (PQntuples(res) == 0)
		st = DB_NOT_FOUND;
	else if (read(res, 0, out) != 0)
		st = DB_ERROR;
	PQclear(res);
	return st;
}

enum db_status db_exec_row(struct db_pool *pool, const char *stmt, int nparams,
			   const char *const *values, bool idempotent, db_row_fn read, void *out)
{
	PGresult *res = NULL;
	enum db_status st = db_exec(pool, stmt, nparams, values, &res, idempotent);

	return st == DB_OK ? db_first_row(res, read, out) : st;
}

enum db_status db_run_row(struct db_conn *conn, const char *stmt, int nparams,
			  const char *const *values, db_row_fn read, void *out)
{
	PGresult *res = NULL;
	enum db_status st = db_run(conn, stmt, nparams, values, &res);

	return st == DB_OK ? db_first_row(res, read, out) : st;
}
