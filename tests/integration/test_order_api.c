/* test_order_api.c - every endpoint and error of the order service, with a real PostgreSQL, a
 * real catalog-service and a real order-service on loopback. */
#include <pthread.h>

#include "test_order_common.h"

static char *db;
static struct ts_proc catalog, order;

static void setup(void)
{
	db = ts_db_create(0);
	t_start_catalog(&catalog, db, 0);
	t_start_order(&order, db, catalog.url, 0);
}

static void teardown(void)
{
	ts_stop(&order, SIGTERM, 5000);
	ts_stop(&catalog, SIGTERM, 5000);
	free(db);
}

static const char *valid_body_fmt =
	"{\"book_id\":%lld,\"customer_name\":\"Ada Lovelace\",\"customer_email\":"
	"\"Ada@Example.COM\",\"quantity\":%d}";

START_TEST(test_post_order_reserves_stock_and_returns_201_with_location)
{
	long long book = t_create_book(catalog.url, "44.99", 10), id;
	struct ts_resp r = { 0 };
	const char *hdrs[] = { "X-Request-ID: order-test-req-1", NULL };
	char body[256], *loc, *rid;

	char url[128];

	(void)snprintf(url, sizeof url, "%s/orders", order.url);
	(void)snprintf(body, sizeof body, valid_body_fmt, book, 2);
	ck_assert_int_eq(ts_http(&r, "POST", url, body, hdrs), 0);
	ck_assert_int_eq(r.status, 201);
	id = ts_int(r.json, "id");
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(ts_int(r.json, "book_id"), book);
	ck_assert_str_eq(ts_str(r.json, "unit_price"), "44.99");
	ck_assert_str_eq(ts_str(r.json, "total_price"), "89.98");
	ck_assert_str_eq(ts_str(r.json, "status"), "pending");
	ck_assert_str_eq(ts_str(r.json, "customer_email"), "Ada@example.com");
	ck_assert_str_eq(ts_str(r.json, "customer_name"), "Ada Lovelace");
	ck_assert_ptr_nonnull(ts_str(r.json, "book_title"));
	ck_assert_ptr_nonnull(strchr(ts_str(r.json, "created_at"), 'T'));
	ck_assert_int_eq(json_object_size(r.json), 11);
	loc = ts_header(&r, "Location");
	ck_assert_ptr_nonnull(loc);
	ck_assert_ptr_nonnull(strstr(loc, "/orders/"));
	rid = ts_header(&r, "X-Request-ID");
	ck_assert_str_eq(rid, "order-test-req-1");
	free(loc);
	free(rid);
	ts_resp_free(&r);
	ck_assert_int_eq(t_book_qty(db, book), 8);
	/* The request id was forwarded to the catalog (its access log carries it). */
	ck_assert_int_eq(ts_system("grep -q order-test-req-1 %s", catalog.log_path), 0);
}
END_TEST

START_TEST(test_post_order_url_with_trailing_slash_and_location_prefix)
{
	long long book = t_create_book(catalog.url, "10.00", 5);
	struct ts_resp r = { 0 };
	const char *hdrs[] = { "X-Forwarded-Prefix: /shop", NULL };
	char body[256], url[128], *loc;

	(void)snprintf(body, sizeof body, valid_body_fmt, book, 1);
	(void)snprintf(url, sizeof url, "%s/orders", order.url);
	ck_assert_int_eq(ts_http(&r, "POST", url, body, hdrs), 0);
	ck_assert_int_eq(r.status, 201);
	loc = ts_header(&r, "Location");
	ck_assert_ptr_nonnull(loc);
	ck_assert_ptr_nonnull(strstr(loc, "/shop/orders/"));
	free(loc);
	ts_resp_free(&r);
}
END_TEST

/* Expects a 422 whose detail list names ["body", field]. */
static void expect_422(const char *body, const char *field)
{
	struct ts_resp r = { 0 };
	json_t *e;
	size_t i;
	int found = 0;

	(void)ts_req(&r, "POST", order.url, body, "/orders");
	ck_assert_msg(r.status == 422, "%s -> %ld %s", body, r.status, r.body);
	ck_assert(json_is_array(json_object_get(r.json, "detail")));
	json_array_foreach(json_object_get(r.json, "detail"), i, e) {
		const char *f = json_string_value(json_array_get(json_object_get(e, "loc"), 1));
		if (field == NULL || (f != NULL && strcmp(f, field) == 0))
			found = 1;
	}
	ck_assert_msg(found, "%s: no error for %s in %s", body, field, r.body);
	ts_resp_free(&r);
}

START_TEST(test_post_order_validation_errors)
{
	long long book = t_create_book(catalog.url, "5.00", 100);
	struct ts_resp r = { 0 };
	const char *plain[] = { "Content-Type: text/plain", NULL };
	char body[512];

	(void)ts_req(&r, "POST", order.url, "{}", "/orders");
	ck_assert_int_eq(r.status, 422);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "detail")), 4);
	ts_resp_free(&r);
	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"customer_name\":\"x\",\"customer_email\":\"nope\","
		       "\"quantity\":1}", book);
	expect_422(body, "customer_email");
	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"customer_name\":\"x\",\"customer_email\":\"a b@c.de\","
		       "\"quantity\":1}", book);
	expect_422(body, "customer_email");
	(void)snprintf(body, sizeof body, valid_body_fmt, book, 0);
	expect_422(body, "quantity");
	(void)snprintf(body, sizeof body, valid_body_fmt, book, 1001);
	expect_422(body, "quantity");
	expect_422("{\"book_id\":\"1\",\"customer_name\":\"x\",\"customer_email\":\"a@b.co\","
		   "\"quantity\":1}", "book_id");
	expect_422("{\"book_id\":-3,\"customer_name\":\"x\",\"customer_email\":\"a@b.co\","
		   "\"quantity\":1}", "book_id");
	expect_422("{\"book_id\":1,\"customer_name\":\"   \",\"customer_email\":\"a@b.co\","
		   "\"quantity\":1}", "customer_name");
	expect_422("{\"book_id\":1,\"customer_name\":\"x\",\"customer_email\":\"a@b.co\","
		   "\"quantity\":1.5}", "quantity");
	expect_422("[1,2]", NULL);
	(void)ts_req(&r, "POST", order.url, "{\"book_id\": ", "/orders");
	ck_assert_int_eq(r.status, 422);
	ck_assert_str_eq(ts_str(json_array_get(json_object_get(r.json, "detail"), 0), "type"),
			 "json_invalid");
	ts_resp_free(&r);
	(void)snprintf(body, sizeof body, "%s/orders", order.url);
	(void)ts_http(&r, "POST", body, "{}", plain);
	ck_assert_int_eq(r.status, 415);
	ts_resp_free(&r);
	/* Nothing reached the catalog. */
	ck_assert_int_eq(t_book_qty(db, book), 100);
	ck_assert_int_eq(t_sql_ll(db, "SELECT count(*) FROM order_intents"), 0);
}
END_TEST

START_TEST(test_post_order_for_unknown_book_is_422_on_book_id)
{
	struct ts_resp r = { 0 };
	char body[256];
	json_t *e;

	(void)snprintf(body, sizeof body, valid_body_fmt, 987654321LL, 1);
	(void)ts_req(&r, "POST", order.url, body, "/orders");
	ck_assert_int_eq(r.status, 422);
	e = json_array_get(json_object_get(r.json, "detail"), 0);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "loc"), 0)), "body");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "loc"), 1)),
			 "book_id");
	ts_resp_free(&r);
	ck_assert_int_eq(t_sql_ll(db, "SELECT count(*) FROM orders WHERE book_id = 987654321"), 0);
}
END_TEST

START_TEST(test_post_order_with_insufficient_stock_is_409_with_catalog_detail)
{
	long long book = t_create_book(catalog.url, "12.50", 2);
	struct ts_resp r = { 0 };
	char body[256], expect[160];

	(void)snprintf(body, sizeof body, valid_body_fmt, book, 5);
	(void)ts_req(&r, "POST", order.url, body, "/orders");
	ck_assert_int_eq(r.status, 409);
	(void)snprintf(expect, sizeof expect,
		       "Insufficient stock for book %lld: requested 5, available 2", book);
	ck_assert_str_eq(ts_str(r.json, "detail"), expect);
	ts_resp_free(&r);
	ck_assert_int_eq(t_book_qty(db, book), 2);
	(void)snprintf(expect, sizeof expect, "SELECT count(*) FROM orders WHERE book_id = %lld",
		       book);
	ck_assert_int_eq(t_sql_ll(db, expect), 0);
}
END_TEST

/* The first 422 entry has loc [loc0, field] and the given type. */
static void assert_int_error(const struct ts_resp *r, const char *loc0, const char *field,
			     const char *type)
{
	const json_t *e = json_array_get(json_object_get(r->json, "detail"), 0);
	const json_t *loc = json_object_get(e, "loc");

	ck_assert_msg(e != NULL, "no 422 entry: %s", r->body);
	ck_assert_str_eq(json_string_value(json_array_get(loc, 0)), loc0);
	ck_assert_str_eq(json_string_value(json_array_get(loc, 1)), field);
	ck_assert_str_eq(ts_str(e, "type"), type);
}

START_TEST(test_get_order_200_404_422)
{
	long long book = t_create_book(catalog.url, "3.00", 5), id;
	struct ts_resp r = { 0 };

	ck_assert_int_eq(t_order(order.url, book, 1, NULL, &id), 201);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/%lld", id);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "id"), id);
	ck_assert_str_eq(ts_str(r.json, "total_price"), "3.00");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/999999999");
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(ts_str(r.json, "detail"), "Order not found");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/abc");
	ck_assert_int_eq(r.status, 422);
	ck_assert_str_eq(ts_str(json_array_get(json_object_get(r.json, "detail"), 0), "input"),
			 "abc");
	ts_resp_free(&r);
	/* An integer outside order_id's range [1, 2^63-1] is a 422 naming the field and the bound
	 * (DECISIONS.md "Integers"), whatever the route. */
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/0");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "path", "order_id", "greater_than_equal");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/-1");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "path", "order_id", "greater_than_equal");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/-5/book");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	(void)ts_req(&r, "PATCH", order.url, "{\"status\":\"cancelled\"}", "/orders/0/status");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "path", "order_id", "greater_than_equal");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/99999999999999999999");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "path", "order_id", "less_than_equal");
	ts_resp_free(&r);
	/* Query integers: an overflow is out of range, not clamped to 2^63-1. */
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?skip=9223372036854775808");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "query", "skip", "less_than_equal");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?book_id=99999999999999999999");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "query", "book_id", "less_than_equal");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?skip=9223372036854775807");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	/* A NUL byte in a query value ("%00") ends its C string early: 422 naming the parameter
	 * instead of reading "?status=%00" as no filter or "?skip=1%00x" as 1. */
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?status=%%00");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "query", "status", "string_type");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?skip=1%%00x");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "query", "skip", "string_type");
	ts_resp_free(&r);
	/* Body integers beyond 64 bits: the same rule, the field named. */
	(void)ts_req(&r, "POST", order.url,
		     "{\"book_id\": 99999999999999999999, \"customer_name\":\"A\","
		     "\"customer_email\":\"a@x.org\",\"quantity\":1}",
		     "/orders");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "body", "book_id", "less_than_equal");
	ts_resp_free(&r);
	(void)ts_req(&r, "POST", order.url,
		     "{\"book_id\":1,\"customer_name\":\"A\",\"customer_email\":\"a@x.org\","
		     "\"quantity\":-99999999999999999999}",
		     "/orders");
	ck_assert_int_eq(r.status, 422);
	assert_int_error(&r, "body", "quantity", "greater_than_equal");
	ts_resp_free(&r);
	(void)ts_req(&r, "DELETE", order.url, NULL, "/orders/%lld", id);
	ck_assert_int_eq(r.status, 405);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_list_orders_newest_first_with_filters)
{
	long long book1 = t_create_book(catalog.url, "1.00", 50);
	long long book2 = t_create_book(catalog.url, "2.00", 50);
	long long ids[4];
	struct ts_resp r = { 0 };
	json_t *orders;
	char email[64];

	(void)snprintf(email, sizeof email, "list%d@Example.com", (int)getpid());
	ck_assert_int_eq(t_order(order.url, book1, 1, email, &ids[0]), 201);
	ck_assert_int_eq(t_order(order.url, book2, 1, email, &ids[1]), 201);
	ck_assert_int_eq(t_order(order.url, book2, 2, "other@example.com", &ids[2]), 201);
	ck_assert_int_eq(t_order(order.url, book1, 3, email, &ids[3]), 201);
	ck_assert_int_eq(t_set_status(order.url, ids[3], "shipped"), 409);
	ck_assert_int_eq(t_set_status(order.url, ids[3], "confirmed"), 200);

	(void)ts_req(&r, "GET", order.url, NULL, "/orders?limit=2");
	ck_assert_int_eq(r.status, 200);
	orders = json_object_get(r.json, "orders");
	ck_assert_int_eq(json_array_size(orders), 2);
	ck_assert_int_ge(ts_int(r.json, "total"), 4);
	ck_assert_int_eq(ts_int(json_array_get(orders, 0), "id"), ids[3]);
	ck_assert_int_eq(ts_int(json_array_get(orders, 1), "id"), ids[2]);
	ts_resp_free(&r);

	(void)ts_req(&r, "GET", order.url, NULL, "/orders?limit=1&skip=1");
	ck_assert_int_eq(ts_int(json_array_get(json_object_get(r.json, "orders"), 0), "id"), ids[2]);
	ts_resp_free(&r);

	/* customer_email is case-insensitive */
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?customer_email=LIST%d@example.COM",
		     (int)getpid());
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 3);
	ts_resp_free(&r);

	(void)ts_req(&r, "GET", order.url, NULL, "/orders?book_id=%lld", book2);
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	ts_resp_free(&r);

	(void)ts_req(&r, "GET", order.url, NULL, "/orders?book_id=%lld&status=confirmed", book1);
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ck_assert_int_eq(ts_int(json_array_get(json_object_get(r.json, "orders"), 0), "id"), ids[3]);
	ts_resp_free(&r);

	(void)ts_req(&r, "GET", order.url, NULL,
		     "/orders?book_id=%lld&status=pending&customer_email=list%d@example.com", book1,
		     (int)getpid());
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);

	(void)ts_req(&r, "GET", order.url, NULL, "/orders?limit=0");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?limit=1001");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?skip=-1");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?status=lost");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?book_id=abc");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?customer_email=%%27%%3B%%20DROP");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ts_resp_free(&r);
}
END_TEST

/* Brings a fresh order to `status` through allowed moves; returns its id. */
static long long order_in(long long book, const char *status)
{
	static const char *const path_to[][4] = {
		{ "pending", NULL },
		{ "processing", "processing", NULL },
		{ "confirmed", "confirmed", NULL },
		{ "shipped", "confirmed", "shipped", NULL },
		{ "delivered", "confirmed", "shipped", "delivered" },
		{ "cancelled", "cancelled", NULL },
	};
	long long id;
	size_t i, k;

	ck_assert_int_eq(t_order(order.url, book, 1, NULL, &id), 201);
	for (i = 0; i < sizeof path_to / sizeof path_to[0]; i++) {
		if (strcmp(path_to[i][0], status) != 0)
			continue;
		for (k = 1; k < 4 && path_to[i][k] != NULL; k++)
			ck_assert_int_eq(t_set_status(order.url, id, path_to[i][k]), 200);
	}
	return id;
}

START_TEST(test_status_machine_every_move)
{
	static const char *const st[] = { "pending", "processing", "confirmed",
					  "shipped", "delivered", "cancelled" };
	static const char *const allowed[] = {
		"pending>processing", "pending>confirmed", "pending>cancelled",
		"processing>confirmed", "processing>cancelled", "confirmed>shipped",
		"confirmed>cancelled", "shipped>delivered",
	};
	long long book = t_create_book(catalog.url, "1.00", 1000), id;
	struct ts_resp r = { 0 };
	size_t f, t, i;
	char pair[40];
	int ok;

	for (f = 0; f < 6; f++) {
		for (t = 0; t < 6; t++) {
			id = order_in(book, st[f]);
			(void)snprintf(pair, sizeof pair, "%s>%s", st[f], st[t]);
			ok = f == t;
			for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
				if (strcmp(pair, allowed[i]) == 0)
					ok = 1;
			(void)ts_req(&r, "PATCH", order.url, "{\"status\":\"x\"}", "/orders/%lld/status",
				     id);
			ck_assert_int_eq(r.status, 422);
			ts_resp_free(&r);
			(void)snprintf(pair, sizeof pair, "{\"status\":\"%s\"}", st[t]);
			(void)ts_req(&r, "PATCH", order.url, pair, "/orders/%lld/status", id);
			if (ok) {
				ck_assert_msg(r.status == 200, "%s>%s: %ld", st[f], st[t], r.status);
				ck_assert_str_eq(ts_str(r.json, "status"), st[t]);
			} else {
				ck_assert_msg(r.status == 409, "%s>%s: %ld", st[f], st[t], r.status);
				ck_assert_ptr_nonnull(strstr(ts_str(r.json, "detail"), st[f]));
				ck_assert_ptr_nonnull(strstr(ts_str(r.json, "detail"), st[t]));
			}
			ts_resp_free(&r);
		}
	}
	(void)ts_req(&r, "PATCH", order.url, "{\"status\":\"pending\"}", "/orders/999999999/status");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	(void)ts_req(&r, "PATCH", order.url, "{}", "/orders/%lld/status", id);
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	(void)ts_req(&r, "PATCH", order.url, "{\"status\":\"reserving\"}", "/orders/%lld/status", id);
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	/* Every order still holds its stock except the cancelled ones. */
	{
		char sql[200];

		(void)snprintf(sql, sizeof sql,
			       "SELECT coalesce(sum(quantity), 0) FROM orders WHERE status NOT IN "
			       "('cancelled', 'failed') AND book_id = %lld", book);
		ck_assert_int_eq(t_book_qty(db, book) + t_sql_ll(db, sql), 1000);
	}
}
END_TEST

START_TEST(test_cancel_restocks_exactly_once)
{
	long long book = t_create_book(catalog.url, "9.99", 10), id;
	struct ts_resp r = { 0 };
	char sql[128];

	ck_assert_int_eq(t_order(order.url, book, 3, NULL, &id), 201);
	ck_assert_int_eq(t_book_qty(db, book), 7);
	(void)ts_req(&r, "PATCH", order.url, "{\"status\":\"cancelled\"}", "/orders/%lld/status", id);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "status"), "cancelled");
	ts_resp_free(&r);
	ck_assert_int_eq(t_book_qty(db, book), 10);
	/* A retried cancel is 200 and changes nothing, not even updated_at. */
	(void)snprintf(sql, sizeof sql, "SELECT extract(epoch FROM updated_at) * 1000000 FROM "
		       "orders WHERE id = %lld", id);
	{
		long long before = t_sql_ll(db, sql);

		ck_assert_int_eq(t_set_status(order.url, id, "cancelled"), 200);
		ck_assert_int_eq(t_sql_ll(db, sql), before);
	}
	ck_assert_int_eq(t_set_status(order.url, id, "pending"), 409);
	t_sleep_ms(600); /* a few recovery passes */
	ck_assert_int_eq(t_book_qty(db, book), 10);
	(void)snprintf(sql, sizeof sql, "SELECT stock_released::int FROM orders WHERE id = %lld", id);
	ck_assert_int_eq(t_sql_ll(db, sql), 1);
	/* Orders after a cancel still work off the restored stock. */
	ck_assert_int_eq(t_order(order.url, book, 10, NULL, NULL), 201);
	ck_assert_int_eq(t_book_qty(db, book), 0);
}
END_TEST

static long idem_post(const char *key, const char *body, long long *id)
{
	struct ts_resp r = { 0 };
	char hdr[300], url[128];
	const char *hdrs[] = { hdr, NULL };
	long st;

	(void)snprintf(hdr, sizeof hdr, "Idempotency-Key: %s", key);
	(void)snprintf(url, sizeof url, "%s/orders", order.url);
	(void)ts_http(&r, "POST", url, body, hdrs);
	st = r.status;
	if (id != NULL)
		*id = st == 201 ? ts_int(r.json, "id") : 0;
	ts_resp_free(&r);
	return st;
}

START_TEST(test_idempotency_key_replays_same_order)
{
	long long book = t_create_book(catalog.url, "20.00", 10), id1, id2;
	char body1[256], body2[256], key[64];
	struct ts_resp r = { 0 };

	(void)snprintf(key, sizeof key, "key-%d-a", (int)getpid());
	(void)snprintf(body1, sizeof body1,
		       "{\"book_id\":%lld,\"customer_name\":\"Bo\",\"customer_email\":\"bo@x.org\","
		       "\"quantity\":2}", book);
	/* Same JSON, other key order and spacing. */
	(void)snprintf(body2, sizeof body2,
		       "{ \"quantity\": 2, \"customer_email\": \"bo@x.org\", \"book_id\": %lld, "
		       "\"customer_name\": \"Bo\" }", book);
	ck_assert_int_eq(idem_post(key, body1, &id1), 201);
	ck_assert_int_eq(idem_post(key, body1, &id2), 201);
	ck_assert_int_eq(id1, id2);
	ck_assert_int_eq(idem_post(key, body2, &id2), 201);
	ck_assert_int_eq(id1, id2);
	ck_assert_int_eq(t_book_qty(db, book), 8);
	/* Same key, different body: 422. */
	(void)snprintf(body2, sizeof body2,
		       "{\"book_id\":%lld,\"customer_name\":\"Bo\",\"customer_email\":\"bo@x.org\","
		       "\"quantity\":3}", book);
	ck_assert_int_eq(idem_post(key, body2, NULL), 422);
	ck_assert_int_eq(t_book_qty(db, book), 8);
	/* A bad key is a 422 too. */
	ck_assert_int_eq(idem_post("bad key", body1, NULL), 422);
	(void)r;
}
END_TEST

START_TEST(test_idempotency_failed_attempt_is_forgotten)
{
	long long book = t_create_book(catalog.url, "5.00", 1), id;
	char body[256], key[64], upd[64];
	struct ts_resp r = { 0 };

	(void)snprintf(key, sizeof key, "key-%d-b", (int)getpid());
	(void)snprintf(body, sizeof body, valid_body_fmt, book, 3);
	ck_assert_int_eq(idem_post(key, body, NULL), 409);
	(void)snprintf(upd, sizeof upd, "{\"quantity\": 5}");
	(void)ts_req(&r, "PATCH", catalog.url, upd, "/books/%lld", book);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(idem_post(key, body, &id), 201);
	ck_assert_int_gt(id, 0);
	ck_assert_int_eq(t_book_qty(db, book), 2);
}
END_TEST

struct idem_thread {
	const char *key;
	const char *body;
	long status;
	long long id;
	pthread_barrier_t *barrier;
};

static void *idem_worker(void *arg)
{
	struct idem_thread *t = arg;

	(void)pthread_barrier_wait(t->barrier);
	t->status = idem_post(t->key, t->body, &t->id);
	return NULL;
}

START_TEST(test_idempotency_concurrent_same_key_creates_one_order)
{
	enum { N = 12 };
	long long book = t_create_book(catalog.url, "7.00", 100), id = 0;
	struct idem_thread th[N];
	pthread_t tid[N];
	pthread_barrier_t barrier;
	char body[256], key[64], sql[160];
	int i, created = 0, busy = 0;

	(void)snprintf(key, sizeof key, "key-%d-c", (int)getpid());
	(void)snprintf(body, sizeof body, valid_body_fmt, book, 1);
	pthread_barrier_init(&barrier, NULL, N);
	for (i = 0; i < N; i++) {
		th[i] = (struct idem_thread){ key, body, 0, 0, &barrier };
		pthread_create(&tid[i], NULL, idem_worker, &th[i]);
	}
	for (i = 0; i < N; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&barrier);
	for (i = 0; i < N; i++) {
		ck_assert_msg(th[i].status == 201 || th[i].status == 409, "status %ld",
			      th[i].status);
		if (th[i].status == 201) {
			if (id == 0)
				id = th[i].id;
			ck_assert_int_eq(th[i].id, id);
			created++;
		} else {
			busy++;
		}
	}
	ck_assert_int_ge(created, 1);
	ck_assert_int_eq(created + busy, N);
	ck_assert_int_eq(t_book_qty(db, book), 99);
	(void)snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE book_id = %lld", book);
	ck_assert_int_eq(t_sql_ll(db, sql), 1);
	/* Afterwards every retry gets the order. */
	ck_assert_int_eq(idem_post(key, body, &id), 201);
}
END_TEST

START_TEST(test_get_order_book_reports_availability)
{
	long long book = t_create_book(catalog.url, "15.00", 2), id;
	struct ts_resp r = { 0 };

	ck_assert_int_eq(t_order(order.url, book, 1, NULL, &id), 201);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/%lld/book", id);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "id"), book);
	ck_assert_int_eq(ts_int(r.json, "quantity"), 1);
	ck_assert_str_eq(ts_str(r.json, "price"), "15.00");
	ck_assert(json_is_true(json_object_get(r.json, "available")));
	ts_resp_free(&r);
	ck_assert_int_eq(t_order(order.url, book, 1, NULL, NULL), 201);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/%lld/book", id);
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_false(json_object_get(r.json, "available")));
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/999999999/book");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_operational_endpoints)
{
	struct ts_resp r = { 0 };

	(void)ts_req(&r, "GET", order.url, NULL, "/health");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/ready");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "service"), "order-service");
	ts_resp_free(&r);
	ck_assert_int_eq(t_order(order.url, t_create_book(catalog.url, "1.00", 1), 1, NULL, NULL),
			 201);
	(void)ts_req(&r, "GET", order.url, NULL, "/metrics");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "catalog_client_calls_total{outcome=\"ok\"} "));
	ck_assert_ptr_null(strstr(r.body, "catalog_client_calls_total{outcome=\"ok\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "catalog_client_duration_seconds_count"));
	ck_assert_ptr_nonnull(strstr(r.body, "\norders_created_total "));
	ck_assert_ptr_null(strstr(r.body, "\norders_created_total 0\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "db_pool_size"));
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/openapi.json");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(r.json, "paths"), "/orders"));
	ck_assert_ptr_nonnull(
		json_object_get(json_object_get(r.json, "paths"), "/orders/{order_id}/status"));
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_recovery_undoes_an_abandoned_intent)
{
	long long book = t_create_book(catalog.url, "4.00", 10);
	struct ts_resp r = { 0 };
	char sql[400], body[160];

	/* A crash right after the reservation: intent row + reserved stock, nothing else. */
	(void)snprintf(sql, sizeof sql,
		       "INSERT INTO order_intents (id, book_id, customer_name, customer_email, "
		       "quantity, reservation_id, created_at) VALUES (nextval(pg_get_serial_sequence("
		       "'orders', 'id')), %lld, 'Ghost', 'g@x.org', 4, 'ghost-%d', now() - "
		       "interval '1 hour') RETURNING id",
		       book, (int)getpid());
	free(ts_sql(db, sql));
	(void)snprintf(body, sizeof body,
		       "{\"reservation_id\":\"ghost-%d\",\"book_id\":%lld,\"quantity\":4}",
		       (int)getpid(), book);
	(void)ts_req(&r, "POST", catalog.url, body, "/reservations");
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);
	ck_assert_int_eq(t_wait_zero(db, T_UNSETTLED_SQL, 10000), 0);
	ck_assert_int_eq(t_book_qty(db, book), 10);
	(void)snprintf(sql, sizeof sql, "SELECT count(*) FROM orders WHERE book_id = %lld", book);
	ck_assert_int_eq(t_sql_ll(db, sql), 0);
}
END_TEST


/* Distinct TCP connections whose remote port is `port` (any state: established, time-wait...),
 * by local port, from /proc/net/tcp. Fills seen[] (up to max) and returns how many. */
static int conns_to_port(int port, int *seen, int max)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	char line[512];
	unsigned lport, rport;
	int n = 0, i, dup;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, " %*d: %*x:%x %*x:%x", &lport, &rport) != 2)
			continue;
		if ((int)rport != port)
			continue;
		for (dup = 0, i = 0; i < n; i++)
			dup |= seen[i] == (int)lport;
		if (!dup && n < max)
			seen[n++] = (int)lport;
	}
	fclose(f);
	return n;
}

START_TEST(test_catalog_connections_are_kept_alive_across_orders)
{
	enum { MAXC = 4096, ORDERS = 40 };
	long long book = t_create_book(catalog.url, "1.00", ORDERS);
	static int before[MAXC], after[MAXC];
	int nb, na, i, k, fresh = 0, found;

	/* Warm up: each order-service worker thread may open its one connection. */
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(t_order(order.url, book, 1, NULL, NULL), 201);
	nb = conns_to_port(catalog.port, before, MAXC);
	for (i = 8; i < ORDERS; i++)
		ck_assert_int_eq(t_order(order.url, book, 1, NULL, NULL), 201);
	na = conns_to_port(catalog.port, after, MAXC);
	ck_assert_int_ge(na, 1); /* the connections are seen at all (not a vacuous pass) */
	for (i = 0; i < na; i++) {
		for (found = 0, k = 0; k < nb; k++)
			found |= after[i] == before[k];
		fresh += !found;
	}
	/* 32 orders (64+ catalog calls) may open at most one connection per worker (4). */
	ck_assert_msg(fresh <= 4, "%d new connections to the catalog for 32 orders", fresh);
	ck_assert_int_eq(t_book_qty(db, book), 0);
}
END_TEST

START_TEST(test_idempotency_keys_are_kept_24h_and_stale_ones_expire)
{
	char sql[600];

	(void)snprintf(sql, sizeof sql,
		       "INSERT INTO idempotency_keys (key, request_hash, state, created_at) VALUES "
		       "('exp-%d-done23h', md5('x'), 'done', now() - interval '23 hours 50 minutes'),"
		       "('exp-%d-done26h', md5('x'), 'done', now() - interval '26 hours'),"
		       "('exp-%d-prog2h', md5('x'), 'in_progress', now() - interval '2 hours'),"
		       "('exp-%d-prog1s', md5('x'), 'in_progress', now() - interval '1 second') "
		       "RETURNING 1",
		       (int)getpid(), (int)getpid(), (int)getpid(), (int)getpid());
	free(ts_sql(db, sql));
	(void)snprintf(sql, sizeof sql,
		       "SELECT count(*) FROM idempotency_keys WHERE key IN ('exp-%d-done26h', "
		       "'exp-%d-prog2h')", (int)getpid(), (int)getpid());
	ck_assert_int_eq(t_wait_zero(db, sql, 5000), 0);
	(void)snprintf(sql, sizeof sql,
		       "SELECT count(*) FROM idempotency_keys WHERE key IN ('exp-%d-done23h', "
		       "'exp-%d-prog1s')", (int)getpid(), (int)getpid());
	ck_assert_int_eq(t_sql_ll(db, sql), 2);
}
END_TEST

/* Fills a concrete path for an OpenAPI path template. */
static void concrete_path(const char *tmpl, long long id, char *out, size_t len)
{
	const char *p = strstr(tmpl, "{order_id}");

	if (p == NULL)
		(void)snprintf(out, len, "%s", tmpl);
	else
		(void)snprintf(out, len, "%.*s%lld%s", (int)(p - tmpl), tmpl, id, p + 10);
}

START_TEST(test_openapi_documents_every_route_and_each_answer_is_documented)
{
	static const char *const methods[] = { "get", "post", "patch", "put", "delete" };
	long long book = t_create_book(catalog.url, "2.50", 10), id;
	struct ts_resp doc = { 0 }, idoc = { 0 }, r = { 0 };
	const json_t *paths, *item, *op;
	const char *tmpl;
	char path[256], url[320], upper[8], code[8], body[256];
	int checked = 0;
	size_t m, k;

	ck_assert_int_eq(t_order(order.url, book, 1, NULL, &id), 201);
	/* The public document (what the edge routes) and the internal one (ops, audit; served on
	 * the admin listener only): together they document every route. */
	(void)ts_req(&doc, "GET", order.url, NULL, "/orders/openapi.json");
	ck_assert_int_eq(doc.status, 200);
	ck_assert_int_eq(strncmp(ts_str(doc.json, "openapi"), "3.", 2), 0);
	ck_assert_ptr_null(json_object_get(json_object_get(doc.json, "paths"), "/health"));
	ck_assert_ptr_null(json_object_get(json_object_get(doc.json, "paths"), "/audit"));
	(void)ts_req(&r, "GET", order.url, NULL, "/openapi-internal.json");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	ck_assert(order.admin_url[0] != '\0');
	(void)ts_req(&idoc, "GET", order.admin_url, NULL, "/openapi-internal.json");
	ck_assert_int_eq(idoc.status, 200);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(idoc.json, "paths"), "/metrics"));
	for (int d = 0; d < 2; d++)
	json_object_foreach(json_object_get(d == 0 ? doc.json : idoc.json, "paths"), tmpl, item) {
		for (m = 0; m < sizeof methods / sizeof methods[0]; m++) {
			op = json_object_get(item, methods[m]);
			if (op == NULL)
				continue;
			for (k = 0; methods[m][k] != '\0'; k++)
				upper[k] = (char)(methods[m][k] - 'a' + 'A');
			upper[k] = '\0';
			concrete_path(tmpl, id, path, sizeof path);
			(void)snprintf(url, sizeof url, "%s%s", order.url, path);
			if (strcmp(methods[m], "post") == 0)
				(void)snprintf(body, sizeof body,
					       "{\"book_id\":%lld,\"customer_name\":\"O\","
					       "\"customer_email\":\"o@x.org\",\"quantity\":1}", book);
			else
				(void)snprintf(body, sizeof body, "{\"status\":\"processing\"}");
			(void)ts_http(&r, upper, url,
				      strcmp(methods[m], "get") == 0 ? NULL : body, NULL);
			(void)snprintf(code, sizeof code, "%ld", r.status);
			ck_assert_msg(r.status >= 200 && r.status < 300, "%s %s -> %ld %s", upper,
				      path, r.status, r.body);
			ck_assert_msg(json_object_get(json_object_get(op, "responses"), code) != NULL,
				      "%s %s answered %s, not documented", upper, path, code);
			ts_resp_free(&r);
			checked++;
		}
	}
	/* Every route of routes.c is documented: POST+GET /orders, GET /orders/openapi.json,
	 * GET /orders/{id}, PATCH status, GET book (public); GET /audit, and /, /health, /ready,
	 * /metrics, /openapi.json (internal). */
	ck_assert_int_eq(checked, 12);
	paths = json_object_get(doc.json, "paths");
	/* Someone else's order answers 404, never 403: the reads by id document no 403. */
	ck_assert_ptr_null(json_object_get(json_object_get(json_object_get(
		json_object_get(paths, "/orders/{order_id}"), "get"), "responses"), "403"));
	ck_assert_ptr_null(json_object_get(json_object_get(json_object_get(
		json_object_get(paths, "/orders/{order_id}/book"), "get"), "responses"), "403"));
	/* Error answers the handlers give are documented too. */
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/999999999");
	ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(json_object_get(
		json_object_get(paths, "/orders/{order_id}"), "get"), "responses"), "404"), "content"));
	ts_resp_free(&r);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(
		json_object_get(paths, "/orders"), "post"), "responses"), "409"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(
		json_object_get(paths, "/orders"), "post"), "responses"), "503"));
	ts_resp_free(&doc);
	ts_resp_free(&idoc);
}
END_TEST

/* Behind a front door the catalog serves its books under BASE_PATH; the order service reads books
 * under CATALOG_BASE_PATH and reserves on the unprefixed internal API. */
START_TEST(test_orders_against_a_catalog_with_a_base_path)
{
	struct ts_proc cat = { 0 }, ord = { 0 };
	struct ts_resp r = { 0 };
	char cdb[512], odb[512], caturl[160], body[256], *u;
	const char *cenv[] = { cdb, "BASE_PATH=/catalog", "LOG_LEVEL=warn", NULL };
	const char *oenv[] = { odb, caturl, "CATALOG_BASE_PATH=/catalog", "LOG_LEVEL=warn", NULL };
	long long book, id;

	u = ts_db_url_as(db, TS_ROLE_CATALOG);
	(void)snprintf(cdb, sizeof cdb, "DATABASE_URL=%s", u);
	free(u);
	u = ts_db_url_as(db, TS_ROLE_ORDERS);
	(void)snprintf(odb, sizeof odb, "DATABASE_URL=%s", u);
	free(u);
	ck_assert_int_eq(ts_spawn(&cat, t_env("CATALOG_BIN"), cenv), 0);
	(void)snprintf(caturl, sizeof caturl, "CATALOG_SERVICE_URL=%s", cat.url);
	ck_assert_int_eq(ts_spawn(&ord, t_env("ORDER_BIN"), oenv), 0);
	(void)ts_req(&r, "POST", cat.url,
		     "{\"title\":\"Prefixed\",\"author\":\"Tester\",\"price\":\"3.00\",\"quantity\":4}",
		     "/catalog/books");
	ck_assert_int_eq(r.status, 201);
	book = ts_int(r.json, "id");
	ts_resp_free(&r);
	(void)snprintf(body, sizeof body, valid_body_fmt, book, 1);
	(void)ts_req(&r, "POST", ord.url, body, "/orders");
	ck_assert_msg(r.status == 201, "POST /orders: %ld %s", r.status, r.body);
	id = ts_int(r.json, "id");
	ck_assert_str_eq(ts_str(r.json, "book_title"), "Prefixed");
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", ord.url, NULL, "/orders/%lld/book", id);
	ck_assert_msg(r.status == 200, "GET /orders/{id}/book: %ld %s", r.status, r.body);
	ck_assert_int_eq(ts_int(r.json, "quantity"), 3);
	ts_resp_free(&r);
	ck_assert_int_eq(t_book_qty(db, book), 3);
	ts_stop(&ord, SIGTERM, 5000);
	ts_stop(&cat, SIGTERM, 5000);
}
END_TEST

/* A whole-second time comes back with six zeros, in one order and in the list. */
START_TEST(test_order_timestamps_always_have_six_fractional_digits)
{
	long long book = t_create_book(catalog.url, "2.00", 5), id;
	struct ts_resp r = { 0 };
	char sql[200];

	ck_assert_int_eq(t_order(order.url, book, 1, "six@example.com", &id), 201);
	snprintf(sql, sizeof sql,
		 "UPDATE orders SET created_at = '2026-01-02 03:04:05+00' WHERE id = %lld", id);
	free(ts_sql(db, sql));
	(void)ts_req(&r, "GET", order.url, NULL, "/orders/%lld", id);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "created_at"), "2026-01-02T03:04:05.000000Z");
	ck_assert_uint_eq(strlen(ts_str(r.json, "updated_at")), 27);
	ts_resp_free(&r);
	(void)ts_req(&r, "GET", order.url, NULL, "/orders?customer_email=six@example.com");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(json_array_get(json_object_get(r.json, "orders"), 0), "created_at"),
			 "2026-01-02T03:04:05.000000Z");
	ts_resp_free(&r);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("order_api");
	TCase *tc = tcase_create("api");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_post_order_reserves_stock_and_returns_201_with_location);
	tcase_add_test(tc, test_post_order_url_with_trailing_slash_and_location_prefix);
	tcase_add_test(tc, test_post_order_validation_errors);
	tcase_add_test(tc, test_post_order_for_unknown_book_is_422_on_book_id);
	tcase_add_test(tc, test_post_order_with_insufficient_stock_is_409_with_catalog_detail);
	tcase_add_test(tc, test_get_order_200_404_422);
	tcase_add_test(tc, test_list_orders_newest_first_with_filters);
	tcase_add_test(tc, test_status_machine_every_move);
	tcase_add_test(tc, test_cancel_restocks_exactly_once);
	tcase_add_test(tc, test_idempotency_key_replays_same_order);
	tcase_add_test(tc, test_idempotency_failed_attempt_is_forgotten);
	tcase_add_test(tc, test_idempotency_concurrent_same_key_creates_one_order);
	tcase_add_test(tc, test_get_order_book_reports_availability);
	tcase_add_test(tc, test_orders_against_a_catalog_with_a_base_path);
	tcase_add_test(tc, test_operational_endpoints);
	tcase_add_test(tc, test_recovery_undoes_an_abandoned_intent);
	tcase_add_test(tc, test_catalog_connections_are_kept_alive_across_orders);
	tcase_add_test(tc, test_idempotency_keys_are_kept_24h_and_stale_ones_expire);
	tcase_add_test(tc, test_openapi_documents_every_route_and_each_answer_is_documented);
	tcase_add_test(tc, test_order_timestamps_always_have_six_fractional_digits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
