/* test_etag.c - entity tags and If-None-Match / If-Match lists. */
#include "common/etag.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_tags_from_version_and_body)
{
	char a[ETAG_MAX];
	char b[ETAG_MAX];

	etag_from_version(a, "v", 42);
	ck_assert_str_eq(a, "\"v42\"");
	etag_from_body(a, "abc", 3);
	etag_from_body(b, "abd", 3);
	ck_assert_uint_eq(strlen(a), 19);
	ck_assert_str_ne(a, b);
	etag_from_body(b, "abc", 3);
	ck_assert_str_eq(a, b);
}
END_TEST

START_TEST(test_if_none_match_is_weak_and_if_match_strong)
{
	ck_assert(etag_list_match("\"v1\"", "\"v1\"", true));
	ck_assert(etag_list_match(" \"x\" , W/\"v1\"", "\"v1\"", true));
	ck_assert(!etag_list_match("W/\"v1\"", "\"v1\"", false));
	ck_assert(etag_list_match("\"v0\", \"v1\"", "\"v1\"", false));
	ck_assert(!etag_list_match("\"v12\"", "\"v1\"", false));
	ck_assert(etag_list_match(" * ", "\"v1\"", false));
	ck_assert(!etag_list_match("v1", "\"v1\"", true));
	ck_assert(!etag_list_match("\"v1", "\"v1\"", true));
	ck_assert(!etag_list_match("\"v1\"x", "\"v1\"", true));
	ck_assert(!etag_list_match("", "\"v1\"", true));
	ck_assert(!etag_list_match(NULL, "\"v1\"", true));
}
END_TEST

static int count_tags(const char *tag, size_t len, void *ctx)
{
	(void)tag;
	(void)len;
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_each_skips_weak_tags_and_reports_star)
{
	int n = 0;

	ck_assert_int_eq(etag_list_each("\"a\", W/\"b\", \"c\"", count_tags, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(etag_list_each("*", count_tags, &n), 1);
	ck_assert_int_eq(n, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("etag");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_tags_from_version_and_body);
	tcase_add_test(tc, test_if_none_match_is_weak_and_if_match_strong);
	tcase_add_test(tc, test_each_skips_weak_tags_and_reports_star);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
