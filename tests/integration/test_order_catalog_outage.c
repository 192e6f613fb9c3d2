/* test_order_catalog_outage.c - the catalog stopped, hung or answering garbage: POST /orders
 * answers 503 with Retry-After and leaves no order and no reservation behind; once the catalog
 * is back, orders work again without restarting the order service; a cancel accepted during the
 * outage is restocked by recovery. */
#include "test_order_common.h"

static char *db;
static struct ts_proc catalog, order;
static int catalog_port;

static void setup(void)
{
	db = ts_db_create(0);
	t_start_catalog(&catalog, db, 0);
	catalog_port = catalog.port;
	t_start_order(&order, db, catalog.url, 0);
}

static void teardown(void)
{
	ts_stop(&order, SIGTERM, 5000);
	ts_stop(&catalog, SIGTERM, 5000);
	free(db);
}

static void catalog_down(void)
{
	ck_assert_int_eq(ts_stop(&catalog, SIGTERM, 5000), 0);
}

static void catalog_up(void)
{
	t_start_catalog(&catalog, db, catalog_port);
}

/* Reservations still held in the catalog that no live order owns. */
#define ORPHAN_RESERVATIONS_SQL \
	"SELECT count(*) FROM reservations r WHERE r.status = 'reserved' AND NOT EXISTS (SELECT 1 " \
	"FROM orders o WHERE o.reservation_id = r.id AND o.status NOT IN ('cancelled', 'failed'))"

START_TEST(test_catalog_stopped_gives_503_and_leaves_nothing_behind)
{
	long long book = t_create_book(catalog.url, "30.00", 5), t0, elapsed;
	struct ts_resp r = { 0 };
	char body[256], sql[160], *ra;

	catalog_down();
	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"customer_name\":\"C\",\"customer_email\":\"c@x.org\","
		       "\"quantity\":1}", book);
	t0 = t_now_ms();
	(void)ts_req(&r, "POST", order.url, body, "/orders");
	elapsed = t_now_ms() - t0;
	ck_assert_int_eq(r.status, 503);
	ra = ts_header(&r, "Retry-After");
	ck_assert_ptr_nonnull(ra);
	ck_assert_int_gt(strtol(ra, NULL, 10), 0);
	free(ra);
	ck_assert_int_lt(elapsed, 8000);
	ts_resp_free(&r);
	/* Readiness does not depend on the catalog. */
	(void)ts_req(&r, "GET", order.url, NULL, "/ready");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?book_id=%lld", book);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ts_resp_free(&r);

	catalog_up();
	/* Recovery releases the failed intent's reservation id (a tombstone) and deletes it. */
	ck_assert_int_eq(t_wait_zero(db, T_UNSETTLED_SQL, 15000), 0);
	(void)snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE book_id = %lld", book);
	ck_assert_int_eq(t_sql_ll(db, sql), 0);
	ck_assert_int_eq(t_sql_ll(db, ORPHAN_RESERVATIONS_SQL), 0);
	ck_assert_int_eq(t_book_qty(db, book), 5);

	/* Orders work again without restarting the order service. */
	ck_assert_int_eq(t_order(order.url, book, 2, NULL, NULL), 201);
	ck_assert_int_eq(t_book_qty(db, book), 3);
}
END_TEST

START_TEST(test_get_book_during_outage_is_503)
{
	long long book = t_create_book(catalog.url, "30.00", 5), id;
	struct ts_resp r = { 0 };

	ck_assert_int_eq(t_order(order.url, book, 1, NULL, &id), 201);
	catalog_down();
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/%lld/book", id);
	ck_assert_int_eq(r.status, 503);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/%lld", id);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	catalog_up();
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/%lld/book", id);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_cancel_during_outage_is_restocked_by_recovery)
{
	long long book = t_create_book(catalog.url, "8.00", 5), id;
	struct ts_resp r = { 0 };
	char sql[160];

	ck_assert_int_eq(t_order(order.url, book, 2, NULL, &id), 201);
	ck_assert_int_eq(t_book_qty(db, book), 3);
	catalog_down();
	(void)ts_req(&r, "PATCH", order.url, "{\"status\":\"cancelled\"}", "/orders/%lld/status", id);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "status"), "cancelled");
	ts_resp_free(&r);
	(void)snprintf(sql, sizeof sql, "SELECT stock_released::int FROM orders WHERE id = %lld", id);
	ck_assert_int_eq(t_sql_ll(db, sql), 0);
	ck_assert_int_eq(t_book_qty(db, book), 3);
	t_sleep_ms(500);
	catalog_up();
	ck_assert_int_eq(t_wait_zero(db, T_UNSETTLED_SQL, 15000), 0);
	ck_assert_int_eq(t_sql_ll(db, sql), 1);
	ck_assert_int_eq(t_book_qty(db, book), 5);
	t_sleep_ms(500);
	ck_assert_int_eq(t_book_qty(db, book), 5); /* exactly once */
}
END_TEST

START_TEST(test_hung_catalog_times_out_and_stock_comes_back)
{
	long long book = t_create_book(catalog.url, "6.00", 4), t0, elapsed;
	struct ts_resp r = { 0 };
	char body[256], sql[160];

	ck_assert_int_eq(kill(catalog.pid, SIGSTOP), 0);
	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"customer_name\":\"H\",\"customer_email\":\"h@x.org\","
		       "\"quantity\":3}", book);
	t0 = t_now_ms();
	(void)ts_req(&r, "POST", order.url, body, "/orders");
	elapsed = t_now_ms() - t0;
	ck_assert_int_eq(r.status, 503);
	ts_resp_free(&r);
	ck_assert_int_lt(elapsed, 9000);
	ck_assert_int_eq(kill(catalog.pid, SIGCONT), 0);
	/* The catalog now processes the queued reserve and release calls in any order; recovery
	 * releases again. The stock must end where it started. */
	ck_assert_int_eq(t_wait_zero(db, T_UNSETTLED_SQL, 20000), 0);
	t_sleep_ms(500);
	ck_assert_int_eq(t_book_qty(db, book), 4);
	ck_assert_int_eq(t_sql_ll(db, ORPHAN_RESERVATIONS_SQL), 0);
	(void)snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE book_id = %lld", book);
	ck_assert_int_eq(t_sql_ll(db, sql), 0);
	ck_assert_int_eq(t_order(order.url, book, 4, NULL, NULL), 201);
}
END_TEST

START_TEST(test_garbage_answer_from_catalog_is_503)
{
	struct ts_proc bad = { 0 };
	long long book = t_create_book(catalog.url, "6.00", 4);
	const char *admin = ts_pg_admin_url();
	const char *colon = strrchr(admin, ':');
	char pg[64];
	struct ts_resp r = { 0 };

	/* An order service whose "catalog" is the PostgreSQL port: it answers no HTTP at all. */
	ck_assert_ptr_nonnull(colon);
	(void)snprintf(pg, sizeof pg, "http://127.0.0.1:%d", (int)strtol(colon + 1, NULL, 10));
	t_start_order(&bad, db, pg, 0);
	ck_assert_int_eq(t_order(bad.url, book, 1, NULL, NULL), 503);
	(void)ts_req(&r, "GET", bad.url, NULL, "/ready");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ts_stop(&bad, SIGTERM, 5000);
	ck_assert_int_eq(t_book_qty(db, book), 4);
}
END_TEST

static Suite *outage_suite(void)
{
	Suite *s = suite_create("order_catalog_outage");
	TCase *tc = tcase_create("outage");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_catalog_stopped_gives_503_and_leaves_nothing_behind);
	tcase_add_test(tc, test_get_book_during_outage_is_503);
	tcase_add_test(tc, test_cancel_during_outage_is_restocked_by_recovery);
	tcase_add_test(tc, test_hung_catalog_times_out_and_stock_comes_back);
	tcase_add_test(tc, test_garbage_answer_from_catalog_is_503);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(outage_suite());
	int failed;

	/* The catalog process is restarted inside tests: run them in this process so the
	 * fixture sees the new pid. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
