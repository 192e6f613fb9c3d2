/* test_trace.c - W3C traceparent parsing, new traces and spans, outbound headers (trace.h). */
#include "common/trace.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOOD "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

START_TEST(test_parses_a_valid_traceparent)
{
	char tid[33], pid[17];
	uint8_t flags = 0;

	ck_assert_int_eq(trace_parse_traceparent(GOOD, tid, pid, &flags), 0);
	ck_assert_str_eq(tid, "0af7651916cd43dd8448eb211c80319c");
	ck_assert_str_eq(pid, "b7ad6b7169203331");
	ck_assert_int_eq(flags, 1);
	ck_assert_int_eq(trace_parse_traceparent(
				 "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", tid, pid,
				 &flags),
			 0);
	ck_assert_int_eq(flags, 0);
}
END_TEST

START_TEST(test_rejects_malformed_traceparents)
{
	static const char *const bad[] = {
		NULL,
		"",
		"01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", /* version 01 */
		"ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", /* version ff */
		"00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", /* upper case */
		"00-0af7651916cd43dd8448eb211c80319c-B7AD6B7169203331-01",
		"00-00000000000000000000000000000000-b7ad6b7169203331-01", /* zero trace id */
		"00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01", /* zero parent */
		"00-0af7651916cd43dd8448eb211c80319-b7ad6b7169203331-01",  /* 31 digits */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01",   /* 15 digits */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-1",   /* short flags */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g",  /* bad flags */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-", /* trailing */
		"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01 ",
		"00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  /* separator */
		"00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
		"00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01",  /* not hex */
		" 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
	};
	char tid[33] = "untouched", pid[17];
	uint8_t flags;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(trace_parse_traceparent(bad[i], tid, pid, &flags) == -1,
			      "accepted case %zu", i);
	ck_assert_str_eq(tid, "untouched");
}
END_TEST

static int lower_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

START_TEST(test_begin_continues_a_valid_trace_with_a_new_span)
{
	struct trace_ctx t;

	trace_begin(&t, GOOD, "vendor=abc,other=1");
	ck_assert_str_eq(t.trace_id, "0af7651916cd43dd8448eb211c80319c");
	ck_assert_str_eq(t.parent_id, "b7ad6b7169203331");
	ck_assert(lower_hex(t.span_id, 16));
	ck_assert_str_ne(t.span_id, "b7ad6b7169203331");
	ck_assert_str_eq(t.tracestate, "vendor=abc,other=1");
	ck_assert_int_eq(t.flags, 1);
}
END_TEST

START_TEST(test_begin_starts_a_new_trace_when_absent_or_malformed)
{
	struct trace_ctx a, b;

	trace_begin(&a, NULL, "vendor=abc");
	trace_begin(&b, "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01", NULL);
	ck_assert(lower_hex(a.trace_id, 32));
	ck_assert(lower_hex(b.trace_id, 32));
	ck_assert_str_ne(a.trace_id, b.trace_id);
	ck_assert_str_ne(b.trace_id, "0af7651916cd43dd8448eb211c80319c");
	ck_assert_str_eq(a.parent_id, "");
	ck_assert_str_eq(a.tracestate, ""); /* a tracestate without its traceparent is dropped */
	ck_assert_int_eq(a.flags, 1);
	ck_assert(lower_hex(a.span_id, 16));
}
END_TEST

START_TEST(test_unsafe_tracestate_is_dropped)
{
	struct trace_ctx t;
	char big[TRACE_TRACESTATE_MAX + 2];

	trace_begin(&t, GOOD, "a=1\r\nX-Evil: 1");
	ck_assert_str_eq(t.tracestate, "");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	trace_begin(&t, GOOD, big);
	ck_assert_str_eq(t.tracestate, "");
	ck_assert(!trace_tracestate_ok(""));
	ck_assert(trace_tracestate_ok("k=v"));
}
END_TEST

START_TEST(test_format_names_this_span_as_parent_and_round_trips)
{
	struct trace_ctx t;
	char out[TRACE_TRACEPARENT_LEN + 1], tid[33], pid[17];
	uint8_t flags;

	trace_begin(&t, GOOD, NULL);
	trace_format(&t, out);
	ck_assert_int_eq((int)strlen(out), TRACE_TRACEPARENT_LEN);
	ck_assert_int_eq(trace_parse_traceparent(out, tid, pid, &flags), 0);
	ck_assert_str_eq(tid, t.trace_id);
	ck_assert_str_eq(pid, t.span_id);
	ck_assert_int_eq(flags, 1);
}
END_TEST

START_TEST(test_outbound_uses_the_current_span_or_a_new_trace)
{
	struct trace_ctx t;
	char lines[2][TRACE_HEADER_LINE_MAX];
	char want[80];

	trace_begin(&t, GOOD, "v=1");
	trace_set_current(&t);
	trace_header_lines(lines);
	snprintf(want, sizeof(want), "traceparent: 00-%s-%s-01", t.trace_id, t.span_id);
	ck_assert_str_eq(lines[0], want);
	ck_assert_str_eq(lines[1], "tracestate: v=1");
	trace_set_current(NULL);
	ck_assert_ptr_null(trace_current());
	trace_header_lines(lines);
	ck_assert_int_eq(strncmp(lines[0], "traceparent: 00-", 16), 0);
	ck_assert_int_eq(trace_parse_traceparent(lines[0] + 13, NULL, NULL, NULL), 0);
	ck_assert_int_eq(strstr(lines[0], t.trace_id) == NULL, 1);
	ck_assert_str_eq(lines[1], "");
}
END_TEST

START_TEST(test_random_ids_are_never_all_zero_and_differ)
{
	char a[17], b[17];

	trace_random_hex(a, 8);
	trace_random_hex(b, 8);
	ck_assert(lower_hex(a, 16));
	ck_assert_str_ne(a, "0000000000000000");
	ck_assert_str_ne(a, b);
}
END_TEST

static Suite *trace_suite(void)
{
	Suite *s = suite_create("trace");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_parses_a_valid_traceparent);
	tcase_add_test(tc, test_rejects_malformed_traceparents);
	tcase_add_test(tc, test_begin_continues_a_valid_trace_with_a_new_span);
	tcase_add_test(tc, test_begin_starts_a_new_trace_when_absent_or_malformed);
	tcase_add_test(tc, test_unsafe_tracestate_is_dropped);
	tcase_add_test(tc, test_format_names_this_span_as_parent_and_round_trips);
	tcase_add_test(tc, test_outbound_uses_the_current_span_or_a_new_trace);
	tcase_add_test(tc, test_random_ids_are_never_all_zero_and_differ);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(trace_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
