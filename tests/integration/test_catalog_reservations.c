/* test_catalog_reservations.c - the reservation API the order service relies on: atomic,
 * idempotent by id, release exactly once, tombstones, and no overselling under concurrency. */
#include "test_catalog_common.h"

static long long book_qty(long long id)
{
	char sql[96];

	snprintf(sql, sizeof sql, "SELECT quantity FROM books WHERE id = %lld", id);
	return c_sql_ll(sql);
}

static void reserve(struct ts_resp *r, const char *id, long long book, long long qty)
{
	char body[200];

	snprintf(body, sizeof body, "{\"reservation_id\":\"%s\",\"book_id\":%lld,\"quantity\":%lld}",
		 id, book, qty);
	c_req(r, "POST", body, "/reservations");
}

START_TEST(test_reserve_201_decrements_and_returns_book)
{
	long long book = c_book("Stocked", "A", NULL, "12.34", 10);
	struct ts_resp r;
	const json_t *b;

	reserve(&r, "order-1", book, 3);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(ts_str(r.json, "reservation_id"), "order-1");
	ck_assert_str_eq(ts_str(r.json, "status"), "reserved");
	ck_assert_int_eq(ts_int(r.json, "book_id"), book);
	ck_assert_int_eq(ts_int(r.json, "quantity"), 3);
	b = json_object_get(r.json, "book");
	ck_assert_int_eq(ts_int(b, "quantity"), 7);
	ck_assert_str_eq(ts_str(b, "price"), "12.34");
	ck_assert_str_eq(ts_str(b, "title"), "Stocked");
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 7);

	/* A retry with the same id, book and quantity: 200, no second decrement. */
	reserve(&r, "order-1", book, 3);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "status"), "reserved");
	ck_assert_int_eq(ts_int(json_object_get(r.json, "book"), "quantity"), 7);
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 7);

	/* Same id, other quantity or book: 422. */
	reserve(&r, "order-1", book, 4);
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	reserve(&r, "order-1", 1, 3);
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 7);

	c_req(&r, "GET", NULL, "/reservations/order-1");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "status"), "reserved");
	ck_assert_int_eq(ts_int(r.json, "quantity"), 3);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_reserve_missing_book_and_insufficient_stock)
{
	long long book = c_book("Scarce", "A", NULL, "1.00", 2);
	struct ts_resp r;
	char want[128];

	reserve(&r, "r-missing", 999999, 1);
	c_assert_detail(&r, 404, "Book not found");
	ts_resp_free(&r);
	/* A failed reservation leaves no row: the id can be used later. */
	c_req(&r, "GET", NULL, "/reservations/r-missing");
	c_assert_detail(&r, 404, "Reservation not found");
	ts_resp_free(&r);

	reserve(&r, "r-big", book, 5);
	snprintf(want, sizeof want, "Insufficient stock for book %lld: requested 5, available 2",
		 book);
	c_assert_detail(&r, 409, want);
	ck_assert_int_eq(ts_int(r.json, "book_id"), book);
	ck_assert_int_eq(ts_int(r.json, "requested"), 5);
	ck_assert_int_eq(ts_int(r.json, "available"), 2);
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 2);
	c_req(&r, "GET", NULL, "/reservations/r-big");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	/* Exactly the remaining stock works. */
	reserve(&r, "r-big", book, 2);
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 0);
}
END_TEST

START_TEST(test_release_gives_stock_back_exactly_once_then_410)
{
	long long book = c_book("Returnable", "A", NULL, "1.00", 5);
	struct ts_resp r;

	reserve(&r, "rel-1", book, 4);
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 1);

	c_req(&r, "POST", NULL, "/reservations/rel-1/release");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "reservation_id"), "rel-1");
	ck_assert_str_eq(ts_str(r.json, "status"), "released");
	ck_assert_int_eq(ts_int(r.json, "book_id"), book);
	ck_assert_int_eq(ts_int(r.json, "quantity"), 4);
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 5);

	/* Releasing again is a no-op 200. */
	c_req(&r, "POST", "{}", "/reservations/rel-1/release");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "status"), "released");
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 5);

	/* Never reserve again under a released id. */
	reserve(&r, "rel-1", book, 4);
	c_assert_detail(&r, 410, "Reservation rel-1 has been released");
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 5);
}
END_TEST

START_TEST(test_release_unknown_id_leaves_tombstone)
{
	long long book = c_book("Tomb", "A", NULL, "1.00", 5);
	struct ts_resp r;

	c_req(&r, "POST", NULL, "/reservations/late-order/release");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "status"), "released");
	ck_assert(json_is_null(json_object_get(r.json, "book_id")));
	ck_assert_int_eq(ts_int(r.json, "quantity"), 0);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/reservations/late-order");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "status"), "released");
	ts_resp_free(&r);
	/* The late reserve is refused and takes nothing. */
	reserve(&r, "late-order", book, 1);
	c_assert_detail(&r, 410, "Reservation late-order has been released");
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 5);
	/* Releasing the tombstone again gives nothing back. */
	c_req(&r, "POST", NULL, "/reservations/late-order/release");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(book_qty(book), 5);
}
END_TEST

START_TEST(test_reservation_validation)
{
	struct ts_resp r;
	char path[128];

	c_req(&r, "POST", "{}", "/reservations");
	c_assert_422(&r, "missing", "body", "reservation_id");
	c_assert_422(&r, "missing", "body", "book_id");
	c_assert_422(&r, "missing", "body", "quantity");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"reservation_id\":\"has space\",\"book_id\":\"1\",\"quantity\":0}",
	      "/reservations");
	c_assert_422(&r, "string_pattern_mismatch", "body", "reservation_id");
	c_assert_422(&r, "int_type", "body", "book_id");
	c_assert_422(&r, "greater_than_equal", "body", "quantity");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"reservation_id\":\"ok\",\"book_id\":0,\"quantity\":1000001}",
	      "/reservations");
	c_assert_422(&r, "greater_than_equal", "body", "book_id");
	c_assert_422(&r, "less_than_equal", "body", "quantity");
	ts_resp_free(&r);
	/* 65 characters is too long, in the body and in the path. */
	memset(path, 'a', 65);
	path[65] = '\0';
	reserve(&r, path, 1, 1);
	c_assert_422(&r, "string_pattern_mismatch", "body", "reservation_id");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/reservations/%s", path);
	c_assert_422(&r, "string_pattern_mismatch", "path", "reservation_id");
	ts_resp_free(&r);
	c_req(&r, "POST", NULL, "/reservations/bad%%20id/release");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	{
		const char *h[] = { "Content-Type: text/plain", NULL };

		c_req_h(&r, "POST", "/reservations", "{\"reservation_id\":\"x\"}", h);
		ck_assert_int_eq(r.status, 415);
		ts_resp_free(&r);
	}
}
END_TEST

START_TEST(test_deleting_a_book_cascades_its_reservations)
{
	long long book = c_book("Gone", "A", NULL, "1.00", 5);
	struct ts_resp r;

	reserve(&r, "cascade-1", book, 1);
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);
	c_req(&r, "DELETE", NULL, "/books/%lld", book);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/reservations/cascade-1");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
}
END_TEST

#define RACE_THREADS 24

struct race_arg {
	const char *base;
	char id[32];
	long long book;
	long status;
};

static void *race_reserve(void *p)
{
	struct race_arg *a = p;
	struct ts_resp r;
	char url[128];
	char body[160];

	snprintf(url, sizeof url, "%s/reservations", a->base);
	snprintf(body, sizeof body, "{\"reservation_id\":\"%s\",\"book_id\":%lld,\"quantity\":1}",
		 a->id, a->book);
	if (ts_http(&r, "POST", url, body, NULL) == 0)
		a->status = r.status;
	ts_resp_free(&r);
	return NULL;
}

static void *race_release(void *p)
{
	struct race_arg *a = p;
	struct ts_resp r;
	char url[160];

	snprintf(url, sizeof url, "%s/reservations/%s/release", a->base, a->id);
	if (ts_http(&r, "POST", url, NULL, NULL) == 0)
		a->status = r.status;
	ts_resp_free(&r);
	return NULL;
}

static void run_threads(struct race_arg *args, int n, void *(*fn)(void *))
{
	pthread_t th[2 * RACE_THREADS];
	struct ts_resp warm;

	c_req(&warm, "GET", NULL, "/health");
	ts_resp_free(&warm);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, fn, &args[i]), 0);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
}

START_TEST(test_concurrent_reservations_never_oversell)
{
	long long book = c_book("Hot item", "A", NULL, "1.00", 10);
	struct race_arg args[2 * RACE_THREADS];
	int created = 0;
	int refused = 0;

	for (int i = 0; i < RACE_THREADS; i++) {
		args[i].base = c_svc.url;
		snprintf(args[i].id, sizeof args[i].id, "race-%d", i);
		args[i].book = book;
		args[i].status = 0;
	}
	run_threads(args, RACE_THREADS, race_reserve);
	for (int i = 0; i < RACE_THREADS; i++) {
		if (args[i].status == 201)
			created++;
		else if (args[i].status == 409)
			refused++;
		else
			ck_abort_msg("reservation %d got %ld", i, args[i].status);
	}
	ck_assert_int_eq(created, 10);
	ck_assert_int_eq(refused, RACE_THREADS - 10);
	ck_assert_int_eq(book_qty(book), 0);
	ck_assert_int_eq(c_sql_ll("SELECT count(*) FROM reservations WHERE status = 'reserved'"), 10);

	/* Releasing every id concurrently, twice each, restores exactly the stock. */
	for (int i = 0; i < 2 * RACE_THREADS; i++) {
		args[i].base = c_svc.url;
		snprintf(args[i].id, sizeof args[i].id, "race-%d", i % RACE_THREADS);
		args[i].status = 0;
	}
	run_threads(args, 2 * RACE_THREADS, race_release);
	for (int i = 0; i < 2 * RACE_THREADS; i++)
		ck_assert_int_eq(args[i].status, 200);
	ck_assert_int_eq(book_qty(book), 10);
}
END_TEST

START_TEST(test_concurrent_retries_of_one_id_take_stock_once)
{
	long long book = c_book("Retry item", "A", NULL, "1.00", 50);
	struct race_arg args[RACE_THREADS];
	int created = 0;
	int replays = 0;

	for (int i = 0; i < RACE_THREADS; i++) {
		args[i].base = c_svc.url;
		snprintf(args[i].id, sizeof args[i].id, "same-id");
		args[i].book = book;
		args[i].status = 0;
	}
	run_threads(args, RACE_THREADS, race_reserve);
	for (int i = 0; i < RACE_THREADS; i++) {
		if (args[i].status == 201)
			created++;
		else if (args[i].status == 200)
			replays++;
		else
			ck_abort_msg("retry %d got %ld", i, args[i].status);
	}
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(replays, RACE_THREADS - 1);
	ck_assert_int_eq(book_qty(book), 49);
}
END_TEST

START_TEST(test_concurrent_reserve_and_release_of_one_id_is_consistent)
{
	/* Reserve and release race: whatever wins, stock ends either taken once (reserved) or
	 * fully restored (released), never lost or duplicated. */
	for (int round = 0; round < 5; round++) {
		long long book = c_book("Racy", "A", NULL, "1.00", 3);
		struct race_arg args[2];
		pthread_t th[2];
		char sql[160];
		char *status;

		for (int i = 0; i < 2; i++) {
			args[i].base = c_svc.url;
			snprintf(args[i].id, sizeof args[i].id, "rr-%d", round);
			args[i].book = book;
			args[i].status = 0;
		}
		pthread_create(&th[0], NULL, race_reserve, &args[0]);
		pthread_create(&th[1], NULL, race_release, &args[1]);
		pthread_join(th[0], NULL);
		pthread_join(th[1], NULL);
		ck_assert_int_eq(args[1].status, 200);
		ck_assert(args[0].status == 201 || args[0].status == 410);
		snprintf(sql, sizeof sql, "SELECT status FROM reservations WHERE id = 'rr-%d'", round);
		status = ts_sql(c_db, sql);
		ck_assert_str_eq(status, "released");
		free(status);
		ck_assert_int_eq(book_qty(book), 3);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog_reservations");
	TCase *tc = tcase_create("reservations");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, c_setup_seeded, c_teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_reserve_201_decrements_and_returns_book);
	tcase_add_test(tc, test_reserve_missing_book_and_insufficient_stock);
	tcase_add_test(tc, test_release_gives_stock_back_exactly_once_then_410);
	tcase_add_test(tc, test_release_unknown_id_leaves_tombstone);
	tcase_add_test(tc, test_reservation_validation);
	tcase_add_test(tc, test_deleting_a_book_cascades_its_reservations);
	tcase_add_test(tc, test_concurrent_reservations_never_oversell);
	tcase_add_test(tc, test_concurrent_retries_of_one_id_take_stock_once);
	tcase_add_test(tc, test_concurrent_reserve_and_release_of_one_id_is_consistent);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
