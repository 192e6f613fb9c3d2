/* test_http_hygiene.c - the connection-level HTTP server (common/src/http.c) against a real
 * catalog-service on loopback, driven with raw sockets where the bytes matter: the admin
 * listener stays fast while every API worker is blocked, slowloris connections are closed at
 * the request deadline, the per-address limit, one well-formed answer per malformed request,
 * answers decided before the body reach a client that writes its whole body first, and
 * BASE_PATH. */
#include "test_catalog_common.h"

#include "common/http.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

/* How often each whole-body-first upload is tried per size and per operation that takes a body
 * (issue 15: 100 of 100 at 1.1 MB and at 16 MB). */
#define HYGIENE_413_TRIES 100
/* The upload sizes: just over MAX_BODY_BYTES (1 MiB) and 16 x 1 MB (just under the drain
 * bound of 16 x MAX_BODY_BYTES). */
#define HYGIENE_413_SMALL 1100000
#define HYGIENE_413_BIG 16000000
#define HYGIENE_SLOWLORIS_CONNECTIONS 500
#define HYGIENE_READ_TIMEOUT_MS 5000

/* ---- raw sockets ------------------------------------------------------------------------- */

/* A TCP connection to 127.0.0.1:port from source address src (NULL = any). -1 when refused. */
static int raw_connect(const char *src, int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
	if (src != NULL) {
		memset(&a, 0, sizeof(a));
		a.sin_family = AF_INET;
		inet_pton(AF_INET, src, &a.sin_addr);
		ck_assert_msg(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind %s: %s", src,
			      strerror(errno));
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes all of buf; returns 0, or -1 when the peer closed (reset) first. */
static int raw_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the peer closes, the buffer is full or timeout_ms pass without data; returns the
 * byte count (NUL-terminated in buf). */
static size_t raw_read(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			break;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* Reads one response whose body is its Content-Length (keep-alive safe). Returns the bytes
 * read or 0. */
static size_t raw_read_one(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t len = 0;

	while (len + 1 < cap) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		const char *end;
		ssize_t n;

		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end != NULL) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t want = (size_t)(end + 4 - buf) + (cl != NULL ? strtoul(cl + 17, NULL, 10) : 0);

			if (len >= want)
				return len;
		}
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return 0;
		n = recv(fd, buf + len, cap - 1 - len, 0);
		if (n <= 0)
			return 0;
		len += (size_t)n;
	}
	return 0;
}

/* The number of status lines ("HTTP/1.x NNN") in a reply: every one starts a line. */
static int status_lines(const char *reply)
{
	int n = 0;
	const char *p = reply;

	while ((p = strstr(p, "HTTP/1.")) != NULL) {
		if (p == reply || p[-1] == '\n')
			n++;
		p += 7;
	}
	return n;
}

static int status_of(const char *reply)
{
	return strncmp(reply, "HTTP/1.", 7) == 0 ? atoi(reply + 9) : 0;
}

/* Asserts reply is exactly one well-formed answer with status want and a JSON {"detail"}
 * body of exactly Content-Length bytes. */
static void assert_one_answer(const char *what, const char *reply, int want)
{
	const char *end = strstr(reply, "\r\n\r\n");
	const char *cl = strcasestr(reply, "\r\nContent-Length:");
	json_error_t err;
	json_t *body;

	ck_assert_msg(status_lines(reply) == 1, "%s: %d status lines in %s", what,
		      status_lines(reply), reply);
	ck_assert_msg(status_of(reply) == want, "%s: want %d, got %s", what, want, reply);
	ck_assert_msg(end != NULL && cl != NULL, "%s: malformed reply %s", what, reply);
	ck_assert_msg(strlen(end + 4) == strtoul(cl + 17, NULL, 10),
		      "%s: body length differs from Content-Length: %s", what, reply);
	body = json_loads(end + 4, 0, &err);
	ck_assert_msg(body != NULL && json_is_string(json_object_get(body, "detail")),
		      "%s: body is not {\"detail\": ...}: %s", what, end + 4);
	json_decref(body);
}

/* One request on a fresh connection; returns the whole reply (malloc'd). */
static char *raw_exchange(int port, const char *request, size_t cap)
{
	char *buf = malloc(cap);
	int fd = raw_connect(NULL, port);

	ck_assert(buf != NULL);
	ck_assert_msg(fd >= 0, "connect to %d refused", port);
	raw_send(fd, request, strlen(request));
	raw_read(fd, buf, cap, HYGIENE_READ_TIMEOUT_MS);
	close(fd);
	return buf;
}

static long vm_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	ck_assert(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Milliseconds for one GET /health on a fresh connection to port (-1 on failure). */
static long long timed_health(int port)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
	char buf[1024];
	long long t0 = c_now_ms();
	int fd = raw_connect(NULL, port);

	if (fd < 0)
		return -1;
	raw_send(fd, req, sizeof(req) - 1);
	raw_read(fd, buf, sizeof(buf), 15000);
	close(fd);
	if (status_of(buf) != 200)
		return -1;
	return c_now_ms() - t0;
}

/* ---- admin listener ---------------------------------------------------------------------- */

struct blocked_get {
	pthread_t th;
	long status;
};

static void *blocked_get_main(void *arg)
{
	struct blocked_get *b = arg;
	struct ts_resp r;

	ts_req(&r, "GET", c_svc.url, NULL, "/books?limit=1");
	b->status = r.status;
	ts_resp_free(&r);
	return NULL;
}

START_TEST(test_admin_health_stays_fast_while_every_api_worker_is_blocked)
{
	const char *env[] = { "HTTP_THREADS=2", "DB_POOL_SIZE=4", "DB_STATEMENT_TIMEOUT_MS=30000",
			      "DB_POOL_WAIT_MS=30000", "HTTP_REQUEST_TIMEOUT_S=60", NULL };
	struct blocked_get g[16];
	size_t nget;
	long long ms[60];
	size_t api_bytes;
	PGconn *lock;
	PGresult *res;
	size_t i;

	ts_stop(&c_svc, SIGTERM, 5000);
	c_start(&c_svc, c_db, env);
	ck_assert_int_gt(c_svc.admin_port, 0);
	/* Hold the books table: every API request that reads it blocks in PostgreSQL. */
	lock = PQconnectdb(c_db);
	ck_assert(PQstatus(lock) == CONNECTION_OK);
	res = PQexec(lock, "BEGIN; LOCK TABLE books IN ACCESS EXCLUSIVE MODE");
	ck_assert(PQresultStatus(res) == PGRES_COMMAND_OK);
	PQclear(res);
	/* Connections are spread over the workers by whichever accepts first, so add blocked GETs
	 * one at a time until every worker (2) is stuck behind the lock, at most ~5 s. */
	for (i = 0, nget = 0; i < 50; i++) {
		long waiting;

		if (i % 3 == 0 && nget < sizeof(g) / sizeof(g[0])) {
			pthread_create(&g[nget].th, NULL, blocked_get_main, &g[nget]);
			nget++;
		}
		c_sleep_ms(100);
		res = PQexec(lock, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
				   "'Lock' AND datname = current_database()");
		ck_assert(PQresultStatus(res) == PGRES_TUPLES_OK);
		waiting = strtol(PQgetvalue(res, 0, 0), NULL, 10);
		PQclear(res);
		if (waiting >= 2)
			break;
	}
	c_sleep_ms(200);
	for (i = 0; i < 60; i++) {
		ms[i] = timed_health(c_svc.admin_port);
		ck_assert_msg(ms[i] >= 0, "admin /health failed");
	}
	qsort(ms, 60, sizeof(ms[0]), cmp_ll);
	fprintf(stderr, "admin /health with the API blocked (%zu GETs): p50 %lld ms, p99 %lld ms\n",
		nget, ms[30], ms[59]);
	/* The 10 ms p99 goal is a percentile: printed above (and measured quiet by the bench),
	 * not asserted (DECISIONS: tests assert bounds with slack). The bound asserted: all but
	 * the slowest of 60 probes answer within 100 ms while the API port (below) gives nothing
	 * in 500 ms — the listeners are independent even on a loaded machine. */
	ck_assert_msg(ms[58] <= 100, "admin /health p99 %lld ms > 100 ms", ms[58]);
	/* The same probe on the API port waits for a worker: proves the workers were blocked. */
	{
		static const char req[] = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
		char buf[1024];
		int fd = raw_connect(NULL, c_svc.port);

		ck_assert(fd >= 0);
		raw_send(fd, req, sizeof(req) - 1);
		api_bytes = raw_read(fd, buf, sizeof(buf), 500);
		close(fd);
	}
	res = PQexec(lock, "ROLLBACK");
	PQclear(res);
	PQfinish(lock);
	for (i = 0; i < nget; i++) {
		pthread_join(g[i].th, NULL);
		ck_assert_msg(g[i].status == 200, "blocked GET ended with %ld", g[i].status);
	}
	ck_assert_msg(api_bytes == 0, "API /health answered within 500 ms: workers not blocked");
	{
		struct ts_resp r;

		ts_req(&r, "GET", c_svc.admin_url, NULL, "/metrics");
		ck_assert_int_eq(r.status, 200);
		ck_assert(strstr(r.body, "http_requests_total") != NULL);
		ts_resp_free(&r);
		ts_req(&r, "GET", c_svc.admin_url, NULL, "/ready");
		ck_assert_int_eq(r.status, 200);
		ts_resp_free(&r);
		ts_req(&r, "GET", c_svc.admin_url, NULL, "/books");
		ck_assert_int_eq(r.status, 404); /* the API is not on the admin listener */
		ts_resp_free(&r);
	}
}
END_TEST

START_TEST(test_host_limits_the_listen_address)
{
	/* ts_spawn sets HOST=127.0.0.1: the same port on 127.0.0.2 is not served. */
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)c_svc.port);
	inet_pton(AF_INET, "127.0.0.2", &a.sin_addr);
	ck_assert_int_ne(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	ck_assert_int_ge(timed_health(c_svc.port), 0);
}
END_TEST

/* ---- slowloris and limits ---------------------------------------------------------------- */

START_TEST(test_slowloris_connections_are_closed_at_the_deadline)
{
	const char *env[] = { "HTTP_REQUEST_TIMEOUT_S=3", "HTTP_MAX_CONNECTIONS_PER_IP=0",
			      "HTTP_MAX_CONNECTIONS=2048", NULL };
	static int fds[HYGIENE_SLOWLORIS_CONNECTIONS];
	long long t0, quiet[20], busy[40];
	int i, nbusy = 0, open_at_2s = 0, closed = 0;

	ts_stop(&c_svc, SIGTERM, 5000);
	c_start(&c_svc, c_db, env);
	for (i = 0; i < 20; i++) {
		quiet[i] = timed_health(c_svc.port);
		ck_assert(quiet[i] >= 0);
	}
	t0 = c_now_ms();
	for (i = 0; i < HYGIENE_SLOWLORIS_CONNECTIONS; i++) {
		fds[i] = raw_connect(NULL, c_svc.port);
		ck_assert_msg(fds[i] >= 0, "connection %d refused", i);
		raw_send(fds[i], "GET /health HTTP/1.1\r\n", 22);
	}
	/* Trickle a header byte on each every 250 ms; normal requests meanwhile. */
	for (i = 0; c_now_ms() - t0 < 2 * 3000 + 250; i++) {
		for (int k = 0; k < HYGIENE_SLOWLORIS_CONNECTIONS; k++)
			if (fds[k] >= 0 && raw_send(fds[k], "X", 1) != 0) {
				close(fds[k]);
				fds[k] = -1;
			}
		if (nbusy < 40) {
			busy[nbusy] = timed_health(c_svc.port);
			ck_assert_msg(busy[nbusy] >= 0 && busy[nbusy] < 1000,
				      "a normal request took %lld ms under slowloris", busy[nbusy]);
			nbusy++;
		}
		if (open_at_2s == 0 && c_now_ms() - t0 >= 2000)
			for (int k = 0; k < HYGIENE_SLOWLORIS_CONNECTIONS; k++)
				open_at_2s += fds[k] >= 0;
		c_sleep_ms(250);
	}
	for (i = 0; i < HYGIENE_SLOWLORIS_CONNECTIONS; i++) {
		char buf[256];

		if (fds[i] < 0) {
			closed++;
			continue;
		}
		/* The server shut the socket down: end of stream (or reset), no answer. */
		if (raw_read(fds[i], buf, sizeof(buf), 100) == 0 &&
		    raw_send(fds[i], "X", 1) != 0)
			closed++;
		close(fds[i]);
	}
	qsort(quiet, 20, sizeof(quiet[0]), cmp_ll);
	ck_assert_int_gt(nbusy, 10);
	qsort(busy, (size_t)nbusy, sizeof(busy[0]), cmp_ll);
	fprintf(stderr, "slowloris: %d of %d open at 2 s, %d closed by 6.25 s; /health p99 quiet "
			"%lld ms, under slowloris %lld ms\n",
		open_at_2s, HYGIENE_SLOWLORIS_CONNECTIONS, closed, quiet[19], busy[nbusy - 1]);
	ck_assert_msg(open_at_2s == HYGIENE_SLOWLORIS_CONNECTIONS,
		      "only %d trickling connections still open before the deadline", open_at_2s);
	ck_assert_int_eq(closed, HYGIENE_SLOWLORIS_CONNECTIONS);
}
END_TEST

START_TEST(test_per_address_limit_refuses_the_201st_connection)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
	int fds[200];
	char buf[2048];
	int i, fd;

	/* The default limit, 200: each connection does one request and stays open. */
	for (i = 0; i < 200; i++) {
		fds[i] = raw_connect(NULL, c_svc.port);
		ck_assert_msg(fds[i] >= 0, "connection %d refused", i);
		raw_send(fds[i], req, sizeof(req) - 1);
		ck_assert_msg(raw_read_one(fds[i], buf, sizeof(buf), 5000) > 0 &&
				      status_of(buf) == 200,
			      "connection %d: %s", i, buf);
	}
	fd = raw_connect(NULL, c_svc.port);
	ck_assert(fd >= 0); /* the kernel completes the handshake ... */
	raw_send(fd, req, sizeof(req) - 1);
	ck_assert_msg(raw_read(fd, buf, sizeof(buf), 3000) == 0,
		      "the 201st connection was answered: %s", buf); /* ... the server drops it */
	close(fd);
	/* Another address is served meanwhile. */
	fd = raw_connect("127.0.0.2", c_svc.port);
	ck_assert(fd >= 0);
	raw_send(fd, req, sizeof(req) - 1);
	ck_assert(raw_read_one(fd, buf, sizeof(buf), 5000) > 0);
	ck_assert_int_eq(status_of(buf), 200);
	close(fd);
	/* A freed slot is usable again. */
	close(fds[0]);
	c_sleep_ms(300);
	fd = raw_connect(NULL, c_svc.port);
	raw_send(fd, req, sizeof(req) - 1);
	ck_assert(raw_read_one(fd, buf, sizeof(buf), 5000) > 0);
	ck_assert_int_eq(status_of(buf), 200);
	close(fd);
	for (i = 1; i < 200; i++)
		close(fds[i]);
}
END_TEST

/* ---- framing ----------------------------------------------------------------------------- */

START_TEST(test_each_malformed_request_gets_one_well_formed_400)
{
	static const char *const cases[][2] = {
		{ "two Content-Length values",
		  "POST /books HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n"
		  "Content-Type: application/json\r\n\r\n{}" },
		{ "second Content-Length not a number",
		  "POST /books HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: x\r\n\r\n{}" },
		{ "Transfer-Encoding gzip",
		  "POST /books HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n" },
		{ "Transfer-Encoding gzip, chunked",
		  "POST /books HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
		  "2\r\n{}\r\n0\r\n\r\n" },
		{ "two Transfer-Encoding headers",
		  "POST /books HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
		  "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" },
		{ "Transfer-Encoding and Content-Length",
		  "POST /books HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
		  "Content-Length: 11\r\n\r\n2\r\n{}\r\n0\r\n\r\n" },
		{ "HTTP/1.1 without Host", "GET /books HTTP/1.1\r\n\r\n" },
		{ "HTTP/1.1 without Host, with a body",
		  "POST /books HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *reply = raw_exchange(c_svc.port, cases[i][1], 8192);

		assert_one_answer(cases[i][0], reply, 400);
		ck_assert_msg(strcasestr(reply, "\r\nConnection: close") != NULL,
			      "%s: connection not closed: %s", cases[i][0], reply);
		free(reply);
	}
	/* HTTP/1.0 needs no Host. */
	{
		char *reply = raw_exchange(c_svc.port, "GET /health HTTP/1.0\r\n\r\n", 8192);

		ck_assert_int_eq(status_of(reply), 200);
		free(reply);
	}
	ck_assert_int_ge(timed_health(c_svc.port), 0);
}
END_TEST

/* ---- answers before the body ------------------------------------------------------------- */

/* Sends headers and the whole body of size bytes (framed by Content-Length or chunked), then
 * reads the reply. Returns it (malloc'd). */
/* The caller a write needs (auth is on): the internal token for reservations, else an admin. */
static const char *upload_token(const char *path)
{
	return strstr(path, "/reservations") != NULL ? ts_internal_token() : ts_admin_token();
}

static char *upload_whole_body_first(int port, const char *method, const char *path, size_t size,
				     int chunked)
{
	static char block[65536];
	char head[4096];
	char *reply = malloc(8192);
	size_t sent = 0;
	int fd = raw_connect(NULL, port);
	int ok = 1;

	ck_assert(reply != NULL && fd >= 0);
	memset(block, 'x', sizeof(block));
	if (chunked)
		snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			 "Authorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n",
			 method, path, upload_token(path));
	else
		snprintf(head, sizeof(head),
			 "%s %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
			 "Authorization: Bearer %s\r\nContent-Length: %zu\r\n\r\n",
			 method, path, upload_token(path), size);
	ok = raw_send(fd, head, strlen(head)) == 0;
	while (ok && sent < size) {
		size_t n = size - sent < sizeof(block) ? size - sent : sizeof(block);
		char ch[32];

		if (chunked) {
			snprintf(ch, sizeof(ch), "%zx\r\n", n);
			ok = raw_send(fd, ch, strlen(ch)) == 0;
		}
		ok = ok && raw_send(fd, block, n) == 0;
		if (chunked)
			ok = ok && raw_send(fd, "\r\n", 2) == 0;
		sent += n;
	}
	if (ok && chunked)
		ok = raw_send(fd, "0\r\n\r\n", 5) == 0;
	ck_assert_msg(ok, "%s %s: the server reset the connection during a %zu-byte upload",
		      method, path, size);
	raw_read_one(fd, reply, 8192, HYGIENE_READ_TIMEOUT_MS);
	close(fd);
	return reply;
}

/* An order-service on the test's database, talking to the catalog under test. */
static void start_order_service(struct ts_proc *p)
{
	char dburl[512], cat[128];
	const char *env[] = { dburl, cat, "LOG_LEVEL=info", "HTTP_THREADS=4", "DB_POOL_SIZE=2",
			      NULL };
	char *role_url = ts_db_url_as(c_db, TS_ROLE_ORDERS); /* as deployed */

	snprintf(dburl, sizeof(dburl), "DATABASE_URL=%s", role_url);
	free(role_url);
	snprintf(cat, sizeof(cat), "CATALOG_SERVICE_URL=%s", c_svc.url);
	ck_assert_msg(ts_spawn(p, c_env("ORDER_BIN"), env) == 0, "order-service did not start, see %s",
		      p->log_path);
}

/* One operation that takes a body, on the daemon at port. */
struct body_op {
	int port;
	char method[8];
	char path[128];
};

/* Appends to ops every operation of the document served at url/openapi.json that has a
 * requestBody, path parameters filled with 1 (the 413 comes before any lookup). Returns the new
 * count. The list follows the documents, so a new body-taking operation is covered without a
 * change here. */
static size_t body_ops_from_document(const char *url, int port, struct body_op *ops, size_t n,
				     size_t cap)
{
	struct ts_resp r;
	const json_t *paths;
	const char *path;
	json_t *item;

	ck_assert(ts_req(&r, "GET", url, NULL, "/openapi.json") == 0);
	ck_assert_msg(r.status == 200 && r.json != NULL, "%s/openapi.json: %ld", url, r.status);
	paths = json_object_get(r.json, "paths");
	json_object_foreach((json_t *)paths, path, item) {
		static const char *const methods[] = { "post", "put", "patch", "delete" };

		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			const json_t *op = json_object_get(item, methods[m]);
			size_t j = 0;

			if (op == NULL || json_object_get(op, "requestBody") == NULL)
				continue;
			ck_assert(n < cap);
			memset(&ops[n], 0, sizeof(ops[n]));
			ops[n].port = port;
			for (size_t k = 0; methods[m][k] != '\0'; k++)
				ops[n].method[k] = (char)(methods[m][k] - 'a' + 'A');
			for (const char *p = path; *p != '\0' && j + 2 < sizeof(ops[n].path); p++) {
				if (*p == '{') {
					ops[n].path[j++] = '1';
					while (*p != '\0' && *p != '}')
						p++;
					if (*p == '\0')
						break;
				} else {
					ops[n].path[j++] = *p;
				}
			}
			ops[n].path[j] = '\0';
			n++;
		}
	}
	ts_resp_free(&r);
	return n;
}

static int body_ops_have(const struct body_op *ops, size_t n, int port, const char *method,
			 const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (ops[i].port == port && strcmp(ops[i].method, method) == 0 &&
		    strcmp(ops[i].path, path) == 0)
			return 1;
	return 0;
}

START_TEST(test_whole_body_first_client_gets_the_413)
{
	/* Always covered, even while a document moves (the reservations API goes to an internal
	 * document on the admin listener): the operations issue 15 names. */
	static const char *const floor_ops[][3] = { { "c", "POST", "/books" },
						    { "c", "PUT", "/books/1" },
						    { "c", "PATCH", "/books/1" },
						    { "c", "POST", "/reservations" },
						    { "o", "POST", "/orders" },
						    { "o", "PATCH", "/orders/1/status" } };
	const size_t sizes[] = { HYGIENE_413_SMALL, HYGIENE_413_BIG };
	struct body_op ops[64];
	struct ts_proc order = { 0 };
	long rss_before[2], rss_after_small[2] = { 0, 0 }, rss_after_big[2];
	size_t s, o, nops = 0;
	int t;

	start_order_service(&order);
	nops = body_ops_from_document(c_svc.url, c_svc.port, ops, nops, 64);
	nops = body_ops_from_document(order.url, order.port, ops, nops, 64);
	for (o = 0; o < sizeof(floor_ops) / sizeof(floor_ops[0]); o++) {
		int port = floor_ops[o][0][0] == 'c' ? c_svc.port : order.port;

		if (body_ops_have(ops, nops, port, floor_ops[o][1], floor_ops[o][2]))
			continue;
		ck_assert(nops < 64);
		ops[nops].port = port;
		snprintf(ops[nops].method, sizeof(ops[nops].method), "%s", floor_ops[o][1]);
		snprintf(ops[nops].path, sizeof(ops[nops].path), "%s", floor_ops[o][2]);
		nops++;
	}
	ck_assert_uint_ge(nops, 6);
	rss_before[0] = vm_rss_kb(c_svc.pid);
	rss_before[1] = vm_rss_kb(order.pid);
	for (s = 0; s < 2; s++) {
		for (o = 0; o < nops; o++) {
			for (t = 0; t < HYGIENE_413_TRIES; t++) {
				char *reply = upload_whole_body_first(ops[o].port, ops[o].method,
								      ops[o].path, sizes[s], 0);
				char what[192];

				snprintf(what, sizeof(what), "%s %s (port %d) with %zu bytes, try %d",
					 ops[o].method, ops[o].path, ops[o].port, sizes[s], t + 1);
				assert_one_answer(what, reply, 413);
				free(reply);
			}
		}
		if (s == 0) {
			rss_after_small[0] = vm_rss_kb(c_svc.pid);
			rss_after_small[1] = vm_rss_kb(order.pid);
		}
	}
	rss_after_big[0] = vm_rss_kb(c_svc.pid);
	rss_after_big[1] = vm_rss_kb(order.pid);
	fprintf(stderr,
		"413 to a whole-body-first client: %zu operations x %d tries x 2 sizes; RSS kB "
		"catalog %ld/%ld/%ld, orders %ld/%ld/%ld (before, after 1.1 MB, after 16 MB)\n",
		nops, HYGIENE_413_TRIES, rss_before[0], rss_after_small[0], rss_after_big[0],
		rss_before[1], rss_after_small[1], rss_after_big[1]);
	/* The excess is discarded, not buffered: 16 MB bodies cost no more than 1.1 MB ones. */
	for (s = 0; s < 2; s++)
		ck_assert_msg(rss_after_big[s] - rss_after_small[s] < 4096, "%s RSS grew by %ld kB",
			      s == 0 ? "catalog" : "order", rss_after_big[s] - rss_after_small[s]);
	ts_stop(&order, SIGTERM, 5000);
	/* Past the bound (16 x MAX_BODY_BYTES declared) the answer comes at once. */
	{
		char *reply = raw_exchange(c_svc.port,
					   "POST /books HTTP/1.1\r\nHost: t\r\n"
					   "Content-Length: 999999999\r\n\r\n",
					   8192);

		assert_one_answer("declared beyond the drain bound", reply, 413);
		free(reply);
	}
}
END_TEST

START_TEST(test_drained_413_keeps_the_connection_usable)
{
	static const char req[] = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
	static char body[1100000];
	char head[256], buf[4096];
	int fd = raw_connect(NULL, c_svc.port);

	memset(body, 'x', sizeof(body));
	snprintf(head, sizeof(head), "POST /books HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
		 sizeof(body));
	ck_assert(raw_send(fd, head, strlen(head)) == 0 && raw_send(fd, body, sizeof(body)) == 0);
	ck_assert(raw_read_one(fd, buf, sizeof(buf), 5000) > 0);
	ck_assert_int_eq(status_of(buf), 413);
	raw_send(fd, req, sizeof(req) - 1);
	ck_assert(raw_read_one(fd, buf, sizeof(buf), 5000) > 0);
	ck_assert_int_eq(status_of(buf), 200);
	close(fd);
}
END_TEST

START_TEST(test_expect_100_continue_gets_the_413_at_once)
{
	static const char over[] = "POST /books HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n"
				   "Content-Type: application/json\r\nExpect: 100-continue\r\n\r\n";
	char under[4096];
	char buf[4096];
	long long t0 = c_now_ms();
	char *reply = raw_exchange(c_svc.port, over, 8192);
	int fd;

	snprintf(under, sizeof(under),
		 "POST /books HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nAuthorization: Bearer "
		 "%s\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n\r\n",
		 ts_admin_token());
	ck_assert_msg(c_now_ms() - t0 < 1000, "the 413 took %lld ms", c_now_ms() - t0);
	ck_assert_msg(strstr(reply, "100 Continue") == NULL, "sent 100 Continue: %s", reply);
	assert_one_answer("Expect over the limit", reply, 413);
	free(reply);
	/* Under the limit the client is told to continue, and its body is handled. */
	fd = raw_connect(NULL, c_svc.port);
	raw_send(fd, under, strlen(under));
	ck_assert(raw_read(fd, buf, sizeof(buf), 300) > 0);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 100 Continue", 21) == 0, "got %s", buf);
	raw_send(fd, "{}", 2);
	ck_assert(raw_read_one(fd, buf, sizeof(buf), 5000) > 0);
	ck_assert_int_eq(status_of(buf), 422);
	close(fd);
}
END_TEST

START_TEST(test_chunked_upload_over_the_limit_gets_the_413)
{
	int t;

	for (t = 0; t < 5; t++) {
		char *reply = upload_whole_body_first(c_svc.port, "POST", "/books", 2 * 1048576 + 7, 1);

		assert_one_answer("chunked 2 MB", reply, 413);
		free(reply);
	}
}
END_TEST

/* ---- BASE_PATH --------------------------------------------------------------------------- */

START_TEST(test_base_path_serves_public_routes_under_the_prefix_only)
{
	const char *env[] = { "BASE_PATH=/catalog", NULL };
	const char *xfp[] = { "X-Forwarded-Prefix: /elsewhere", NULL };
	struct ts_resp r;
	char *loc;
	char url[256];

	ts_stop(&c_svc, SIGTERM, 5000);
	c_start(&c_svc, c_db, env);
	c_req(&r, "GET", NULL, "/catalog/books?limit=2");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	snprintf(url, sizeof(url), "%s/catalog/books", c_svc.url);
	ck_assert(ts_http(&r, "POST", url,
			  "{\"title\":\"Prefix\",\"author\":\"A\",\"price\":\"1.00\",\"quantity\":1}",
			  xfp) == 0);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	loc = ts_header(&r, "Location");
	ck_assert(loc != NULL);
	ck_assert_msg(strncmp(loc, "/catalog/books/", 15) == 0, "Location %s", loc);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "%s", loc); /* the Location works as given */
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	free(loc);
	c_req(&r, "GET", NULL, "/catalog/openapi.json");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	/* Public routes are not served without the prefix ... */
	c_req(&r, "GET", NULL, "/books");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/1");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/openapi.json");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	/* ... and internal ones never with it. */
	c_req(&r, "POST", "{}", "/catalog/reservations");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/catalog/reservations/1");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/catalog/health");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/catalog/metrics");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/catalogue/books");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "POST", "{}", "/reservations");
	ck_assert_int_eq(r.status, 422); /* served, and validated */
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/health");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
}
END_TEST

/* FastAPI redirects a trailing slash (307, query kept); the Location carries the base path. */
START_TEST(test_trailing_slash_redirects_with_the_prefix)
{
	const char *env[] = { "BASE_PATH=/catalog", NULL };
	const char *xfp[] = { "X-Forwarded-Prefix: /shop", NULL };
	struct ts_resp r;
	char *loc;
	char url[256];

	ts_stop(&c_svc, SIGTERM, 5000);
	c_start(&c_svc, c_db, env);
	c_req(&r, "GET", NULL, "/catalog/books/?limit=2&search=a%%20b");
	ck_assert_int_eq(r.status, 307);
	loc = ts_header(&r, "Location");
	ck_assert_ptr_nonnull(loc);
	ck_assert_str_eq(loc, "/catalog/books?limit=2&search=a%20b");
	free(loc);
	ts_resp_free(&r);
	/* Never a redirect to a route that is not served there. */
	c_req(&r, "GET", NULL, "/catalog/reservations/x/");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/catalog/nothing/");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	/* A decoded control character or space never reaches a Location. */
	c_req(&r, "GET", NULL, "/catalog/books/1%%0Ax/");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/catalog/books/1%%20x/");
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	/* Without a base path, a prefix-stripping proxy names its prefix. */
	ts_stop(&c_svc, SIGTERM, 5000);
	c_start(&c_svc, c_db, NULL);
	snprintf(url, sizeof(url), "%s/books/", c_svc.url);
	ck_assert(ts_http(&r, "GET", url, NULL, xfp) == 0);
	ck_assert_int_eq(r.status, 307);
	loc = ts_header(&r, "Location");
	ck_assert_ptr_nonnull(loc);
	ck_assert_str_eq(loc, "/shop/books");
	free(loc);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_bad_base_path_or_host_exits_2)
{
	static const char *const bad[] = { "BASE_PATH=/catalog/", "BASE_PATH=catalog",
					   "BASE_PATH=/a//b", "HOST=localhost", "ADMIN_PORT=70000" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *env[] = { bad[i], NULL };
		struct ts_proc p;

		ck_assert(ts_spawn_nowait(&p, c_env("CATALOG_BIN"), env) == 0);
		ck_assert_msg(ts_stop(&p, 0, 5000) == 2, "%s did not exit 2", bad[i]);
	}
}
END_TEST

/* ---- the pre_body hook (an in-process server: no service uses the hook yet) ------------- */

static int pre_body_calls;

static int echo_len(struct http_req *req, struct http_resp *resp)
{
	return http_json(resp, 200, json_pack("{s:I}", "len", (json_int_t)req->body_len));
}

/* Refuses requests that carry X-Deny before their body is read, as an auth check would. */
static int deny_early(struct http_req *req, struct http_resp *resp)
{
	__atomic_add_fetch(&pre_body_calls, 1, __ATOMIC_SEQ_CST);
	ck_assert(req->body == NULL && req->route != NULL);
	if (http_header(req, "X-Deny") != NULL)
		return http_error(resp, 401, "Not authenticated");
	return 0;
}

START_TEST(test_pre_body_answer_reaches_a_whole_body_first_client)
{
	static const struct http_route routes[] = { { "POST", "/echo", echo_len, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC } };
	static char body[900000];
	struct http_server_config hc;
	struct http_server *srv;
	char head[256], buf[4096];
	int port = ts_free_port();
	int t, fd;

	log_init("test", LOG_WARN);
	memset(&hc, 0, sizeof(hc));
	hc.host = "127.0.0.1";
	hc.port = port;
	hc.threads = 2;
	hc.max_body = 1048576;
	hc.routes = routes;
	hc.nroutes = 1;
	hc.pre_body = deny_early;
	srv = http_server_start(&hc);
	ck_assert(srv != NULL);
	memset(body, 'x', sizeof(body));
	for (t = 0; t < HYGIENE_413_TRIES; t++) {
		fd = raw_connect(NULL, port);
		snprintf(head, sizeof(head),
			 "POST /echo HTTP/1.1\r\nHost: t\r\nX-Deny: 1\r\nContent-Length: %zu\r\n\r\n",
			 sizeof(body));
		ck_assert(raw_send(fd, head, strlen(head)) == 0 &&
			  raw_send(fd, body, sizeof(body)) == 0);
		ck_assert(raw_read_one(fd, buf, sizeof(buf), 5000) > 0);
		assert_one_answer("pre_body 401 after the body", buf, 401);
		/* The body was drained: the connection goes on. */
		snprintf(head, sizeof(head),
			 "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
		raw_send(fd, head, strlen(head));
		ck_assert(raw_read_one(fd, buf, sizeof(buf), 5000) > 0);
		ck_assert_msg(status_of(buf) == 200 && strstr(buf, "{\"len\":3}") != NULL, "%s", buf);
		close(fd);
	}
	/* With Expect: 100-continue the 401 comes at once, without 100 Continue. */
	{
		char *reply = raw_exchange(port,
					   "POST /echo HTTP/1.1\r\nHost: t\r\nX-Deny: 1\r\n"
					   "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n",
					   8192);

		ck_assert(strstr(reply, "100 Continue") == NULL);
		assert_one_answer("pre_body 401 with Expect", reply, 401);
		free(reply);
	}
	/* Unmatched routes never reach the hook. */
	{
		int before = __atomic_load_n(&pre_body_calls, __ATOMIC_SEQ_CST);
		char *reply = raw_exchange(port,
					   "POST /nowhere HTTP/1.1\r\nHost: t\r\nX-Deny: 1\r\n"
					   "Connection: close\r\nContent-Length: 0\r\n\r\n",
					   8192);

		assert_one_answer("unmatched", reply, 404);
		ck_assert_int_eq(__atomic_load_n(&pre_body_calls, __ATOMIC_SEQ_CST), before);
		free(reply);
	}
	http_server_stop(srv, 1000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("http_hygiene");
	TCase *tc = tcase_create("hygiene");
	SRunner *sr;
	int failed;

#if defined(__SANITIZE_ADDRESS__)
	{
		/* ASan's quarantine keeps freed blocks resident, so the daemons' RSS would grow with
		 * every buffer they free and the flat-memory check would measure the sanitizer: the
		 * daemons spawned here (they inherit the environment) run without it. */
		const char *prev = getenv("ASAN_OPTIONS");
		char opts[1024];

		snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=0", prev != NULL ? prev : "",
			 prev != NULL && prev[0] != '\0' ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
	}
#endif
	tcase_add_checked_fixture(tc, c_setup_seeded, c_teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_admin_health_stays_fast_while_every_api_worker_is_blocked);
	tcase_add_test(tc, test_host_limits_the_listen_address);
	tcase_add_test(tc, test_slowloris_connections_are_closed_at_the_deadline);
	tcase_add_test(tc, test_per_address_limit_refuses_the_201st_connection);
	tcase_add_test(tc, test_each_malformed_request_gets_one_well_formed_400);
	tcase_add_test(tc, test_whole_body_first_client_gets_the_413);
	tcase_add_test(tc, test_drained_413_keeps_the_connection_usable);
	tcase_add_test(tc, test_expect_100_continue_gets_the_413_at_once);
	tcase_add_test(tc, test_chunked_upload_over_the_limit_gets_the_413);
	tcase_add_test(tc, test_base_path_serves_public_routes_under_the_prefix_only);
	tcase_add_test(tc, test_trailing_slash_redirects_with_the_prefix);
	tcase_add_test(tc, test_bad_base_path_or_host_exits_2);
	tcase_add_test(tc, test_pre_body_answer_reaches_a_whole_body_first_client);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
