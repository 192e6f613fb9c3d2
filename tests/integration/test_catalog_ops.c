/* test_catalog_ops.c - operational behaviour of catalog-service: /, /health, /ready, /metrics,
 * /openapi.json against the real routes, configuration errors, --help, --migrate, SIGTERM, and a
 * database restart while the service runs. */
#include "test_catalog_common.h"

#include <sys/stat.h>

START_TEST(test_root_health_ready)
{
	struct ts_resp r;

	c_req(&r, "GET", NULL, "/");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "service"), "catalog-service");
	ck_assert_ptr_nonnull(ts_str(r.json, "version"));
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/health");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/ready");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req(&r, "HEAD", NULL, "/health");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_metrics_exposes_requests_latency_and_pool)
{
	struct ts_resp r;
	char *ct;

	c_req(&r, "GET", NULL, "/books/1");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/999999");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/metrics");
	ck_assert_int_eq(r.status, 200);
	ct = ts_header(&r, "Content-Type");
	ck_assert_ptr_nonnull(strstr(ct, "text/plain"));
	free(ct);
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE http_requests_total counter"));
	ck_assert_ptr_nonnull(strstr(r.body, "route=\"/books/{id}\""));
	ck_assert_ptr_nonnull(strstr(r.body, "status=\"404\""));
	ck_assert_ptr_nonnull(strstr(r.body, "http_request_duration_seconds_bucket"));
	ck_assert_ptr_nonnull(strstr(r.body, "db_pool_in_use"));
	ck_assert_ptr_nonnull(strstr(r.body, "db_pool_waits_total"));
	ck_assert_ptr_nonnull(strstr(r.body, "db_errors_total"));
	ts_resp_free(&r);
}
END_TEST

/* Replaces {id} and {reservation_id} in an OpenAPI path with real values. */
static void fill_path(const char *tmpl, long long book, const char *rid, char *out, size_t len)
{
	size_t used = 0;

	while (*tmpl != '\0' && used + 1 < len) {
		if (strncmp(tmpl, "{id}", 4) == 0) {
			used += (size_t)snprintf(out + used, len - used, "%lld", book);
			tmpl += 4;
		} else if (strncmp(tmpl, "{reservation_id}", 16) == 0) {
			used += (size_t)snprintf(out + used, len - used, "%s", rid);
			tmpl += 16;
		} else {
			out[used++] = *tmpl++;
		}
	}
	out[used < len ? used : len - 1] = '\0';
}

START_TEST(test_openapi_is_valid_and_every_path_answers)
{
	static const char *const methods[] = { "get", "put", "patch", "post", "delete" };
	struct ts_resp r;
	struct ts_resp a;
	json_t *doc;
	const json_t *paths;
	const char *tmpl;
	json_t *item;
	long long book = c_book("OpenAPI", "A", NULL, "1.00", 5);
	int checked = 0;

	c_req(&r, "POST", "{\"reservation_id\":\"openapi-r\",\"book_id\":1,\"quantity\":1}",
	      "/reservations");
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);

	c_req(&r, "GET", NULL, "/openapi.json");
	ck_assert_int_eq(r.status, 200);
	doc = r.json;
	ck_assert_msg(json_is_object(doc), "openapi.json is not a JSON object");
	ck_assert_int_eq(strncmp(ts_str(doc, "openapi"), "3.", 2), 0);
	ck_assert_ptr_nonnull(json_object_get(doc, "info"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(doc, "components"), "schemas"));
	paths = json_object_get(doc, "paths");
	ck_assert_int_ge(json_object_size(paths), 9);
	/* DELETE last, so the book is still there for the other calls. */
	for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
		json_object_foreach((json_t *)paths, tmpl, item) {
			char path[256];
			char upper[8];
			const json_t *op = json_object_get(item, methods[m]);

			if (op == NULL)
				continue;
			ck_assert_ptr_nonnull(json_object_get(op, "responses"));
			fill_path(tmpl, book, "openapi-r", path, sizeof path);
			for (size_t k = 0; k <= strlen(methods[m]); k++)
				upper[k] = (char)(methods[m][k] >= 'a' ? methods[m][k] - 32
								       : methods[m][k]);
			c_req(&a, upper,
			      json_object_get(op, "requestBody") != NULL ? "{}" : NULL, "%s", path);
			ck_assert_msg(a.status != 404 && a.status != 405 && a.status < 500,
				      "%s %s -> %ld %s", upper, path, a.status, a.body);
			/* The documented status set includes what the service answered. */
			{
				char code[8];

				snprintf(code, sizeof code, "%ld", a.status);
				ck_assert_msg(json_object_get(json_object_get(op, "responses"), code),
					      "%s %s answered %ld, not documented", upper, tmpl,
					      a.status);
			}
			ts_resp_free(&a);
			checked++;
		}
	}
	ck_assert_int_ge(checked, 13);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_openapi_file_in_repo_is_what_is_served)
{
	struct ts_resp r;
	char path[512];
	json_t *file;
	json_error_t err;
	const char *mig = c_env("MIGRATIONS_DIR");

	/* MIGRATIONS_DIR is <repo>/db/migrations. */
	snprintf(path, sizeof path, "%s/../../catalog-service/openapi.json", mig);
	file = json_load_file(path, 0, &err);
	ck_assert_msg(file != NULL, "%s: %s", path, err.text);
	c_req(&r, "GET", NULL, "/openapi.json");
	ck_assert(json_equal(file, r.json));
	ts_resp_free(&r);
	json_decref(file);
}
END_TEST

START_TEST(test_help_lists_every_variable)
{
	static const char *const vars[] = {
		"DATABASE_URL", "PORT", "HTTP_THREADS", "DB_POOL_SIZE", "DB_STATEMENT_TIMEOUT_MS",
		"MAX_BODY_BYTES", "LOG_LEVEL", "MIGRATIONS_DIR",
	};
	char out[512];

	snprintf(out, sizeof out, "%s/catalog-help-%d.txt", c_env("TEST_TMPDIR"), (int)getpid());
	ck_assert_int_eq(ts_system("mkdir -p '%s' && '%s' --help > '%s' 2>&1", c_env("TEST_TMPDIR"),
				   c_env("CATALOG_BIN"), out),
			 0);
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		ck_assert_msg(ts_system("grep -q '%s' '%s'", vars[i], out) == 0, "--help lacks %s",
			      vars[i]);
	ck_assert_int_eq(ts_system("grep -q 8000 '%s'", out), 0);
	unlink(out);
}
END_TEST

/* Runs the daemon with one bad setting; asserts exit status 2 and one stderr line naming var. */
static void assert_bad_config(const char *setting, const char *var)
{
	char err[512];

	snprintf(err, sizeof err, "%s/catalog-badcfg-%d.txt", c_env("TEST_TMPDIR"), (int)getpid());
	ck_assert_int_eq(ts_system("mkdir -p '%s'", c_env("TEST_TMPDIR")), 0);
	ck_assert_msg(ts_system("env %s timeout 10 '%s' >/dev/null 2>'%s'", setting,
				c_env("CATALOG_BIN"), err) == 2,
		      "%s did not exit with 2", setting);
	ck_assert_msg(ts_system("test \"$(wc -l < '%s')\" -eq 1 && grep -q '%s' '%s'", err, var,
				err) == 0,
		      "%s: expected one line naming %s", setting, var);
	unlink(err);
}

START_TEST(test_bad_configuration_exits_2_with_one_line)
{
	assert_bad_config("PORT=abc", "PORT");
	assert_bad_config("PORT=70000", "PORT");
	assert_bad_config("DB_POOL_SIZE=0", "DB_POOL_SIZE");
	assert_bad_config("HTTP_THREADS=-3", "HTTP_THREADS");
	assert_bad_config("LOG_LEVEL=loud", "LOG_LEVEL");
	assert_bad_config("MAX_BODY_BYTES=1x", "MAX_BODY_BYTES");
	ck_assert_int_eq(ts_system("'%s' --bogus >/dev/null 2>&1", c_env("CATALOG_BIN")), 2);
}
END_TEST

START_TEST(test_sigterm_exits_0_and_sigint_too)
{
	struct ts_proc p = { 0 };
	struct ts_resp r;

	c_req(&r, "GET", NULL, "/books");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_stop(&c_svc, SIGTERM, 10000), 0);
	c_start(&p, c_db, NULL);
	ck_assert_int_eq(ts_stop(&p, SIGINT, 10000), 0);
}
END_TEST

START_TEST(test_migrate_mode_is_idempotent)
{
	char *db = ts_db_create(0);

	/* ts_db_create ran --migrate once; a second run applies nothing and exits 0. */
	ck_assert_int_eq(ts_system("DATABASE_URL='%s' '%s' --migrate >/dev/null 2>&1", db,
				   c_env("CATALOG_BIN")),
			 0);
	ck_assert_int_eq(ts_system("DATABASE_URL='%s' MIGRATIONS_DIR=/nonexistent '%s' --migrate "
				   ">/dev/null 2>&1",
				   db, c_env("CATALOG_BIN")),
			 1);
	free(db);
}
END_TEST

/* Polls path until it answers want (or the deadline passes). Returns the last status. */
static long wait_status(const char *base, const char *path, long want, int timeout_ms)
{
	long long end = c_now_ms() + timeout_ms;
	char url[256];
	long status = 0;
	struct ts_resp r;

	snprintf(url, sizeof url, "%s%s", base, path);
	do {
		if (ts_http(&r, "GET", url, NULL, NULL) == 0)
			status = r.status;
		ts_resp_free(&r);
		if (status == want)
			break;
		c_sleep_ms(200);
	} while (c_now_ms() < end);
	return status;
}

START_TEST(test_ready_503_while_database_down_and_recovers_after_restart)
{
	char dir[512];
	char url[256];
	char *u;
	int port = ts_free_port();
	struct ts_proc p = { 0 };
	struct ts_resp r;
	char rurl[300];
	const char *env[] = { "DB_POOL_WAIT_MS=1000", "DB_STATEMENT_TIMEOUT_MS=2000", NULL };

	snprintf(dir, sizeof dir, "%s/catalog-pg-restart-%d", c_env("TEST_TMPDIR"), (int)getpid());
	ck_assert_int_eq(ts_system("rm -rf '%s' && '%s' start '%s' %d >/dev/null", dir,
				   c_env("PG_SCRIPT"), dir, port),
			 0);
	snprintf(url, sizeof url, "postgresql://bookstore@127.0.0.1:%d/postgres", port);
	ck_assert_int_eq(ts_system("DATABASE_URL='%s' '%s' --migrate >/dev/null 2>&1", url,
				   c_env("CATALOG_BIN")),
			 0);
	u = ts_sql(url, "INSERT INTO books (title, author, price) VALUES ('R', 'A', 1) "
			"RETURNING id");
	free(u);
	c_start(&p, url, env);
	snprintf(rurl, sizeof rurl, "%s/books/1", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", rurl, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);

	/* Database down: /ready and data endpoints answer 503, /health stays 200. */
	ck_assert_int_eq(ts_system("'%s' stop '%s'", c_env("PG_SCRIPT"), dir), 0);
	ck_assert_int_eq(wait_status(p.url, "/ready", 503, 10000), 503);
	ck_assert_int_eq(ts_http(&r, "GET", rurl, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(ts_str(r.json, "detail"), "Database unavailable");
	ts_resp_free(&r);
	snprintf(rurl, sizeof rurl, "%s/books", p.url);
	ck_assert_int_eq(ts_http(&r, "POST", rurl, "{\"title\":\"t\",\"author\":\"a\",\"price\":1}",
				 NULL),
			 0);
	ck_assert_int_eq(r.status, 503);
	ts_resp_free(&r);
	ck_assert_int_eq(wait_status(p.url, "/health", 200, 2000), 200);

	/* Database back on the same port: the service heals by itself. */
	ck_assert_int_eq(ts_system("'%s' start '%s' %d >/dev/null", c_env("PG_SCRIPT"), dir, port),
			 0);
	ck_assert_int_eq(wait_status(p.url, "/ready", 200, 20000), 200);
	ck_assert_int_eq(wait_status(p.url, "/books/1", 200, 10000), 200);
	ck_assert_int_eq(ts_http(&r, "POST", rurl, "{\"title\":\"t\",\"author\":\"a\",\"price\":1}",
				 NULL),
			 0);
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);

	ck_assert_int_eq(ts_stop(&p, SIGTERM, 10000), 0);
	ts_system("'%s' stop '%s'; rm -rf '%s'", c_env("PG_SCRIPT"), dir, dir);
}
END_TEST

START_TEST(test_service_starts_while_database_is_down)
{
	struct ts_proc p = { 0 };
	char env_url[128];
	const char *env[] = { env_url, "DB_POOL_WAIT_MS=500", NULL };
	struct ts_resp r;
	char url[160];

	/* Nothing listens on this port: start must not fail, /ready says 503. */
	snprintf(env_url, sizeof env_url, "DATABASE_URL=postgresql://bookstore@127.0.0.1:%d/x",
		 ts_free_port());
	ck_assert_int_eq(ts_spawn(&p, c_env("CATALOG_BIN"), env), 0);
	snprintf(url, sizeof url, "%s/ready", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_ptr_nonnull(ts_str(r.json, "detail"));
	ts_resp_free(&r);
	snprintf(url, sizeof url, "%s/books", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 503);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_stop(&p, SIGTERM, 10000), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog_ops");
	TCase *tc = tcase_create("ops");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, c_setup_seeded, c_teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_root_health_ready);
	tcase_add_test(tc, test_metrics_exposes_requests_latency_and_pool);
	tcase_add_test(tc, test_openapi_is_valid_and_every_path_answers);
	tcase_add_test(tc, test_openapi_file_in_repo_is_what_is_served);
	tcase_add_test(tc, test_help_lists_every_variable);
	tcase_add_test(tc, test_bad_configuration_exits_2_with_one_line);
	tcase_add_test(tc, test_sigterm_exits_0_and_sigint_too);
	tcase_add_test(tc, test_migrate_mode_is_idempotent);
	tcase_add_test(tc, test_ready_503_while_database_down_and_recovers_after_restart);
	tcase_add_test(tc, test_service_starts_while_database_is_down);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
