/* test_metrics.c - the metrics registry and exposition (metrics.h), the access-log helpers
 * (log.h: query redaction, levels) and the OTLP payload shape (otlp.h). */
#include "common/buf.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/otlp.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static char *render(void)
{
	struct buf b = { 0 };

	metrics_render(&b);
	return buf_steal(&b);
}

static void assert_has(const char *text, const char *want)
{
	ck_assert_msg(strstr(text, want) != NULL, "missing: %s", want);
}

START_TEST(test_counter_handles_count_and_render_from_registration)
{
	struct metrics_series *a, *b;
	char *t;

	metrics_init("test-service", "1.2.3", "abc123");
	a = metrics_counter("things_total", "Things.", "kind=\"a\"");
	b = metrics_counter("things_total", "Things.", "kind=\"b\"");
	ck_assert_ptr_eq(a, metrics_counter("things_total", "Things.", "kind=\"a\""));
	metrics_inc(a, 2);
	metrics_inc(a, 1);
	metrics_count("things_total", "Things.", "kind=\"a\"", 4);
	t = render();
	assert_has(t, "# HELP things_total Things.\n# TYPE things_total counter\n");
	assert_has(t, "things_total{kind=\"a\"} 7\n");
	assert_has(t, "things_total{kind=\"b\"} 0\n");
	(void)b;
	free(t);
}
END_TEST

START_TEST(test_gauges_set_and_add)
{
	struct metrics_series *g = metrics_gauge("level", "A level.", "");
	char *t;

	metrics_set(g, 3);
	metrics_add(g, -1.5);
	metrics_gauge_set("other_level", "Other.", "x=\"1\"", 2);
	t = render();
	assert_has(t, "# TYPE level gauge\nlevel 1.5\n");
	assert_has(t, "other_level{x=\"1\"} 2\n");
	free(t);
}
END_TEST

START_TEST(test_histograms_are_cumulative_with_both_layouts)
{
	struct metrics_series *s = metrics_histogram("wait_seconds", "Waits.", "",
						     METRICS_BUCKETS_SECONDS);
	struct metrics_series *z = metrics_histogram("size_bytes", "Sizes.", "r=\"x\"",
						     METRICS_BUCKETS_BYTES);
	char *t;

	metrics_observe_value(s, 0.0003);
	metrics_observe_value(s, 0.002);
	metrics_observe_value(s, 20);
	metrics_observe_value(z, 100);
	metrics_observe_value(z, 5000000);
	t = render();
	assert_has(t, "wait_seconds_bucket{le=\"0.0005\"} 1\n");
	assert_has(t, "wait_seconds_bucket{le=\"0.001\"} 1\n");
	assert_has(t, "wait_seconds_bucket{le=\"0.0025\"} 2\n");
	assert_has(t, "wait_seconds_bucket{le=\"10\"} 2\n");
	assert_has(t, "wait_seconds_bucket{le=\"+Inf\"} 3\n");
	assert_has(t, "wait_seconds_count 3\n");
	assert_has(t, "size_bytes_bucket{r=\"x\",le=\"64\"} 0\n");
	assert_has(t, "size_bytes_bucket{r=\"x\",le=\"256\"} 1\n");
	assert_has(t, "size_bytes_bucket{r=\"x\",le=\"1048576\"} 1\n");
	assert_has(t, "size_bytes_bucket{r=\"x\",le=\"+Inf\"} 2\n");
	assert_has(t, "size_bytes_sum{r=\"x\"} 5000100\n");
	free(t);
}
END_TEST

START_TEST(test_declared_families_render_before_any_series)
{
	char *t;

	metrics_declare_counter("later_total", "Later.");
	metrics_declare_histogram("later_seconds", "Later.", METRICS_BUCKETS_SECONDS);
	t = render();
	assert_has(t, "# TYPE later_total counter\n");
	assert_has(t, "# TYPE later_seconds histogram\n");
	free(t);
}
END_TEST

START_TEST(test_a_name_reused_with_another_type_is_not_rendered_twice)
{
	char *t, *p;

	metrics_inc(metrics_counter("clash", "A.", ""), 1);
	metrics_set(metrics_gauge("clash", "B.", ""), 9); /* a programmer error: ignored */
	t = render();
	p = strstr(t, "# TYPE clash");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_null(strstr(p + 1, "# TYPE clash"));
	ck_assert_ptr_null(strstr(t, "clash 9"));
	free(t);
}
END_TEST

START_TEST(test_requests_use_route_templates_and_a_fixed_method_set)
{
	char *t;

	metrics_init("svc", NULL, NULL);
	metrics_request("/books/{id}", "GET", 200, 0.004, 0, 300);
	metrics_request(NULL, "BREW", 404, 0.0001, 10, 22);
	metrics_in_flight(1);
	metrics_in_flight(1);
	metrics_in_flight(-1);
	t = render();
	assert_has(t, "http_requests_total{route=\"/books/{id}\",method=\"GET\",status=\"200\"} 1\n");
	assert_has(t, "http_requests_total{route=\"unmatched\",method=\"OTHER\",status=\"404\"} 1\n");
	assert_has(t, "http_request_duration_seconds_bucket{route=\"/books/{id}\",method=\"GET\","
		      "le=\"0.005\"} 1\n");
	assert_has(t, "http_request_size_bytes_bucket{route=\"unmatched\",method=\"OTHER\","
		      "le=\"64\"} 1\n");
	assert_has(t, "http_response_size_bytes_sum{route=\"/books/{id}\",method=\"GET\"} 300\n");
	assert_has(t, "http_requests_in_flight 1\n");
	assert_has(t, "bookstore_build_info{service=\"svc\",version=\"unknown\",commit=\"unknown\"} 1\n");
	free(t);
}
END_TEST

START_TEST(test_process_set_and_build_info_are_rendered)
{
	char *t;

	metrics_init("catalog-service", "0.1.0", "deadbeef");
	t = render();
	assert_has(t, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ");
	assert_has(t, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ");
	assert_has(t, "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes ");
	assert_has(t, "# TYPE process_open_fds gauge\nprocess_open_fds ");
	assert_has(t, "# TYPE process_max_fds gauge\nprocess_max_fds ");
	assert_has(t, "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds ");
	assert_has(t, "bookstore_build_info{service=\"catalog-service\",version=\"0.1.0\","
		      "commit=\"deadbeef\"} 1\n");
	ck_assert_ptr_null(strstr(t, "process_resident_memory_bytes 0\n"));
	free(t);
}
END_TEST

START_TEST(test_label_values_are_escaped)
{
	char out[64];

	metrics_label_escape(out, sizeof(out), "a\"b\\c\nd");
	ck_assert_str_eq(out, "a\\\"b\\\\c\\nd");
	metrics_label_escape(out, 4, "abcdef");
	ck_assert_str_eq(out, "ab");
}
END_TEST

START_TEST(test_customer_email_values_are_redacted_in_logged_queries)
{
	char out[256];

	log_redact_query("/orders?customer_email=a%40b.c&limit=5", out, sizeof(out));
	ck_assert_str_eq(out, "/orders?customer_email=REDACTED&limit=5");
	log_redact_query("/orders?limit=5&Customer_Email=x&customer%5Femail=y&customer_emailx=z",
			 out, sizeof(out));
	ck_assert_str_eq(out, "/orders?limit=5&Customer_Email=REDACTED&customer%5Femail=REDACTED"
			      "&customer_emailx=z");
	log_redact_query("/books", out, sizeof(out));
	ck_assert_str_eq(out, "/books");
	log_redact_query("/orders?customer_email", out, sizeof(out));
	ck_assert_str_eq(out, "/orders?customer_email");
	log_redact_query("/orders?customer_email=secret@example.com", out, 20);
	ck_assert_ptr_null(strstr(out, "secret"));
}
END_TEST

START_TEST(test_access_levels_5xx_and_slow_warn_4xx_info)
{
	log_set_slow_ms(1000);
	ck_assert_int_eq(log_access_level(200, 5), LOG_INFO);
	ck_assert_int_eq(log_access_level(404, 5), LOG_INFO);
	ck_assert_int_eq(log_access_level(422, 5), LOG_INFO);
	ck_assert_int_eq(log_access_level(500, 5), LOG_WARN);
	ck_assert_int_eq(log_access_level(503, 5), LOG_WARN);
	ck_assert_int_eq(log_access_level(200, 1000.5), LOG_WARN);
	ck_assert_int_eq(log_access_level(200, 999), LOG_INFO);
	log_set_slow_ms(0);
	ck_assert_int_eq(log_access_level(200, 1e9), LOG_INFO);
}
END_TEST

static const json_t *attr(const json_t *attrs, const char *key)
{
	size_t i;
	json_t *a;

	json_array_foreach(attrs, i, a)
		if (strcmp(json_string_value(json_object_get(a, "key")), key) == 0)
			return json_object_get(a, "value");
	return NULL;
}

START_TEST(test_otlp_payload_has_the_otlp_json_shape)
{
	struct otlp_span v[2];
	json_t *p, *rs, *spans, *s;

	memset(v, 0, sizeof(v));
	strcpy(v[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
	strcpy(v[0].span_id, "b7ad6b7169203331");
	strcpy(v[0].parent_id, "00f067aa0ba902b7");
	v[0].kind = OTLP_KIND_SERVER;
	v[0].start_ns = 1700000000000000000LL;
	v[0].end_ns = 1700000000001000000LL;
	strcpy(v[0].name, "GET /books/{id}");
	strcpy(v[0].method, "GET");
	strcpy(v[0].route, "/books/{id}");
	v[0].status = 200;
	v[1] = v[0];
	v[1].parent_id[0] = '\0';
	v[1].status = 503;
	p = otlp_payload(v, 2, "catalog-service", "0.1.0");
	ck_assert_ptr_nonnull(p);
	rs = json_array_get(json_object_get(p, "resourceSpans"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(
				 attr(json_object_get(json_object_get(rs, "resource"), "attributes"),
				      "service.name"),
				 "stringValue")),
			 "catalog-service");
	spans = json_object_get(json_array_get(json_object_get(rs, "scopeSpans"), 0), "spans");
	ck_assert_uint_eq(json_array_size(spans), 2);
	s = json_array_get(spans, 0);
	ck_assert_str_eq(json_string_value(json_object_get(s, "traceId")),
			 "0af7651916cd43dd8448eb211c80319c");
	ck_assert_str_eq(json_string_value(json_object_get(s, "spanId")), "b7ad6b7169203331");
	ck_assert_str_eq(json_string_value(json_object_get(s, "parentSpanId")), "00f067aa0ba902b7");
	ck_assert_str_eq(json_string_value(json_object_get(s, "name")), "GET /books/{id}");
	ck_assert_int_eq(json_integer_value(json_object_get(s, "kind")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(s, "startTimeUnixNano")),
			 "1700000000000000000");
	ck_assert_str_eq(json_string_value(json_object_get(s, "endTimeUnixNano")),
			 "1700000000001000000");
	ck_assert_str_eq(json_string_value(json_object_get(attr(json_object_get(s, "attributes"),
								 "http.method"),
							    "stringValue")),
			 "GET");
	ck_assert_str_eq(json_string_value(json_object_get(attr(json_object_get(s, "attributes"),
								 "http.route"),
							    "stringValue")),
			 "/books/{id}");
	ck_assert_str_eq(json_string_value(json_object_get(attr(json_object_get(s, "attributes"),
								 "http.status_code"),
							    "intValue")),
			 "200");
	ck_assert_ptr_null(json_object_get(json_array_get(spans, 1), "parentSpanId"));
	ck_assert_int_eq(json_integer_value(json_object_get(
				 json_object_get(json_array_get(spans, 1), "status"), "code")),
			 2);
	json_decref(p);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_counter_handles_count_and_render_from_registration);
	tcase_add_test(tc, test_gauges_set_and_add);
	tcase_add_test(tc, test_histograms_are_cumulative_with_both_layouts);
	tcase_add_test(tc, test_declared_families_render_before_any_series);
	tcase_add_test(tc, test_a_name_reused_with_another_type_is_not_rendered_twice);
	tcase_add_test(tc, test_requests_use_route_templates_and_a_fixed_method_set);
	tcase_add_test(tc, test_process_set_and_build_info_are_rendered);
	tcase_add_test(tc, test_label_values_are_escaped);
	tcase_add_test(tc, test_customer_email_values_are_redacted_in_logged_queries);
	tcase_add_test(tc, test_access_levels_5xx_and_slow_warn_4xx_info);
	tcase_add_test(tc, test_otlp_payload_has_the_otlp_json_shape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
