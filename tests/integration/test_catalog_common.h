/* test_catalog_common.h - helpers shared by the catalog integration suites (included by each
 * test_catalog_*.c; not a suite itself). Each suite starts a fresh database and a real
 * catalog-service per test (checked fixtures run in the forked test process). */
#ifndef TEST_CATALOG_COMMON_H
#define TEST_CATALOG_COMMON_H

#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ts.h"

#define C_TIMEOUT_S 180

static char *c_db;              /* URL of this test's database */
static struct ts_proc c_svc;    /* the catalog under test */

static inline const char *c_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0')
		ck_abort_msg("%s is not set (run the suite through ctest)", name);
	return v;
}

static inline void c_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

static inline long long c_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Spawns catalog-service on db (a ts_db_create URL) with extra "K=V" settings (NULL-terminated,
 * may be NULL). It connects as the catalog's login role, as deployed (least privilege). */
static inline void c_start(struct ts_proc *p, const char *db, const char *const *extra)
{
	char dburl[512];
	const char *env[16];
	size_t n = 0;
	char *role_url = ts_db_url_as(db, TS_ROLE_CATALOG);

	(void)snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", role_url);
	free(role_url);
	env[n++] = dburl;
	env[n++] = "LOG_LEVEL=info";
	env[n++] = "HTTP_THREADS=8";
	env[n++] = "DB_POOL_SIZE=8";
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 15; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	if (ts_spawn(p, c_env("CATALOG_BIN"), env) != 0)
		ck_abort_msg("catalog-service did not start, see %s", p->log_path);
}

/* Fixture: a seeded database and a running service. */
static inline void c_setup_seeded(void)
{
	c_db = ts_db_create(1);
	c_start(&c_svc, c_db, NULL);
}

static inline void c_setup_empty(void)
{
	c_db = ts_db_create(0);
	c_start(&c_svc, c_db, NULL);
}

static inline void c_teardown(void)
{
	if (c_svc.pid > 0)
		ts_stop(&c_svc, SIGTERM, 5000);
	free(c_db);
	c_db = NULL;
}

/* Request on the service under test; asserts the transport worked. */
static inline void c_req(struct ts_resp *r, const char *method, const char *body,
			 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static inline void c_req(struct ts_resp *r, const char *method, const char *body,
			 const char *fmt, ...)
{
	char path[4096];
	char url[4200];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(path, sizeof path, fmt, ap);
	va_end(ap);
	(void)snprintf(url, sizeof url, "%s%s", c_svc.url, path);
	ck_assert_msg(ts_http(r, method, url, body, NULL) == 0, "%s %s failed", method, path);
}

/* Same with extra headers. */
static inline void c_req_h(struct ts_resp *r, const char *method, const char *path,
			   const char *body, const char *const *headers)
{
	char url[4200];

	(void)snprintf(url, sizeof url, "%s%s", c_svc.url, path);
	ck_assert_msg(ts_http(r, method, url, body, headers) == 0, "%s %s failed", method, path);
}

/* POSTs a book and returns its id (asserts 201). isbn may be NULL. */
static inline long long c_book(const char *title, const char *author, const char *isbn,
			       const char *price, int quantity)
{
	struct ts_resp r;
	json_t *body = json_pack("{s:s, s:s, s:s, s:i}", "title", title, "author", author,
				 "price", price, "quantity", quantity);
	char *text;
	long long id;

	if (isbn != NULL)
		json_object_set_new(body, "isbn", json_string(isbn));
	text = json_dumps(body, 0);
	c_req(&r, "POST", text, "/books");
	ck_assert_msg(r.status == 201, "POST /books %s -> %ld %s", text, r.status, r.body);
	id = ts_int(r.json, "id");
	ts_resp_free(&r);
	free(text);
	json_decref(body);
	return id;
}

/* A value from the test database (first column of the first row, malloc'd). */
static inline long long c_sql_ll(const char *sql)
{
	char *v = ts_sql(c_db, sql);
	long long n = v != NULL ? strtoll(v, NULL, 10) : -1;

	free(v);
	return n;
}

/* Asserts the 422 detail list contains an entry of type at loc [loc0, key]. */
static inline void c_assert_422(const struct ts_resp *r, const char *type, const char *loc0,
				const char *key)
{
	const json_t *detail = json_object_get(r->json, "detail");
	size_t i;
	const json_t *e;

	ck_assert_msg(r->status == 422, "expected 422, got %ld: %s", r->status, r->body);
	ck_assert_msg(json_is_array(detail), "422 detail is not a list: %s", r->body);
	json_array_foreach(detail, i, e) {
		const json_t *loc = json_object_get(e, "loc");
		const char *t = json_string_value(json_object_get(e, "type"));

		if (t != NULL && strcmp(t, type) == 0 &&
		    strcmp(json_string_value(json_array_get(loc, 0)), loc0) == 0 &&
		    (key == NULL || (json_is_string(json_array_get(loc, 1)) &&
				     strcmp(json_string_value(json_array_get(loc, 1)), key) == 0)))
			return;
	}
	ck_abort_msg("no %s entry at %s.%s in %s", type, loc0, key ? key : "", r->body);
}

static inline void c_assert_detail(const struct ts_resp *r, long status, const char *detail)
{
	ck_assert_msg(r->status == status, "expected %ld, got %ld: %s", status, r->status, r->body);
	ck_assert_msg(ts_str(r->json, "detail") != NULL &&
			      strcmp(ts_str(r->json, "detail"), detail) == 0,
		      "expected detail \"%s\", got %s", detail, r->body);
}

#endif
