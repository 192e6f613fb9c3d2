/* test_valid.c - valid.h: FastAPI-compatible 422 entries, ISBN, email, UTF-8, strict ints. */
#include "common/valid.h"

#include <check.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static json_t *obj(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);

	ck_assert_msg(v != NULL, "bad test JSON: %s", err.text);
	return v;
}

/* Asserts errors[i] has this type, loc ["body"|"query", key] and msg. */
static void assert_entry(const json_t *errors, size_t i, const char *type, const char *loc0,
			 const char *key, const char *msg)
{
	const json_t *e = json_array_get(errors, i);
	const json_t *loc = json_object_get(e, "loc");

	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(json_string_value(json_object_get(e, "type")), type);
	ck_assert_str_eq(json_string_value(json_object_get(e, "msg")), msg);
	ck_assert_int_eq(json_array_size(loc), 2);
	ck_assert_str_eq(json_string_value(json_array_get(loc, 0)), loc0);
	ck_assert_str_eq(json_string_value(json_array_get(loc, 1)), key);
}

START_TEST(test_isbn13_with_good_check_digit_is_kept)
{
	char out[14];

	ck_assert_int_eq(valid_isbn("9780132350884", out), 0);
	ck_assert_str_eq(out, "9780132350884");
	ck_assert_int_eq(valid_isbn("978-1617293726", out), 0);
	ck_assert_str_eq(out, "9781617293726");
	ck_assert_int_eq(valid_isbn("978 0 13 235088 4", out), 0);
	ck_assert_str_eq(out, "9780132350884");
}
END_TEST

START_TEST(test_isbn13_with_bad_check_digit_is_rejected)
{
	char out[14];

	ck_assert_int_eq(valid_isbn("9780132350885", out), -1);
	ck_assert_int_eq(valid_isbn("978-1617293727", out), -1);
}
END_TEST

START_TEST(test_isbn10_is_converted_to_isbn13)
{
	char out[14];

	ck_assert_int_eq(valid_isbn("0132350882", out), 0);
	ck_assert_str_eq(out, "9780132350884");
	ck_assert_int_eq(valid_isbn("0-13-235088-2", out), 0);
	ck_assert_str_eq(out, "9780132350884");
	ck_assert_int_eq(valid_isbn("0201633612", out), 0);
	ck_assert_str_eq(out, "9780201633610");
}
END_TEST

START_TEST(test_isbn10_with_x_check_digit_any_case)
{
	char out[14];

	ck_assert_int_eq(valid_isbn("080442957X", out), 0);
	ck_assert_str_eq(out, "9780804429573");
	ck_assert_int_eq(valid_isbn("080442957x", out), 0);
	ck_assert_str_eq(out, "9780804429573");
	/* X only as the last character of an ISBN-10. */
	ck_assert_int_eq(valid_isbn("08044295X7", out), -1);
	ck_assert_int_eq(valid_isbn("978080442957X", out), -1);
}
END_TEST

START_TEST(test_isbn10_with_bad_check_digit_is_rejected)
{
	char out[14];

	ck_assert_int_eq(valid_isbn("0132350883", out), -1);
	ck_assert_int_eq(valid_isbn("0804429570", out), -1);
}
END_TEST

START_TEST(test_isbn_rejects_empty_wrong_length_and_letters)
{
	static const char *const bad[] = { "", "   ", "---", "123", "97801323508840",
					   "013235088", "97801323508a4", "abcdefghij",
					   "9780132350884\n", "978_0132350884" };
	char out[14];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(valid_isbn(bad[i], out) == -1, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(valid_isbn(NULL, out), -1);
}
END_TEST

START_TEST(test_email_accepts_and_lowercases_domain)
{
	char *out = NULL;

	ck_assert_int_eq(valid_email("John.Doe@Example.COM", &out), 0);
	ck_assert_str_eq(out, "John.Doe@example.com");
	free(out);
	out = NULL;
	ck_assert_int_eq(valid_email("a+tag@sub.example.org", &out), 0);
	ck_assert_str_eq(out, "a+tag@sub.example.org");
	free(out);
}
END_TEST

START_TEST(test_email_rejects_malformed)
{
	static const char *const bad[] = { "", "plain", "@example.com", "a@", "a@b", "a@@b.com",
					   "a@b@c.com", "a b@c.com", "a@b .com", "a@.com",
					   "a@b..com", "a@b.com.", "a\t@b.com", "a@b.com\n" };
	char *out = NULL;
	char big[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(valid_email(bad[i], &out) == -1, "accepted \"%s\"", bad[i]);
	/* 255 bytes is over the limit, 254 is fine. */
	memset(big, 'a', sizeof(big));
	memcpy(big + 255 - 6, "@b.com", 7);
	ck_assert_int_eq(strlen(big), 255);
	ck_assert_int_eq(valid_email(big, &out), -1);
	memcpy(big + 254 - 6, "@b.com", 7);
	ck_assert_int_eq(valid_email(big, &out), 0);
	free(out);
}
END_TEST

START_TEST(test_utf8_counts_characters_not_bytes)
{
	ck_assert_int_eq(valid_utf8_chars("abc", 3), 3);
	ck_assert_int_eq(valid_utf8_chars("h\xc3\xa9llo", 6), 5);          /* héllo */
	ck_assert_int_eq(valid_utf8_chars("\xe6\x97\xa5\xe6\x9c\xac", 6), 2); /* 日本 */
	ck_assert_int_eq(valid_utf8_chars("\xf0\x9f\x98\x80", 4), 1);      /* emoji */
	ck_assert_int_eq(valid_utf8_chars("", 0), 0);
}
END_TEST

START_TEST(test_utf8_validity)
{
	ck_assert(valid_utf8("h\xc3\xa9llo", 6));
	ck_assert(valid_utf8("\xf0\x9f\x98\x80", 4));
	ck_assert(!valid_utf8("\xc3", 1));             /* truncated */
	ck_assert(!valid_utf8("\xc0\xaf", 2));         /* overlong */
	ck_assert(!valid_utf8("\xed\xa0\x80", 3));     /* surrogate */
	ck_assert(!valid_utf8("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	ck_assert(!valid_utf8("\xff", 1));
	ck_assert(!valid_utf8("a\0b", 3));             /* NUL */
}
END_TEST

START_TEST(test_parse_ll_is_strict)
{
	long long v = 0;

	ck_assert_int_eq(valid_parse_ll("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(valid_parse_ll("-7", -10, 10, &v), 0);
	ck_assert_int_eq(v, -7);
	ck_assert_int_eq(valid_parse_ll("9223372036854775807", 0, LLONG_MAX, &v), 0);
	ck_assert_int_eq(v, LLONG_MAX);
	static const char *const bad[] = { "", "-", "+5", " 5", "5 ", "5a", "0x10", "1e3", "5.0",
					   "9223372036854775808", "1.", "--5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(valid_parse_ll(bad[i], LLONG_MIN, LLONG_MAX, &v) == -1,
			      "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(valid_parse_ll("101", 0, 100, &v), -1);
	ck_assert_int_eq(valid_parse_ll("-1", 0, 100, &v), -1);
	ck_assert_int_eq(valid_parse_ll(NULL, 0, 100, &v), -1);
}
END_TEST

START_TEST(test_parse_bool)
{
	bool b = false;

	ck_assert_int_eq(valid_parse_bool("true", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(valid_parse_bool("FALSE", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(valid_parse_bool("1", &b), 0);
	ck_assert(b);
	ck_assert_int_eq(valid_parse_bool("0", &b), 0);
	ck_assert(!b);
	ck_assert_int_eq(valid_parse_bool("maybe", &b), -1);
	ck_assert_int_eq(valid_parse_bool("", &b), -1);
	ck_assert_int_eq(valid_parse_bool(NULL, &b), -1);
}
END_TEST

START_TEST(test_query_ll_default_parse_error_and_range)
{
	json_t *errors = json_array();
	long long v = 0;

	ck_assert_int_eq(valid_query_ll(NULL, "skip", 0, 0, LLONG_MAX, &v, errors), VALID_ABSENT);
	ck_assert_int_eq(v, 0);
	ck_assert_int_eq(valid_query_ll("20", "limit", 100, 1, 1000, &v, errors), VALID_OK);
	ck_assert_int_eq(v, 20);
	ck_assert_int_eq(json_array_size(errors), 0);
	ck_assert_int_eq(valid_query_ll("abc", "limit", 100, 1, 1000, &v, errors), VALID_INVALID);
	ck_assert_int_eq(valid_query_ll("0", "limit", 100, 1, 1000, &v, errors), VALID_INVALID);
	ck_assert_int_eq(valid_query_ll("1001", "limit", 100, 1, 1000, &v, errors), VALID_INVALID);
	ck_assert_int_eq(valid_query_ll("99999999999999999999", "limit", 100, 1, 1000, &v, errors),
			 VALID_INVALID);
	ck_assert_int_eq(json_array_size(errors), 4);
	assert_entry(errors, 0, "int_parsing", "query", "limit",
		     "Input should be a valid integer, unable to parse string as an integer");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 0), "input")),
			 "abc");
	assert_entry(errors, 1, "greater_than_equal", "query", "limit",
		     "Input should be greater than or equal to 1");
	assert_entry(errors, 2, "less_than_equal", "query", "limit",
		     "Input should be less than or equal to 1000");
	assert_entry(errors, 3, "less_than_equal", "query", "limit",
		     "Input should be less than or equal to 1000");
	json_decref(errors);
}
END_TEST

/* No silent clamping (DECISIONS.md "Integers"): a number too long for 64 bits is out of range
 * even when the range ends at LLONG_MAX/LLONG_MIN, and the entry names the field and bound. */
START_TEST(test_text_ll_never_clamps_overflow)
{
	json_t *errors = json_array();
	long long v = 42;

	ck_assert_int_eq(valid_query_ll("9223372036854775807", "skip", 0, 0, LLONG_MAX, &v, errors),
			 VALID_OK);
	ck_assert(v == LLONG_MAX);
	v = 42;
	ck_assert_int_eq(valid_query_ll("9223372036854775808", "skip", 0, 0, LLONG_MAX, &v, errors),
			 VALID_INVALID);
	ck_assert_int_eq(valid_query_ll("99999999999999999999", "book_id", 0, 1, LLONG_MAX, &v,
					errors),
			 VALID_INVALID);
	ck_assert_int_eq(valid_text_ll("-9223372036854775809", "path", "n", LLONG_MIN, LLONG_MAX,
				       &v, errors),
			 VALID_INVALID);
	ck_assert_int_eq(valid_text_ll("0", "path", "order_id", 1, LLONG_MAX, &v, errors),
			 VALID_INVALID);
	ck_assert_int_eq(valid_text_ll("-1", "path", "order_id", 1, LLONG_MAX, &v, errors),
			 VALID_INVALID);
	ck_assert_int_eq(valid_text_ll(NULL, "path", "order_id", 1, LLONG_MAX, &v, errors),
			 VALID_INVALID);
	ck_assert_int_eq(v, 42); /* never written on failure */
	ck_assert_int_eq(json_array_size(errors), 6);
	assert_entry(errors, 0, "less_than_equal", "query", "skip",
		     "Input should be less than or equal to 9223372036854775807");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 0), "input")),
			 "9223372036854775808");
	assert_entry(errors, 1, "less_than_equal", "query", "book_id",
		     "Input should be less than or equal to 9223372036854775807");
	assert_entry(errors, 2, "greater_than_equal", "path", "n",
		     "Input should be greater than or equal to -9223372036854775808");
	assert_entry(errors, 3, "greater_than_equal", "path", "order_id",
		     "Input should be greater than or equal to 1");
	assert_entry(errors, 4, "greater_than_equal", "path", "order_id",
		     "Input should be greater than or equal to 1");
	assert_entry(errors, 5, "int_parsing", "path", "order_id",
		     "Input should be a valid integer, unable to parse string as an integer");
	ck_assert_int_eq(valid_text_ll("7", "path", "order_id", 1, LLONG_MAX, &v, errors), VALID_OK);
	ck_assert_int_eq(v, 7);
	json_decref(errors);
}
END_TEST

START_TEST(test_valid_string_trims_and_copies)
{
	json_t *o = obj("{\"title\":\"  Clean Code \\t\\n\", \"nbsp\":\"\\u00a0x\\u3000\"}");
	json_t *errors = json_array();
	char *out = NULL;

	ck_assert_int_eq(valid_string(o, "title", 1, 255, &out, errors), VALID_OK);
	ck_assert_str_eq(out, "Clean Code");
	free(out);
	out = NULL;
	ck_assert_int_eq(valid_string(o, "nbsp", 1, 255, &out, errors), VALID_OK);
	ck_assert_str_eq(out, "x");
	free(out);
	ck_assert_int_eq(json_array_size(errors), 0);
	json_decref(errors);
	json_decref(o);
}
END_TEST

START_TEST(test_valid_string_absent_null_and_wrong_type)
{
	json_t *o = obj("{\"n\":null,\"i\":5,\"a\":[\"x\"]}");
	json_t *errors = json_array();
	char *out = NULL;

	ck_assert_int_eq(valid_string(o, "missing", 1, 255, &out, errors), VALID_ABSENT);
	ck_assert_int_eq(valid_string(o, "n", 1, 255, &out, errors), VALID_NULL);
	ck_assert_int_eq(json_array_size(errors), 0);
	ck_assert_int_eq(valid_string(o, "i", 1, 255, &out, errors), VALID_INVALID);
	ck_assert_int_eq(valid_string(o, "a", 1, 255, &out, errors), VALID_INVALID);
	ck_assert_ptr_null(out);
	assert_entry(errors, 0, "string_type", "body", "i", "Input should be a valid string");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(errors, 0), "input")),
			 5);
	assert_entry(errors, 1, "string_type", "body", "a", "Input should be a valid string");
	json_decref(errors);
	json_decref(o);
}
END_TEST

START_TEST(test_valid_string_length_limits_count_characters)
{
	json_t *o = json_object();
	json_t *errors = json_array();
	char *out = NULL;
	char text[1024];

	/* 255 two-byte characters (510 bytes) fit in 255; 256 do not. */
	for (int i = 0; i < 255; i++)
		memcpy(text + 2 * i, "\xc3\xa9", 2);
	text[510] = '\0';
	json_object_set_new(o, "ok", json_string(text));
	memcpy(text + 510, "\xc3\xa9", 3);
	json_object_set_new(o, "long", json_string(text));
	json_object_set_new(o, "blank", json_string("   "));
	json_object_set_new(o, "empty", json_string(""));
	json_object_set_new(o, "nul", json_stringn("a\0b", 3));

	ck_assert_int_eq(valid_string(o, "ok", 1, 255, &out, errors), VALID_OK);
	ck_assert_int_eq(strlen(out), 510);
	free(out);
	ck_assert_int_eq(valid_string(o, "long", 1, 255, &out, errors), VALID_INVALID);
	ck_assert_int_eq(valid_string(o, "blank", 1, 255, &out, errors), VALID_INVALID);
	ck_assert_int_eq(valid_string(o, "empty", 1, 255, &out, errors), VALID_INVALID);
	ck_assert_int_eq(valid_string(o, "empty", 3, 255, &out, errors), VALID_INVALID);
	ck_assert_int_eq(valid_string(o, "nul", 1, 255, &out, errors), VALID_INVALID);
	ck_assert_int_eq(json_array_size(errors), 5);
	assert_entry(errors, 0, "string_too_long", "body", "long",
		     "String should have at most 255 characters");
	assert_entry(errors, 1, "string_too_short", "body", "blank",
		     "String should have at least 1 character");
	assert_entry(errors, 2, "string_too_short", "body", "empty",
		     "String should have at least 1 character");
	assert_entry(errors, 3, "string_too_short", "body", "empty",
		     "String should have at least 3 characters");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 4), "type")),
			 "string_unicode");
	json_decref(errors);
	json_decref(o);
}
END_TEST

START_TEST(test_valid_int_rejects_string_real_and_bool)
{
	json_t *o = obj("{\"s\":\"5\",\"r\":5.0,\"b\":true,\"ok\":5,\"n\":null}");
	json_t *errors = json_array();
	long long v = -1;

	ck_assert_int_eq(valid_int(o, "ok", 0, 10, &v, errors), VALID_OK);
	ck_assert_int_eq(v, 5);
	ck_assert_int_eq(valid_int(o, "absent", 0, 10, &v, errors), VALID_ABSENT);
	ck_assert_int_eq(valid_int(o, "n", 0, 10, &v, errors), VALID_NULL);
	ck_assert_int_eq(json_array_size(errors), 0);
	ck_assert_int_eq(valid_int(o, "s", 0, 10, &v, errors), VALID_INVALID);
	ck_assert_int_eq(valid_int(o, "r", 0, 10, &v, errors), VALID_INVALID);
	ck_assert_int_eq(valid_int(o, "b", 0, 10, &v, errors), VALID_INVALID);
	ck_assert_int_eq(json_array_size(errors), 3);
	assert_entry(errors, 0, "int_type", "body", "s", "Input should be a valid integer");
	assert_entry(errors, 1, "int_type", "body", "r", "Input should be a valid integer");
	assert_entry(errors, 2, "int_type", "body", "b", "Input should be a valid integer");
	json_decref(errors);
	json_decref(o);
}
END_TEST

START_TEST(test_valid_int_range_messages)
{
	json_t *o = obj("{\"neg\":-1,\"big\":2147483648}");
	json_t *errors = json_array();
	long long v = 0;

	ck_assert_int_eq(valid_int(o, "neg", 0, 2147483647, &v, errors), VALID_INVALID);
	ck_assert_int_eq(valid_int(o, "big", 0, 2147483647, &v, errors), VALID_INVALID);
	assert_entry(errors, 0, "greater_than_equal", "body", "neg",
		     "Input should be greater than or equal to 0");
	assert_entry(errors, 1, "less_than_equal", "body", "big",
		     "Input should be less than or equal to 2147483647");
	json_decref(errors);
	json_decref(o);
}
END_TEST

START_TEST(test_missing_and_error_entries)
{
	json_t *errors = json_array();
	json_t *input = json_integer(3);
	json_t *e;

	valid_missing(errors, "body", "title");
	valid_error(errors, "custom", "body", NULL, "Whole body", input);
	assert_entry(errors, 0, "missing", "body", "title", "Field required");
	e = json_array_get(errors, 1);
	ck_assert_int_eq(json_array_size(json_object_get(e, "loc")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "input")), 3);
	json_decref(input);
	json_decref(errors);
}
END_TEST

START_TEST(test_trim)
{
	char *t = valid_trim(" \t a b \n");

	ck_assert_str_eq(t, "a b");
	free(t);
	t = valid_trim("   ");
	ck_assert_str_eq(t, "");
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("valid");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_text_ll_never_clamps_overflow);
	tcase_add_test(tc, test_isbn13_with_good_check_digit_is_kept);
	tcase_add_test(tc, test_isbn13_with_bad_check_digit_is_rejected);
	tcase_add_test(tc, test_isbn10_is_converted_to_isbn13);
	tcase_add_test(tc, test_isbn10_with_x_check_digit_any_case);
	tcase_add_test(tc, test_isbn10_with_bad_check_digit_is_rejected);
	tcase_add_test(tc, test_isbn_rejects_empty_wrong_length_and_letters);
	tcase_add_test(tc, test_email_accepts_and_lowercases_domain);
	tcase_add_test(tc, test_email_rejects_malformed);
	tcase_add_test(tc, test_utf8_counts_characters_not_bytes);
	tcase_add_test(tc, test_utf8_validity);
	tcase_add_test(tc, test_parse_ll_is_strict);
	tcase_add_test(tc, test_parse_bool);
	tcase_add_test(tc, test_query_ll_default_parse_error_and_range);
	tcase_add_test(tc, test_valid_string_trims_and_copies);
	tcase_add_test(tc, test_valid_string_absent_null_and_wrong_type);
	tcase_add_test(tc, test_valid_string_length_limits_count_characters);
	tcase_add_test(tc, test_valid_int_rejects_string_real_and_bool);
	tcase_add_test(tc, test_valid_int_range_messages);
	tcase_add_test(tc, test_missing_and_error_entries);
	tcase_add_test(tc, test_trim);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
