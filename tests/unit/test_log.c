/* test_log.c - the JSON lines of log.c: trace ids on every line of a request, the access line's
 * fields (actor when set, slow flag) and levels. Captures stdout in a temporary file. */
#include "common/log.h"
#include "common/trace.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int saved_stdout = -1;
static FILE *capture;

static void capture_start(void)
{
	capture = tmpfile();
	ck_assert_ptr_nonnull(capture);
	fflush(stdout);
	saved_stdout = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved_stdout, 0);
	ck_assert_int_ge(dup2(fileno(capture), STDOUT_FILENO), 0);
}

/* Stops capturing; returns the n-th line (0-based) parsed, a new reference, or NULL. */
static json_t *capture_line(int n)
{
	char line[8192];
	json_t *o = NULL;

	fflush(stdout);
	dup2(saved_stdout, STDOUT_FILENO);
	close(saved_stdout);
	rewind(capture);
	for (int i = 0; fgets(line, sizeof(line), capture) != NULL; i++)
		if (i == n)
			o = json_loads(line, 0, NULL);
	fclose(capture);
	return o;
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

START_TEST(test_lines_of_a_request_carry_its_trace_ids)
{
	struct trace_ctx t;
	json_t *a, *b;

	log_init("svc", LOG_DEBUG);
	trace_begin(&t, NULL, NULL);
	capture_start();
	trace_set_current(&t);
	log_msg(LOG_WARN, "rid-1", "database unavailable");
	trace_set_current(NULL);
	log_msg(LOG_INFO, NULL, "no request");
	a = capture_line(0);
	capture_start();
	log_msg(LOG_INFO, NULL, "x");
	b = capture_line(0);
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(str(a, "trace_id"), t.trace_id);
	ck_assert_str_eq(str(a, "span_id"), t.span_id);
	ck_assert_str_eq(str(a, "request_id"), "rid-1");
	ck_assert_str_eq(str(a, "level"), "warn");
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_null(json_object_get(b, "trace_id"));
	json_decref(a);
	json_decref(b);
}
END_TEST

static struct log_access_rec rec(void)
{
	struct log_access_rec a;

	memset(&a, 0, sizeof(a));
	a.request_id = "rid";
	a.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
	a.span_id = "00f067aa0ba902b7";
	a.method = "GET";
	a.route = "/orders";
	a.path_query = "/orders?customer_email=x%40y.z&limit=2";
	a.status = 200;
	a.duration_ms = 2.5;
	a.bytes_in = 0;
	a.bytes_out = 123;
	a.client = "203.0.113.7";
	a.user_agent = "ua/1";
	return a;
}

START_TEST(test_access_line_has_every_field_and_the_actor_when_set)
{
	struct log_access_rec a = rec();
	json_t *o, *p;

	log_init("svc", LOG_INFO);
	log_set_slow_ms(1000);
	capture_start();
	log_access(&a);
	a.actor = "user-42";
	a.status = 404;
	log_access(&a);
	o = capture_line(0);
	capture_start();
	log_access(&a);
	p = capture_line(0);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(str(o, "level"), "info");
	ck_assert_str_eq(str(o, "route"), "/orders");
	ck_assert_str_eq(str(o, "path"), "/orders?customer_email=REDACTED&limit=2");
	ck_assert_str_eq(str(o, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	ck_assert_str_eq(str(o, "span_id"), "00f067aa0ba902b7");
	ck_assert_str_eq(str(o, "client"), "203.0.113.7");
	ck_assert_str_eq(str(o, "user_agent"), "ua/1");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "bytes_out")), 123);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "bytes_in")), 0);
	ck_assert_ptr_null(json_object_get(o, "actor"));
	ck_assert_ptr_null(json_object_get(o, "slow"));
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(str(p, "actor"), "user-42");
	ck_assert_str_eq(str(p, "level"), "info"); /* 4xx */
	json_decref(o);
	json_decref(p);
}
END_TEST

START_TEST(test_5xx_and_slow_lines_warn_and_pass_a_warn_filter)
{
	struct log_access_rec a = rec();
	json_t *o, *s;

	log_init("svc", LOG_WARN); /* only what needs attention */
	log_set_slow_ms(100);
	capture_start();
	log_access(&a); /* fast 200: filtered out */
	a.status = 503;
	log_access(&a);
	o = capture_line(0);
	a.status = 200;
	a.duration_ms = 150;
	capture_start();
	log_access(&a);
	s = capture_line(0);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "status")), 503);
	ck_assert_str_eq(str(o, "level"), "warn");
	ck_assert_ptr_null(json_object_get(o, "slow"));
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(str(s, "level"), "warn");
	ck_assert(json_is_true(json_object_get(s, "slow")));
	json_decref(o);
	json_decref(s);
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_lines_of_a_request_carry_its_trace_ids);
	tcase_add_test(tc, test_access_line_has_every_field_and_the_actor_when_set);
	tcase_add_test(tc, test_5xx_and_slow_lines_warn_and_pass_a_warn_filter);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
