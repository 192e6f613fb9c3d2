/* test_catalog_errors.c - bad input never yields a 500: malformed, huge and wrongly typed JSON,
 * invalid UTF-8, SQL metacharacters, 415, 413, 404, 405, bad query values, request ids. */
#include "test_catalog_common.h"

START_TEST(test_malformed_json_is_422_json_invalid)
{
	static const char *const bodies[] = {
		"{", "{\"title\":}", "not json", "{\"a\":1,}", "{\"title\":\"x\"} trailing",
		"{\"title\":\"a\",\"title\":\"b\"}", "",
	};
	struct ts_resp r;

	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		c_req(&r, "POST", bodies[i], "/books");
		c_assert_422(&r, "json_invalid", "body", NULL);
		ts_resp_free(&r);
	}
	c_req(&r, "PUT", "{\"price\":", "/books/1");
	c_assert_422(&r, "json_invalid", "body", NULL);
	ts_resp_free(&r);
	c_req(&r, "POST", "{", "/reservations");
	c_assert_422(&r, "json_invalid", "body", NULL);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_non_object_json_is_422)
{
	static const char *const bodies[] = { "[]", "[1,2]", "\"string\"", "42", "null", "true" };
	struct ts_resp r;

	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		c_req(&r, "POST", bodies[i], "/books");
		ck_assert_msg(r.status == 422, "%s -> %ld", bodies[i], r.status);
		c_assert_422(&r, "model_attributes_type", "body", NULL);
		ts_resp_free(&r);
	}
}
END_TEST

START_TEST(test_wrongly_typed_fields_are_422_naming_each)
{
	struct ts_resp r;

	c_req(&r, "POST", "{\"title\":[\"x\"],\"author\":{},\"price\":\"abc\",\"quantity\":\"5\","
			  "\"isbn\":true,\"description\":5}", "/books");
	c_assert_422(&r, "string_type", "body", "title");
	c_assert_422(&r, "string_type", "body", "author");
	c_assert_422(&r, "decimal_parsing", "body", "price");
	c_assert_422(&r, "int_type", "body", "quantity");
	c_assert_422(&r, "string_type", "body", "isbn");
	c_assert_422(&r, "string_type", "body", "description");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":1,\"quantity\":5.0}", "/books");
	c_assert_422(&r, "int_type", "body", "quantity");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":1,\"quantity\":true}", "/books");
	c_assert_422(&r, "int_type", "body", "quantity");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":1e400}", "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":\"1e3\"}", "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":12.345}", "/books");
	c_assert_422(&r, "decimal_max_places", "body", "price");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":100000000}", "/books");
	c_assert_422(&r, "less_than", "body", "price");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":-5}", "/books");
	c_assert_422(&r, "greater_than", "body", "price");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":1,"
			  "\"quantity\":99999999999999999999999}", "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"t\",\"author\":\"a\",\"price\":1,\"quantity\":2147483648}",
	      "/books");
	c_assert_422(&r, "less_than_equal", "body", "quantity");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_huge_and_deep_bodies)
{
	struct ts_resp r;
	size_t n = 2u * 1024 * 1024;
	char *big = malloc(n + 64);
	char *deep = malloc(200001);

	/* 2 MiB body: over the 1 MiB default -> 413. */
	memcpy(big, "{\"title\":\"", 10);
	memset(big + 10, 'x', n);
	memcpy(big + 10 + n, "\"}", 3);
	c_req(&r, "POST", big, "/books");
	ck_assert_int_eq(r.status, 413);
	ts_resp_free(&r);
	/* The service still answers afterwards. */
	c_req(&r, "GET", NULL, "/books/1");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	/* A 300 KB title is within the body limit but too long: 422, not 500. */
	big[10 + 300000] = '\0';
	memcpy(big + 10 + 299998, "\"}", 2);
	big[10 + 300000] = '\0';
	c_req(&r, "POST", big, "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	/* 100000 nested arrays: rejected by the parser, not a crash. */
	memset(deep, '[', 100000);
	memset(deep + 100000, ']', 100000);
	deep[200000] = '\0';
	c_req(&r, "POST", deep, "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	free(big);
	free(deep);
}
END_TEST

START_TEST(test_max_body_bytes_setting_is_honoured)
{
	struct ts_proc small = { 0 };
	const char *env[] = { "MAX_BODY_BYTES=100", NULL };
	struct ts_resp r;
	char url[128];

	c_start(&small, c_db, env);
	snprintf(url, sizeof url, "%s/books", small.url);
	ck_assert_int_eq(ts_http(&r, "POST", url,
				 "{\"title\":\"A title that makes this body longer than one hundred "
				 "bytes\",\"author\":\"Somebody\",\"price\":\"1.00\"}",
				 NULL),
			 0);
	ck_assert_int_eq(r.status, 413);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_http(&r, "POST", url, "{\"title\":\"t\",\"author\":\"a\",\"price\":1}",
				 NULL),
			 0);
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_stop(&small, SIGTERM, 5000), 0);
}
END_TEST

START_TEST(test_non_json_content_type_is_415)
{
	struct ts_resp r;
	const char *text[] = { "Content-Type: text/plain", NULL };
	const char *form[] = { "Content-Type: application/x-www-form-urlencoded", NULL };
	const char *json_charset[] = { "Content-Type: application/json; charset=utf-8", NULL };

	c_req_h(&r, "POST", "/books", "{\"title\":\"t\",\"author\":\"a\",\"price\":1}", text);
	ck_assert_int_eq(r.status, 415);
	ck_assert_ptr_nonnull(ts_str(r.json, "detail"));
	ts_resp_free(&r);
	c_req_h(&r, "PUT", "/books/1", "title=x", form);
	ck_assert_int_eq(r.status, 415);
	ts_resp_free(&r);
	c_req_h(&r, "POST", "/books", "{\"title\":\"t\",\"author\":\"a\",\"price\":1}",
		json_charset);
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_invalid_utf8_body_and_query_are_422)
{
	struct ts_resp r;

	/* Raw invalid bytes inside a JSON string. */
	c_req(&r, "POST", "{\"title\":\"bad \xff\xfe bytes\",\"author\":\"a\",\"price\":1}", "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	/* Overlong encoding and a lone continuation byte. */
	c_req(&r, "POST", "{\"title\":\"\xc0\xaf\",\"author\":\"\x80\",\"price\":1}", "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	/* An escaped NUL cannot be stored. */
	c_req(&r, "POST", "{\"title\":\"a\\u0000b\",\"author\":\"a\",\"price\":1}", "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	/* A lone surrogate escape. */
	c_req(&r, "POST", "{\"title\":\"\\ud800\",\"author\":\"a\",\"price\":1}", "/books");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	/* Percent-encoded invalid UTF-8 in the query. */
	c_req(&r, "GET", NULL, "/books?search=%%ff%%fe");
	c_assert_422(&r, "string_unicode", "query", "search");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?author=%%c0%%af");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	/* A NUL byte in a query value ("%00") would end its C string early ("?search=%00" read as
	 * an empty search, every book listed): 422 naming the parameter, for any parameter. */
	c_req(&r, "GET", NULL, "/books?search=%%00");
	c_assert_422(&r, "string_type", "query", "search");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?author=Or%%00well");
	c_assert_422(&r, "string_type", "query", "author");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?limit=5%%00x");
	c_assert_422(&r, "string_type", "query", "limit");
	ts_resp_free(&r);
	/* Characters outside ASCII are fine and counted as characters. */
	c_req(&r, "POST", "{\"title\":\"Ünïcødé 📚\",\"author\":\"Łukasz\",\"price\":1}", "/books");
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(ts_str(r.json, "title"), "Ünïcødé 📚");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_sql_metacharacters_are_plain_data)
{
	static const char *const evil[] = {
		"Robert'); DROP TABLE books;--", "\\' OR 1=1 --", "\"; SELECT pg_sleep(5); --",
		"$1 $$ $body$", "%' OR title LIKE '%",
	};
	struct ts_resp r;
	char body[512];
	char *enc;
	json_t *s;

	for (size_t i = 0; i < sizeof evil / sizeof evil[0]; i++) {
		s = json_string(evil[i]);
		enc = json_dumps(s, JSON_ENCODE_ANY);
		snprintf(body, sizeof body, "{\"title\":%s,\"author\":%s,\"price\":\"1.00\"}", enc,
			 enc);
		c_req(&r, "POST", body, "/books");
		ck_assert_int_eq(r.status, 201);
		ck_assert_str_eq(ts_str(r.json, "title"), evil[i]);
		ts_resp_free(&r);
		free(enc);
		json_decref(s);
	}
	ck_assert_int_eq(c_sql_ll("SELECT count(*) FROM books"), 15);
	/* Searching for them finds them literally (URL-encoded by hand). */
	c_req(&r, "GET", NULL, "/books?search=DROP%%20TABLE");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=%%27%%20OR%%201%%3D1&sort=-price");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?sort=price%%3B%%20DROP%%20TABLE%%20books");
	c_assert_422(&r, "literal_error", "query", "sort");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/1%%3BDROP");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
	ck_assert_int_eq(c_sql_ll("SELECT count(*) FROM books"), 15);
}
END_TEST

START_TEST(test_bad_query_values_are_422)
{
	static const char *const bad[] = {
		"skip=-1", "skip=abc", "skip=1.5", "skip=", "limit=0", "limit=1001", "limit=ten",
		"min_price=abc", "max_price=1.234", "min_price=-1", "in_stock=maybe", "sort=price,id",
		"sort=--id", "sort=", "isbn=not-an-isbn", "limit=99999999999999999999999",
	};
	struct ts_resp r;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c_req(&r, "GET", NULL, "/books?%s", bad[i]);
		ck_assert_msg(r.status == 422, "%s -> %ld %s", bad[i], r.status, r.body);
		ck_assert(json_is_array(json_object_get(r.json, "detail")));
		ts_resp_free(&r);
	}
	c_req(&r, "GET", NULL, "/books?limit=0&skip=-1&sort=x");
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "detail")), 3);
	ts_resp_free(&r);
	/* Long search strings: 255 characters pass, 256 are rejected. */
	{
		char path[400] = "/books?search=";
		size_t n = strlen(path);

		memset(path + n, 'q', 255);
		path[n + 255] = '\0';
		c_req(&r, "GET", NULL, "%s", path);
		ck_assert_int_eq(r.status, 200);
		ts_resp_free(&r);
		path[n + 255] = 'q';
		path[n + 256] = '\0';
		c_req(&r, "GET", NULL, "%s", path);
		c_assert_422(&r, "string_too_long", "query", "search");
		ts_resp_free(&r);
	}
}
END_TEST

START_TEST(test_unknown_path_404_and_wrong_method_405)
{
	struct ts_resp r;
	char *allow;

	c_req(&r, "GET", NULL, "/nope");
	c_assert_detail(&r, 404, "Not Found");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/1/extra");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "POST", "{}", "/books/1");
	c_assert_detail(&r, 405, "Method Not Allowed");
	allow = ts_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_ptr_nonnull(strstr(allow, "GET"));
	ck_assert_ptr_nonnull(strstr(allow, "PUT"));
	ck_assert_ptr_nonnull(strstr(allow, "PATCH"));
	ck_assert_ptr_nonnull(strstr(allow, "DELETE"));
	free(allow);
	ts_resp_free(&r);
	c_req(&r, "DELETE", NULL, "/books");
	ck_assert_int_eq(r.status, 405);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/reservations");
	ck_assert_int_eq(r.status, 405);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/reservations/x/release");
	ck_assert_int_eq(r.status, 405);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_request_id_echoed_or_generated)
{
	struct ts_resp r;
	const char *mine[] = { "X-Request-ID: catalog-test-42", NULL };
	const char *insane[] = { "X-Request-ID: has spaces and <html>", NULL };
	char *id;

	c_req_h(&r, "GET", "/books/1", NULL, mine);
	id = ts_header(&r, "X-Request-ID");
	ck_assert_str_eq(id, "catalog-test-42");
	free(id);
	ts_resp_free(&r);
	/* Errors carry it too. */
	c_req_h(&r, "GET", "/books/abc", NULL, mine);
	id = ts_header(&r, "X-Request-ID");
	ck_assert_str_eq(id, "catalog-test-42");
	free(id);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/1");
	id = ts_header(&r, "X-Request-ID");
	ck_assert_ptr_nonnull(id);
	ck_assert_int_ge(strlen(id), 8);
	free(id);
	ts_resp_free(&r);
	c_req_h(&r, "GET", "/books/1", NULL, insane);
	id = ts_header(&r, "X-Request-ID");
	ck_assert_ptr_nonnull(id);
	ck_assert_ptr_null(strchr(id, ' '));
	free(id);
	ts_resp_free(&r);
	/* The access log names the request id, method, path and status. */
	c_sleep_ms(200);
	ck_assert_int_eq(ts_system("grep -q '\"request_id\":\"catalog-test-42\".*\"status\":422' %s",
				   c_svc.log_path),
			 0);
}
END_TEST

/* A grab bag of hostile requests: whatever they are, never a 5xx. */
START_TEST(test_hostile_requests_never_500)
{
	static const char *const bodies[] = {
		"{\"title\":\"t\",\"author\":\"a\",\"price\":\"NaN\"}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":\"Infinity\"}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":\"0x10\"}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":\" 1\"}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":\"1.\"}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":\".5\"}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":-0.0}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":1,\"quantity\":-9223372036854775808}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":1,\"isbn\":\"XXXXXXXXXX\"}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":1,\"isbn\":\"----------------\"}",
		"{\"\":1}",
		"{\"title\":\"t\",\"author\":\"a\",\"price\":99999999.99,\"quantity\":2147483647}",
	};
	static const char *const paths[] = {
		"/books?skip=9223372036854775807", "/books?skip=9223372036854775808",
		"/books?min_price=99999999.99&max_price=0", "/books?search=%00",
		"/books/9223372036854775807", "/books/-9223372036854775808", "/books/%00",
		"/reservations/%00", "/reservations/..%2F..", "/books?search=%",
		"/books?search=%e2%82", "/books?sort=%ff",
	};
	struct ts_resp r;

	for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
		c_req(&r, "POST", bodies[i], "/books");
		ck_assert_msg(r.status > 0 && r.status < 500, "%s -> %ld %s", bodies[i], r.status,
			      r.body);
		ts_resp_free(&r);
		c_req(&r, "PATCH", bodies[i], "/books/1");
		ck_assert_msg(r.status > 0 && r.status < 500, "PATCH %s -> %ld", bodies[i], r.status);
		ts_resp_free(&r);
	}
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		c_req(&r, "GET", NULL, "%s", paths[i]);
		ck_assert_msg(r.status > 0 && r.status < 500, "%s -> %ld %s", paths[i], r.status,
			      r.body);
		ts_resp_free(&r);
	}
	/* The service is still healthy. */
	c_req(&r, "GET", NULL, "/ready");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog_errors");
	TCase *tc = tcase_create("errors");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, c_setup_seeded, c_teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_malformed_json_is_422_json_invalid);
	tcase_add_test(tc, test_non_object_json_is_422);
	tcase_add_test(tc, test_wrongly_typed_fields_are_422_naming_each);
	tcase_add_test(tc, test_huge_and_deep_bodies);
	tcase_add_test(tc, test_max_body_bytes_setting_is_honoured);
	tcase_add_test(tc, test_non_json_content_type_is_415);
	tcase_add_test(tc, test_invalid_utf8_body_and_query_are_422);
	tcase_add_test(tc, test_sql_metacharacters_are_plain_data);
	tcase_add_test(tc, test_bad_query_values_are_422);
	tcase_add_test(tc, test_unknown_path_404_and_wrong_method_405);
	tcase_add_test(tc, test_request_id_echoed_or_generated);
	tcase_add_test(tc, test_hostile_requests_never_500);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
