/* test_order_common.h - helpers shared by the order integration suites (included by each
 * test_order_*.c; not a suite itself). Everything is static: each suite is one executable. */
#ifndef TEST_ORDER_COMMON_H
#define TEST_ORDER_COMMON_H

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts.h"

/* Test settings: short catalog timeout and fast recovery so outages settle in seconds. */
/* CATALOG_TIMEOUT_MS given to order services; suites that must never see a timeout raise it. */
static int t_catalog_timeout_ms = 1000;
#define T_RECOVERY_INTERVAL_MS "200"
#define T_INTENT_AGE_MS "1500"

static inline const char * t_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0') {
		fprintf(stderr, "%s is not set (run through ctest)\n", name);
		abort();
	}
	return v;
}

static inline long long t_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void t_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

/* Starts a catalog-service on db (as the catalog's login role); port 0 = a free one. Aborts the
 * test on failure. */
static inline void t_start_catalog(struct ts_proc *p, const char *db, int port)
{
	char dburl[512], portv[32];
	const char *env[] = { dburl, "LOG_LEVEL=info", "HTTP_THREADS=4", portv, NULL };
	char *role_url = ts_db_url_as(db, TS_ROLE_CATALOG);

	(void)snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", role_url);
	free(role_url);
	if (port > 0)
		(void)snprintf(portv, sizeof portv, "PORT=%d", port);
	else
		env[3] = NULL;
	if (ts_spawn(p, t_env("CATALOG_BIN"), env) != 0) {
		fprintf(stderr, "catalog-service did not start, see %s\n", p->log_path);
		ck_abort_msg("catalog-service did not start");
	}
}

/* Starts an order-service on db (as the order service's login role) talking to catalog_url;
 * port 0 = a free one. */
static inline void t_start_order(struct ts_proc *p, const char *db, const char *catalog_url, int port)
{
	char dburl[512], cat[128], portv[32], timeout[48];
	const char *env[] = { dburl,
			      cat,
			      timeout,
			      "RECOVERY_INTERVAL_MS=" T_RECOVERY_INTERVAL_MS,
			      "RECOVERY_INTENT_AGE_MS=" T_INTENT_AGE_MS,
			      "LOG_LEVEL=info",
			      "HTTP_THREADS=4",
			      "DB_POOL_SIZE=6",
			      /* as many slots as threads: these suites never see the bulkhead
			       * shed (test_order_fault.c covers it) */
			      "CATALOG_MAX_INFLIGHT=4",
			      portv,
			      NULL };
	char *role_url = ts_db_url_as(db, TS_ROLE_ORDERS);

	(void)snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", role_url);
	free(role_url);
	(void)snprintf(cat, sizeof cat, "CATALOG_SERVICE_URL=%s/", catalog_url);
	(void)snprintf(timeout, sizeof timeout, "CATALOG_TIMEOUT_MS=%d", t_catalog_timeout_ms);
	if (port > 0)
		(void)snprintf(portv, sizeof portv, "PORT=%d", port);
	else
		env[9] = NULL;
	if (ts_spawn(p, t_env("ORDER_BIN"), env) != 0) {
		fprintf(stderr, "order-service did not start, see %s\n", p->log_path);
		ck_abort_msg("order-service did not start");
	}
}

/* Creates a book through the catalog API; returns its id. */
static inline long long t_create_book(const char *catalog_url, const char *price, long long quantity)
{
	struct ts_resp r = { 0 };
	char body[256];
	long long id;
	static int seq;

	(void)snprintf(body, sizeof body,
		       "{\"title\":\"Order test book %d-%d\",\"author\":\"Tester\",\"price\":\"%s\","
		       "\"quantity\":%lld}",
		       (int)getpid(), ++seq, price, quantity);
	ck_assert_int_eq(ts_req(&r, "POST", catalog_url, body, "/books"), 0);
	ck_assert_msg(r.status == 201, "POST /books: %ld %s", r.status, r.body);
	id = ts_int(r.json, "id");
	ts_resp_free(&r);
	return id;
}

/* The book's quantity straight from the database (works while the catalog is down). */
static inline long long t_book_qty(const char *db, long long book_id)
{
	char sql[128], *v;
	long long q;

	(void)snprintf(sql, sizeof sql, "SELECT quantity FROM books WHERE id = %lld", book_id);
	v = ts_sql(db, sql);
	ck_assert_ptr_nonnull(v);
	q = strtoll(v, NULL, 10);
	free(v);
	return q;
}

/* First column of the first row as an integer (0 for no row / NULL). */
static inline long long t_sql_ll(const char *db, const char *sql)
{
	char *v = ts_sql(db, sql);
	long long n = v != NULL ? strtoll(v, NULL, 10) : 0;

	free(v);
	return n;
}

/* POST /orders; returns the status, *id the order id on 201. */
static inline long t_order(const char *order_url, long long book_id, int qty, const char *email,
		    long long *id)
{
	struct ts_resp r = { 0 };
	char body[256];
	long st;

	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"customer_name\":\"Test Customer\","
		       "\"customer_email\":\"%s\",\"quantity\":%d}",
		       book_id, email != NULL ? email : "test@example.com", qty);
	(void)ts_req(&r, "POST", order_url, body, "/orders");
	st = r.status;
	if (id != NULL)
		*id = st == 201 ? ts_int(r.json, "id") : 0;
	ts_resp_free(&r);
	return st;
}

/* PATCH /orders/{id}/status; returns the HTTP status. */
static inline long t_set_status(const char *order_url, long long id, const char *status)
{
	struct ts_resp r = { 0 };
	char body[64];
	long st;

	(void)snprintf(body, sizeof body, "{\"status\":\"%s\"}", status);
	(void)ts_req(&r, "PATCH", order_url, body, "/orders/%lld/status", id);
	st = r.status;
	ts_resp_free(&r);
	return st;
}

/* Waits (up to timeout_ms) until the SQL count is 0. Returns the last count. */
static inline long long t_wait_zero(const char *db, const char *sql, long timeout_ms)
{
	long long deadline = t_now_ms() + timeout_ms, n;

	for (;;) {
		n = t_sql_ll(db, sql);
		if (n == 0 || t_now_ms() > deadline)
			return n;
		t_sleep_ms(100);
	}
}

/* Unsettled rows: intents (reserving or failed), cancels whose stock is not back yet. */
#define T_UNSETTLED_SQL \
	"SELECT (SELECT count(*) FROM order_intents) + (SELECT count(*) FROM orders WHERE " \
	"status = 'cancelled' AND NOT stock_released)"

#endif
