/* test_order_saga.c - the order saga (order_saga.c) on a real PostgreSQL database with a fake
 * catalog in place of the HTTP client: one test per outcome of each step, and the database
 * state each one leaves (intent deleted or failed, order row, idempotency key, stock flag). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "order_repo.h"
#include "order_saga.h"
#include "ts.h"

static char *db_url;
static struct db_pool *pool;
static struct order_saga saga;

/* The fake catalog: answers as told, counts and remembers the calls. */
static struct {
	enum catalog_status reserve_st;
	bool reserve_retried;
	long reserve_sleep_ms;
	int64_t price_cents;
	const char *sql_during_reserve; /* run while "in the catalog" (e.g. recovery's claim) */
	const char *insufficient_detail;
	enum catalog_status release_st;
	int reserves, releases, release_onces;
	char last_released[65];
} fk;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	(void)nanosleep(&ts, NULL);
}

static enum catalog_status fake_reserve(const char *reservation_id, long long book_id,
					int quantity, const char *request_id,
					struct catalog_book *book, char **detail, bool *retried)
{
	char *r;

	(void)reservation_id;
	(void)quantity;
	(void)request_id;
	memset(book, 0, sizeof *book);
	*detail = NULL;
	*retried = fk.reserve_retried;
	fk.reserves++;
	if (fk.reserve_sleep_ms > 0)
		sleep_ms(fk.reserve_sleep_ms);
	if (fk.sql_during_reserve != NULL)
		free(ts_sql(db_url, fk.sql_during_reserve));
	if (fk.reserve_st == CATALOG_OK) {
		book->id = book_id;
		book->title = strdup("Saga Book");
		book->price_cents = fk.price_cents;
		book->quantity = 5;
		ck_assert_ptr_nonnull(book->title);
	} else if (fk.reserve_st == CATALOG_INSUFFICIENT) {
		r = strdup(fk.insufficient_detail);
		ck_assert_ptr_nonnull(r);
		*detail = r;
	}
	return fk.reserve_st;
}

static enum catalog_status fake_release(const char *reservation_id, const char *request_id)
{
	(void)request_id;
	fk.releases++;
	(void)snprintf(fk.last_released, sizeof fk.last_released, "%s", reservation_id);
	return fk.release_st;
}

static enum catalog_status fake_release_once(const char *reservation_id, const char *request_id)
{
	(void)request_id;
	fk.release_onces++;
	(void)snprintf(fk.last_released, sizeof fk.last_released, "%s", reservation_id);
	return fk.release_st;
}

static enum catalog_status fake_get_book(long long book_id, const char *request_id,
					 struct catalog_book *book)
{
	(void)book_id;
	(void)request_id;
	memset(book, 0, sizeof *book);
	return CATALOG_UNAVAILABLE;
}

static const struct catalog_ops fake_ops = {
	.reserve = fake_reserve,
	.release = fake_release,
	.release_once = fake_release_once,
	.get_book = fake_get_book,
};

static void setup_db(void)
{
	db_url = ts_db_create(0);
}

static void teardown_db(void)
{
	free(db_url);
}

/* Per test (in the forked child): a pool on the suite's database and a fresh fake. */
static void setup(void)
{
	struct db_pool_config pc = { 0 };
	char *role_url = ts_db_url_as(db_url, TS_ROLE_ORDERS);

	/* The saga runs as the order service's login role, as deployed. */
	pc.conninfo = role_url;
	pc.app_name = "test-order-saga";
	pc.size = 2;
	pc.statement_timeout_ms = 5000;
	pc.wait_ms = 2000;
	order_repo_stmts(&pc.stmts, &pc.nstmts);
	pool = db_pool_create(&pc);
	free(role_url);
	ck_assert_ptr_nonnull(pool);
	memset(&fk, 0, sizeof fk);
	fk.reserve_st = CATALOG_OK;
	fk.price_cents = 1250;
	fk.insufficient_detail = "Insufficient stock for book";
	fk.release_st = CATALOG_OK;
	saga.pool = pool;
	saga.catalog = &fake_ops;
	saga.catalog_timeout_ms = 300;
}

static void teardown(void)
{
	db_pool_destroy(pool);
	pool = NULL;
}

/* A new book row (orders reference books); returns its id. */
static long long new_book(void)
{
	char *v = ts_sql(db_url, "INSERT INTO books (title, author, price, quantity) "
				 "VALUES ('Saga Book', 'A. Author', 12.50, 10) RETURNING id");
	long long id = atoll(v);

	free(v);
	return id;
}

static long long sql_ll(const char *fmt, long long arg)
{
	char sql[512], *v;
	long long n;

	(void)snprintf(sql, sizeof sql, fmt, arg);
	v = ts_sql(db_url, sql);
	n = v != NULL ? atoll(v) : -1;
	free(v);
	return n;
}

static char *sql_str(const char *fmt, long long arg)
{
	char sql[512];

	(void)snprintf(sql, sizeof sql, fmt, arg);
	return ts_sql(db_url, sql);
}

static void input(struct order_input *in, long long book_id, int qty)
{
	in->book_id = book_id;
	in->quantity = qty;
	in->customer_name = "Ada";
	in->customer_email = "ada@example.com";
}

/* The id of the newest intent or order (intents and orders share the id sequence). */
static long long last_id(void)
{
	return sql_ll("SELECT last_value + %lld FROM orders_id_seq", 0);
}

static enum saga_outcome place(const struct order_input *in, const char *key,
			       const char *canonical, struct order *o, char **detail)
{
	return order_saga_place(&saga, in, key, canonical, "saga-tester", "test-saga", o, detail);
}

START_TEST(test_place_created_finalizes_the_intent_into_a_pending_order)
{
	struct order_input in;
	struct order o;
	char *detail, *v;
	long long book = new_book();

	input(&in, book, 2);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_CREATED);
	ck_assert_ptr_null(detail);
	ck_assert_int_eq(o.status, ORDER_PENDING);
	ck_assert_str_eq(o.book_title, "Saga Book");
	ck_assert_str_eq(o.unit_price, "12.50");
	ck_assert_str_eq(o.total_price, "25.00");
	ck_assert_int_eq(o.quantity, 2);
	ck_assert_ptr_nonnull(o.reservation_id);
	ck_assert_int_eq(fk.reserves, 1);
	ck_assert_int_eq(fk.releases + fk.release_onces, 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", o.id), 0);
	v = sql_str("SELECT status FROM orders WHERE id = %lld", o.id);
	ck_assert_str_eq(v, "pending");
	free(v);
	order_clear(&o);
}
END_TEST

START_TEST(test_place_with_a_done_key_replays_the_order_without_a_new_reservation)
{
	struct order_input in;
	struct order a, b;
	char *detail;
	long long book = new_book();

	input(&in, book, 1);
	ck_assert_int_eq(place(&in, "saga-replay", "{\"x\":1}", &a, &detail), SAGA_CREATED);
	ck_assert_int_eq(place(&in, "saga-replay", "{\"x\":1}", &b, &detail), SAGA_REPLAYED);
	ck_assert_int_eq(a.id, b.id);
	ck_assert_str_eq(b.total_price, "12.50");
	ck_assert_int_eq(fk.reserves, 1);
	order_clear(&a);
	order_clear(&b);
}
END_TEST

START_TEST(test_place_with_a_key_reused_for_another_body_is_an_idempotency_conflict)
{
	struct order_input in;
	struct order a, b;
	char *detail;
	long long book = new_book();

	input(&in, book, 1);
	ck_assert_int_eq(place(&in, "saga-conflict", "{\"x\":1}", &a, &detail), SAGA_CREATED);
	ck_assert_int_eq(place(&in, "saga-conflict", "{\"x\":2}", &b, &detail),
			 SAGA_IDEMPOTENCY_CONFLICT);
	ck_assert_int_eq(b.id, 0);
	ck_assert_int_eq(fk.reserves, 1);
	order_clear(&a);
}
END_TEST

START_TEST(test_place_with_a_key_in_progress_answers_in_progress_and_keeps_the_key)
{
	struct order_input in;
	struct order o;
	char *detail;
	long long book = new_book();

	free(ts_sql(db_url, "INSERT INTO idempotency_keys (owner, key, request_hash) "
			    "VALUES ('saga-tester', 'saga-busy', md5('{}'))"));
	input(&in, book, 1);
	ck_assert_int_eq(place(&in, "saga-busy", "{}", &o, &detail), SAGA_IN_PROGRESS);
	ck_assert_int_eq(fk.reserves, 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM idempotency_keys WHERE key = 'saga-busy' "
				"AND %lld = 0", 0),
			 1);
}
END_TEST

START_TEST(test_place_insufficient_stock_passes_the_detail_and_drops_intent_and_key)
{
	struct order_input in;
	struct order o;
	char *detail;
	long long book = new_book();

	fk.reserve_st = CATALOG_INSUFFICIENT;
	input(&in, book, 3);
	ck_assert_int_eq(place(&in, "saga-short", "{}", &o, &detail), SAGA_INSUFFICIENT_STOCK);
	ck_assert_str_eq(detail, "Insufficient stock for book");
	free(detail);
	/* No retry: nothing can reserve later, so there is nothing to release. */
	ck_assert_int_eq(fk.releases + fk.release_onces, 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", last_id()),
			 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM idempotency_keys WHERE key = 'saga-short' "
				"AND %lld = 0", 0),
			 0);
}
END_TEST

START_TEST(test_place_insufficient_after_a_retry_releases_the_id_first)
{
	struct order_input in;
	struct order o;
	char *detail;
	long long book = new_book();

	fk.reserve_st = CATALOG_INSUFFICIENT;
	fk.reserve_retried = true;
	input(&in, book, 3);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_INSUFFICIENT_STOCK);
	free(detail);
	ck_assert_int_eq(fk.release_onces, 1);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", last_id()),
			 0);
}
END_TEST

START_TEST(test_place_unknown_book_is_book_missing_and_drops_the_intent)
{
	struct order_input in;
	struct order o;
	char *detail;

	fk.reserve_st = CATALOG_NOT_FOUND;
	input(&in, 987654321, 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_BOOK_MISSING);
	ck_assert_ptr_null(detail);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", last_id()),
			 0);
}
END_TEST

START_TEST(test_place_book_deleted_after_the_reservation_is_book_missing)
{
	struct order_input in;
	struct order o;
	char *detail;

	/* The catalog reserved, but the book row is gone: finalize hits the foreign key. */
	input(&in, 987654322, 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_BOOK_MISSING);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", last_id()),
			 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM orders WHERE id = %lld", last_id()), 0);
}
END_TEST

START_TEST(test_place_catalog_down_fast_releases_once_and_deletes_the_intent)
{
	struct order_input in;
	struct order o;
	char *detail, *rid;
	long long book = new_book();

	fk.reserve_st = CATALOG_UNAVAILABLE;
	input(&in, book, 1);
	ck_assert_int_eq(place(&in, "saga-down", "{}", &o, &detail), SAGA_CATALOG_UNAVAILABLE);
	ck_assert_int_eq(fk.release_onces, 1);
	rid = sql_str("SELECT 'o' || %lld || '-'", last_id());
	ck_assert_int_eq(strncmp(fk.last_released, rid, strlen(rid)), 0);
	free(rid);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", last_id()),
			 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM idempotency_keys WHERE key = 'saga-down' "
				"AND %lld = 0", 0),
			 0);
}
END_TEST

START_TEST(test_place_catalog_down_slow_leaves_a_failed_intent_for_recovery)
{
	struct order_input in;
	struct order o;
	char *detail, *state;
	long long book = new_book();

	/* The reserve took longer than one catalog timeout: no release in the request. */
	fk.reserve_st = CATALOG_UNAVAILABLE;
	fk.reserve_sleep_ms = 400;
	input(&in, book, 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_CATALOG_UNAVAILABLE);
	ck_assert_int_eq(fk.release_onces, 0);
	state = sql_str("SELECT state FROM order_intents WHERE id = %lld", last_id());
	ck_assert_str_eq(state, "failed");
	free(state);
}
END_TEST

START_TEST(test_place_release_refused_leaves_a_failed_intent)
{
	struct order_input in;
	struct order o;
	char *detail, *state;
	long long book = new_book();

	fk.reserve_st = CATALOG_REJECTED;
	fk.release_st = CATALOG_UNAVAILABLE;
	input(&in, book, 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_CATALOG_UNAVAILABLE);
	ck_assert_int_eq(fk.release_onces, 1);
	state = sql_str("SELECT state FROM order_intents WHERE id = %lld", last_id());
	ck_assert_str_eq(state, "failed");
	free(state);
}
END_TEST

START_TEST(test_place_unusable_price_is_catalog_unavailable_and_undone)
{
	struct order_input in;
	struct order o;
	char *detail;
	long long book = new_book();

	fk.price_cents = INT64_MAX / 2; /* times 1000 overflows */
	input(&in, book, 1000);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_CATALOG_UNAVAILABLE);
	ck_assert_int_eq(fk.release_onces, 1);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM orders WHERE id = %lld", last_id()), 0);
}
END_TEST

START_TEST(test_place_gone_means_recovery_owns_the_intent)
{
	struct order_input in;
	struct order o;
	char *detail;
	long long book = new_book();

	fk.reserve_st = CATALOG_GONE;
	input(&in, book, 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_RECOVERY_OWNS);
	ck_assert_int_eq(fk.releases + fk.release_onces, 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", last_id()),
			 1);
}
END_TEST

START_TEST(test_place_intent_claimed_by_recovery_during_the_reserve_is_not_finalized)
{
	struct order_input in;
	struct order o;
	char *detail;
	long long book = new_book();

	fk.sql_during_reserve = "UPDATE order_intents SET state = 'failed' RETURNING id";
	input(&in, book, 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_RECOVERY_OWNS);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM orders WHERE id = %lld", last_id()), 0);
}
END_TEST

START_TEST(test_place_database_down_is_db_unavailable)
{
	struct db_pool_config pc = { 0 };
	struct order_input in;
	struct order o;
	char *detail;
	char url[64];

	(void)snprintf(url, sizeof url, "postgresql://127.0.0.1:%d/none?connect_timeout=2",
		       ts_free_port());
	pc.conninfo = url;
	pc.app_name = "test-order-saga";
	pc.size = 1;
	pc.wait_ms = 200;
	order_repo_stmts(&pc.stmts, &pc.nstmts);
	saga.pool = db_pool_create(&pc);
	ck_assert_ptr_nonnull(saga.pool);
	input(&in, 1, 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_DB_UNAVAILABLE);
	ck_assert_int_eq(fk.reserves, 0);
	db_pool_destroy(saga.pool);
	saga.pool = pool;
}
END_TEST

START_TEST(test_place_data_error_past_validation_is_db_conflict)
{
	struct order_input in;
	struct order o;
	char *detail, name[300];

	/* Past validation (which the handler does) the column refuses it (22001): by the one
	 * database-error table (common/app.h, DECISIONS.md) a data error is a 409, not a 500. */
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	input(&in, new_book(), 1);
	in.customer_name = name;
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_DB_CONFLICT);
	ck_assert_int_eq(fk.reserves, 0);
}
END_TEST

/* A placed order for the status tests. */
static long long placed_order(void)
{
	struct order_input in;
	struct order o;
	char *detail;
	long long id;

	input(&in, new_book(), 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_CREATED);
	id = o.id;
	order_clear(&o);
	return id;
}

START_TEST(test_set_status_moves_refuses_and_reports_missing_orders)
{
	struct order o;
	long long id = placed_order();

	ck_assert_int_eq(order_saga_set_status(&saga, id, ORDER_PROCESSING, "saga-tester", "t", &o), SAGA_UPDATED);
	ck_assert_int_eq(o.status, ORDER_PROCESSING);
	order_clear(&o);
	ck_assert_int_eq(order_saga_set_status(&saga, id, ORDER_PROCESSING, "saga-tester", "t", &o), SAGA_UPDATED);
	order_clear(&o);
	ck_assert_int_eq(order_saga_set_status(&saga, id, ORDER_DELIVERED, "saga-tester", "t", &o),
			 SAGA_INVALID_TRANSITION);
	ck_assert_int_eq(o.status, ORDER_PROCESSING);
	order_clear(&o);
	ck_assert_int_eq(order_saga_set_status(&saga, 987654323, ORDER_CANCELLED, "saga-tester", "t", &o),
			 SAGA_NOT_FOUND);
	ck_assert_int_eq(fk.releases, 0);
}
END_TEST

START_TEST(test_cancel_releases_the_stock_and_marks_it)
{
	struct order o;
	char *v;
	long long id = placed_order();

	ck_assert_int_eq(order_saga_set_status(&saga, id, ORDER_CANCELLED, "saga-tester", "t", &o), SAGA_UPDATED);
	ck_assert_int_eq(o.status, ORDER_CANCELLED);
	ck_assert_int_eq(fk.releases, 1);
	ck_assert_str_eq(fk.last_released, o.reservation_id);
	order_clear(&o);
	v = sql_str("SELECT stock_released::text FROM orders WHERE id = %lld", id);
	ck_assert_str_eq(v, "true");
	free(v);
	/* Cancelling again changes nothing and calls nobody. */
	ck_assert_int_eq(order_saga_set_status(&saga, id, ORDER_CANCELLED, "saga-tester", "t", &o), SAGA_UPDATED);
	ck_assert_int_eq(fk.releases, 1);
	order_clear(&o);
}
END_TEST

START_TEST(test_cancel_with_the_catalog_down_is_finished_by_recovery)
{
	struct saga_recovery_limits lim = { 60000, 5000, 60000, 0, 0, 0 };
	struct order o;
	char *v;
	long long id = placed_order();

	fk.release_st = CATALOG_UNAVAILABLE;
	ck_assert_int_eq(order_saga_set_status(&saga, id, ORDER_CANCELLED, "saga-tester", "t", &o), SAGA_UPDATED);
	order_clear(&o);
	v = sql_str("SELECT stock_released::text FROM orders WHERE id = %lld", id);
	ck_assert_str_eq(v, "false");
	free(v);
	/* Recovery while the catalog is still down: nothing settled, the lease given back. */
	ck_assert_int_eq(order_saga_recover(&saga, &lim, NULL), 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM orders WHERE id = %lld AND "
				"recovery_lease IS NULL",
				id),
			 1);
	fk.release_st = CATALOG_OK;
	ck_assert_int_ge(order_saga_recover(&saga, &lim, NULL), 1);
	v = sql_str("SELECT stock_released::text FROM orders WHERE id = %lld", id);
	ck_assert_str_eq(v, "true");
	free(v);
}
END_TEST

START_TEST(test_recovery_undoes_failed_and_abandoned_intents)
{
	struct saga_recovery_limits lim = { 60000, 5000, 60000, 0, 0, 0 };
	struct order_input in;
	struct order o;
	char *detail;
	long long failed_id, old_id;

	fk.reserve_st = CATALOG_UNAVAILABLE;
	fk.release_st = CATALOG_UNAVAILABLE;
	input(&in, new_book(), 1);
	ck_assert_int_eq(place(&in, NULL, NULL, &o, &detail), SAGA_CATALOG_UNAVAILABLE);
	failed_id = last_id();
	/* An intent left 'reserving' by a crash, older than the intent age. */
	free(ts_sql(db_url, "INSERT INTO order_intents (id, reservation_id, book_id, customer_name, "
			    "customer_email, quantity, created_at) SELECT nextval('orders_id_seq'), "
			    "'o0-crashed', 1, 'A', 'a@b.c', 1, now() - interval '1 hour' "
			    "RETURNING id"));
	old_id = last_id();
	fk.release_st = CATALOG_OK;
	fk.releases = 0;
	ck_assert_int_ge(order_saga_recover(&saga, &lim, NULL), 2);
	ck_assert_int_ge(fk.releases, 2);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", failed_id), 0);
	ck_assert_int_eq(sql_ll("SELECT count(*) FROM order_intents WHERE id = %lld", old_id), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("order_saga");
	TCase *tc = tcase_create("saga");

	tcase_add_unchecked_fixture(tc, setup_db, teardown_db);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_place_created_finalizes_the_intent_into_a_pending_order);
	tcase_add_test(tc, test_place_with_a_done_key_replays_the_order_without_a_new_reservation);
	tcase_add_test(tc, test_place_with_a_key_reused_for_another_body_is_an_idempotency_conflict);
	tcase_add_test(tc, test_place_with_a_key_in_progress_answers_in_progress_and_keeps_the_key);
	tcase_add_test(tc, test_place_insufficient_stock_passes_the_detail_and_drops_intent_and_key);
	tcase_add_test(tc, test_place_insufficient_after_a_retry_releases_the_id_first);
	tcase_add_test(tc, test_place_unknown_book_is_book_missing_and_drops_the_intent);
	tcase_add_test(tc, test_place_book_deleted_after_the_reservation_is_book_missing);
	tcase_add_test(tc, test_place_catalog_down_fast_releases_once_and_deletes_the_intent);
	tcase_add_test(tc, test_place_catalog_down_slow_leaves_a_failed_intent_for_recovery);
	tcase_add_test(tc, test_place_release_refused_leaves_a_failed_intent);
	tcase_add_test(tc, test_place_unusable_price_is_catalog_unavailable_and_undone);
	tcase_add_test(tc, test_place_gone_means_recovery_owns_the_intent);
	tcase_add_test(tc, test_place_intent_claimed_by_recovery_during_the_reserve_is_not_finalized);
	tcase_add_test(tc, test_place_database_down_is_db_unavailable);
	tcase_add_test(tc, test_place_data_error_past_validation_is_db_conflict);
	tcase_add_test(tc, test_set_status_moves_refuses_and_reports_missing_orders);
	tcase_add_test(tc, test_cancel_releases_the_stock_and_marks_it);
	tcase_add_test(tc, test_cancel_with_the_catalog_down_is_finished_by_recovery);
	tcase_add_test(tc, test_recovery_undoes_failed_and_abandoned_intents);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
