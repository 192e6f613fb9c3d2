/* test_book_cache.c - the per-replica read cache (book_cache.c) on its own: an entry's age counts
 * from when the database read that filled it started, so a slow read does not stretch how long
 * its (already aging) answer is served past the TTL. */
#include "book_cache.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

/* A read that took longer than the TTL: its answer is already too old to serve. */
START_TEST(test_entry_age_counts_from_read_start)
{
	struct book_cache *c = book_cache_new(1000, 16);
	char *text = NULL;
	long long version = 0;
	uint64_t ticket;

	ck_assert_ptr_nonnull(c);
	ticket = book_cache_ticket(c, 7);
	book_cache_put(c, 7, ticket, clock_mono_ms() - 1500, "{\"id\": 7}", 3);
	ck_assert_int_eq(book_cache_get(c, 7, &text, &version), -1);
	ck_assert_ptr_null(text);

	/* A read that started 200 ms ago is still fresh (TTL 1000 ms). */
	ticket = book_cache_ticket(c, 8);
	book_cache_put(c, 8, ticket, clock_mono_ms() - 200, "{\"id\": 8}", 4);
	ck_assert_int_eq(book_cache_get(c, 8, &text, &version), 0);
	ck_assert_str_eq(text, "{\"id\": 8}");
	ck_assert_int_eq(version, 4);
	free(text);
	book_cache_free(c);
}
END_TEST

/* A drop after the ticket was taken keeps the older answer out. */
START_TEST(test_put_after_drop_is_ignored)
{
	struct book_cache *c = book_cache_new(1000, 16);
	char *text = NULL;
	long long version = 0;
	uint64_t ticket;
	long long t;

	t = clock_mono_ms();
	ticket = book_cache_ticket(c, 9);
	book_cache_drop(c, 9);
	book_cache_put(c, 9, ticket, t, "{\"id\": 9}", 1);
	ck_assert_int_eq(book_cache_get(c, 9, &text, &version), -1);
	book_cache_free(c);
}
END_TEST

/* List pages: fresh for the TTL counted from the read's start, keyed exactly, and a drop (any
 * write through this replica) discards every page and keeps a read that started before it out. */
START_TEST(test_pages_follow_ttl_key_and_drops)
{
	struct book_cache *c = book_cache_new(1000, 16);
	char *text = NULL;
	uint64_t ticket;
	char big[BOOK_CACHE_MAX_PAGE + 2];

	ck_assert_ptr_nonnull(c);
	ticket = book_cache_page_ticket(c);
	book_cache_page_put(c, "0|20|-|", ticket, clock_mono_ms() - 1500, "{\"total\": 1}");
	ck_assert_int_eq(book_cache_page_get(c, "0|20|-|", &text), -1);

	book_cache_page_put(c, "0|20|-|", ticket, clock_mono_ms(), "{\"total\": 2}");
	ck_assert_int_eq(book_cache_page_get(c, "0|20|-|", &text), 0);
	ck_assert_str_eq(text, "{\"total\": 2}");
	free(text);
	text = NULL;
	ck_assert_int_eq(book_cache_page_get(c, "0|21|-|", &text), -1);

	/* A write through this replica (to any book) drops every page at once... */
	book_cache_drop(c, 12345);
	ck_assert_int_eq(book_cache_page_get(c, "0|20|-|", &text), -1);
	/* ...and a read that started before the drop cannot store its page. */
	book_cache_page_put(c, "0|20|-|", ticket, clock_mono_ms(), "{\"total\": 3}");
	ck_assert_int_eq(book_cache_page_get(c, "0|20|-|", &text), -1);
	ticket = book_cache_page_ticket(c);
	book_cache_page_put(c, "0|20|-|", ticket, clock_mono_ms(), "{\"total\": 4}");
	ck_assert_int_eq(book_cache_page_get(c, "0|20|-|", &text), 0);
	ck_assert_str_eq(text, "{\"total\": 4}");
	free(text);
	text = NULL;

	/* Pages over the size bound are not kept (memory stays bounded). */
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	book_cache_page_put(c, "big", ticket, clock_mono_ms(), big);
	ck_assert_int_eq(book_cache_page_get(c, "big", &text), -1);

	/* Off: every call is a no-op. */
	ck_assert_int_eq(book_cache_page_get(NULL, "0|20|-|", &text), -1);
	ck_assert_uint_eq(book_cache_page_ticket(NULL), 0);
	book_cache_page_put(NULL, "k", 0, 0, "{}");
	book_cache_free(c);
}
END_TEST

/* Refresh-ahead: in the second half of the TTL one caller is sent to refresh (a miss) while the
 * others are still served, and the refresher's put makes the entry fresh again. Same for list
 * pages. (Past the TTL nobody is served: test_entry_age_counts_from_read_start.) */
START_TEST(test_refresh_ahead_elects_one_caller)
{
	struct book_cache *c = book_cache_new(1000, 16);
	char *text = NULL;
	long long version = 0;
	uint64_t ticket;

	ck_assert_ptr_nonnull(c);
	ticket = book_cache_ticket(c, 3);
	book_cache_put(c, 3, ticket, clock_mono_ms() - 700, "{\"id\": 3}", 1);
	ck_assert_int_eq(book_cache_get(c, 3, &text, &version), -1); /* the refresher */
	ck_assert_int_eq(book_cache_get(c, 3, &text, &version), 0);  /* the others */
	free(text);
	text = NULL;
	ck_assert_int_eq(book_cache_get(c, 3, &text, &version), 0);
	free(text);
	text = NULL;
	/* The refresher's answer lands: a fresh entry, no refresh pending. */
	book_cache_put(c, 3, book_cache_ticket(c, 3), clock_mono_ms(), "{\"id\": 3, \"v\": 2}", 2);
	ck_assert_int_eq(book_cache_get(c, 3, &text, &version), 0);
	ck_assert_str_eq(text, "{\"id\": 3, \"v\": 2}");
	ck_assert_int_eq(version, 2);
	free(text);
	text = NULL;

	ticket = book_cache_page_ticket(c);
	book_cache_page_put(c, "p", ticket, clock_mono_ms() - 700, "{\"total\": 1}");
	ck_assert_int_eq(book_cache_page_get(c, "p", &text), -1);
	ck_assert_int_eq(book_cache_page_get(c, "p", &text), 0);
	free(text);
	text = NULL;
	book_cache_page_put(c, "p", ticket, clock_mono_ms(), "{\"total\": 2}");
	ck_assert_int_eq(book_cache_page_get(c, "p", &text), 0);
	ck_assert_str_eq(text, "{\"total\": 2}");
	free(text);
	book_cache_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("book_cache");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_entry_age_counts_from_read_start);
	tcase_add_test(tc, test_put_after_drop_is_ignored);
	tcase_add_test(tc, test_pages_follow_ttl_key_and_drops);
	tcase_add_test(tc, test_refresh_ahead_elects_one_caller);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
