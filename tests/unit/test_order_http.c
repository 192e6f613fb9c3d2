/* test_order_http.c - order handlers called directly, without a socket: the request struct is
 * filled by hand (path parameters, query, headers, body), as the server does before dispatch.
 * The database behind the pool is a closed port, so a handler that gets past its input checks
 * meets the common DB_UNAVAILABLE answer. */
#include "order_http.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/app.h"
#include "common/db.h"
#include "ts_handler.h"
#include "order_saga.h"

static struct app test_app;
static struct order_saga test_saga;

static void setup(void)
{
	ts_handler_app_init(&test_app, "test_order_http");
	memset(&test_saga, 0, sizeof(test_saga));
	test_saga.pool = test_app.pool;
	test_saga.catalog_timeout_ms = 100;
	test_app.service = &test_saga;
}

static void teardown(void)
{
	ts_handler_app_free(&test_app);
}

static void req_init(struct http_req *req, const char *method, const char *route)
{
	ts_handler_req(req, &test_app, method, route);
}

#define detail_loc ts_handler_detail_loc
#define resp_clear ts_handler_resp_clear

START_TEST(test_get_order_with_a_non_integer_id_is_422_naming_the_path_id)
{
	struct http_req req;
	struct http_resp resp = { 0 };

	req_init(&req, "GET", "/orders/{order_id}");
	req.params[0] = "abc";
	req.nparams = 1;
	ck_assert_int_eq(order_http_get(&req, &resp), 422);
	ck_assert_str_eq(detail_loc(&resp, 0), "path");
	ck_assert_str_eq(detail_loc(&resp, 1), "order_id");
	resp_clear(&resp);
}
END_TEST

START_TEST(test_get_order_zero_is_422)
{
	struct http_req req;
	struct http_resp resp = { 0 };

	/* DECISIONS.md "Integers": outside order_id's range [1, 2^63-1] is a 422 naming it. */
	req_init(&req, "GET", "/orders/{order_id}");
	req.params[0] = "0";
	req.nparams = 1;
	ck_assert_int_eq(order_http_get(&req, &resp), 422);
	ck_assert_str_eq(detail_loc(&resp, 0), "path");
	ck_assert_str_eq(detail_loc(&resp, 1), "order_id");
	resp_clear(&resp);
}
END_TEST

START_TEST(test_list_orders_reads_the_query_from_the_request_struct)
{
	static const struct http_kv query[] = { { "limit", "0" } };
	struct http_req req;
	struct http_resp resp = { 0 };

	req_init(&req, "GET", "/orders");
	req.query = query;
	req.nquery = 1;
	ck_assert_int_eq(order_http_list(&req, &resp), 422);
	ck_assert_str_eq(detail_loc(&resp, 0), "query");
	ck_assert_str_eq(detail_loc(&resp, 1), "limit");
	resp_clear(&resp);
}
END_TEST

START_TEST(test_create_order_reads_the_idempotency_key_from_the_request_struct)
{
	static const struct http_kv headers[] = { { "idempotency-key", "bad key\x01" } };
	static const char body[] =
		"{\"book_id\":1,\"customer_name\":\"Ada\",\"customer_email\":\"ada@example.com\","
		"\"quantity\":1}";
	struct http_req req;
	struct http_resp resp = { 0 };

	req_init(&req, "POST", "/orders");
	req.headers = headers;
	req.nheaders = 1;
	req.body = body;
	req.body_len = sizeof(body) - 1;
	ck_assert_int_eq(order_http_create(&req, &resp), 422);
	ck_assert_str_eq(detail_loc(&resp, 0), "header");
	ck_assert_str_eq(detail_loc(&resp, 1), "Idempotency-Key");
	resp_clear(&resp);
}
END_TEST

START_TEST(test_get_order_with_the_database_down_is_503_with_retry_after)
{
	struct http_req req;
	struct http_resp resp = { 0 };
	int found = 0;

	req_init(&req, "GET", "/orders/{order_id}");
	req.params[0] = "1";
	req.nparams = 1;
	ck_assert_int_eq(order_http_get(&req, &resp), 503);
	ck_assert_str_eq(json_string_value(json_object_get(resp.body, "detail")),
			 "Database unavailable");
	for (size_t i = 0; i < resp.nheaders; i++)
		if (strcmp(resp.headers[i].name, "Retry-After") == 0) {
			ck_assert_str_eq(resp.headers[i].value, APP_RETRY_AFTER_S);
			found = 1;
		}
	ck_assert_int_eq(found, 1);
	resp_clear(&resp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("order_http");
	TCase *tc = tcase_create("handlers");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_get_order_with_a_non_integer_id_is_422_naming_the_path_id);
	tcase_add_test(tc, test_get_order_zero_is_422);
	tcase_add_test(tc, test_list_orders_reads_the_query_from_the_request_struct);
	tcase_add_test(tc, test_create_order_reads_the_idempotency_key_from_the_request_struct);
	tcase_add_test(tc, test_get_order_with_the_database_down_is_503_with_retry_after);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
