/* test_order_concurrency.c - no oversell under concurrency across replicas: a book with
 * quantity 50, 200 simultaneous POST /orders of 1 through two order-service replicas that talk
 * to two catalog-service replicas -> exactly 50 x 201, 150 x 409, final quantity 0. */
#include <pthread.h>

#include "test_order_common.h"

#define N_REQUESTS 200
#define STOCK 50

static char *db;
static struct ts_proc catalogs[2], orders[2];

static void setup(void)
{
	/* A slow commit on a loaded machine must not turn into a 503: this test counts exact
	 * outcomes, so give the catalog plenty of time. */
	t_catalog_timeout_ms = 8000;
	db = ts_db_create(0);
	t_start_catalog(&catalogs[0], db, 0);
	t_start_catalog(&catalogs[1], db, 0);
	t_start_order(&orders[0], db, catalogs[0].url, 0);
	t_start_order(&orders[1], db, catalogs[1].url, 0);
}

static void teardown(void)
{
	int i;

	for (i = 0; i < 2; i++) {
		ts_stop(&orders[i], SIGTERM, 5000);
		ts_stop(&catalogs[i], SIGTERM, 5000);
	}
	free(db);
}

struct worker {
	const char *url;
	long long book;
	long status;
	pthread_barrier_t *barrier;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	(void)pthread_barrier_wait(w->barrier);
	w->status = t_order(w->url, w->book, 1, "race@example.com", NULL);
	return NULL;
}

START_TEST(test_200_concurrent_orders_for_50_copies_sell_exactly_50)
{
	static struct worker w[N_REQUESTS];
	static pthread_t tid[N_REQUESTS];
	pthread_barrier_t barrier;
	long long book = t_create_book(catalogs[0].url, "19.99", STOCK);
	int i, ok = 0, conflict = 0, other = 0;
	char sql[200];

	pthread_barrier_init(&barrier, NULL, N_REQUESTS);
	for (i = 0; i < N_REQUESTS; i++) {
		w[i] = (struct worker){ orders[i % 2].url, book, 0, &barrier };
		ck_assert_int_eq(pthread_create(&tid[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < N_REQUESTS; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < N_REQUESTS; i++) {
		if (w[i].status == 201)
			ok++;
		else if (w[i].status == 409)
			conflict++;
		else
			other++;
	}
	for (i = 0; i < N_REQUESTS && other > 0; i++)
		if (w[i].status != 201 && w[i].status != 409) {
			fprintf(stderr, "request %d got %ld\n", i, w[i].status);
			break;
		}
	ck_assert_msg(other == 0, "%d unexpected statuses", other);
	ck_assert_int_eq(ok, STOCK);
	ck_assert_int_eq(conflict, N_REQUESTS - STOCK);
	ck_assert_int_eq(t_book_qty(db, book), 0);
	(void)snprintf(sql, sizeof sql,
		       "SELECT count(*) FROM orders WHERE book_id = %lld AND status = 'pending'", book);
	ck_assert_int_eq(t_sql_ll(db, sql), STOCK);
	(void)snprintf(sql, sizeof sql,
		       "SELECT count(*) FROM reservations WHERE book_id = %lld AND status = 'reserved'",
		       book);
	ck_assert_int_eq(t_sql_ll(db, sql), STOCK);
	ck_assert_int_eq(t_sql_ll(db, T_UNSETTLED_SQL), 0);
}
END_TEST

static Suite *concurrency_suite(void)
{
	Suite *s = suite_create("order_concurrency");
	TCase *tc = tcase_create("concurrency");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_200_concurrent_orders_for_50_copies_sell_exactly_50);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(concurrency_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
