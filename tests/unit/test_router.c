/* test_router.c - http_route_match: the pure router. */
#include "common/http.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static int h_dummy(struct http_req *req, struct http_resp *resp)
{
	(void)req;
	(void)resp;
	return 200;
}

static const struct http_route routes[] = {
	{ "GET", "/", h_dummy, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC },
	{ "GET", "/health", h_dummy, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC },
	{ "GET", "/books", h_dummy, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "POST", "/books", h_dummy, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "GET", "/books/{id}", h_dummy, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "PUT", "/books/{id}", h_dummy, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "PATCH", "/books/{id}", h_dummy, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "DELETE", "/books/{id}", h_dummy, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC },
	{ "POST", "/reservations/{rid}/release", h_dummy, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC },
	{ "GET", "/a/{x}/b/{y}", h_dummy, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

struct match {
	enum http_match m;
	const struct http_route *route;
	const char *params[HTTP_MAX_PARAMS];
	size_t nparams;
	char allow[128];
	char path[256];
};

static enum http_match run(struct match *mt, const char *method, const char *path)
{
	memset(mt, 0, sizeof(*mt));
	snprintf(mt->path, sizeof(mt->path), "%s", path);
	mt->m = http_route_match(routes, NROUTES, method, mt->path, &mt->route, mt->params,
				 &mt->nparams, mt->allow, sizeof(mt->allow));
	return mt->m;
}

START_TEST(test_exact_match_finds_the_route)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "GET", "/books"), HTTP_MATCH_FOUND);
	ck_assert_ptr_eq(mt.route, &routes[2]);
	ck_assert_uint_eq(mt.nparams, 0);
	ck_assert_int_eq(run(&mt, "POST", "/books"), HTTP_MATCH_FOUND);
	ck_assert_ptr_eq(mt.route, &routes[3]);
	ck_assert_int_eq(run(&mt, "GET", "/health"), HTTP_MATCH_FOUND);
	ck_assert_str_eq(mt.route->pattern, "/health");
}
END_TEST

START_TEST(test_root_matches_only_slash)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "GET", "/"), HTTP_MATCH_FOUND);
	ck_assert_str_eq(mt.route->pattern, "/");
	ck_assert_int_eq(run(&mt, "GET", ""), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "//"), HTTP_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(test_params_are_captured_in_order)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "GET", "/books/42"), HTTP_MATCH_FOUND);
	ck_assert_str_eq(mt.route->pattern, "/books/{id}");
	ck_assert_uint_eq(mt.nparams, 1);
	ck_assert_str_eq(mt.params[0], "42");

	ck_assert_int_eq(run(&mt, "GET", "/a/one/b/two"), HTTP_MATCH_FOUND);
	ck_assert_uint_eq(mt.nparams, 2);
	ck_assert_str_eq(mt.params[0], "one");
	ck_assert_str_eq(mt.params[1], "two");

	ck_assert_int_eq(run(&mt, "POST", "/reservations/r-1/release"), HTTP_MATCH_FOUND);
	ck_assert_str_eq(mt.params[0], "r-1");
}
END_TEST

START_TEST(test_param_takes_any_non_empty_text)
{
	struct match mt;

	/* The router does not validate: "abc" reaches the handler, which answers 422. */
	ck_assert_int_eq(run(&mt, "GET", "/books/abc"), HTTP_MATCH_FOUND);
	ck_assert_str_eq(mt.params[0], "abc");
}
END_TEST

START_TEST(test_unknown_paths_are_not_found)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "GET", "/nope"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "/books/1/extra"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "/book"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "/bookss"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "books"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "/a/1/b"), HTTP_MATCH_NOT_FOUND);
	ck_assert_str_eq(mt.allow, "");
}
END_TEST

START_TEST(test_wrong_method_lists_allowed_methods)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "DELETE", "/books"), HTTP_MATCH_BAD_METHOD);
	ck_assert_str_eq(mt.allow, "GET, POST");

	ck_assert_int_eq(run(&mt, "POST", "/books/7"), HTTP_MATCH_BAD_METHOD);
	ck_assert_str_eq(mt.allow, "GET, PUT, PATCH, DELETE");

	ck_assert_int_eq(run(&mt, "GET", "/reservations/x/release"), HTTP_MATCH_BAD_METHOD);
	ck_assert_str_eq(mt.allow, "POST");

	ck_assert_int_eq(run(&mt, "OPTIONS", "/health"), HTTP_MATCH_BAD_METHOD);
	ck_assert_str_eq(mt.allow, "GET");
}
END_TEST

START_TEST(test_allow_list_is_truncated_safely)
{
	char path[32] = "/books/7";
	char allow[12];
	const struct http_route *route = NULL;
	const char *params[HTTP_MAX_PARAMS];
	size_t n = 0;

	ck_assert_int_eq(http_route_match(routes, NROUTES, "POST", path, &route, params, &n, allow,
					  sizeof(allow)),
			 HTTP_MATCH_BAD_METHOD);
	ck_assert_str_eq(allow, "GET, PUT");
}
END_TEST

START_TEST(test_trailing_slash_is_a_different_path)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "GET", "/books/"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "/health/"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "/books/42/"), HTTP_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(test_head_is_served_by_get_routes)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "HEAD", "/books/3"), HTTP_MATCH_FOUND);
	ck_assert_str_eq(mt.route->method, "GET");
	ck_assert_str_eq(mt.params[0], "3");
	/* No GET route: HEAD is a wrong method. */
	ck_assert_int_eq(run(&mt, "HEAD", "/reservations/x/release"), HTTP_MATCH_BAD_METHOD);
	ck_assert_str_eq(mt.allow, "POST");
}
END_TEST

START_TEST(test_empty_segment_never_matches_a_param)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "GET", "/books//"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "//books"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "GET", "/a//b/2"), HTTP_MATCH_NOT_FOUND);
	ck_assert_int_eq(run(&mt, "POST", "/reservations//release"), HTTP_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(test_methods_are_case_sensitive)
{
	struct match mt;

	ck_assert_int_eq(run(&mt, "get", "/books"), HTTP_MATCH_BAD_METHOD);
}
END_TEST

START_TEST(test_very_deep_path_is_not_found)
{
	struct match mt;
	char deep[256];
	size_t i;

	for (i = 0; i + 2 < sizeof(deep); i += 2)
		memcpy(deep + i, "/x", 2);
	deep[i] = '\0';
	ck_assert_int_eq(run(&mt, "GET", deep), HTTP_MATCH_NOT_FOUND);
}
END_TEST

START_TEST(test_filter_keeps_public_and_internal_routes_apart)
{
	const struct http_route *route = NULL;
	const char *params[HTTP_MAX_PARAMS];
	char allow[64];
	char path[64];
	size_t n = 0;

	strcpy(path, "/books/5");
	ck_assert_int_eq(http_route_match_filtered(routes, NROUTES, HTTP_ROUTES_PUBLIC, "GET", path,
						   &route, params, &n, allow, sizeof(allow)),
			 HTTP_MATCH_FOUND);
	strcpy(path, "/books/5");
	ck_assert_int_eq(http_route_match_filtered(routes, NROUTES, HTTP_ROUTES_INTERNAL, "GET",
						   path, &route, params, &n, allow, sizeof(allow)),
			 HTTP_MATCH_BAD_METHOD);
	ck_assert_str_eq(allow, "DELETE"); /* only the internal route of that path counts */
	strcpy(path, "/health");
	ck_assert_int_eq(http_route_match_filtered(routes, NROUTES, HTTP_ROUTES_PUBLIC, "GET", path,
						   &route, params, &n, allow, sizeof(allow)),
			 HTTP_MATCH_NOT_FOUND);
	strcpy(path, "/health");
	ck_assert_int_eq(http_route_match_filtered(routes, NROUTES, HTTP_ROUTES_ALL, "GET", path,
						   &route, params, &n, allow, sizeof(allow)),
			 HTTP_MATCH_FOUND);
}
END_TEST

START_TEST(test_base_path_validation)
{
	ck_assert_int_eq(http_base_path_valid(""), 0);
	ck_assert_int_eq(http_base_path_valid(NULL), 0);
	ck_assert_int_eq(http_base_path_valid("/catalog"), 0);
	ck_assert_int_eq(http_base_path_valid("/shop/v1.2/catalog-x_~"), 0);
	ck_assert_int_eq(http_base_path_valid("catalog"), -1);
	ck_assert_int_eq(http_base_path_valid("/"), -1);
	ck_assert_int_eq(http_base_path_valid("/catalog/"), -1);
	ck_assert_int_eq(http_base_path_valid("//catalog"), -1);
	ck_assert_int_eq(http_base_path_valid("/a//b"), -1);
	ck_assert_int_eq(http_base_path_valid("/a/../b"), -1);
	ck_assert_int_eq(http_base_path_valid("/."), -1);
	ck_assert_int_eq(http_base_path_valid("/a b"), -1);
	ck_assert_int_eq(http_base_path_valid("/a%2f"), -1);
	ck_assert_int_eq(http_base_path_valid("/a?x"), -1);
}
END_TEST

static Suite *router_suite(void)
{
	Suite *s = suite_create("router");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_exact_match_finds_the_route);
	tcase_add_test(tc, test_root_matches_only_slash);
	tcase_add_test(tc, test_params_are_captured_in_order);
	tcase_add_test(tc, test_param_takes_any_non_empty_text);
	tcase_add_test(tc, test_unknown_paths_are_not_found);
	tcase_add_test(tc, test_wrong_method_lists_allowed_methods);
	tcase_add_test(tc, test_allow_list_is_truncated_safely);
	tcase_add_test(tc, test_trailing_slash_is_a_different_path);
	tcase_add_test(tc, test_head_is_served_by_get_routes);
	tcase_add_test(tc, test_empty_segment_never_matches_a_param);
	tcase_add_test(tc, test_methods_are_case_sensitive);
	tcase_add_test(tc, test_very_deep_path_is_not_found);
	tcase_add_test(tc, test_filter_keeps_public_and_internal_routes_apart);
	tcase_add_test(tc, test_base_path_validation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(router_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
