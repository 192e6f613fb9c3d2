/* test_config.c - config.h: cfg_parse over a fake environment. */
#include "common/config.h"

#include "common/log.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fake environment: NAME=VALUE pairs, NULL-terminated. */
static const char *const *fake_env;

static const char *fake_get(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; fake_env != NULL && fake_env[i] != NULL; i++)
		if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
			return fake_env[i] + n + 1;
	return NULL;
}

struct test_cfg {
	struct cfg_common c;
	const char *catalog_url;
	int timeout_ms;
};

/* Parses the common variables plus one URL and one extra int under env. */
static int parse_env(const char *const *env, struct test_cfg *t, char *err, size_t errlen)
{
	struct cfg_var vars[] = {
		CFG_COMMON_VARS(&t->c),
		{ "CATALOG_SERVICE_URL", "http://catalog-service:8000", CFG_URL, 0, 0,
		  &t->catalog_url, "catalog base URL" },
		{ "CATALOG_TIMEOUT_MS", "2000", CFG_INT, 1, 60000, &t->timeout_ms, "timeout" },
	};

	memset(t, 0, sizeof(*t));
	fake_env = env;
	err[0] = '\0';
	return cfg_parse(vars, sizeof(vars) / sizeof(vars[0]), fake_get, err, errlen);
}

START_TEST(test_defaults_apply_when_unset)
{
	static const char *const env[] = { NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(env, &t, err, sizeof(err)), 0);
	ck_assert_ptr_null(t.c.database_url);
	ck_assert_int_eq(t.c.port, 8000);
	ck_assert_int_eq(t.c.http_threads, 4);
	ck_assert_int_eq(t.c.db_pool_size, 4);
	ck_assert_int_eq(t.c.db_statement_timeout_ms, 5000);
	ck_assert_int_eq(t.c.db_pool_wait_ms, 2000);
	ck_assert_int_eq(t.c.max_body_bytes, 1048576);
	ck_assert_int_eq(t.c.log_level, LOG_INFO);
	ck_assert_int_eq(t.c.shutdown_timeout_ms, 10000);
	ck_assert_int_eq(t.c.idle_timeout_s, 30);
	ck_assert_str_eq(t.catalog_url, "http://catalog-service:8000");
	ck_assert_int_eq(t.timeout_ms, 2000);
}
END_TEST

START_TEST(test_values_from_environment)
{
	static const char *const env[] = { "DATABASE_URL=postgresql://u@h/db", "PORT=9001",
					   "DB_POOL_SIZE=16", "LOG_LEVEL=WARN", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(env, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(t.c.database_url, "postgresql://u@h/db");
	ck_assert_int_eq(t.c.port, 9001);
	ck_assert_int_eq(t.c.db_pool_size, 16);
	ck_assert_int_eq(t.c.log_level, LOG_WARN);
}
END_TEST

START_TEST(test_empty_value_counts_as_unset)
{
	static const char *const env[] = { "PORT=", "DATABASE_URL=", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(env, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.c.port, 8000);
	ck_assert_ptr_null(t.c.database_url);
}
END_TEST

START_TEST(test_port_abc_is_rejected_naming_the_variable)
{
	static const char *const env[] = { "PORT=abc", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(env, &t, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "PORT: \"abc\" is not an integer between 1 and 65535");
	ck_assert_ptr_null(strchr(err, '\n'));
}
END_TEST

START_TEST(test_pool_size_zero_is_rejected)
{
	static const char *const env[] = { "DB_POOL_SIZE=0", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(env, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "DB_POOL_SIZE"));
	ck_assert_ptr_nonnull(strstr(err, "between 1 and 256"));
}
END_TEST

START_TEST(test_integer_bounds_are_inclusive)
{
	static const char *const lo[] = { "PORT=1", "DB_POOL_SIZE=256", NULL };
	static const char *const hi[] = { "PORT=65536", NULL };
	static const char *const neg[] = { "PORT=-1", NULL };
	static const char *const huge[] = { "PORT=99999999999999999999999", NULL };
	static const char *const junk[] = { "PORT=80x", NULL };
	static const char *const space[] = { "PORT= 80", NULL };
	static const char *const plus[] = { "PORT=+80", NULL };
	static const char *const real[] = { "HTTP_THREADS=4.0", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(lo, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.c.port, 1);
	ck_assert_int_eq(t.c.db_pool_size, 256);
	ck_assert_int_eq(parse_env(hi, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "PORT"));
	ck_assert_int_eq(parse_env(neg, &t, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_env(huge, &t, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_env(junk, &t, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_env(space, &t, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_env(plus, &t, err, sizeof(err)), -1);
	ck_assert_int_eq(parse_env(real, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "HTTP_THREADS"));
}
END_TEST

START_TEST(test_shutdown_timeout_zero_allowed)
{
	static const char *const env[] = { "SHUTDOWN_TIMEOUT_MS=0", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(env, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.c.shutdown_timeout_ms, 0);
}
END_TEST

START_TEST(test_log_level_names)
{
	static const char *const dbg[] = { "LOG_LEVEL=debug", NULL };
	static const char *const warning[] = { "LOG_LEVEL=warning", NULL };
	static const char *const err_lvl[] = { "LOG_LEVEL=Error", NULL };
	static const char *const bad[] = { "LOG_LEVEL=loud", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(dbg, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.c.log_level, LOG_DEBUG);
	ck_assert_int_eq(parse_env(warning, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.c.log_level, LOG_WARN);
	ck_assert_int_eq(parse_env(err_lvl, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(t.c.log_level, LOG_ERROR);
	ck_assert_int_eq(parse_env(bad, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "LOG_LEVEL"));
	ck_assert_ptr_nonnull(strstr(err, "loud"));
}
END_TEST

START_TEST(test_url_trailing_slash_is_stripped)
{
	static const char *const env[] = { "CATALOG_SERVICE_URL=http://127.0.0.1:8001/", NULL };
	static const char *const path[] = { "CATALOG_SERVICE_URL=https://cat.example/api//", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(env, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(t.catalog_url, "http://127.0.0.1:8001");
	ck_assert_int_eq(parse_env(path, &t, err, sizeof(err)), 0);
	ck_assert_str_eq(t.catalog_url, "https://cat.example/api");
}
END_TEST

START_TEST(test_url_forms_accepted_and_rejected)
{
	static const char *const good[] = { "http://catalog-service:8000", "HTTP://a",
					    "https://[::1]:8443/x", "http://a.b_c-d/p?q=1" };
	static const char *const bad[] = { "ftp://a", "catalog:8000", "http://", "http://:80",
					   "http://a:0", "http://a:65536", "http://a:x",
					   "http://a b", "http://a@b", "http://a/b c" };
	struct test_cfg t;
	char err[256];
	char entry[128];
	const char *env[2] = { entry, NULL };

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(entry, sizeof(entry), "CATALOG_SERVICE_URL=%s", good[i]);
		ck_assert_msg(parse_env(env, &t, err, sizeof(err)) == 0, "rejected %s: %s", good[i],
			      err);
		ck_assert_str_eq(t.catalog_url, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(entry, sizeof(entry), "CATALOG_SERVICE_URL=%s", bad[i]);
		ck_assert_msg(parse_env(env, &t, err, sizeof(err)) == -1, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "CATALOG_SERVICE_URL"));
	}
}
END_TEST

START_TEST(test_first_bad_variable_is_reported)
{
	static const char *const env[] = { "PORT=0", "HTTP_THREADS=-1", NULL };
	struct test_cfg t;
	char err[256];

	ck_assert_int_eq(parse_env(env, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "PORT:"));
}
END_TEST

/* The observability settings: defaults, a CIDR list, a bad CIDR named in the error. */
static int parse_obs(const char *const *env, struct cfg_common *c, char *err, size_t errlen)
{
	struct cfg_var vars[] = { CFG_OBS_VARS(c) };

	memset(c, 0, sizeof(*c));
	fake_env = env;
	return cfg_parse(vars, sizeof(vars) / sizeof(vars[0]), fake_get, err, errlen);
}

START_TEST(test_observability_settings_defaults_and_checks)
{
	static const char *const none[] = { NULL };
	static const char *const good[] = { "TRUSTED_PROXIES=10.0.0.0/8, ::1",
					    "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318/",
					    "LOG_SLOW_MS=250", NULL };
	static const char *const bad[] = { "TRUSTED_PROXIES=10.0.0.0/8,300.1.1.1", NULL };
	struct cfg_common c;
	char err[256] = "";

	ck_assert_int_eq(parse_obs(none, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.trusted_proxies, "");
	ck_assert_int_eq(c.log_slow_ms, 1000);
	ck_assert_ptr_null(c.otlp_endpoint);
	ck_assert_int_eq(c.otlp_queue_size, 2048);
	ck_assert_int_eq(c.otlp_batch_size, 512);
	ck_assert_int_eq(c.otlp_delay_ms, 5000);
	ck_assert_int_eq(c.otlp_timeout_ms, 10000);
	ck_assert_int_eq(parse_obs(good, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.trusted_proxies, "10.0.0.0/8, ::1");
	ck_assert_str_eq(c.otlp_endpoint, "http://collector:4318");
	ck_assert_int_eq(c.log_slow_ms, 250);
	ck_assert_int_eq(parse_obs(bad, &c, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "TRUSTED_PROXIES") != NULL && strstr(err, "300.1.1.1") != NULL,
		      "%s", err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_defaults_apply_when_unset);
	tcase_add_test(tc, test_observability_settings_defaults_and_checks);
	tcase_add_test(tc, test_values_from_environment);
	tcase_add_test(tc, test_empty_value_counts_as_unset);
	tcase_add_test(tc, test_port_abc_is_rejected_naming_the_variable);
	tcase_add_test(tc, test_pool_size_zero_is_rejected);
	tcase_add_test(tc, test_integer_bounds_are_inclusive);
	tcase_add_test(tc, test_shutdown_timeout_zero_allowed);
	tcase_add_test(tc, test_log_level_names);
	tcase_add_test(tc, test_url_trailing_slash_is_stripped);
	tcase_add_test(tc, test_url_forms_accepted_and_rejected);
	tcase_add_test(tc, test_first_bad_variable_is_reported);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
