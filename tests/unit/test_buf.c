/* test_buf.c - struct buf: growth, NUL termination, the cap, steal/free. */
#include "common/buf.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_empty_buffer_has_no_data)
{
	struct buf b = { 0 };
	char *s;

	ck_assert_ptr_null(b.data);
	s = buf_steal(&b);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	free(s);
	buf_free(&b);
}
END_TEST

START_TEST(test_appends_grow_and_stay_nul_terminated)
{
	struct buf b = { 0 };
	size_t i;

	ck_assert_int_eq(buf_puts(&b, "abc"), 0);
	ck_assert_str_eq(b.data, "abc");
	ck_assert_uint_eq(b.len, 3);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_append(&b, "0123456789", 10), 0);
	ck_assert_uint_eq(b.len, 10003);
	ck_assert_uint_eq(strlen(b.data), 10003);
	ck_assert(b.cap > b.len);
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_uint_eq(b.len, 10003);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_printf_appends_formatted_text)
{
	struct buf b = { 0 };
	char big[5000];

	ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
	ck_assert_str_eq(b.data, "42-x");
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(buf_printf(&b, "[%s]", big), 0);
	ck_assert_uint_eq(b.len, 4 + 2 + sizeof(big) - 1);
	ck_assert_int_eq(b.data[b.len - 1], ']');
	ck_assert_int_eq(b.data[b.len], '\0');
	buf_free(&b);
}
END_TEST

START_TEST(test_cap_allows_exactly_limit_bytes)
{
	struct buf b = { 0 };

	b.limit = 10;
	ck_assert_int_eq(buf_append(&b, "12345", 5), 0);
	ck_assert_int_eq(buf_append(&b, "67890", 5), 0);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(b.data, "1234567890");
	ck_assert_int_eq(buf_append(&b, "x", 1), -1);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(b.data, "1234567890");
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_cap_refusal_leaves_buffer_unchanged)
{
	struct buf b = { 0 };

	b.limit = 8;
	ck_assert_int_eq(buf_puts(&b, "abcdef"), 0);
	ck_assert_int_eq(buf_puts(&b, "ghi"), -1);
	ck_assert_str_eq(b.data, "abcdef");
	ck_assert_uint_eq(b.len, 6);
	ck_assert_int_eq(buf_printf(&b, "%s", "xyz"), -1);
	ck_assert_str_eq(b.data, "abcdef");
	ck_assert_uint_eq(b.len, 6);
	ck_assert_int_eq(buf_printf(&b, "%d", 12), 0);
	ck_assert_str_eq(b.data, "abcdef12");
	ck_assert_int_eq(buf_printf(&b, "%s", ""), 0);
	ck_assert_int_eq(buf_printf(&b, "%s", "!"), -1);
	ck_assert_str_eq(b.data, "abcdef12");
	buf_free(&b);
}
END_TEST

START_TEST(test_cap_refuses_a_single_oversized_append)
{
	struct buf b = { 0 };
	char big[100];

	memset(big, 'a', sizeof(big));
	b.limit = 50;
	ck_assert_int_eq(buf_append(&b, big, sizeof(big)), -1);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_append(&b, big, 50), 0);
	ck_assert_uint_eq(b.len, 50);
	/* Memory stays near the cap: at most the limit plus the NUL. */
	ck_assert(b.cap <= 51);
	buf_free(&b);
}
END_TEST

START_TEST(test_huge_length_is_refused_not_overflowed)
{
	struct buf b = { 0 };

	ck_assert_int_eq(buf_puts(&b, "a"), 0);
	ck_assert_int_eq(buf_append(&b, "x", (size_t)-1), -1);
	ck_assert_str_eq(b.data, "a");
	buf_free(&b);
}
END_TEST

START_TEST(test_steal_hands_over_and_empties)
{
	struct buf b = { 0 };
	char *s;

	buf_puts(&b, "hello");
	s = buf_steal(&b);
	ck_assert_str_eq(s, "hello");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.cap, 0);
	free(s);
	/* The buffer is reusable after steal and after free. */
	ck_assert_int_eq(buf_puts(&b, "again"), 0);
	ck_assert_str_eq(b.data, "again");
	buf_free(&b);
	ck_assert_int_eq(buf_puts(&b, "third"), 0);
	ck_assert_str_eq(b.data, "third");
	buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_empty_buffer_has_no_data);
	tcase_add_test(tc, test_appends_grow_and_stay_nul_terminated);
	tcase_add_test(tc, test_printf_appends_formatted_text);
	tcase_add_test(tc, test_cap_allows_exactly_limit_bytes);
	tcase_add_test(tc, test_cap_refusal_leaves_buffer_unchanged);
	tcase_add_test(tc, test_cap_refuses_a_single_oversized_append);
	tcase_add_test(tc, test_huge_length_is_refused_not_overflowed);
	tcase_add_test(tc, test_steal_hands_over_and_empties);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
