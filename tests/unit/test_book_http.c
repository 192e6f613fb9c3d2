/* test_book_http.c - catalog handlers called directly, without a socket: the request struct is
 * filled by hand (path parameters, query, headers, body), as the server does before dispatch.
 * The database behind the pool is a closed port, so a handler that gets past its input checks
 * meets the common DB_UNAVAILABLE answer. */
#include "book_http.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/app.h"
#include "common/db.h"
#include "ts_handler.h"

static struct app test_app;

static void setup(void)
{
	ts_handler_app_init(&test_app, "test_book_http");
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

START_TEST(test_get_book_with_a_non_integer_id_is_422_naming_the_path_id)
{
	struct http_req req;
	struct http_resp resp = { 0 };

	req_init(&req, "GET", "/books/{id}");
	req.params[0] = "abc";
	req.nparams = 1;
	ck_assert_int_eq(book_http_get(&req, &resp), 422);
	ck_assert_str_eq(detail_loc(&resp, 0), "path");
	ck_assert_str_eq(detail_loc(&resp, 1), "id");
	resp_clear(&resp);
}
END_TEST

START_TEST(test_list_books_reads_the_query_from_the_request_struct)
{
	static const struct http_kv query[] = { { "skip", "0" }, { "LIMIT", "many" } };
	struct http_req req;
	struct http_resp resp = { 0 };

	req_init(&req, "GET", "/books");
	req.query = query;
	req.nquery = 2;
	ck_assert_int_eq(book_http_list(&req, &resp), 422);
	ck_assert_str_eq(detail_loc(&resp, 0), "query");
	ck_assert_str_eq(detail_loc(&resp, 1), "limit");
	resp_clear(&resp);
}
END_TEST

START_TEST(test_post_book_reads_content_type_from_the_request_struct)
{
	static const struct http_kv headers[] = { { "content-type", "text/plain" } };
	struct http_req req;
	struct http_resp resp = { 0 };

	req_init(&req, "POST", "/books");
	req.headers = headers;
	req.nheaders = 1;
	req.body = "{}";
	req.body_len = 2;
	ck_assert_int_eq(book_http_create(&req, &resp), 415);
	resp_clear(&resp);
}
END_TEST

START_TEST(test_get_book_with_the_database_down_is_503_with_retry_after)
{
	struct http_req req;
	struct http_resp resp = { 0 };
	int found = 0;

	req_init(&req, "GET", "/books/{id}");
	req.params[0] = "1";
	req.nparams = 1;
	ck_assert_int_eq(book_http_get(&req, &resp), 503);
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

START_TEST(test_http_query_and_header_are_case_insensitive_first_match)
{
	static const struct http_kv query[] = { { "a", "1" }, { "A", "2" }, { "b", "" } };
	static const struct http_kv headers[] = { { "X-Forwarded-Prefix", "/catalog" } };
	struct http_req req;

	req_init(&req, "GET", "/books");
	req.query = query;
	req.nquery = 3;
	req.headers = headers;
	req.nheaders = 1;
	ck_assert_str_eq(http_query(&req, "A"), "1");
	ck_assert_str_eq(http_query(&req, "b"), "");
	ck_assert_ptr_null(http_query(&req, "c"));
	ck_assert_str_eq(http_header(&req, "x-forwarded-prefix"), "/catalog");
	ck_assert_ptr_null(http_header(&req, "Content-Type"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("book_http");
	TCase *tc = tcase_create("handlers");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_get_book_with_a_non_integer_id_is_422_naming_the_path_id);
	tcase_add_test(tc, test_list_books_reads_the_query_from_the_request_struct);
	tcase_add_test(tc, test_post_book_reads_content_type_from_the_request_struct);
	tcase_add_test(tc, test_get_book_with_the_database_down_is_503_with_retry_after);
	tcase_add_test(tc, test_http_query_and_header_are_case_insensitive_first_match);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
