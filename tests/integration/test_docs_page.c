/* test_docs_page.c - the API docs pages (common/src/docs.c) over HTTP on both daemons: the page,
 * every embedded asset byte for byte against third_party/swagger-ui (whose SHA256SUMS must hold),
 * content types, caching (versioned URLs immutable, ETag and 304), unknown assets, and the order
 * service's literal /orders/docs and /orders/openapi.json routes in front of /orders/{order_id}.
 * The browser half (Swagger UI rendering, "Try it out") is tests/checks/docs_browser.sh. */
#include "test_catalog_common.h"

#include <sys/stat.h>

static struct ts_proc o_svc; /* order-service, for the /orders/docs tests */

/* The repository root: ctest sets MIGRATIONS_DIR to <root>/db/migrations. */
static char *source_path(const char *rel)
{
	const char *mig = c_env("MIGRATIONS_DIR");
	size_t n = strlen(mig);
	size_t cap = n + strlen(rel) + 2;
	char *out = malloc(cap);

	ck_assert_ptr_nonnull(out);
	ck_assert_msg(n > 14 && strcmp(mig + n - 14, "/db/migrations") == 0,
		      "MIGRATIONS_DIR=%s does not end in /db/migrations", mig);
	snprintf(out, cap, "%.*s/%s", (int)(n - 14), mig, rel);
	return out;
}

/* Reads a file of the repository (malloc'd, *len bytes). */
static char *source_file(const char *rel, size_t *len)
{
	char *path = source_path(rel);
	FILE *f = fopen(path, "rb");
	struct stat st;
	char *data;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fstat(fileno(f), &st), 0);
	data = malloc((size_t)st.st_size + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	free(path);
	*len = (size_t)st.st_size;
	return data;
}

static void header_is(const struct ts_resp *r, const char *name, const char *want)
{
	char *v = ts_header(r, name);

	ck_assert_msg(v != NULL, "no %s header", name);
	ck_assert_msg(strcmp(v, want) == 0, "%s: %s, want %s", name, v, want);
	free(v);
}

static void setup(void)
{
	char dburl[512];
	const char *env[] = { dburl, "CATALOG_SERVICE_URL=http://127.0.0.1:1", NULL };

	c_setup_seeded();
	snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", c_db);
	if (ts_spawn(&o_svc, c_env("ORDER_BIN"), env) != 0)
		ck_abort_msg("order-service did not start, see %s", o_svc.log_path);
}

static void teardown(void)
{
	if (o_svc.pid > 0)
		ts_stop(&o_svc, SIGTERM, 5000);
	c_teardown();
}

/* The ?v= tag the page uses for asset name (16 hex digits), copied into tag. */
static void page_tag(const char *html, const char *name, char *tag)
{
	char needle[128];
	const char *p;

	snprintf(needle, sizeof needle, "\"docs/%s?v=", name);
	p = strstr(html, needle);
	ck_assert_msg(p != NULL, "the page does not load docs/%s?v=...: %s", name, html);
	p += strlen(needle);
	ck_assert_msg(strspn(p, "0123456789abcdef") == 16 && p[16] == '"', "bad tag for %s", name);
	memcpy(tag, p, 16);
	tag[16] = '\0';
}

START_TEST(test_catalog_docs_page_is_self_contained_html)
{
	struct ts_resp r;
	char *csp;

	c_req(&r, "GET", NULL, "/docs");
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Content-Type", "text/html; charset=utf-8");
	header_is(&r, "Cache-Control", "no-cache");
	header_is(&r, "X-Content-Type-Options", "nosniff");
	csp = ts_header(&r, "Content-Security-Policy");
	ck_assert_ptr_nonnull(csp);
	ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'"));
	ck_assert_ptr_nonnull(strstr(csp, "script-src 'self';"));
	free(csp);
	/* Relative URLs only (any prefix works), the catalog's API root is the page's folder. */
	ck_assert_ptr_nonnull(strstr(r.body, "data-spec=\"openapi.json\""));
	ck_assert_ptr_nonnull(strstr(r.body, "data-api-root=\"./\""));
	ck_assert_ptr_null(strstr(r.body, "http://"));
	ck_assert_ptr_null(strstr(r.body, "https://"));
	ck_assert_ptr_null(strstr(r.body, "src=\"/"));
	ck_assert_ptr_null(strstr(r.body, "href=\"/"));
	ts_resp_free(&r);
	c_req(&r, "HEAD", NULL, "/docs");
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.body_len, 0);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_assets_are_the_vendored_bytes_with_their_types)
{
	static const char *const assets[][3] = {
		{ "swagger-ui-bundle.js", "third_party/swagger-ui/swagger-ui-bundle.js",
		  "text/javascript; charset=utf-8" },
		{ "swagger-ui.css", "third_party/swagger-ui/swagger-ui.css", "text/css; charset=utf-8" },
		{ "favicon-32x32.png", "third_party/swagger-ui/favicon-32x32.png", "image/png" },
		{ "docs-init.js", "common/assets/docs-init.js", "text/javascript; charset=utf-8" },
		{ "LICENSE", "third_party/swagger-ui/LICENSE", "text/plain; charset=utf-8" },
		{ "swagger-ui-bundle.js.LICENSE.txt",
		  "third_party/swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
		  "text/plain; charset=utf-8" },
	};
	char *dir = source_path("third_party/swagger-ui");

	/* The vendored files are the ones recorded (version, license, checksums). */
	ck_assert_msg(ts_system("cd '%s' && sha256sum --quiet -c SHA256SUMS", dir) == 0,
		      "third_party/swagger-ui does not match its SHA256SUMS");
	free(dir);
	for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
		struct ts_resp r;
		size_t len;
		char *want = source_file(assets[i][1], &len);

		c_req(&r, "GET", NULL, "/docs/%s", assets[i][0]);
		ck_assert_msg(r.status == 200, "%s: %ld", assets[i][0], r.status);
		header_is(&r, "Content-Type", assets[i][2]);
		ck_assert_msg(r.body_len == len && memcmp(r.body, want, len) == 0,
			      "%s: %zu bytes served, %zu in %s", assets[i][0], r.body_len, len,
			      assets[i][1]);
		ts_resp_free(&r);
		free(want);
	}
}
END_TEST

START_TEST(test_versioned_assets_are_immutable_and_revalidate_with_etag)
{
	struct ts_resp page, r;
	char tag[17], path[128], etag[32], inm[64];
	const char *hdr[] = { inm, NULL };

	c_req(&page, "GET", NULL, "/docs");
	page_tag(page.body, "swagger-ui.css", tag);
	ts_resp_free(&page);

	snprintf(path, sizeof path, "/docs/swagger-ui.css?v=%s", tag);
	c_req(&r, "GET", NULL, "%s", path);
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Cache-Control", "public, max-age=31536000, immutable");
	snprintf(etag, sizeof etag, "\"%s\"", tag);
	header_is(&r, "ETag", etag);
	ts_resp_free(&r);

	/* Another (an old) tag or none: the bytes, but checked again each time. */
	c_req(&r, "GET", NULL, "/docs/swagger-ui.css?v=0000000000000000");
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Cache-Control", "no-cache");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/docs/swagger-ui.css");
	header_is(&r, "Cache-Control", "no-cache");
	ts_resp_free(&r);

	snprintf(inm, sizeof inm, "If-None-Match: W/%s", etag);
	c_req_h(&r, "GET", "/docs/swagger-ui.css", NULL, hdr);
	ck_assert_int_eq(r.status, 304);
	ck_assert_uint_eq(r.body_len, 0);
	header_is(&r, "ETag", etag);
	ts_resp_free(&r);
	snprintf(inm, sizeof inm, "If-None-Match: \"0000000000000000\"");
	c_req_h(&r, "GET", "/docs/swagger-ui.css", NULL, hdr);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_unknown_asset_is_a_json_404_and_docs_slash_redirects)
{
	static const char *const paths[] = { "/docs/index.html", "/docs/swagger-ui-bundle.js.map",
					     "/docs/%2e%2e%2fopenapi.json", "/docs/x/y" };
	struct ts_resp r;
	char *loc;

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		c_req(&r, "GET", NULL, "%s", paths[i]);
		ck_assert_msg(r.status == 404, "%s: %ld", paths[i], r.status);
		ck_assert_str_eq(ts_str(r.json, "detail"), "Not Found");
		ts_resp_free(&r);
	}
	c_req(&r, "POST", "{}", "/docs");
	ck_assert_int_eq(r.status, 405);
	ts_resp_free(&r);
	/* "/docs/" is the page's address with a trailing slash: redirected to it (relative URLs in
	 * the page would otherwise resolve one level too deep). */
	c_req(&r, "GET", NULL, "/docs/");
	ck_assert_int_eq(r.status, 307);
	loc = ts_header(&r, "Location");
	ck_assert_ptr_nonnull(loc);
	ck_assert_str_eq(loc, "/docs");
	free(loc);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_orders_docs_page_and_document_under_orders)
{
	struct ts_resp r;
	char url[256];

	snprintf(url, sizeof url, "%s/orders/docs", o_svc.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Content-Type", "text/html; charset=utf-8");
	/* /orders/docs -> the API root is one level up, where /orders lives. */
	ck_assert_ptr_nonnull(strstr(r.body, "data-api-root=\"../\""));
	ck_assert_ptr_nonnull(strstr(r.body, "data-spec=\"openapi.json\""));
	ts_resp_free(&r);

	/* The page's relative "openapi.json" is /orders/openapi.json. */
	snprintf(url, sizeof url, "%s/orders/openapi.json", o_svc.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(r.json, "paths"), "/orders"));
	ts_resp_free(&r);

	snprintf(url, sizeof url, "%s/orders/docs/swagger-ui.css", o_svc.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	header_is(&r, "Content-Type", "text/css; charset=utf-8");
	ts_resp_free(&r);

	/* Still an order route: the literal routes did not swallow /orders/{order_id}. */
	snprintf(url, sizeof url, "%s/orders/999999", o_svc.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(ts_str(r.json, "detail"), "Order not found");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_catalog_docs_under_base_path)
{
	static const char *const extra[] = { "BASE_PATH=/catalog", NULL };
	struct ts_proc p;
	struct ts_resp r;
	char url[256];

	c_start(&p, c_db, extra);
	/* The page, its assets and the document it loads all live under the prefix. */
	snprintf(url, sizeof url, "%s/catalog/docs", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "data-api-root=\"./\""));
	ts_resp_free(&r);
	snprintf(url, sizeof url, "%s/catalog/docs/docs-init.js", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	snprintf(url, sizeof url, "%s/catalog/openapi.json", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	/* Public routes are only served under BASE_PATH. */
	snprintf(url, sizeof url, "%s/docs", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_stop(&p, SIGTERM, 5000), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("docs_page");
	TCase *tc = tcase_create("docs");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_catalog_docs_page_is_self_contained_html);
	tcase_add_test(tc, test_assets_are_the_vendored_bytes_with_their_types);
	tcase_add_test(tc, test_versioned_assets_are_immutable_and_revalidate_with_etag);
	tcase_add_test(tc, test_unknown_asset_is_a_json_404_and_docs_slash_redirects);
	tcase_add_test(tc, test_orders_docs_page_and_document_under_orders);
	tcase_add_test(tc, test_catalog_docs_under_base_path);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
