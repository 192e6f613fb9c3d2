/* test_catalog_ops.c - operational behaviour of catalog-service: /, /health, /ready, /metrics,
 * /openapi.json against the real routes, configuration errors, --help, --migrate, SIGTERM, and a
 * database restart while the service runs. */
#include "test_catalog_common.h"

#include <regex.h>
#include <stdbool.h>
#include <sys/stat.h>

START_TEST(test_root_health_ready)
{
	struct ts_resp r;

	c_req(&r, "GET", NULL, "/");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "service"), "catalog-service");
	ck_assert_ptr_nonnull(ts_str(r.json, "version"));
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/health");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/ready");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req(&r, "HEAD", NULL, "/health");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_metrics_exposes_requests_latency_and_pool)
{
	struct ts_resp r;
	char *ct;

	c_req(&r, "GET", NULL, "/books/1");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/999999");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/metrics");
	ck_assert_int_eq(r.status, 200);
	ct = ts_header(&r, "Content-Type");
	ck_assert_ptr_nonnull(strstr(ct, "text/plain"));
	free(ct);
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE http_requests_total counter"));
	ck_assert_ptr_nonnull(strstr(r.body, "route=\"/books/{id}\""));
	ck_assert_ptr_nonnull(strstr(r.body, "status=\"404\""));
	ck_assert_ptr_nonnull(strstr(r.body, "http_request_duration_seconds_bucket"));
	ck_assert_ptr_nonnull(strstr(r.body, "db_pool_in_use"));
	ck_assert_ptr_nonnull(strstr(r.body, "db_pool_waiters"));
	ck_assert_ptr_nonnull(strstr(r.body, "# TYPE db_pool_wait_seconds histogram"));
	ck_assert_ptr_nonnull(strstr(r.body, "db_pool_connect_failures_total"));
	ts_resp_free(&r);
}
END_TEST

/* Replaces {id} and {reservation_id} in an OpenAPI path with real values. */
static void fill_path(const char *tmpl, long long book, const char *rid, char *out, size_t len)
{
	size_t used = 0;

	while (*tmpl != '\0' && used + 1 < len) {
		if (strncmp(tmpl, "{id}", 4) == 0) {
			used += (size_t)snprintf(out + used, len - used, "%lld", book);
			tmpl += 4;
		} else if (strncmp(tmpl, "{reservation_id}", 16) == 0) {
			used += (size_t)snprintf(out + used, len - used, "%s", rid);
			tmpl += 16;
		} else {
			out[used++] = *tmpl++;
		}
	}
	out[used < len ? used : len - 1] = '\0';
}

START_TEST(test_openapi_is_valid_and_every_path_answers)
{
	static const char *const methods[] = { "get", "put", "patch", "post", "delete" };
	struct ts_resp r;
	struct ts_resp a;
	json_t *doc;
	const json_t *paths;
	const char *tmpl;
	json_t *item;
	long long book = c_book("OpenAPI", "A", NULL, "1.00", 5);
	int checked = 0;

	c_req(&r, "POST", "{\"reservation_id\":\"openapi-r\",\"book_id\":1,\"quantity\":1}",
	      "/reservations");
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);

	c_req(&r, "GET", NULL, "/openapi.json");
	ck_assert_int_eq(r.status, 200);
	doc = r.json;
	ck_assert_msg(json_is_object(doc), "openapi.json is not a JSON object");
	ck_assert_int_eq(strncmp(ts_str(doc, "openapi"), "3.", 2), 0);
	ck_assert_ptr_nonnull(json_object_get(doc, "info"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(doc, "components"), "schemas"));
	paths = json_object_get(doc, "paths");
	ck_assert_int_ge(json_object_size(paths), 3);
	/* DELETE last, so the book is still there for the other calls. */
	for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
		json_object_foreach((json_t *)paths, tmpl, item) {
			char path[256];
			char upper[8];
			const json_t *op = json_object_get(item, methods[m]);

			if (op == NULL)
				continue;
			ck_assert_ptr_nonnull(json_object_get(op, "responses"));
			fill_path(tmpl, book, "openapi-r", path, sizeof path);
			for (size_t k = 0; k <= strlen(methods[m]); k++)
				upper[k] = (char)(methods[m][k] >= 'a' ? methods[m][k] - 32
								       : methods[m][k]);
			c_req(&a, upper,
			      json_object_get(op, "requestBody") != NULL ? "{}" : NULL, "%s", path);
			ck_assert_msg(a.status != 404 && a.status != 405 && a.status < 500,
				      "%s %s -> %ld %s", upper, path, a.status, a.body);
			/* The documented status set includes what the service answered. */
			{
				char code[8];

				snprintf(code, sizeof code, "%ld", a.status);
				ck_assert_msg(json_object_get(json_object_get(op, "responses"), code),
					      "%s %s answered %ld, not documented", upper, tmpl,
					      a.status);
			}
			ts_resp_free(&a);
			checked++;
		}
	}
	ck_assert_int_ge(checked, 7);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_openapi_file_in_repo_is_what_is_served)
{
	struct ts_resp r;
	char path[512];
	json_t *file;
	json_error_t err;
	const char *mig = c_env("MIGRATIONS_DIR");

	/* MIGRATIONS_DIR is <repo>/db/migrations. */
	snprintf(path, sizeof path, "%s/../../catalog-service/openapi.json", mig);
	file = json_load_file(path, 0, &err);
	ck_assert_msg(file != NULL, "%s: %s", path, err.text);
	c_req(&r, "GET", NULL, "/openapi.json");
	ck_assert(json_equal(file, r.json));
	ts_resp_free(&r);
	json_decref(file);
}
END_TEST

/* ---- response bodies against the OpenAPI schemas ------------------------------------------ */

/* Resolves a local "$ref" ("#/components/schemas/X") in doc; other schemas come back as is. */
static const json_t *schema_deref(const json_t *doc, const json_t *schema)
{
	const char *ref = ts_str(schema, "$ref");
	const char *prefix = "#/components/schemas/";

	if (ref == NULL)
		return schema;
	ck_assert_msg(strncmp(ref, prefix, strlen(prefix)) == 0, "unsupported $ref %s", ref);
	schema = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
				 ref + strlen(prefix));
	ck_assert_msg(schema != NULL, "dangling $ref %s", ref);
	return schema;
}

static bool type_matches(const char *type, const json_t *v)
{
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	if (strcmp(type, "array") == 0)
		return json_is_array(v);
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "integer") == 0)
		return json_is_integer(v);
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	return false;
}

/* The subset of OpenAPI 3.0 schemas the document uses: $ref, allOf, oneOf, type + nullable,
 * required, properties, items, enum, pattern, minimum, maximum, maxLength. Returns NULL when v
 * conforms, else a static description of the first mismatch (where names the JSON path). */
static const char *schema_check(const json_t *doc, const json_t *schema, const json_t *v,
				char *where, size_t wlen)
{
	static char why[256];
	const json_t *sub;
	const char *type;
	const char *key;
	size_t i;
	size_t used = strlen(where);
	const char *bad;

	schema = schema_deref(doc, schema);
	json_array_foreach(json_object_get(schema, "allOf"), i, sub)
	{
		bad = schema_check(doc, sub, v, where, wlen);
		if (bad != NULL)
			return bad;
	}
	if (json_object_get(schema, "oneOf") != NULL) {
		int matches = 0;

		json_array_foreach(json_object_get(schema, "oneOf"), i,
				   sub) if (schema_check(doc, sub, v, where, wlen) == NULL)
		    matches++;
		where[used] = '\0';
		if (matches != 1) {
			snprintf(why, sizeof why, "%s: %d oneOf branches match", where, matches);
			return why;
		}
	}
	if (json_is_null(v)) {
		if (json_object_get(schema, "type") != NULL &&
		    !json_is_true(json_object_get(schema, "nullable"))) {
			snprintf(why, sizeof why, "%s: null but not nullable", where);
			return why;
		}
		return NULL;
	}
	type = ts_str(schema, "type");
	if (type != NULL && !type_matches(type, v)) {
		snprintf(why, sizeof why, "%s: not of type %s", where, type);
		return why;
	}
	if (json_object_get(schema, "enum") != NULL) {
		bool found = false;

		json_array_foreach(json_object_get(schema, "enum"), i, sub) found =
		    found || json_equal(sub, v);
		if (!found) {
			snprintf(why, sizeof why, "%s: not in enum", where);
			return why;
		}
	}
	if (json_is_string(v) && ts_str(schema, "pattern") != NULL) {
		regex_t re;
		int rc;

		ck_assert_int_eq(regcomp(&re, ts_str(schema, "pattern"), REG_EXTENDED | REG_NOSUB),
				 0);
		rc = regexec(&re, json_string_value(v), 0, NULL, 0);
		regfree(&re);
		if (rc != 0) {
			snprintf(why, sizeof why, "%s: \"%s\" does not match %s", where,
				 json_string_value(v), ts_str(schema, "pattern"));
			return why;
		}
	}
	if (json_is_integer(v) && ((json_object_get(schema, "minimum") != NULL &&
				    json_integer_value(v) < ts_int(schema, "minimum")) ||
				   (json_object_get(schema, "maximum") != NULL &&
				    json_integer_value(v) > ts_int(schema, "maximum")))) {
		snprintf(why, sizeof why, "%s: out of range", where);
		return why;
	}
	if (json_is_object(v)) {
		json_array_foreach(json_object_get(schema, "required"), i, sub)
		{
			if (json_object_get(v, json_string_value(sub)) == NULL) {
				snprintf(why, sizeof why, "%s: lacks required \"%s\"", where,
					 json_string_value(sub));
				return why;
			}
		}
		json_object_foreach((json_t *)json_object_get(schema, "properties"), key, sub)
		{
			const json_t *member = json_object_get(v, key);

			if (member == NULL)
				continue;
			snprintf(where + used, wlen - used, ".%s", key);
			bad = schema_check(doc, sub, member, where, wlen);
			where[used] = '\0';
			if (bad != NULL)
				return bad;
		}
	}
	if (json_is_array(v) && json_object_get(schema, "items") != NULL) {
		const json_t *item;

		json_array_foreach(v, i, item)
		{
			snprintf(where + used, wlen - used, "[%zu]", i);
			bad =
			    schema_check(doc, json_object_get(schema, "items"), item, where, wlen);
			where[used] = '\0';
			if (bad != NULL)
				return bad;
		}
	}
	return NULL;
}

/* Sends one request and asserts its status is documented for the operation and its JSON body
 * conforms to the documented schema of that status. */
static void assert_conforms(const json_t *doc, const char *tmpl, const char *method,
			    const char *path, const char *body, long want)
{
	char lower[8];
	const json_t *op;
	const json_t *resp;
	const json_t *schema;
	char code[8];
	char where[512] = "body";
	const char *bad;
	struct ts_resp r;

	for (size_t k = 0; k <= strlen(method) && k < sizeof lower; k++)
		lower[k] =
		    (char)(method[k] >= 'A' && method[k] <= 'Z' ? method[k] + 32 : method[k]);
	op = json_object_get(json_object_get(json_object_get(doc, "paths"), tmpl), lower);
	ck_assert_msg(op != NULL, "%s %s is not documented", method, tmpl);
	c_req(&r, method, body, "%s", path);
	ck_assert_msg(r.status == want, "%s %s -> %ld (wanted %ld) %s", method, path, r.status,
		      want, r.body);
	snprintf(code, sizeof code, "%ld", r.status);
	resp = json_object_get(json_object_get(op, "responses"), code);
	ck_assert_msg(resp != NULL, "%s %s: status %s is not documented", method, tmpl, code);
	schema = json_object_get(
	    json_object_get(json_object_get(resp, "content"), "application/json"), "schema");
	if (schema != NULL) {
		ck_assert_msg(r.json != NULL, "%s %s: %s is not JSON", method, path, code);
		bad = schema_check(doc, schema, r.json, where, sizeof where);
		ck_assert_msg(bad == NULL, "%s %s -> %s: %s; body %s", method, path, code, bad,
			      r.body);
	}
	ts_resp_free(&r);
}

START_TEST(test_public_and_internal_documents_are_apart)
{
	struct ts_resp r;
	const json_t *paths, *op;

	c_req(&r, "GET", NULL, "/openapi.json");
	ck_assert_int_eq(r.status, 200);
	paths = json_object_get(r.json, "paths");
	/* The public document lists exactly what the edge routes (tests/k8s/routes.mjs): no
	 * reservations, ops or audit. */
	ck_assert_ptr_null(json_object_get(paths, "/reservations"));
	ck_assert_ptr_null(json_object_get(paths, "/health"));
	ck_assert_ptr_null(json_object_get(paths, "/audit"));
	ck_assert_str_eq(ts_str(json_array_get(json_object_get(r.json, "servers"), 0), "url"),
			 "/catalog");
	ck_assert_ptr_nonnull(json_object_get(json_object_get(json_object_get(r.json, "components"),
							      "securitySchemes"),
					      "bearerAuth"));
	/* Writes declare the bearer scheme and their 401/403; reads are public. */
	op = json_object_get(json_object_get(paths, "/books"), "post");
	ck_assert_int_eq(json_array_size(json_object_get(op, "security")), 1);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(op, "responses"), "401"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(op, "responses"), "403"));
	op = json_object_get(json_object_get(paths, "/books"), "get");
	ck_assert_int_eq(json_array_size(json_object_get(op, "security")), 0);
	ts_resp_free(&r);
	/* The internal document: on the admin listener only. */
	c_req(&r, "GET", NULL, "/openapi-internal.json");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_req(&r, "GET", c_svc.admin_url, NULL, "/openapi-internal.json"), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(json_object_get(json_object_get(r.json, "paths"), "/reservations"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(r.json, "paths"), "/metrics"));
	ck_assert_ptr_nonnull(json_object_get(json_object_get(r.json, "paths"), "/audit"));
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_openapi_schemas_match_real_responses)
{
	struct ts_resp r;
	json_t *doc, *idoc;
	long long id;
	char p[64];

	c_req(&r, "GET", NULL, "/openapi.json");
	ck_assert_int_eq(r.status, 200);
	doc = json_incref(r.json);
	ts_resp_free(&r);
	/* The reservations are described by the internal document (admin listener only). */
	ck_assert_int_eq(ts_req(&r, "GET", c_svc.admin_url, NULL, "/openapi-internal.json"), 0);
	ck_assert_int_eq(r.status, 200);
	idoc = json_incref(r.json);
	ts_resp_free(&r);

	assert_conforms(idoc, "/", "GET", "/", NULL, 200);
	assert_conforms(idoc, "/health", "GET", "/health", NULL, 200);
	assert_conforms(idoc, "/ready", "GET", "/ready", NULL, 200);
	assert_conforms(doc, "/books", "GET", "/books?sort=-price&limit=5", NULL, 200);
	assert_conforms(doc, "/books", "GET", "/books?limit=0&sort=x", NULL, 422);
	assert_conforms(doc, "/books/{id}", "GET", "/books/1", NULL, 200);
	assert_conforms(doc, "/books/{id}", "GET", "/books/424242", NULL, 404);
	assert_conforms(doc, "/books/{id}", "GET", "/books/x", NULL, 422);
	assert_conforms(
	    doc, "/books", "POST", "/books",
	    "{\"title\":\"S\",\"author\":\"A\",\"price\":\"2.5\",\"isbn\":\"0-306-40615-2\"}", 201);
	assert_conforms(doc, "/books", "POST", "/books",
			"{\"title\":\"S\",\"author\":\"A\",\"price\":1,\"isbn\":\"9780306406157\"}",
			409);
	assert_conforms(doc, "/books", "POST", "/books", "{\"price\":\"x\"}", 422);
	assert_conforms(doc, "/books", "POST", "/books", "{", 422);
	id = c_book("Schema", "A", NULL, "3.00", 4);
	snprintf(p, sizeof p, "/books/%lld", id);
	assert_conforms(doc, "/books/{id}", "PUT", p, "{\"description\":\"d\",\"isbn\":null}", 200);
	assert_conforms(doc, "/books/{id}", "PATCH", p, "{}", 200);
	assert_conforms(doc, "/books/{id}", "PATCH", "/books/424242", "{}", 404);
	assert_conforms(doc, "/books/{id}", "PUT", p, "{\"isbn\":\"9780132350884\"}", 409);
	assert_conforms(idoc, "/reservations", "POST", "/reservations",
			"{\"reservation_id\":\"sch-1\",\"book_id\":1,\"quantity\":2}", 201);
	assert_conforms(idoc, "/reservations", "POST", "/reservations",
			"{\"reservation_id\":\"sch-1\",\"book_id\":1,\"quantity\":2}", 200);
	assert_conforms(idoc, "/reservations", "POST", "/reservations",
			"{\"reservation_id\":\"sch-2\",\"book_id\":1,\"quantity\":1000000}", 409);
	assert_conforms(idoc, "/reservations", "POST", "/reservations",
			"{\"reservation_id\":\"sch-3\",\"book_id\":424242,\"quantity\":1}", 404);
	assert_conforms(idoc, "/reservations/{reservation_id}", "GET", "/reservations/sch-1", NULL,
			200);
	assert_conforms(idoc, "/reservations/{reservation_id}", "GET", "/reservations/none", NULL,
			404);
	assert_conforms(idoc, "/reservations/{reservation_id}/release", "POST",
			"/reservations/sch-1/release", NULL, 200);
	assert_conforms(idoc, "/reservations/{reservation_id}/release", "POST",
			"/reservations/ghost/release", NULL, 200);
	assert_conforms(idoc, "/reservations", "POST", "/reservations",
			"{\"reservation_id\":\"ghost\",\"book_id\":1,\"quantity\":1}", 410);
	assert_conforms(doc, "/books/{id}", "DELETE", p, NULL, 200);
	assert_conforms(doc, "/books/{id}", "DELETE", p, NULL, 404);
	json_decref(doc);
	json_decref(idoc);
}
END_TEST

/* Holds an ACCESS EXCLUSIVE lock on books for two seconds (one multi-statement PQexec). */
static void *lock_books_run(void *p)
{
	(void)p;
	free(ts_sql(c_db, "BEGIN; LOCK TABLE books IN ACCESS EXCLUSIVE MODE; "
			  "SELECT pg_sleep(2); COMMIT"));
	return NULL;
}

struct slow_get {
	char url[160];
	long status;
};

static void *slow_get_run(void *p)
{
	struct slow_get *g = p;
	struct ts_resp r;

	if (ts_http(&r, "GET", g->url, NULL, NULL) == 0)
		g->status = r.status;
	ts_resp_free(&r);
	return NULL;
}

START_TEST(test_sigterm_lets_in_flight_request_finish)
{
	struct slow_get g = {.status = 0};
	pthread_t th;
	pthread_t locker;
	struct ts_resp r;
	long long t0;

	c_req(&r, "GET", NULL, "/books/1"); /* warms the pool and libcurl */
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(pthread_create(&locker, NULL, lock_books_run, NULL), 0);
	c_sleep_ms(300);
	snprintf(g.url, sizeof g.url, "%s/books/1", c_svc.url);
	ck_assert_int_eq(pthread_create(&th, NULL, slow_get_run, &g), 0);
	c_sleep_ms(300); /* the request now waits on the lock inside the service */
	t0 = c_now_ms();
	ck_assert_int_eq(kill(c_svc.pid, SIGTERM), 0);
	c_sleep_ms(200);
	/* Draining: a new connection is not served (it fails once the service is gone). */
	ck_assert_int_ne(ts_http(&r, "GET", g.url, NULL, NULL), 0);
	ts_resp_free(&r);
	pthread_join(th, NULL);
	pthread_join(locker, NULL);
	ck_assert_int_eq(g.status, 200);
	ck_assert_int_eq(ts_stop(&c_svc, 0, 10000), 0); /* already signalled: just wait */
	ck_assert_int_lt(c_now_ms() - t0, 8000);
}
END_TEST

START_TEST(test_help_lists_every_variable)
{
	static const char *const vars[] = {
		"DATABASE_URL", "PORT", "HTTP_THREADS", "DB_POOL_SIZE", "DB_STATEMENT_TIMEOUT_MS",
		"MAX_BODY_BYTES", "LOG_LEVEL", "MIGRATIONS_DIR",
	};
	char out[512];

	snprintf(out, sizeof out, "%s/catalog-help-%d.txt", c_env("TEST_TMPDIR"), (int)getpid());
	ck_assert_int_eq(ts_system("mkdir -p '%s' && '%s' --help > '%s' 2>&1", c_env("TEST_TMPDIR"),
				   c_env("CATALOG_BIN"), out),
			 0);
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		ck_assert_msg(ts_system("grep -q '%s' '%s'", vars[i], out) == 0, "--help lacks %s",
			      vars[i]);
	ck_assert_int_eq(ts_system("grep -q 8000 '%s'", out), 0);
	/* Each variable's line states its default. */
	{
		static const char *const defaults[][2] = {
		    {"PORT", "8000"},
		    {"HTTP_THREADS", "4"},
		    {"DB_POOL_SIZE", "4"},
		    {"DB_STATEMENT_TIMEOUT_MS", "5000"},
		    {"MAX_BODY_BYTES", "1048576"},
		    {"LOG_LEVEL", "info"},
		};

		for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
			ck_assert_msg(ts_system("grep -Eq '^ *%s +default: %s$' '%s'",
						defaults[i][0], defaults[i][1], out) == 0,
				      "--help does not give %s's default %s", defaults[i][0],
				      defaults[i][1]);
		ck_assert_int_eq(ts_system("grep -Eq '^ *DATABASE_URL +default:' '%s'", out), 0);
		ck_assert_int_eq(ts_system("grep -Eq '^ *MIGRATIONS_DIR +default:' '%s'", out), 0);
	}
	unlink(out);
}
END_TEST

/* Runs the daemon with one bad setting; asserts exit status 2 and one stderr line naming var. */
static void assert_bad_config(const char *setting, const char *var)
{
	char err[512];

	snprintf(err, sizeof err, "%s/catalog-badcfg-%d.txt", c_env("TEST_TMPDIR"), (int)getpid());
	ck_assert_int_eq(ts_system("mkdir -p '%s'", c_env("TEST_TMPDIR")), 0);
	ck_assert_msg(ts_system("env %s timeout 10 '%s' >/dev/null 2>'%s'", setting,
				c_env("CATALOG_BIN"), err) == 2,
		      "%s did not exit with 2", setting);
	ck_assert_msg(ts_system("test \"$(wc -l < '%s')\" -eq 1 && grep -q '%s' '%s'", err, var,
				err) == 0,
		      "%s: expected one line naming %s", setting, var);
	unlink(err);
}

START_TEST(test_bad_configuration_exits_2_with_one_line)
{
	assert_bad_config("PORT=abc", "PORT");
	assert_bad_config("PORT=70000", "PORT");
	assert_bad_config("DB_POOL_SIZE=0", "DB_POOL_SIZE");
	assert_bad_config("HTTP_THREADS=-3", "HTTP_THREADS");
	assert_bad_config("LOG_LEVEL=loud", "LOG_LEVEL");
	assert_bad_config("MAX_BODY_BYTES=1x", "MAX_BODY_BYTES");
	assert_bad_config("DB_STATEMENT_TIMEOUT_MS=soon", "DB_STATEMENT_TIMEOUT_MS");
	ck_assert_int_eq(ts_system("'%s' --bogus >/dev/null 2>&1", c_env("CATALOG_BIN")), 2);
}
END_TEST

START_TEST(test_sigterm_exits_0_and_sigint_too)
{
	struct ts_proc p = { 0 };
	struct ts_resp r;

	c_req(&r, "GET", NULL, "/books");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_stop(&c_svc, SIGTERM, 10000), 0);
	c_start(&p, c_db, NULL);
	ck_assert_int_eq(ts_stop(&p, SIGINT, 10000), 0);
}
END_TEST

START_TEST(test_migrate_mode_is_idempotent)
{
	char *db = ts_db_create(0);

	/* ts_db_create ran --migrate once; a second run applies nothing and exits 0. */
	ck_assert_int_eq(ts_system("DATABASE_URL='%s' '%s' --migrate >/dev/null 2>&1", db,
				   c_env("CATALOG_BIN")),
			 0);
	ck_assert_int_eq(ts_system("DATABASE_URL='%s' MIGRATIONS_DIR=/nonexistent '%s' --migrate "
				   ">/dev/null 2>&1",
				   db, c_env("CATALOG_BIN")),
			 1);
	free(db);
}
END_TEST

/* Polls path until it answers want (or the deadline passes). Returns the last status. */
static long wait_status(const char *base, const char *path, long want, int timeout_ms)
{
	long long end = c_now_ms() + timeout_ms;
	char url[256];
	long status = 0;
	struct ts_resp r;

	snprintf(url, sizeof url, "%s%s", base, path);
	do {
		if (ts_http(&r, "GET", url, NULL, NULL) == 0)
			status = r.status;
		ts_resp_free(&r);
		if (status == want)
			break;
		c_sleep_ms(200);
	} while (c_now_ms() < end);
	return status;
}

START_TEST(test_ready_503_while_database_down_and_recovers_after_restart)
{
	char dir[512];
	char url[256];
	char *u;
	int port = ts_free_port();
	struct ts_proc p = { 0 };
	struct ts_resp r;
	char rurl[300];
	const char *env[] = { "DB_POOL_WAIT_MS=1000", "DB_STATEMENT_TIMEOUT_MS=2000", NULL };

	snprintf(dir, sizeof dir, "%s/catalog-pg-restart-%d", c_env("TEST_TMPDIR"), (int)getpid());
	ck_assert_int_eq(ts_system("rm -rf '%s' && '%s' start '%s' %d >/dev/null", dir,
				   c_env("PG_SCRIPT"), dir, port),
			 0);
	snprintf(url, sizeof url, "postgresql://bookstore@127.0.0.1:%d/postgres", port);
	ck_assert_int_eq(ts_system("DATABASE_URL='%s' '%s' --migrate >/dev/null 2>&1", url,
				   c_env("CATALOG_BIN")),
			 0);
	u = ts_sql(url, "INSERT INTO books (title, author, price) VALUES ('R', 'A', 1) "
			"RETURNING id");
	free(u);
	c_start(&p, url, env);
	snprintf(rurl, sizeof rurl, "%s/books/1", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", rurl, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);

	/* Database down: /ready and data endpoints answer 503, /health stays 200. */
	ck_assert_int_eq(ts_system("'%s' stop '%s'", c_env("PG_SCRIPT"), dir), 0);
	ck_assert_int_eq(wait_status(p.url, "/ready", 503, 10000), 503);
	ck_assert_int_eq(ts_http(&r, "GET", rurl, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 503);
	ck_assert_str_eq(ts_str(r.json, "detail"), "Database unavailable");
	ts_resp_free(&r);
	snprintf(rurl, sizeof rurl, "%s/books", p.url);
	ck_assert_int_eq(ts_http(&r, "POST", rurl, "{\"title\":\"t\",\"author\":\"a\",\"price\":1}",
				 NULL),
			 0);
	ck_assert_int_eq(r.status, 503);
	ts_resp_free(&r);
	ck_assert_int_eq(wait_status(p.url, "/health", 200, 2000), 200);

	/* Database back on the same port: the service heals by itself. */
	ck_assert_int_eq(ts_system("'%s' start '%s' %d >/dev/null", c_env("PG_SCRIPT"), dir, port),
			 0);
	ck_assert_int_eq(wait_status(p.url, "/ready", 200, 20000), 200);
	ck_assert_int_eq(wait_status(p.url, "/books/1", 200, 10000), 200);
	ck_assert_int_eq(ts_http(&r, "POST", rurl, "{\"title\":\"t\",\"author\":\"a\",\"price\":1}",
				 NULL),
			 0);
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);

	ck_assert_int_eq(ts_stop(&p, SIGTERM, 10000), 0);
	ts_system("'%s' stop '%s'; rm -rf '%s'", c_env("PG_SCRIPT"), dir, dir);
}
END_TEST

START_TEST(test_service_starts_while_database_is_down)
{
	struct ts_proc p = { 0 };
	char env_url[128];
	const char *env[] = { env_url, "DB_POOL_WAIT_MS=500", NULL };
	struct ts_resp r;
	char url[160];

	/* Nothing listens on this port: start must not fail, /ready says 503. */
	snprintf(env_url, sizeof env_url, "DATABASE_URL=postgresql://bookstore@127.0.0.1:%d/x",
		 ts_free_port());
	ck_assert_int_eq(ts_spawn(&p, c_env("CATALOG_BIN"), env), 0);
	snprintf(url, sizeof url, "%s/ready", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 503);
	/* A fixed answer: libpq's text (host, port, user) goes to the log only. */
	ck_assert_str_eq(r.body, "{\"detail\":\"database unavailable\"}");
	ck_assert_ptr_null(strstr(r.body, "127.0.0.1"));
	ts_resp_free(&r);
	snprintf(url, sizeof url, "%s/books", p.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, NULL), 0);
	ck_assert_int_eq(r.status, 503);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_stop(&p, SIGTERM, 10000), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog_ops");
	TCase *tc = tcase_create("ops");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, c_setup_seeded, c_teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_root_health_ready);
	tcase_add_test(tc, test_metrics_exposes_requests_latency_and_pool);
	tcase_add_test(tc, test_openapi_is_valid_and_every_path_answers);
	tcase_add_test(tc, test_openapi_file_in_repo_is_what_is_served);
	tcase_add_test(tc, test_help_lists_every_variable);
	tcase_add_test(tc, test_bad_configuration_exits_2_with_one_line);
	tcase_add_test(tc, test_sigterm_exits_0_and_sigint_too);
	tcase_add_test(tc, test_migrate_mode_is_idempotent);
	tcase_add_test(tc, test_ready_503_while_database_down_and_recovers_after_restart);
	tcase_add_test(tc, test_service_starts_while_database_is_down);
	tcase_add_test(tc, test_openapi_schemas_match_real_responses);
	tcase_add_test(tc, test_public_and_internal_documents_are_apart);
	tcase_add_test(tc, test_sigterm_lets_in_flight_request_finish);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
