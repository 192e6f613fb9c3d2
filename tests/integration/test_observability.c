/* test_observability.c - metrics, traces and access logs of both real daemons (issue 11):
 *  - a scrape of each service (admin and API port) passes `promtool check metrics` and carries
 *    the documented series;
 *  - one order's trace id is followed through both services' logs (given, and generated);
 *  - a malformed traceparent starts a new trace;
 *  - the access line: fields, customer_email redaction, bytes, X-Forwarded-For only from
 *    TRUSTED_PROXIES, 4xx at info, 5xx and slow requests at warn;
 *  - OTLP/HTTP JSON export to a receiver on loopback (payload shape, parent links across the
 *    two services), and a full queue that drops and counts while requests stay fast. */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_order_common.h"
#include "ts.h"

#define TP_TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define TP_PARENT "00f067aa0ba902b7"
#define TP_HEADER "traceparent: 00-" TP_TRACE "-" TP_PARENT "-01"

static char *o_db;

static void setup(void)
{
	o_db = ts_db_create(0);
}

static void teardown(void)
{
	free(o_db);
	o_db = NULL;
}

/* ---- logs ------------------------------------------------------------------------------ */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *data;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq((long)fread(data, 1, (size_t)n, f), n);
	fclose(f);
	return data;
}

/* The first JSON log line of p whose field k1 equals v1 and (when k2 is set) k2 equals v2; a
 * new reference, or NULL. Waits up to 2 s for it (the access line follows the answer). */
static json_t *log_find(const struct ts_proc *p, const char *k1, const char *v1, const char *k2,
			const char *v2)
{
	long long until = t_now_ms() + 2000;

	for (;;) {
		char *text = slurp(p->log_path);
		char *line = text, *nl;
		json_t *hit = NULL;

		for (; line != NULL && *line != '\0' && hit == NULL; line = nl) {
			json_t *o;

			nl = strchr(line, '\n');
			if (nl != NULL)
				*nl++ = '\0';
			o = json_loads(line, 0, NULL);
			if (o == NULL)
				continue;
			if (ts_str(o, k1) != NULL && strcmp(ts_str(o, k1), v1) == 0 &&
			    (k2 == NULL ||
			     (ts_str(o, k2) != NULL && strcmp(ts_str(o, k2), v2) == 0)))
				hit = o;
			else
				json_decref(o);
		}
		free(text);
		if (hit != NULL || t_now_ms() > until)
			return hit;
		t_sleep_ms(50);
	}
}

static int is_hex(const char *s, size_t n)
{
	if (s == NULL || strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- daemons --------------------------------------------------------------------------- */

static void start(struct ts_proc *p, const char *bin_var, const char *const *extra)
{
	const char *env[24];
	char dburl[512];
	size_t n = 0;
	/* Each service connects as its own login role, as deployed. */
	char *role_url = ts_db_url_as(o_db, strcmp(bin_var, "ORDER_BIN") == 0 ? TS_ROLE_ORDERS
									  : TS_ROLE_CATALOG);

	(void)snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", role_url);
	free(role_url);
	env[n++] = dburl;
	env[n++] = "LOG_LEVEL=info";
	env[n++] = "HTTP_THREADS=4";
	for (; extra != NULL && *extra != NULL && n < 23; extra++)
		env[n++] = *extra;
	env[n] = NULL;
	if (ts_spawn(p, t_env(bin_var), env) != 0) {
		fprintf(stderr, "daemon did not start, see %s\n", p->log_path);
		ck_abort_msg("daemon did not start");
	}
}

static void stop(struct ts_proc *p)
{
	ck_assert_int_eq(ts_stop(p, SIGTERM, 15000), 0);
}

/* Saves GET url to a file and runs promtool check metrics on it; returns the body. */
static char *scrape_and_lint(const char *base)
{
	struct ts_resp r = { 0 };
	char path[256];
	char *body;
	FILE *f;

	ck_assert_int_eq(ts_req(&r, "GET", base, NULL, "/metrics"), 0);
	ck_assert_int_eq(r.status, 200);
	(void)snprintf(path, sizeof path, "%s/scrape-%d.txt", t_env("TEST_TMPDIR"), (int)getpid());
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq((int)fwrite(r.body, 1, r.body_len, f), (int)r.body_len);
	fclose(f);
	ck_assert_msg(ts_system("promtool check metrics < '%s' > '%s.out' 2>&1", path, path) == 0,
		      "promtool check metrics failed on %s/metrics (see %s.out)", base, path);
	body = strdup(r.body);
	ts_resp_free(&r);
	return body;
}

static void assert_has(const char *text, const char *want)
{
	ck_assert_msg(strstr(text, want) != NULL, "scrape lacks: %s", want);
}

static const char *const common_series[] = {
	"# TYPE process_cpu_seconds_total counter",
	"# TYPE process_resident_memory_bytes gauge",
	"# TYPE process_virtual_memory_bytes gauge",
	"# TYPE process_open_fds gauge",
	"# TYPE process_max_fds gauge",
	"# TYPE process_start_time_seconds gauge",
	"# TYPE bookstore_build_info gauge",
	"# TYPE http_requests_total counter",
	"# TYPE http_request_duration_seconds histogram",
	"# TYPE http_requests_in_flight gauge",
	"# TYPE http_request_size_bytes histogram",
	"# TYPE http_response_size_bytes histogram",
	"# TYPE db_pool_size gauge",
	"# TYPE db_pool_in_use gauge",
	"# TYPE db_pool_waiters gauge",
	"# TYPE db_pool_wait_seconds histogram",
	"# TYPE db_pool_connect_failures_total counter",
	"# TYPE db_statement_errors_total counter",
	"le=\"0.0005\"",
	"le=\"10\"",
	"le=\"1048576\"",
};

START_TEST(test_scrapes_of_both_services_pass_promtool_and_carry_the_series)
{
	struct ts_proc cat, ord;
	const char *ord_env[4];
	char curl[160];
	char *m;
	long long book;

	start(&cat, "CATALOG_BIN", NULL);
	(void)snprintf(curl, sizeof curl, "CATALOG_SERVICE_URL=%s", cat.url);
	ord_env[0] = curl;
	ord_env[1] = NULL;
	start(&ord, "ORDER_BIN", ord_env);
	book = t_create_book(cat.url, "9.99", 5);
	ck_assert_int_eq(t_order(ord.url, book, 2, "a@example.com", NULL), 201);
	ck_assert_int_eq(t_order(ord.url, book, 99, "a@example.com", NULL), 409);

	for (int i = 0; i < 2; i++) {
		m = scrape_and_lint(i == 0 ? cat.admin_url : cat.url);
		for (size_t k = 0; k < sizeof(common_series) / sizeof(*common_series); k++)
			assert_has(m, common_series[k]);
		assert_has(m, "bookstore_build_info{service=\"catalog-service\",version=\"");
		assert_has(m, "reservations_total{result=\"taken\"} 1\n");
		assert_has(m, "reservations_total{result=\"refused\"} 1\n");
		assert_has(m, "reservations_total{result=\"released\"} 0\n");
		assert_has(m, "http_requests_total{route=\"/reservations\",method=\"POST\","
			      "status=\"201\"} 1\n");
		/* the 409 of the refused reservation is not a statement error; nothing failed */
		free(m);
	}
	/* The contract of docs/operations.md (names, types, labels; nothing undocumented under our
	 * prefixes), after traffic, for both services. */
	ck_assert_msg(ts_system("bash '%s/../../tests/monitoring/check-exposition.sh' "
				"'%s/metrics' catalog-service >&2",
				t_env("MIGRATIONS_DIR"), cat.admin_url) == 0,
		      "the catalog scrape does not match docs/operations.md");
	ck_assert_msg(ts_system("bash '%s/../../tests/monitoring/check-exposition.sh' "
				"'%s/metrics' order-service >&2",
				t_env("MIGRATIONS_DIR"), ord.admin_url) == 0,
		      "the order service's scrape does not match docs/operations.md");
	for (int i = 0; i < 2; i++) {
		m = scrape_and_lint(i == 0 ? ord.admin_url : ord.url);
		for (size_t k = 0; k < sizeof(common_series) / sizeof(*common_series); k++)
			assert_has(m, common_series[k]);
		assert_has(m, "bookstore_build_info{service=\"order-service\",version=\"");
		assert_has(m, "orders_created_total 1\n");
		assert_has(m, "orders_cancelled_total 0\n");
		assert_has(m, "orders_failed_total{reason=\"out_of_stock\"} 1\n");
		assert_has(m, "orders_failed_total{reason=\"invalid\"} 0\n");
		assert_has(m, "http_requests_total{route=\"/orders\",method=\"POST\",status=\"201\"} 1\n");
		free(m);
	}
	stop(&ord);
	stop(&cat);
}
END_TEST

/* POST /orders with extra headers; returns the status. */
static long post_order(const char *order_url, long long book, const char *const *headers)
{
	struct ts_resp r = { 0 };
	char body[160], url[160];
	long st;

	(void)snprintf(body, sizeof body,
		       "{\"book_id\":%lld,\"quantity\":1,\"customer_name\":\"Obs\","
		       "\"customer_email\":\"t@example.com\"}",
		       book);
	(void)snprintf(url, sizeof url, "%s/orders", order_url);
	ck_assert_int_eq(ts_http(&r, "POST", url, body, headers), 0);
	st = r.status;
	ts_resp_free(&r);
	return st;
}

START_TEST(test_one_orders_trace_id_is_in_both_services_logs)
{
	struct ts_proc cat, ord;
	const char *ord_env[2];
	char curl[160];
	const char *given[] = { TP_HEADER, "X-Request-ID: obs-trace-1", NULL };
	const char *plain[] = { "X-Request-ID: obs-trace-2", NULL };
	json_t *ol, *cl, *cm;
	long long book;
	char tid[33];

	start(&cat, "CATALOG_BIN", NULL);
	(void)snprintf(curl, sizeof curl, "CATALOG_SERVICE_URL=%s", cat.url);
	ord_env[0] = curl;
	ord_env[1] = NULL;
	start(&ord, "ORDER_BIN", ord_env);
	book = t_create_book(cat.url, "5.00", 10);

	/* The caller's trace continues through the order service into the catalog. */
	ck_assert_int_eq(post_order(ord.url, book, given), 201);
	ol = log_find(&ord, "request_id", "obs-trace-1", "route", "/orders");
	ck_assert_ptr_nonnull(ol);
	ck_assert_str_eq(ts_str(ol, "trace_id"), TP_TRACE);
	ck_assert(is_hex(ts_str(ol, "span_id"), 16));
	ck_assert_str_ne(ts_str(ol, "span_id"), TP_PARENT);
	cl = log_find(&cat, "trace_id", TP_TRACE, "route", "/reservations");
	ck_assert_ptr_nonnull(cl);
	ck_assert_str_eq(ts_str(cl, "request_id"), "obs-trace-1"); /* X-Request-ID kept */
	ck_assert_str_ne(ts_str(cl, "span_id"), ts_str(ol, "span_id"));
	/* The book lookup the order makes is in the same trace. */
	json_decref(ol);
	json_decref(cl);

	/* Without a traceparent the order service starts the trace and passes it on. */
	ck_assert_int_eq(post_order(ord.url, book, plain), 201);
	ol = log_find(&ord, "request_id", "obs-trace-2", "route", "/orders");
	ck_assert_ptr_nonnull(ol);
	ck_assert(is_hex(ts_str(ol, "trace_id"), 32));
	ck_assert_str_ne(ts_str(ol, "trace_id"), TP_TRACE);
	(void)snprintf(tid, sizeof tid, "%s", ts_str(ol, "trace_id"));
	cl = log_find(&cat, "trace_id", tid, "route", "/reservations");
	ck_assert_ptr_nonnull(cl);
	ck_assert_str_eq(ts_str(cl, "request_id"), "obs-trace-2");
	/* Every catalog line of that request (not only the access line) carries it: the
	 * access line is the one we matched; a non-access line of the order service with the
	 * trace id would come from the saga's own logs, when there are any. */
	cm = log_find(&cat, "trace_id", tid, "method", "POST");
	ck_assert_ptr_nonnull(cm);
	json_decref(cm);
	json_decref(ol);
	json_decref(cl);
	stop(&ord);
	stop(&cat);
}
END_TEST

START_TEST(test_a_recovery_pass_is_one_trace_across_both_logs)
{
	struct ts_proc cat, ord;
	const char *oenv[] = { NULL, "CATALOG_TIMEOUT_MS=300", "RECOVERY_INTERVAL_MS=200",
			       "RECOVERY_BACKOFF_BASE_MS=100", NULL };
	struct ts_resp r = { 0 };
	char curl[160], rid[48], path[64];
	json_t *cl, *ol;
	long long book, id = 0;

	start(&cat, "CATALOG_BIN", NULL);
	(void)snprintf(curl, sizeof curl, "CATALOG_SERVICE_URL=%s", cat.url);
	oenv[0] = curl;
	start(&ord, "ORDER_BIN", oenv);
	book = t_create_book(cat.url, "2.00", 3);
	ck_assert_int_eq(t_order(ord.url, book, 1, NULL, &id), 201);
	/* The cancel cannot give the stock back while the catalog is frozen: recovery does it. */
	ck_assert_int_eq(kill(cat.pid, SIGSTOP), 0);
	(void)snprintf(path, sizeof path, "/orders/%lld/status", id);
	ck_assert_int_eq(ts_req(&r, "PATCH", ord.url, "{\"status\":\"cancelled\"}", "%s", path), 0);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(kill(cat.pid, SIGCONT), 0);
	(void)snprintf(rid, sizeof rid, "recovery-%lld", id);
	{
		long long until = t_now_ms() + 8000;

		while ((cl = log_find(&cat, "request_id", rid, "route",
				      "/reservations/{reservation_id}/release")) == NULL &&
		       t_now_ms() < until)
			;
	}
	ck_assert_ptr_nonnull(cl);
	ck_assert(is_hex(ts_str(cl, "trace_id"), 32));
	/* The order service's own lines about that item (the pass's, not an access line: nobody
	 * sent it a request) are in the same trace. */
	ol = log_find(&ord, "trace_id", ts_str(cl, "trace_id"), "request_id", rid);
	ck_assert_ptr_nonnull(ol);
	ck_assert_ptr_nonnull(ts_str(ol, "msg"));
	ck_assert_ptr_null(json_object_get(ol, "route"));
	json_decref(ol);
	json_decref(cl);
	stop(&ord);
	stop(&cat);
}
END_TEST

START_TEST(test_malformed_traceparent_starts_a_new_trace)
{
	struct ts_proc cat;
	struct ts_resp r = { 0 };
	const char *bad[] = { "traceparent: 00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
			      "X-Request-ID: obs-bad-tp", NULL };
	const char *zero[] = { "traceparent: 00-00000000000000000000000000000000-00f067aa0ba902b7-01",
			       "X-Request-ID: obs-zero-tp", NULL };
	char url[160];
	json_t *l;

	start(&cat, "CATALOG_BIN", NULL);
	(void)snprintf(url, sizeof url, "%s/books", cat.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, bad), 0);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, zero), 0);
	ts_resp_free(&r);
	l = log_find(&cat, "request_id", "obs-bad-tp", NULL, NULL);
	ck_assert_ptr_nonnull(l);
	ck_assert(is_hex(ts_str(l, "trace_id"), 32));
	ck_assert_str_ne(ts_str(l, "trace_id"), "4bf92f3577b34da6a3ce929d0e0e4736");
	json_decref(l);
	l = log_find(&cat, "request_id", "obs-zero-tp", NULL, NULL);
	ck_assert_ptr_nonnull(l);
	ck_assert(is_hex(ts_str(l, "trace_id"), 32));
	ck_assert_str_ne(ts_str(l, "trace_id"), "00000000000000000000000000000000");
	json_decref(l);
	stop(&cat);
}
END_TEST

/* Sends a raw request whose body arrives delay_ms after its headers; returns the status. */
static int slow_post(int port, const char *path, const char *body, long delay_ms)
{
	struct sockaddr_in a;
	char head[4096], resp[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	ssize_t n;
	int status = 0;

	ck_assert_int_ge(fd, 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	(void)snprintf(head, sizeof head,
		       "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		       "X-Request-ID: obs-slow\r\nContent-Length: %zu\r\nConnection: close\r\n"
		       "Authorization: Bearer %s\r\n\r\n",
		       path, strlen(body), ts_admin_token()); /* book writes need the admin */
	ck_assert_int_eq((int)write(fd, head, strlen(head)), (int)strlen(head));
	t_sleep_ms(delay_ms);
	ck_assert_int_eq((int)write(fd, body, strlen(body)), (int)strlen(body));
	n = read(fd, resp, sizeof resp - 1);
	if (n > 12) {
		resp[n] = '\0';
		status = atoi(resp + 9);
	}
	close(fd);
	return status;
}

START_TEST(test_access_line_fields_levels_and_forwarded_client)
{
	struct ts_proc cat, trusted, ord;
	struct ts_resp r = { 0 };
	const char *hdrs[] = { "User-Agent: obs-test/1.0", "X-Forwarded-For: 203.0.113.7",
			       "X-Request-ID: obs-access-1", NULL };
	const char *nf[] = { "X-Request-ID: obs-access-404", NULL };
	const char *post[] = { "X-Request-ID: obs-access-post", NULL };
	const char *tenv[] = { "TRUSTED_PROXIES=10.0.0.0/8, 127.0.0.1", "LOG_SLOW_MS=300", NULL };
	const char *oenv[] = { "CATALOG_SERVICE_URL=http://127.0.0.1:1", "CATALOG_TIMEOUT_MS=300",
			       NULL };
	const char *obody[] = { "X-Request-ID: obs-access-503", NULL };
	static const char book[] = "{\"title\":\"Obs\",\"author\":\"A\",\"price\":\"1.00\","
				   "\"quantity\":1}";
	char url[256];
	json_t *l;

	start(&cat, "CATALOG_BIN", NULL);
	(void)snprintf(url, sizeof url, "%s/books?limit=1&customer_email=someone%%40example.com",
		       cat.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, hdrs), 0);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	l = log_find(&cat, "request_id", "obs-access-1", NULL, NULL);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(ts_str(l, "level"), "info");
	ck_assert_str_eq(ts_str(l, "method"), "GET");
	ck_assert_str_eq(ts_str(l, "route"), "/books");
	ck_assert_str_eq(ts_str(l, "path"), "/books?limit=1&customer_email=REDACTED");
	ck_assert_str_eq(ts_str(l, "client"), "127.0.0.1"); /* no trusted proxies: peer */
	ck_assert_str_eq(ts_str(l, "user_agent"), "obs-test/1.0");
	ck_assert_int_eq(ts_int(l, "status"), 200);
	ck_assert(json_is_number(json_object_get(l, "duration_ms")));
	ck_assert_int_eq(ts_int(l, "bytes_in"), 0);
	ck_assert_int_gt(ts_int(l, "bytes_out"), 0);
	ck_assert(is_hex(ts_str(l, "trace_id"), 32));
	ck_assert(is_hex(ts_str(l, "span_id"), 16));
	ck_assert_ptr_null(json_object_get(l, "actor")); /* anonymous */
	{
		char *all = json_dumps(l, 0);

		ck_assert_ptr_null(strstr(all, "someone")); /* the address leaks nowhere */
		free(all);
	}
	json_decref(l);

	ck_assert_int_eq(ts_http(&r, "GET", strcat(strcpy(url, cat.url), "/books/999999"), NULL,
				 nf),
			 0);
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	l = log_find(&cat, "request_id", "obs-access-404", NULL, NULL);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(ts_str(l, "level"), "info");
	ck_assert_str_eq(ts_str(l, "route"), "/books/{id}");
	json_decref(l);

	ck_assert_int_eq(ts_http(&r, "POST", strcat(strcpy(url, cat.url), "/books"), book, post),
			 0);
	ck_assert_int_eq(r.status, 201);
	l = log_find(&cat, "request_id", "obs-access-post", NULL, NULL);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(ts_int(l, "bytes_in"), (long long)strlen(book));
	ck_assert_int_eq(ts_int(l, "bytes_out"), (long long)r.body_len);
	ts_resp_free(&r);
	json_decref(l);

	/* Behind a trusted proxy the forwarded client is logged; slow requests warn. */
	start(&trusted, "CATALOG_BIN", tenv);
	ck_assert_int_eq(ts_http(&r, "GET", strcat(strcpy(url, trusted.url), "/books"), NULL,
				 hdrs),
			 0);
	ts_resp_free(&r);
	l = log_find(&trusted, "request_id", "obs-access-1", NULL, NULL);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(ts_str(l, "client"), "203.0.113.7");
	json_decref(l);
	ck_assert_int_eq(slow_post(trusted.port, "/books", "{}", 500), 422);
	l = log_find(&trusted, "request_id", "obs-slow", NULL, NULL);
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(ts_str(l, "level"), "warn");
	ck_assert(json_is_true(json_object_get(l, "slow")));
	ck_assert(json_real_value(json_object_get(l, "duration_ms")) >= 300.0);
	json_decref(l);

	/* A 5xx is logged at warn. */
	start(&ord, "ORDER_BIN", oenv);
	ck_assert_int_eq(post_order(ord.url, 1, obody), 503);
	l = log_find(&ord, "request_id", "obs-access-503", "route", "/orders");
	ck_assert_ptr_nonnull(l);
	ck_assert_str_eq(ts_str(l, "level"), "warn");
	ck_assert_int_eq(ts_int(l, "status"), 503);
	json_decref(l);
	stop(&ord);
	stop(&trusted);
	stop(&cat);
}
END_TEST

/* ---- OTLP receiver --------------------------------------------------------------------- */

struct receiver {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	json_t *bodies; /* every POSTed JSON document */
	int bad;        /* requests that were not POST /v1/traces application/json */
};

struct upload {
	char *data;
	size_t len;
};

static enum MHD_Result rx_handler(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	struct receiver *rx = cls;
	struct upload *u = *con_cls;
	struct MHD_Response *resp;
	const char *ct;
	enum MHD_Result ret;
	json_t *doc;

	(void)version;
	if (u == NULL) {
		u = calloc(1, sizeof(*u));
		*con_cls = u;
		return u != NULL ? MHD_YES : MHD_NO;
	}
	if (*size > 0) {
		char *grown = realloc(u->data, u->len + *size + 1);

		if (grown == NULL)
			return MHD_NO;
		u->data = grown;
		memcpy(u->data + u->len, data, *size);
		u->len += *size;
		u->data[u->len] = '\0';
		*size = 0;
		return MHD_YES;
	}
	ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	doc = u->data != NULL ? json_loadb(u->data, u->len, 0, NULL) : NULL;
	pthread_mutex_lock(&rx->mu);
	if (strcmp(method, "POST") != 0 || strcmp(url, "/v1/traces") != 0 || ct == NULL ||
	    strcmp(ct, "application/json") != 0 || doc == NULL)
		rx->bad++;
	if (doc != NULL)
		json_array_append_new(rx->bodies, doc);
	pthread_mutex_unlock(&rx->mu);
	resp = MHD_create_response_from_buffer(2, (void *)"{}", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void rx_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (u != NULL) {
		free(u->data);
		free(u);
	}
	*con_cls = NULL;
}

static void rx_start(struct receiver *rx)
{
	memset(rx, 0, sizeof(*rx));
	pthread_mutex_init(&rx->mu, NULL);
	rx->bodies = json_array();
	rx->port = ts_free_port();
	rx->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				 (uint16_t)rx->port, NULL, NULL, rx_handler, rx,
				 MHD_OPTION_NOTIFY_COMPLETED, rx_done, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(rx->d);
}

static void rx_stop(struct receiver *rx)
{
	MHD_stop_daemon(rx->d);
	json_decref(rx->bodies);
	pthread_mutex_destroy(&rx->mu);
}

static const json_t *attr_value(const json_t *attrs, const char *key)
{
	size_t i;
	json_t *a;

	json_array_foreach(attrs, i, a)
		if (ts_str(a, "key") != NULL && strcmp(ts_str(a, "key"), key) == 0)
			return json_object_get(a, "value");
	return NULL;
}

/* The first exported span (a new reference) of service svc with this trace id and span name,
 * after checking the envelope of every body; waits up to 5 s. */
static json_t *rx_span(struct receiver *rx, const char *svc, const char *trace_id,
		       const char *name)
{
	long long until = t_now_ms() + 5000;

	for (;;) {
		json_t *found = NULL;
		size_t i, j, k;
		json_t *body, *rs, *sp;

		pthread_mutex_lock(&rx->mu);
		ck_assert_int_eq(rx->bad, 0);
		json_array_foreach(rx->bodies, i, body) {
			json_array_foreach(json_object_get(body, "resourceSpans"), j, rs) {
				const json_t *res_attrs = json_object_get(
					json_object_get(rs, "resource"), "attributes");
				const json_t *sn = attr_value(res_attrs, "service.name");
				json_t *ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);

				ck_assert_ptr_nonnull(sn);
				ck_assert_ptr_nonnull(ss);
				ck_assert(json_is_array(json_object_get(ss, "spans")));
				if (strcmp(ts_str(sn, "stringValue"), svc) != 0)
					continue;
				json_array_foreach(json_object_get(ss, "spans"), k, sp) {
					if (found == NULL &&
					    strcmp(ts_str(sp, "traceId"), trace_id) == 0 &&
					    strcmp(ts_str(sp, "name"), name) == 0)
						found = json_incref(sp);
				}
			}
		}
		pthread_mutex_unlock(&rx->mu);
		if (found != NULL || t_now_ms() > until)
			return found;
		t_sleep_ms(50);
	}
}

static void assert_server_span(const json_t *sp, const char *method, const char *route,
			       const char *status)
{
	const json_t *attrs = json_object_get(sp, "attributes");

	ck_assert(is_hex(ts_str(sp, "spanId"), 16));
	ck_assert_int_eq(json_integer_value(json_object_get(sp, "kind")), 2);
	ck_assert_ptr_nonnull(ts_str(sp, "startTimeUnixNano"));
	ck_assert_ptr_nonnull(ts_str(sp, "endTimeUnixNano"));
	ck_assert(strtoll(ts_str(sp, "startTimeUnixNano"), NULL, 10) > 1600000000000000000LL);
	ck_assert(strtoll(ts_str(sp, "endTimeUnixNano"), NULL, 10) >=
		  strtoll(ts_str(sp, "startTimeUnixNano"), NULL, 10));
	ck_assert_str_eq(ts_str(attr_value(attrs, "http.method"), "stringValue"), method);
	ck_assert_str_eq(ts_str(attr_value(attrs, "http.route"), "stringValue"), route);
	ck_assert_str_eq(ts_str(attr_value(attrs, "http.status_code"), "intValue"), status);
}

START_TEST(test_spans_are_exported_as_otlp_json_with_parents_across_services)
{
	struct receiver rx;
	struct ts_proc cat, ord;
	char ep[96], curl[160];
	const char *cenv[] = { ep, "OTEL_BSP_SCHEDULE_DELAY=100", NULL };
	const char *oenv[] = { ep, "OTEL_BSP_SCHEDULE_DELAY=100", curl, NULL };
	const char *given[] = { TP_HEADER, NULL };
	json_t *os, *cs;
	long long book;

	rx_start(&rx);
	(void)snprintf(ep, sizeof ep, "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d/", rx.port);
	start(&cat, "CATALOG_BIN", cenv);
	(void)snprintf(curl, sizeof curl, "CATALOG_SERVICE_URL=%s", cat.url);
	start(&ord, "ORDER_BIN", oenv);
	book = t_create_book(cat.url, "3.00", 4);
	ck_assert_int_eq(post_order(ord.url, book, given), 201);

	os = rx_span(&rx, "order-service", TP_TRACE, "POST /orders");
	ck_assert_ptr_nonnull(os);
	assert_server_span(os, "POST", "/orders", "201");
	ck_assert_str_eq(ts_str(os, "parentSpanId"), TP_PARENT);
	cs = rx_span(&rx, "catalog-service", TP_TRACE, "POST /reservations");
	ck_assert_ptr_nonnull(cs);
	assert_server_span(cs, "POST", "/reservations", "201");
	/* The catalog's span is a child of the order service's. */
	ck_assert_str_eq(ts_str(cs, "parentSpanId"), ts_str(os, "spanId"));
	json_decref(os);
	json_decref(cs);
	stop(&ord);
	stop(&cat);
	rx_stop(&rx);
}
END_TEST

START_TEST(test_a_full_export_queue_drops_and_counts_without_slowing_requests)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof a;
	struct ts_proc cat;
	struct ts_resp r = { 0 };
	char ep[96];
	const char *cenv[] = { ep, "OTEL_BSP_MAX_QUEUE_SIZE=2", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=1",
			       "OTEL_BSP_SCHEDULE_DELAY=20", "OTEL_EXPORTER_OTLP_TIMEOUT=2000",
			       NULL };
	int hole = socket(AF_INET, SOCK_STREAM, 0);
	long long t0, slowest = 0;
	const char *p;

	/* A collector that accepts connections (the kernel does) and never answers. */
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(hole, (struct sockaddr *)&a, sizeof a), 0);
	ck_assert_int_eq(listen(hole, 64), 0);
	ck_assert_int_eq(getsockname(hole, (struct sockaddr *)&a, &alen), 0);
	(void)snprintf(ep, sizeof ep, "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d",
		       ntohs(a.sin_port));
	start(&cat, "CATALOG_BIN", cenv);
	for (int i = 0; i < 30; i++) {
		t0 = t_now_ms();
		ck_assert_int_eq(ts_req(&r, "GET", cat.url, NULL, "/books/1"), 0);
		ck_assert(r.status == 200 || r.status == 404);
		ts_resp_free(&r);
		if (t_now_ms() - t0 > slowest)
			slowest = t_now_ms() - t0;
	}
	/* The exporter is stuck in a 2 s POST: requests never wait for it. */
	ck_assert_msg(slowest < 1000, "a request took %lld ms", slowest);
	ck_assert_int_eq(ts_req(&r, "GET", cat.admin_url, NULL, "/metrics"), 0);
	p = strstr(r.body, "\notel_spans_dropped_total ");
	ck_assert_ptr_nonnull(p);
	ck_assert_msg(atoll(p + strlen("\notel_spans_dropped_total ")) >= 20, "%.60s", p);
	ts_resp_free(&r);
	t0 = t_now_ms();
	stop(&cat); /* the last flush gives up on the dead collector within its timeout */
	ck_assert_msg(t_now_ms() - t0 < 8000, "shutdown took %lld ms", t_now_ms() - t0);
	close(hole);
}
END_TEST

static Suite *observability_suite(void)
{
	Suite *s = suite_create("observability");
	TCase *tc = tcase_create("daemons");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_scrapes_of_both_services_pass_promtool_and_carry_the_series);
	tcase_add_test(tc, test_one_orders_trace_id_is_in_both_services_logs);
	tcase_add_test(tc, test_a_recovery_pass_is_one_trace_across_both_logs);
	tcase_add_test(tc, test_malformed_traceparent_starts_a_new_trace);
	tcase_add_test(tc, test_access_line_fields_levels_and_forwarded_client);
	tcase_add_test(tc, test_spans_are_exported_as_otlp_json_with_parents_across_services);
	tcase_add_test(tc, test_a_full_export_queue_drops_and_counts_without_slowing_requests);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(observability_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
