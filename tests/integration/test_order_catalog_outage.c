/* test_order_catalog_outage.c - the catalog stopped, hung or answering garbage: POST /orders
 * answers 503 with Retry-After and leaves no order and no reservation behind; once the catalog
 * is back, orders work again without restarting the order service; a cancel accepted during the
 * outage is restocked by recovery. */
#include "test_order_common.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>

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
	/* The contract (docs/consistency.md): a hung catalog costs the client about 2 x
	 * CATALOG_TIMEOUT_MS (two reserve attempts), not more; the release is left to recovery.
	 * A generous bound: this is a contract, not a performance assertion. */
	ck_assert_msg(elapsed < 3LL * t_catalog_timeout_ms + 1000,
		      "POST /orders against a hung catalog took %lld ms (timeout %d ms)", elapsed,
		      t_catalog_timeout_ms);
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


/* A fake catalog on loopback: answers every POST /reservations with `reserve_reply` (a whole
 * HTTP response) after delay_ms, and every release with a proper 200, one request per
 * connection. It is what a broken or slow catalog looks like from the order service. */
struct fake_catalog {
	int fd;
	int port;
	int delay_ms;
	const char *reserve_reply;
	const char *later_reply; /* if set, the answer to every reserve after the first */
	volatile int reserves;
	volatile int stop;
	volatile int releases;
	pthread_t th;
};

static void fake_serve_one(struct fake_catalog *f, int c)
{
	static const char release_reply[] =
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
		"Content-Length: 42\r\n\r\n{\"reservation_id\":\"x\",\"status\":\"released\"}";
	char req[8192];
	size_t len = 0;
	ssize_t n;
	const char *end, *cl, *reply;
	long body = 0;

	for (;;) {
		n = read(c, req + len, sizeof req - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		end = strstr(req, "\r\n\r\n");
		if (end == NULL)
			continue;
		cl = strstr(req, "Content-Length:"); /* as curl spells it */
		body = cl != NULL && cl < end ? strtol(cl + 15, NULL, 10) : 0;
		if ((long)(len - (size_t)(end + 4 - req)) >= body || len >= sizeof req - 1)
			break;
	}
	if (strstr(req, "/release") != NULL) {
		f->releases++;
		reply = release_reply;
	} else {
		t_sleep_ms(f->delay_ms);
		reply = f->reserves++ > 0 && f->later_reply != NULL ? f->later_reply
								     : f->reserve_reply;
	}
	(void)!write(c, reply, strlen(reply));
}

static void *fake_main(void *arg)
{
	struct fake_catalog *f = arg;
	struct pollfd p = { .fd = f->fd, .events = POLLIN };
	int c;

	while (!f->stop) {
		if (poll(&p, 1, 50) <= 0)
			continue;
		c = accept(f->fd, NULL, NULL);
		if (c < 0)
			continue;
		fake_serve_one(f, c);
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake_catalog *f, const char *reserve_reply, int delay_ms)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	int one = 1;

	memset(f, 0, sizeof *f);
	f->reserve_reply = reserve_reply;
	f->delay_ms = delay_ms;
	f->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(f->fd, 0);
	(void)setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(f->fd, 64), 0);
	ck_assert_int_eq(getsockname(f->fd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake_catalog *f)
{
	f->stop = 1;
	(void)pthread_join(f->th, NULL);
	close(f->fd);
}

START_TEST(test_catalog_answering_garbage_is_503_with_retry_after_and_no_order)
{
	static const char *const replies[] = {
		/* 200 with a non-JSON body */
		"HTTP/1.1 201 Created\r\nContent-Type: text/html\r\nConnection: close\r\n"
		"Content-Length: 17\r\n\r\n<html>oops</html>",
		/* JSON, but no usable book in it */
		"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n"
		"Content-Length: 38\r\n\r\n{\"reservation_id\":\"x\",\"book\":{\"id\":1}}",
		/* a book whose price is not money */
		"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n"
		"Content-Length: 56\r\n\r\n{\"book\":{\"id\":1,\"title\":\"T\",\"price\":\"abc\",\"quantity\":3}}",
		/* an unexpected 4xx */
		"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
		"Content-Length: 13\r\n\r\n{\"detail\":[]}",
	};
	long long book = t_create_book(catalog.url, "6.00", 4);
	struct fake_catalog fake;
	struct ts_proc bad = { 0 };
	struct ts_resp r = { 0 };
	char url[64], body[256], sql[160], *ra;
	size_t i;

	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"customer_name\":\"G\",\"customer_email\":\"g@x.org\","
		       "\"quantity\":1}", book);
	(void)snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE book_id = %lld", book);
	for (i = 0; i < sizeof replies / sizeof replies[0]; i++) {
		fake_start(&fake, replies[i], 0);
		(void)snprintf(url, sizeof url, "http://127.0.0.1:%d", fake.port);
		t_start_order(&bad, db, url, 0);
		(void)ts_req(&r, "POST", bad.url, body, "/orders");
		ck_assert_msg(r.status == 503, "reply %zu: %ld %s", i, r.status, r.body);
		ra = ts_header(&r, "Retry-After");
		ck_assert_ptr_nonnull(ra);
		free(ra);
		ts_resp_free(&r);
		/* The doubtful reservation was released at once, and no order exists. */
		ck_assert_int_ge(fake.releases, 1);
		ck_assert_int_eq(t_sql_ll(db, sql), 0);
		(void)ts_req(&r, "GET", bad.url, NULL, "/metrics");
		ck_assert_msg(strstr(r.body, "orders_failed_total{reason=\"catalog_unavailable\"} 1\n") !=
				      NULL,
			      "reply %zu not counted as a catalog failure", i);
		ts_resp_free(&r);
		ck_assert_int_eq(ts_stop(&bad, SIGTERM, 5000), 0);
		fake_stop(&fake);
	}
}
END_TEST

/* A 409 that answers a *retried* reserve does not prove that nothing will be reserved under the
 * id: the first attempt (here a 504 from a proxy in front of a busy replica) may still be queued
 * in the catalog and reserve later. The order service must release the id (tombstone) before it
 * forgets the intent, and still answer 409. */
START_TEST(test_insufficient_after_a_retry_releases_the_reservation_id)
{
	static const char gateway_timeout[] =
		"HTTP/1.1 504 Gateway Timeout\r\nContent-Type: application/json\r\n"
		"Connection: close\r\nContent-Length: 28\r\n\r\n{\"detail\":\"Gateway Timeout\"}";
	static const char insufficient[] =
		"HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nConnection: close\r\n"
		"Content-Length: 68\r\n\r\n"
		"{\"detail\":\"Insufficient stock for book 1: requested 1, available 0\"}";
	long long book = t_create_book(catalog.url, "6.00", 4);
	struct fake_catalog fake;
	struct ts_proc bad = { 0 };
	struct ts_resp r = { 0 };
	char url[64], body[256], sql[200];

	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"customer_name\":\"R\",\"customer_email\":\"r@x.org\","
		       "\"quantity\":1}", book);
	fake_start(&fake, gateway_timeout, 0);
	fake.later_reply = insufficient;
	(void)snprintf(url, sizeof url, "http://127.0.0.1:%d", fake.port);
	t_start_order(&bad, db, url, 0);
	(void)ts_req(&r, "POST", bad.url, body, "/orders");
	ck_assert_msg(r.status == 409, "%ld %s", r.status, r.body);
	ck_assert_ptr_nonnull(strstr(r.body, "Insufficient stock"));
	ts_resp_free(&r);
	ck_assert_int_eq(fake.reserves, 2);
	ck_assert_msg(fake.releases >= 1, "the reservation id was not released after a retried 409");
	(void)snprintf(sql, sizeof sql,
		       "SELECT (SELECT count(*) FROM orders WHERE book_id = %lld) + "
		       "(SELECT count(*) FROM order_intents WHERE book_id = %lld)", book, book);
	ck_assert_int_eq(t_sql_ll(db, sql), 0);
	ck_assert_int_eq(ts_stop(&bad, SIGTERM, 5000), 0);
	fake_stop(&fake);
}
END_TEST

struct bg_post {
	const char *url;
	const char *body;
	long status;
};

static void *bg_post_main(void *arg)
{
	struct bg_post *b = arg;
	struct ts_resp r = { 0 };

	(void)ts_req(&r, "POST", b->url, b->body, "/orders");
	b->status = r.status;
	ts_resp_free(&r);
	return NULL;
}

START_TEST(test_sigterm_finishes_an_in_flight_order_then_exits_0)
{
	static const char reply[] =
		"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n"
		"Content-Length: 58\r\n\r\n{\"book\":{\"id\":1,\"title\":\"T\",\"price\":\"44.99\",\"quantity\":3}}";
	struct fake_catalog fake;
	struct ts_proc slow = { 0 };
	struct bg_post b = { 0 };
	pthread_t th;
	char url[64], body[256], sql[200];
	long long book = t_create_book(catalog.url, "44.99", 4);

	fake_start(&fake, reply, 600); /* below the suite's CATALOG_TIMEOUT_MS */
	(void)snprintf(url, sizeof url, "http://127.0.0.1:%d", fake.port);
	t_start_order(&slow, db, url, 0);
	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"customer_name\":\"S\",\"customer_email\":\"s@x.org\","
		       "\"quantity\":2}", book);
	b.url = slow.url;
	b.body = body;
	ck_assert_int_eq(pthread_create(&th, NULL, bg_post_main, &b), 0);
	t_sleep_ms(300); /* the order is now waiting for the (slow) catalog */
	ck_assert_int_eq(ts_stop(&slow, SIGTERM, 8000), 0);
	(void)pthread_join(th, NULL);
	ck_assert_int_eq(b.status, 201);
	fake_stop(&fake);
	/* Remove the fake order so the suite's stock accounting stays real. */
	(void)snprintf(sql, sizeof sql,
		       "DELETE FROM orders WHERE book_id = %lld AND total_price = 89.98 RETURNING 1",
		       book);
	free(ts_sql(db, sql));
}
END_TEST

/* The book is deleted between the reservation and the finalize (the catalog's delete takes the
 * reservation with it): the finalize's foreign key fails, nothing is committed, the intent is
 * dropped and the client gets the same 422 as for an unknown book. A fake catalog that reserves
 * a book the database does not have plays that race deterministically. */
START_TEST(test_book_deleted_after_reserve_is_422_and_leaves_nothing)
{
	static const char reply[] =
		"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n"
		"Content-Length: 58\r\n\r\n{\"book\":{\"id\":1,\"title\":\"T\",\"price\":\"44.99\",\"quantity\":3}}";
	struct fake_catalog fake;
	struct ts_proc p = { 0 };
	struct ts_resp r = { 0 };
	char url[64];
	json_t *e;

	fake_start(&fake, reply, 0);
	(void)snprintf(url, sizeof url, "http://127.0.0.1:%d", fake.port);
	t_start_order(&p, db, url, 0);
	(void)ts_req(&r, "POST", p.url,
		     "{\"book_id\":987654322,\"customer_name\":\"D\",\"customer_email\":"
		     "\"d@x.org\",\"quantity\":1}", "/orders");
	ck_assert_msg(r.status == 422, "%ld %s", r.status, r.body);
	e = json_array_get(json_object_get(r.json, "detail"), 0);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "loc"), 1)),
			 "book_id");
	ts_resp_free(&r);
	ck_assert_int_eq(t_sql_ll(db, "SELECT count(*) FROM orders WHERE book_id = 987654322"), 0);
	ck_assert_int_eq(t_sql_ll(db, "SELECT count(*) FROM order_intents WHERE book_id = "
				      "987654322"),
			 0);
	ck_assert_int_eq(ts_stop(&p, SIGTERM, 5000), 0);
	fake_stop(&fake);
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
	tcase_add_test(tc, test_catalog_answering_garbage_is_503_with_retry_after_and_no_order);
	tcase_add_test(tc, test_insufficient_after_a_retry_releases_the_reservation_id);
	tcase_add_test(tc, test_sigterm_finishes_an_in_flight_order_then_exits_0);
	tcase_add_test(tc, test_book_deleted_after_reserve_is_422_and_leaves_nothing);
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
