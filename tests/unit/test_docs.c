/* test_docs.c - the docs page's pure parts: the API root seen from the page's route, and the
 * page itself (relative URLs only) without a network. */
#include "common/docs.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(test_api_root_is_the_page_route_minus_its_segments)
{
	ck_assert_str_eq(docs_api_root("/docs"), "./");
	ck_assert_str_eq(docs_api_root("/orders/docs"), "../");
	ck_assert_str_eq(docs_api_root("/a/b/docs"), "../../");
	ck_assert_str_eq(docs_api_root(NULL), "./");
	ck_assert_str_eq(docs_api_root("/"), "./");
	ck_assert_str_eq(docs_api_root("/1/2/3/4/5/6/7/8/9/10/docs"), "../../../../../../../../");
}
END_TEST

START_TEST(test_page_names_every_asset_relative_and_versioned)
{
	struct http_req req;
	struct http_resp resp;

	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.route = "/orders/docs";
	ck_assert_int_eq(docs_page(&req, &resp), 200);
	ck_assert_ptr_nonnull(resp.text);
	ck_assert_str_eq(resp.content_type, "text/html; charset=utf-8");
	ck_assert_ptr_nonnull(strstr(resp.text, "data-api-root=\"../\""));
	ck_assert_ptr_nonnull(strstr(resp.text, "src=\"docs/swagger-ui-bundle.js?v="));
	ck_assert_ptr_nonnull(strstr(resp.text, "src=\"docs/docs-init.js?v="));
	ck_assert_ptr_nonnull(strstr(resp.text, "href=\"docs/swagger-ui.css?v="));
	ck_assert_ptr_null(strstr(resp.text, "//"));
	free(resp.text);
}
END_TEST

START_TEST(test_asset_by_name_with_length_and_404_for_others)
{
	struct http_req req;
	struct http_resp resp;

	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	req.params[0] = "favicon-32x32.png";
	req.nparams = 1;
	ck_assert_int_eq(docs_asset(&req, &resp), 200);
	ck_assert_str_eq(resp.content_type, "image/png");
	/* Binary: the PNG signature holds a NUL-free prefix but the file has NULs further on. */
	ck_assert_uint_eq(resp.data_len, 628);
	ck_assert_int_eq(memcmp(resp.data, "\x89PNG\r\n\x1a\n", 8), 0);
	ck_assert_ptr_nonnull(memchr(resp.data, '\0', resp.data_len));

	memset(&resp, 0, sizeof resp);
	req.params[0] = "../openapi.json";
	ck_assert_int_eq(docs_asset(&req, &resp), 404);
	json_decref(resp.body);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("docs");
	TCase *tc = tcase_create("docs");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_api_root_is_the_page_route_minus_its_segments);
	tcase_add_test(tc, test_page_names_every_asset_relative_and_versioned);
	tcase_add_test(tc, test_asset_by_name_with_length_and_404_for_others);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
