/* test_order_crash.c - the stock invariant survives SIGKILL. A stream of orders and
 * cancellations runs through two order-service replicas while one of them is SIGKILLed at
 * random moments and restarted, several times. Once recovery settles:
 *   for every book: initial stock = quantity + sum(quantity of orders not cancelled)
 * and no order is left in an intermediate state. */
#include <pthread.h>

#include "test_order_common.h"

#define N_BOOKS 3
#define STOCK 2000
#define N_WORKERS 8
#define RUN_MS 9000
#define N_KILLS 5

static char *db;
static struct ts_proc catalog, orders[2];
static char order_urls[2][64];
static long long books[N_BOOKS];

static void setup(void)
{
	int i;

	db = ts_db_create(0);
	t_start_catalog(&catalog, db, 0);
	t_start_order(&orders[0], db, catalog.url, 0);
	t_start_order(&orders[1], db, catalog.url, 0);
	for (i = 0; i < 2; i++)
		(void)snprintf(order_urls[i], sizeof order_urls[i], "%s", orders[i].url);
	for (i = 0; i < N_BOOKS; i++)
		books[i] = t_create_book(catalog.url, "11.11", STOCK);
}

static void teardown(void)
{
	ts_stop(&orders[0], SIGTERM, 5000);
	ts_stop(&orders[1], SIGTERM, 5000);
	ts_stop(&catalog, SIGTERM, 5000);
	free(db);
}

struct worker {
	unsigned seed;
	long long deadline;
	long created, cancelled, failed_transport;
	long long ids[4096];
	size_t nids;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	long long id;
	long st;

	while (t_now_ms() < w->deadline) {
		const char *url = order_urls[rand_r(&w->seed) % 2];

		if (w->nids > 0 && rand_r(&w->seed) % 4 == 0) {
			id = w->ids[rand_r(&w->seed) % w->nids];
			st = t_set_status(url, id, "cancelled");
			if (st == 200)
				w->cancelled++;
			else if (st == 0)
				w->failed_transport++;
			continue;
		}
		st = t_order(url, books[rand_r(&w->seed) % N_BOOKS], 1 + (int)(rand_r(&w->seed) % 3),
			     NULL, &id);
		if (st == 201) {
			w->created++;
			if (w->nids < sizeof w->ids / sizeof w->ids[0])
				w->ids[w->nids++] = id;
		} else if (st == 0) {
			w->failed_transport++;
		}
	}
	return NULL;
}

START_TEST(test_sigkill_during_orders_and_cancels_keeps_stock_invariant)
{
	static struct worker w[N_WORKERS];
	pthread_t tid[N_WORKERS];
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	long long deadline = t_now_ms() + RUN_MS, unsettled;
	long created = 0, cancelled = 0, transport = 0;
	int i, k, port = orders[1].port;
	char sql[400];

	fprintf(stderr, "crash test seed %u\n", seed);
	for (i = 0; i < N_WORKERS; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].seed = seed + (unsigned)i * 7919u;
		w[i].deadline = deadline;
		ck_assert_int_eq(pthread_create(&tid[i], NULL, worker_main, &w[i]), 0);
	}
	for (k = 0; k < N_KILLS; k++) {
		t_sleep_ms(400 + (long)(rand_r(&seed) % 1100));
		ck_assert_int_eq(ts_stop(&orders[1], SIGKILL, 3000), 128 + SIGKILL);
		t_sleep_ms((long)(rand_r(&seed) % 300));
		t_start_order(&orders[1], db, catalog.url, port);
	}
	for (i = 0; i < N_WORKERS; i++) {
		pthread_join(tid[i], NULL);
		created += w[i].created;
		cancelled += w[i].cancelled;
		transport += w[i].failed_transport;
	}
	fprintf(stderr, "crash test: %ld created, %ld cancels, %ld transport failures\n", created,
		cancelled, transport);
	ck_assert_int_gt(created, 50);

	unsettled = t_wait_zero(db, T_UNSETTLED_SQL, 60000);
	ck_assert_msg(unsettled == 0, "%lld orders still unsettled", unsettled);
	for (i = 0; i < N_BOOKS; i++) {
		(void)snprintf(sql, sizeof sql,
			       "SELECT (SELECT quantity FROM books WHERE id = %lld) + (SELECT "
			       "coalesce(sum(quantity), 0) FROM orders WHERE book_id = %lld AND status "
			       "NOT IN ('cancelled', 'failed'))",
			       books[i], books[i]);
		ck_assert_int_eq(t_sql_ll(db, sql), STOCK);
	}
	/* Every live order holds a reserved reservation, and no reservation is orphaned. */
	ck_assert_int_eq(t_sql_ll(db, "SELECT count(*) FROM orders o LEFT JOIN reservations r ON "
				      "r.id = o.reservation_id WHERE o.status NOT IN ('cancelled', "
				      "'failed') AND r.status IS DISTINCT FROM 'reserved'"),
			 0);
	ck_assert_int_eq(t_sql_ll(db, "SELECT count(*) FROM reservations r WHERE r.status = "
				      "'reserved' AND NOT EXISTS (SELECT 1 FROM orders o WHERE "
				      "o.reservation_id = r.id AND o.status NOT IN ('cancelled', "
				      "'failed'))"),
			 0);
	ck_assert_int_eq(t_sql_ll(db, "SELECT count(*) FROM order_intents"), 0);
}
END_TEST

static Suite *crash_suite(void)
{
	Suite *s = suite_create("order_crash");
	TCase *tc = tcase_create("crash");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_sigkill_during_orders_and_cancels_keeps_stock_invariant);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(crash_suite());
	int failed;

	/* The test restarts a replica: keep one process so teardown stops the right pid. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
