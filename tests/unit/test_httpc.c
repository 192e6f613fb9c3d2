/* test_httpc.c - common/httpc.h against loopback servers: a normal answer, an error status, the
 * body cap, the total timeout (a server that never answers), a refused connection and a scheme
 * other than http(s). */
#include "common/httpc.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A one-thread server: answers every request with status and body_len bytes of 'x', or, with
 * silent set, reads the request and never answers. */
struct server {
	int fd;
	int port;
	int status;
	size_t body_len;
	bool silent;
	atomic_bool stop;
	pthread_t thread;
	char last[4096]; /* the last request received whole (head and body), NUL-terminated */
};

/* Reads a request into buf until its head and Content-Length bytes of body are in (or 1 s). */
static void read_request(int c, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	while (n + 1 < cap) {
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		const char *end, *cl;
		ssize_t r;

		if (poll(&pfd, 1, 1000) <= 0)
			break;
		r = recv(c, buf + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		cl = strcasestr(buf, "Content-Length:");
		if (cl == NULL || cl > end || (size_t)(end + 4 - buf) + (size_t)atol(cl + 15) <= n)
			break;
	}
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	int held[8];
	int nheld = 0;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		char req[4096];
		char head[160];
		char *body;
		int c;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		read_request(c, req, sizeof(req));
		memcpy(s->last, req, sizeof(s->last));
		if (s->silent) {
			if (nheld < 8)
				held[nheld++] = c;
			else
				close(c);
			continue;
		}
		snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 s->status, s->body_len);
		body = malloc(s->body_len + 1);
		if (body == NULL)
			abort();
		memset(body, 'x', s->body_len);
		(void)send(c, head, strlen(head), MSG_NOSIGNAL);
		(void)send(c, body, s->body_len, MSG_NOSIGNAL);
		free(body);
		close(c);
	}
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	return NULL;
}

static void server_start(struct server *s, int status, size_t body_len, bool silent)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->status = status;
	s->body_len = body_len;
	s->silent = silent;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->fd, 0);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s->fd, 8), 0);
	ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

START_TEST(test_post_sends_body_and_content_type)
{
	struct server s;
	struct httpc *c = httpc_new();
	struct httpc_resp r;
	char url[64];
	static const char body[] = "{\"resourceSpans\":[]}";

	server_start(&s, 200, 2, false);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/traces", s.port);
	ck_assert_int_eq(httpc_post(c,
				    &(struct httpc_req){ .url = url,
							 .body = body,
							 .body_len = strlen(body),
							 .content_type = "application/json" },
				    &r),
			 HTTPC_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(strncmp(s.last, "POST /v1/traces HTTP/1.1\r\n", 26), 0);
	ck_assert_ptr_nonnull(strcasestr(s.last, "\r\nContent-Type: application/json\r\n"));
	ck_assert_ptr_null(strcasestr(s.last, "Expect:"));
	ck_assert_ptr_nonnull(strstr(s.last, "\r\n\r\n{\"resourceSpans\":[]}"));
	httpc_resp_free(&r);
	httpc_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_get_returns_status_and_body)
{
	struct server s;
	struct httpc *c = httpc_new();
	struct httpc_resp r;
	char url[64];

	server_start(&s, 200, 1000, false);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", s.port);
	ck_assert_int_eq(httpc_get(c, &(struct httpc_req){ .url = url }, &r), HTTPC_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, 1000);
	ck_assert_uint_eq(strlen(r.body), 1000);
	httpc_resp_free(&r);
	s.status = 503;
	ck_assert_int_eq(httpc_get(c, &(struct httpc_req){ .url = url }, &r), HTTPC_OK);
	ck_assert_int_eq(r.status, 503);
	httpc_resp_free(&r);
	server_stop(&s);
	httpc_free(c);
}
END_TEST

/* Extra header lines go with GET and POST (the catalog client's Authorization, X-Request-ID
 * and traceparent), next to POST's own Content-Type. */
START_TEST(test_extra_headers_are_sent)
{
	struct server s;
	struct httpc *c = httpc_new();
	struct httpc_resp r;
	char url[64];
	const char *const hdrs[] = { "Accept: application/json", "X-Request-ID: abc123", NULL };

	server_start(&s, 200, 2, false);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/books/1", s.port);
	ck_assert_int_eq(httpc_get(c, &(struct httpc_req){ .url = url, .headers = hdrs }, &r),
			 HTTPC_OK);
	ck_assert_int_eq(strncmp(s.last, "GET /books/1 HTTP/1.1\r\n", 23), 0);
	ck_assert_ptr_nonnull(strcasestr(s.last, "\r\nAccept: application/json\r\n"));
	ck_assert_ptr_nonnull(strcasestr(s.last, "\r\nX-Request-ID: abc123\r\n"));
	httpc_resp_free(&r);
	ck_assert_int_eq(httpc_post(c,
				    &(struct httpc_req){ .url = url, .headers = hdrs, .body = "{}",
							 .body_len = 2 },
				    &r),
			 HTTPC_OK);
	ck_assert_ptr_nonnull(strcasestr(s.last, "\r\nX-Request-ID: abc123\r\n"));
	ck_assert_ptr_nonnull(strcasestr(s.last, "\r\nContent-Type: application/json\r\n"));
	ck_assert_ptr_null(strcasestr(s.last, "Expect:"));
	httpc_resp_free(&r);
	httpc_free(c);
	server_stop(&s);
}
END_TEST

START_TEST(test_body_over_the_cap_is_refused)
{
	struct server s;
	struct httpc *c = httpc_new();
	struct httpc_resp r;
	char url[64];

	server_start(&s, 200, 200000, false);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/big", s.port);
	ck_assert_int_eq(httpc_get(c, &(struct httpc_req){ .url = url, .max_body = 65536 }, &r),
			 HTTPC_TOO_LARGE);
	ck_assert_int_eq(r.status, 0);
	ck_assert_ptr_nonnull(r.body);
	ck_assert_ptr_nonnull(strstr(r.error, "larger than 65536"));
	httpc_resp_free(&r);
	server_stop(&s);
	httpc_free(c);
}
END_TEST

START_TEST(test_silent_server_times_out_within_bound)
{
	struct server s;
	struct httpc *c = httpc_new();
	struct httpc_resp r;
	char url[64];
	double t0, took;

	server_start(&s, 200, 10, true);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", s.port);
	t0 = now_ms();
	ck_assert_int_eq(httpc_get(c, &(struct httpc_req){ .url = url, .timeout_ms = 300 }, &r),
			 HTTPC_TIMEOUT);
	took = now_ms() - t0;
	ck_assert_msg(took < 2 * 300 + 250, "took %.0f ms", took);
	httpc_resp_free(&r);
	server_stop(&s);
	httpc_free(c);
}
END_TEST

START_TEST(test_refused_connection_and_other_schemes_are_errors)
{
	struct server s;
	struct httpc *c = httpc_new();
	struct httpc_resp r;
	char url[64];

	server_start(&s, 200, 10, false);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s.port);
	server_stop(&s); /* nothing listens there any more */
	ck_assert_int_eq(httpc_get(c, &(struct httpc_req){ .url = url }, &r), HTTPC_ERROR);
	ck_assert_int_eq(r.status, 0);
	ck_assert(r.error[0] != '\0');
	httpc_resp_free(&r);
	ck_assert_int_eq(httpc_get(c, &(struct httpc_req){ .url = "file:///etc/hostname" }, &r),
			 HTTPC_ERROR);
	ck_assert_uint_eq(r.len, 0);
	httpc_resp_free(&r);
	ck_assert_int_eq(httpc_get(NULL, &(struct httpc_req){ .url = url }, &r), HTTPC_ERROR);
	httpc_resp_free(&r);
	ck_assert_str_eq(httpc_status_name(HTTPC_TOO_LARGE), "too_large");
	httpc_free(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("httpc");
	TCase *t = tcase_create("get");
	SRunner *sr;
	int failed;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	tcase_add_test(t, test_get_returns_status_and_body);
	tcase_add_test(t, test_extra_headers_are_sent);
	tcase_add_test(t, test_post_sends_body_and_content_type);
	tcase_add_test(t, test_body_over_the_cap_is_refused);
	tcase_add_test(t, test_silent_server_times_out_within_bound);
	tcase_add_test(t, test_refused_connection_and_other_schemes_are_errors);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? 0 : 1;
}
