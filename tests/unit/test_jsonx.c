/* test_jsonx.c - jsonx.h: detail bodies, PostgreSQL times to RFC 3339, equality, canonical form. */
#include "common/jsonx.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static void assert_time(const char *pg, const char *want)
{
	json_t *v = jsonx_pg_time(pg);

	ck_assert_msg(json_is_string(v), "not a string for %s", pg);
	ck_assert_str_eq(json_string_value(v), want);
	json_decref(v);
}

START_TEST(test_pg_time_always_has_six_fractional_digits)
{
	assert_time("2026-11-29 10:00:00.123456+00", "2026-11-29T10:00:00.123456Z");
	assert_time("2026-11-29 10:00:00.1+00", "2026-11-29T10:00:00.100000Z");
	assert_time("2026-11-29 10:00:00.3115+00", "2026-11-29T10:00:00.311500Z");
	assert_time("2026-11-29 10:00:00.85357+00", "2026-11-29T10:00:00.853570Z");
}
END_TEST

START_TEST(test_pg_time_without_fraction_gets_six_zeros)
{
	assert_time("2026-11-29 10:00:00+00", "2026-11-29T10:00:00.000000Z");
	assert_time("2026-11-29 10:00:00+00:00", "2026-11-29T10:00:00.000000Z");
}
END_TEST

START_TEST(test_pg_time_other_offset_kept_in_rfc3339_form)
{
	assert_time("2026-11-29 10:00:00+05:30", "2026-11-29T10:00:00.000000+05:30");
	assert_time("2026-11-29 10:00:00-08", "2026-11-29T10:00:00.000000-08:00");
	assert_time("2026-11-29 10:00:00.5+05:30:15", "2026-11-29T10:00:00.500000+05:30:15");
}
END_TEST

START_TEST(test_pg_time_null_and_odd_text)
{
	json_t *v = jsonx_pg_time(NULL);

	ck_assert(json_is_null(v));
	json_decref(v);
	assert_time("infinity", "infinity");
}
END_TEST

START_TEST(test_pg_time_with_invalid_utf8_is_null_not_an_abort)
{
	/* Found by tests/fuzz/fuzz_parsers.c: jansson refuses the text and jsonx_pg_time used to
	 * abort the process ("out of memory"), for both the odd-shape and the converted path. */
	json_t *v = jsonx_pg_time("\xba\xba\xba");

	ck_assert(json_is_null(v));
	json_decref(v);
	v = jsonx_pg_time("2026-11-29 10:00:00.1+\xff\xfe\xfd");
	ck_assert(json_is_null(v));
	json_decref(v);
	v = jsonx_pg_time("2026-11-29 10:00:00.1+\xff");
	ck_assert(json_is_null(v));
	json_decref(v);
}
END_TEST

START_TEST(test_string_or_null)
{
	json_t *a = jsonx_string_or_null("x");
	json_t *b = jsonx_string_or_null(NULL);

	ck_assert_str_eq(json_string_value(a), "x");
	ck_assert(json_is_null(b));
	json_decref(a);
	json_decref(b);
}
END_TEST

START_TEST(test_canonical_is_compact_and_sorted)
{
	json_t *a = json_loads("{ \"b\": 2, \"a\": {\"z\": 1, \"y\": \"t\"} }", 0, NULL);
	json_t *b = json_loads("{\"a\":{\"y\":\"t\",\"z\":1},\"b\":2}", 0, NULL);
	char *ca = jsonx_canonical(a);
	char *cb = jsonx_canonical(b);

	ck_assert_str_eq(ca, "{\"a\":{\"y\":\"t\",\"z\":1},\"b\":2}");
	ck_assert_str_eq(ca, cb);
	free(ca);
	free(cb);
	json_decref(a);
	json_decref(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jsonx");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_pg_time_always_has_six_fractional_digits);
	tcase_add_test(tc, test_pg_time_without_fraction_gets_six_zeros);
	tcase_add_test(tc, test_pg_time_other_offset_kept_in_rfc3339_form);
	tcase_add_test(tc, test_pg_time_null_and_odd_text);
	tcase_add_test(tc, test_pg_time_with_invalid_utf8_is_null_not_an_abort);
	tcase_add_test(tc, test_string_or_null);
	tcase_add_test(tc, test_canonical_is_compact_and_sorted);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
