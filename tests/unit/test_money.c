/* test_money.c - money.h: exact cents, strict parsing, pydantic-style errors, formatting. */
#include "common/money.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static enum money_err parse(const char *s, int64_t *cents)
{
	*cents = -12345;
	return money_parse(s, cents);
}

static enum money_err from_json_text(const char *text, int64_t *cents)
{
	json_error_t err;
	json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	enum money_err e;

	ck_assert_ptr_nonnull(v);
	*cents = -12345;
	e = money_from_json(v, cents);
	json_decref(v);
	return e;
}

START_TEST(test_parse_accepts_two_one_and_no_decimals)
{
	int64_t c;

	ck_assert_int_eq(parse("44.99", &c), MONEY_OK);
	ck_assert_int_eq(c, 4499);
	ck_assert_int_eq(parse("44.9", &c), MONEY_OK);
	ck_assert_int_eq(c, 4490);
	ck_assert_int_eq(parse("44", &c), MONEY_OK);
	ck_assert_int_eq(c, 4400);
	ck_assert_int_eq(parse("0.01", &c), MONEY_OK);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(parse("007.50", &c), MONEY_OK);
	ck_assert_int_eq(c, 750);
}
END_TEST

START_TEST(test_parse_rejects_three_decimals)
{
	int64_t c;

	ck_assert_int_eq(parse("44.999", &c), MONEY_TOO_PRECISE);
	ck_assert_int_eq(parse("0.001", &c), MONEY_TOO_PRECISE);
	ck_assert_int_eq(c, -12345);
	ck_assert_str_eq(money_err_type(MONEY_TOO_PRECISE), "decimal_max_places");
	ck_assert_str_eq(money_err_msg(MONEY_TOO_PRECISE),
			 "Decimal input should have no more than 2 decimal places");
}
END_TEST

START_TEST(test_parse_accepts_trailing_zero_decimals_like_pydantic)
{
	int64_t c;

	ck_assert_int_eq(parse("44.990", &c), MONEY_OK);
	ck_assert_int_eq(c, 4499);
}
END_TEST

START_TEST(test_parse_rejects_zero_and_negative)
{
	int64_t c;

	ck_assert_int_eq(parse("0", &c), MONEY_NOT_POSITIVE);
	ck_assert_int_eq(parse("0.00", &c), MONEY_NOT_POSITIVE);
	ck_assert_int_eq(parse("-1", &c), MONEY_NOT_POSITIVE);
	ck_assert_int_eq(parse("-0.01", &c), MONEY_NOT_POSITIVE);
	ck_assert_str_eq(money_err_type(MONEY_NOT_POSITIVE), "greater_than");
	ck_assert_str_eq(money_err_msg(MONEY_NOT_POSITIVE), "Input should be greater than 0");
}
END_TEST

START_TEST(test_parse_upper_bound_99999999_99_ok_1e8_rejected)
{
	int64_t c;

	ck_assert_int_eq(parse("99999999.99", &c), MONEY_OK);
	ck_assert_int_eq(c, 9999999999LL);
	ck_assert_int_eq(parse("100000000", &c), MONEY_TOO_LARGE);
	ck_assert_int_eq(parse("100000000.00", &c), MONEY_TOO_LARGE);
	ck_assert_int_eq(parse("99999999999999999999999999999", &c), MONEY_TOO_LARGE);
	ck_assert_str_eq(money_err_type(MONEY_TOO_LARGE), "less_than");
	ck_assert_str_eq(money_err_msg(MONEY_TOO_LARGE), "Input should be less than 100000000");
}
END_TEST

START_TEST(test_parse_rejects_bad_syntax)
{
	static const char *const bad[] = { "", "abc", "1e8", "1E2", "+5", " 5", "5 ", "5.",
					   ".5", "1.2.3", "--1", "1,5", "0x10", "NaN", "inf",
					   "١٢" };
	int64_t c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(parse(bad[i], &c) == MONEY_BAD_FORMAT, "accepted \"%s\"", bad[i]);
	ck_assert_str_eq(money_err_type(MONEY_BAD_FORMAT), "decimal_parsing");
	ck_assert_int_eq(money_parse(NULL, &c), MONEY_BAD_TYPE);
}
END_TEST

START_TEST(test_json_real_44_99_is_exact)
{
	int64_t c;

	ck_assert_int_eq(from_json_text("44.99", &c), MONEY_OK);
	ck_assert_int_eq(c, 4499);
	ck_assert_int_eq(from_json_text("19.99", &c), MONEY_OK);
	ck_assert_int_eq(c, 1999);
	ck_assert_int_eq(from_json_text("0.1", &c), MONEY_OK);
	ck_assert_int_eq(c, 10);
	ck_assert_int_eq(from_json_text("99999999.99", &c), MONEY_OK);
	ck_assert_int_eq(c, 9999999999LL);
}
END_TEST

START_TEST(test_json_real_rejects_three_decimals_zero_negative_and_1e8)
{
	int64_t c;

	ck_assert_int_eq(from_json_text("44.999", &c), MONEY_TOO_PRECISE);
	ck_assert_int_eq(from_json_text("0.00001", &c), MONEY_TOO_PRECISE);
	ck_assert_int_eq(from_json_text("0.0", &c), MONEY_NOT_POSITIVE);
	ck_assert_int_eq(from_json_text("-1.5", &c), MONEY_NOT_POSITIVE);
	ck_assert_int_eq(from_json_text("1e8", &c), MONEY_TOO_LARGE);
	ck_assert_int_eq(from_json_text("1e300", &c), MONEY_TOO_LARGE);
	ck_assert_int_eq(from_json_text("-1e300", &c), MONEY_NOT_POSITIVE);
}
END_TEST

START_TEST(test_json_integer_and_string)
{
	int64_t c;

	ck_assert_int_eq(from_json_text("45", &c), MONEY_OK);
	ck_assert_int_eq(c, 4500);
	ck_assert_int_eq(from_json_text("0", &c), MONEY_NOT_POSITIVE);
	ck_assert_int_eq(from_json_text("-1", &c), MONEY_NOT_POSITIVE);
	ck_assert_int_eq(from_json_text("100000000", &c), MONEY_TOO_LARGE);
	ck_assert_int_eq(from_json_text("9223372036854775807", &c), MONEY_TOO_LARGE);
	ck_assert_int_eq(from_json_text("\"44.99\"", &c), MONEY_OK);
	ck_assert_int_eq(c, 4499);
	ck_assert_int_eq(from_json_text("\"4.999\"", &c), MONEY_TOO_PRECISE);
	ck_assert_int_eq(from_json_text("\"1\\u00002\"", &c), MONEY_BAD_FORMAT);
}
END_TEST

START_TEST(test_json_other_types_are_bad_type)
{
	int64_t c;

	ck_assert_int_eq(from_json_text("true", &c), MONEY_BAD_TYPE);
	ck_assert_int_eq(from_json_text("null", &c), MONEY_BAD_TYPE);
	ck_assert_int_eq(from_json_text("[1]", &c), MONEY_BAD_TYPE);
	ck_assert_int_eq(from_json_text("{}", &c), MONEY_BAD_TYPE);
	ck_assert_int_eq(money_from_json(NULL, &c), MONEY_BAD_TYPE);
	ck_assert_str_eq(money_err_type(MONEY_BAD_TYPE), "decimal_type");
}
END_TEST

START_TEST(test_format_two_decimals)
{
	char out[24];
	json_t *j;

	ck_assert_str_eq(money_format(4499, out), "44.99");
	ck_assert_str_eq(money_format(4490, out), "44.90");
	ck_assert_str_eq(money_format(5, out), "0.05");
	ck_assert_str_eq(money_format(0, out), "0.00");
	ck_assert_str_eq(money_format(-5, out), "-0.05");
	ck_assert_str_eq(money_format(9999999999LL, out), "99999999.99");
	ck_assert_str_eq(money_format(INT64_MIN, out), "-92233720368547758.08");
	j = money_to_json(4499);
	ck_assert(json_is_string(j));
	ck_assert_str_eq(json_string_value(j), "44.99");
	json_decref(j);
}
END_TEST

START_TEST(test_mul_detects_overflow)
{
	int64_t r = 0;

	ck_assert_int_eq(money_mul(4499, 3, &r), 0);
	ck_assert_int_eq(r, 13497);
	ck_assert_int_eq(money_mul(9999999999LL, 1000000, &r), 0);
	ck_assert_int_eq(r, 9999999999000000LL);
	ck_assert_int_eq(money_mul(INT64_MAX / 2, 3, &r), -1);
	ck_assert_int_eq(money_mul(INT64_MIN, -1, &r), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("money");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_parse_accepts_two_one_and_no_decimals);
	tcase_add_test(tc, test_parse_rejects_three_decimals);
	tcase_add_test(tc, test_parse_accepts_trailing_zero_decimals_like_pydantic);
	tcase_add_test(tc, test_parse_rejects_zero_and_negative);
	tcase_add_test(tc, test_parse_upper_bound_99999999_99_ok_1e8_rejected);
	tcase_add_test(tc, test_parse_rejects_bad_syntax);
	tcase_add_test(tc, test_json_real_44_99_is_exact);
	tcase_add_test(tc, test_json_real_rejects_three_decimals_zero_negative_and_1e8);
	tcase_add_test(tc, test_json_integer_and_string);
	tcase_add_test(tc, test_json_other_types_are_bad_type);
	tcase_add_test(tc, test_format_two_decimals);
	tcase_add_test(tc, test_mul_detects_overflow);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
