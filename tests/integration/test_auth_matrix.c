/* test_auth_matrix.c - access control end to end (issue 8, docs/auth.md): the real catalog and
 * order services with authentication on (the test key of tests/support), driven over HTTP.
 *
 * Every cell of the matrix (anonymous / customer / another customer / admin per route), the
 * hostile tokens at the service level, the internal API, the attacks of the issue replayed with
 * the stock invariant checked, the audit rows of every write, Idempotency-Key scoping, JWKS
 * rotation through a rewritten file, AUTH_DISABLED's warning and the refused start. */
#include <check.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "test_order_common.h"
#include "token.h"
#include "ts.h"

static char *db;
static struct ts_proc cat, ord;
static char *ann, *ann2, *bob, *nomail;

#define ANN "ann@example.com"
#define BOB "bob@example.com"

/* ---- helpers ------------------------------------------------------------------------------ */

/* One call as token (NULL: anonymous, no Authorization header). Returns the status; r kept
 * when out is not NULL. */
static long call(const char *method, const char *base, const char *path, const char *body,
		 const char *token, struct ts_resp *out)
{
	char url[4096], hdr[9000];
	const char *h[3] = {hdr, NULL, NULL};
	struct ts_resp r;
	long st;

	snprintf(url, sizeof url, "%s%s", base, path);
	if (token == NULL)
		snprintf(hdr, sizeof hdr, "Authorization:");
	else
		snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", token);
	ck_assert_int_eq(ts_http(&r, method, url, body, h), 0);
	st = r.status;
	if (out != NULL)
		*out = r;
	else
		ts_resp_free(&r);
	return st;
}

/* Asserts the FastAPI-shaped 401: detail and WWW-Authenticate. invalid: a token was refused. */
static void assert_401(struct ts_resp *r, int invalid)
{
	char *www = ts_header(r, "WWW-Authenticate");

	ck_assert_msg(r->status == 401, "expected 401, got %ld %s", r->status, r->body);
	ck_assert_ptr_nonnull(www);
	ck_assert_str_eq(ts_str(r->json, "detail"),
			 invalid ? "Could not validate credentials" : "Not authenticated");
	ck_assert_str_eq(www, invalid ? "Bearer error=\"invalid_token\"" : "Bearer");
	free(www);
}

static void expect_401(const char *method, const char *base, const char *path, const char *body,
		       const char *token, int invalid)
{
	struct ts_resp r;

	call(method, base, path, body, token, &r);
	assert_401(&r, invalid);
	ts_resp_free(&r);
}

static void expect(long want, const char *method, const char *base, const char *path,
		   const char *body, const char *token)
{
	struct ts_resp r;
	long st = call(method, base, path, body, token, &r);

	ck_assert_msg(st == want, "%s %s as %s: want %ld, got %ld %s", method, path,
		      token == NULL  ? "anonymous"
		      : token == ann ? "ann"
		      : token == bob ? "bob"
				     : "other",
		      want, st, r.body);
	if (want == 403)
		ck_assert_str_eq(ts_str(r.json, "detail"), "Not enough permissions");
	ts_resp_free(&r);
}

static long long new_book(long long qty)
{
	return t_create_book(cat.url, "12.50", qty);
}

/* Places an order as token for email; returns its id (asserts 201). */
static long long place(const char *token, long long book, const char *email, int qty)
{
	char body[256];
	struct ts_resp r;
	long long id;

	snprintf(body, sizeof body,
		 "{\"book_id\":%lld,\"customer_name\":\"C\",\"customer_email\":\"%s\","
		 "\"quantity\":%d}",
		 book, email, qty);
	ck_assert_int_eq(call("POST", ord.url, "/orders", body, token, &r), 201);
	id = ts_int(r.json, "id");
	ts_resp_free(&r);
	return id;
}

static char *order_body(long long book, const char *email)
{
	char *b = malloc(256);

	ck_assert_ptr_nonnull(b);
	snprintf(b, 256,
		 "{\"book_id\":%lld,\"customer_name\":\"C\",\"customer_email\":\"%s\","
		 "\"quantity\":1}",
		 book, email);
	return b;
}

/* A payload like ts_token's, for hand-made hostile tokens. */
static char *payload(const char *iss, const char *aud, long exp_in)
{
	struct token_claims c;

	memset(&c, 0, sizeof c);
	c.iss = iss;
	c.aud = aud;
	c.sub = "ann";
	c.email = ANN;
	c.roles_json = "[\"admin\"]";
	c.exp_in = exp_in;
	return token_payload(&c);
}

static char *mint(const struct token_claims *c)
{
	return token_mint(ts_auth_key(), NULL, c);
}

/* ---- the matrix: books -------------------------------------------------------------------- */

START_TEST(test_book_reads_are_public)
{
	const char *who[] = {NULL, ann, bob, ts_admin_token()};

	for (size_t i = 0; i < 4; i++) {
		expect(200, "GET", cat.url, "/books?limit=2", NULL, who[i]);
		expect(200, "GET", cat.url, "/books/1", NULL, who[i]);
	}
	/* A public route does not look at the token: a garbage one changes nothing. */
	expect(200, "GET", cat.url, "/books/1", NULL, "garbage");
}
END_TEST

START_TEST(test_book_writes_need_the_admin)
{
	long long id = new_book(5);
	char path[64];
	const char *body = "{\"title\":\"T\",\"author\":\"A\",\"price\":\"3.00\",\"quantity\":1}";

	snprintf(path, sizeof path, "/books/%lld", id);
	/* Anonymous: 401 before the body is read (a broken body is not even parsed). */
	expect_401("POST", cat.url, "/books", "{not json", NULL, 0);
	expect_401("POST", cat.url, "/books", body, NULL, 0);
	expect_401("PUT", cat.url, path, "{\"price\":\"1.00\"}", NULL, 0);
	expect_401("PATCH", cat.url, path, "{\"quantity\":0}", NULL, 0);
	expect_401("DELETE", cat.url, path, NULL, NULL, 0);
	/* Customers: 403, also before the body. */
	for (int k = 0; k < 2; k++) {
		const char *t = k == 0 ? ann : bob;

		expect(403, "POST", cat.url, "/books", "{not json", t);
		expect(403, "POST", cat.url, "/books", body, t);
		expect(403, "PUT", cat.url, path, "{\"price\":\"1.00\"}", t);
		expect(403, "PATCH", cat.url, path, "{\"quantity\":0}", t);
		expect(403, "DELETE", cat.url, path, NULL, t);
	}
	ck_assert_int_eq(t_book_qty(db, id), 5);
	/* The admin: everything. */
	expect(201, "POST", cat.url, "/books", body, ts_admin_token());
	expect(200, "PUT", cat.url, path, "{\"price\":\"1.00\"}", ts_admin_token());
	expect(200, "PATCH", cat.url, path, "{\"quantity\":4}", ts_admin_token());
	expect(200, "DELETE", cat.url, path, NULL, ts_admin_token());
}
END_TEST

/* ---- the matrix: orders ------------------------------------------------------------------- */

START_TEST(test_post_orders_matrix)
{
	long long book = new_book(50);
	char *mine = order_body(book, ANN), *upper = order_body(book, "ANN@Example.COM");
	char *theirs = order_body(book, BOB);

	expect_401("POST", ord.url, "/orders", mine, NULL, 0);
	expect(201, "POST", ord.url, "/orders", mine, ann);
	expect(201, "POST", ord.url, "/orders", upper, ann);  /* e-mail case-insensitively */
	expect(403, "POST", ord.url, "/orders", theirs, ann); /* for someone else */
	expect(403, "POST", ord.url, "/orders", mine, bob);
	expect(403, "POST", ord.url, "/orders", mine, nomail); /* a token without e-mail */
	expect(201, "POST", ord.url, "/orders", theirs, ts_admin_token());
	expect(201, "POST", ord.url, "/orders", mine, ts_admin_token());
	/* 50 - 4 ordered; the refused ones reserved nothing. */
	ck_assert_int_eq(t_book_qty(db, book), 46);
	free(mine);
	free(upper);
	free(theirs);
}
END_TEST

START_TEST(test_get_orders_lists_only_ones_own)
{
	long long book = new_book(20);
	struct ts_resp r;
	json_t *orders;
	size_t i;

	place(ann, book, ANN, 1);
	place(bob, book, BOB, 1);
	expect_401("GET", ord.url, "/orders", NULL, NULL, 0);
	ck_assert_int_eq(call("GET", ord.url, "/orders?limit=100", NULL, ann, &r), 200);
	orders = json_object_get(r.json, "orders");
	ck_assert_int_gt(json_array_size(orders), 0);
	for (i = 0; i < json_array_size(orders); i++)
		ck_assert_int_eq(
		    strcasecmp(ts_str(json_array_get(orders, i), "customer_email"), ANN), 0);
	ck_assert_int_eq(ts_int(r.json, "total"),
			 t_sql_ll(db, "SELECT count(*) FROM orders WHERE lower(customer_email) = "
				      "'ann@example.com'"));
	ts_resp_free(&r);
	/* A filter naming someone else: 403; naming oneself in another case: fine. */
	expect(403, "GET", ord.url, "/orders?customer_email=bob%40example.com", NULL, ann);
	expect(200, "GET", ord.url, "/orders?customer_email=ANN%40EXAMPLE.COM", NULL, ann);
	expect(403, "GET", ord.url, "/orders", NULL, nomail);
	/* The admin sees everyone's. */
	ck_assert_int_eq(call("GET", ord.url, "/orders?limit=100", NULL, ts_admin_token(), &r),
			 200);
	ck_assert_int_eq(ts_int(r.json, "total"), t_sql_ll(db, "SELECT count(*) FROM orders"));
	ts_resp_free(&r);
	expect(200, "GET", ord.url, "/orders?customer_email=bob%40example.com", NULL,
	       ts_admin_token());
}
END_TEST

START_TEST(test_get_order_and_its_book_own_else_404)
{
	long long book = new_book(20);
	long long mine = place(ann, book, ANN, 1), theirs = place(bob, book, BOB, 1);
	char p_mine[64], p_theirs[64], b_mine[64], b_theirs[64];
	struct ts_resp r1, r2;

	snprintf(p_mine, sizeof p_mine, "/orders/%lld", mine);
	snprintf(p_theirs, sizeof p_theirs, "/orders/%lld", theirs);
	snprintf(b_mine, sizeof b_mine, "/orders/%lld/book", mine);
	snprintf(b_theirs, sizeof b_theirs, "/orders/%lld/book", theirs);
	expect_401("GET", ord.url, p_mine, NULL, NULL, 0);
	expect_401("GET", ord.url, b_mine, NULL, NULL, 0);
	expect(200, "GET", ord.url, p_mine, NULL, ann);
	expect(200, "GET", ord.url, b_mine, NULL, ann);
	expect(404, "GET", ord.url, b_theirs, NULL, ann);
	/* Someone else's order looks exactly like one that does not exist. */
	ck_assert_int_eq(call("GET", ord.url, p_theirs, NULL, ann, &r1), 404);
	ck_assert_int_eq(call("GET", ord.url, "/orders/999999999", NULL, ann, &r2), 404);
	ck_assert_str_eq(r1.body, r2.body);
	ts_resp_free(&r1);
	ts_resp_free(&r2);
	expect(404, "GET", ord.url, p_mine, NULL, bob);
	expect(200, "GET", ord.url, p_theirs, NULL, ts_admin_token());
	expect(200, "GET", ord.url, b_theirs, NULL, ts_admin_token());
}
END_TEST

START_TEST(test_patch_status_own_and_only_cancel)
{
	long long book = new_book(20);
	long long mine = place(ann, book, ANN, 2), theirs = place(bob, book, BOB, 3);
	char p_mine[64], p_theirs[64];
	const char *cancel = "{\"status\":\"cancelled\"}", *proc = "{\"status\":\"processing\"}";

	snprintf(p_mine, sizeof p_mine, "/orders/%lld/status", mine);
	snprintf(p_theirs, sizeof p_theirs, "/orders/%lld/status", theirs);
	expect_401("PATCH", ord.url, p_mine, cancel, NULL, 0);
	expect(403, "PATCH", ord.url, p_mine, proc, ann);     /* own, but not a cancel */
	expect(404, "PATCH", ord.url, p_theirs, cancel, ann); /* someone else's */
	expect(404, "PATCH", ord.url, p_theirs, proc, ann);
	ck_assert_int_eq(t_book_qty(db, book), 15);
	expect(200, "PATCH", ord.url, p_mine, cancel, ann);
	ck_assert_int_eq(t_book_qty(db, book), 17);
	/* The admin: every allowed move, on anyone's order. */
	expect(200, "PATCH", ord.url, p_theirs, proc, ts_admin_token());
	expect(200, "PATCH", ord.url, p_theirs, "{\"status\":\"confirmed\"}", ts_admin_token());
}
END_TEST

/* ---- the internal API --------------------------------------------------------------------- */

START_TEST(test_reservations_only_with_the_internal_token)
{
	long long book = new_book(10);
	char body[160];

	snprintf(body, sizeof body,
		 "{\"reservation_id\":\"auth-%d\",\"book_id\":%lld,\"quantity\":3}", (int)getpid(),
		 book);
	expect_401("POST", cat.url, "/reservations", body, NULL, 0);
	/* No user token opens it, the admin's included. */
	expect_401("POST", cat.url, "/reservations", body, ann, 1);
	expect_401("POST", cat.url, "/reservations", body, ts_admin_token(), 1);
	expect_401("GET", cat.url, "/reservations/x", NULL, ts_admin_token(), 1);
	expect_401("POST", cat.url, "/reservations/x/release", "{}", ts_admin_token(), 1);
	expect_401("POST", cat.url, "/reservations", body, "wrong-internal-token-0123456789abcdef",
		   1);
	ck_assert_int_eq(t_book_qty(db, book), 10);
	expect(201, "POST", cat.url, "/reservations", body, ts_internal_token());
	ck_assert_int_eq(t_book_qty(db, book), 7);
	/* And the internal token is not a user: it opens no public write. */
	expect_401("DELETE", cat.url, "/books/1", NULL, ts_internal_token(), 1);
}
END_TEST

/* ---- hostile tokens at the service level -------------------------------------------------- */

START_TEST(test_hostile_tokens_get_401)
{
	struct token_claims c;
	struct token_key es;
	char *t, *p, *pem, *big, *hdr_none, *tampered, *dot;
	const char *valid = ann;
	struct ts_resp r;
	char url[256];
	const char *two[] = {NULL, NULL, NULL};
	char h1[2048], h2[2048];

	memset(&c, 0, sizeof c);
	c.iss = TS_ISSUER;
	c.aud = TS_AUDIENCE;
	c.sub = "ann";
	c.email = ANN;
	c.roles_json = "[\"admin\"]";
	/* expired (past the 30 s leeway) */
	c.exp_in = -120;
	t = mint(&c);
	expect_401("GET", ord.url, "/orders", NULL, t, 1);
	free(t);
	/* not yet valid */
	c.exp_in = 600;
	c.has_nbf = true;
	c.nbf_in = 300;
	t = mint(&c);
	expect_401("GET", ord.url, "/orders", NULL, t, 1);
	free(t);
	c.has_nbf = false;
	/* wrong issuer, wrong audience */
	c.iss = "http://evil/";
	t = mint(&c);
	expect_401("GET", ord.url, "/orders", NULL, t, 1);
	free(t);
	c.iss = TS_ISSUER;
	c.aud = "another-api";
	t = mint(&c);
	expect_401("GET", ord.url, "/orders", NULL, t, 1);
	free(t);
	c.aud = TS_AUDIENCE;
	/* unknown kid */
	t = token_mint(ts_auth_key(), "no-such-kid", &c);
	expect_401("GET", ord.url, "/orders", NULL, t, 1);
	free(t);
	/* alg none */
	p = payload(TS_ISSUER, TS_AUDIENCE, 600);
	hdr_none = token_raw("{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"ts-key-1\"}", p, "");
	expect_401("GET", ord.url, "/orders", NULL, hdr_none, 1);
	/* HS256 keyed with the RSA public key (algorithm confusion) */
	pem = token_public_pem(ts_auth_key());
	t = token_sign_hs256(pem, strlen(pem),
			     "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"ts-key-1\"}", p);
	expect_401("GET", ord.url, "/orders", NULL, t, 1);
	free(t);
	/* RS/ES mismatch: an ES256 signature under the RSA key's kid */
	token_key_new(&es, "ES256", 0, "ts-key-1");
	t = token_sign(&es, "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"ts-key-1\"}", p);
	expect_401("GET", ord.url, "/orders", NULL, t, 1);
	free(t);
	token_key_free(&es);
	/* tampered: bob's payload under ann's signature */
	tampered = strdup(valid);
	ck_assert_ptr_nonnull(tampered);
	{
		char *first = strchr(tampered, '.'), *second = strchr(first + 1, '.');
		char *bp = strchr(bob, '.'), *bs = strchr(bp + 1, '.');
		size_t n = (size_t)(first - tampered) + 1;
		char *out = malloc(strlen(valid) + strlen(bob) + 4);

		ck_assert_ptr_nonnull(out);
		memcpy(out, tampered, n);
		memcpy(out + n, bp + 1, (size_t)(bs - bp - 1));
		strcpy(out + n + (size_t)(bs - bp - 1), second);
		expect_401("GET", ord.url, "/orders", NULL, out, 1);
		free(out);
	}
	/* truncated signature, truncated to two segments */
	tampered[strlen(tampered) - 10] = '\0';
	expect_401("GET", ord.url, "/orders", NULL, tampered, 1);
	dot = strrchr(tampered, '.');
	*dot = '\0';
	expect_401("GET", ord.url, "/orders", NULL, tampered, 1);
	free(tampered);
	/* an 8 KB token: refused by shape, a JSON 401, never a crash */
	big = malloc(8300);
	ck_assert_ptr_nonnull(big);
	memset(big, 'A', 8299);
	big[8299] = '\0';
	big[100] = '.';
	big[200] = '.';
	expect_401("GET", ord.url, "/orders", NULL, big, 1);
	free(big);
	/* the token in the query string is ignored: still not authenticated */
	snprintf(url, sizeof url, "/orders?access_token=%s", ann);
	expect_401("GET", ord.url, url, NULL, NULL, 0);
	/* two Authorization headers (even two valid ones) */
	snprintf(h1, sizeof h1, "Authorization: Bearer %s", ann);
	snprintf(h2, sizeof h2, "Authorization: Bearer %s", ann);
	two[0] = h1;
	two[1] = h2;
	snprintf(url, sizeof url, "%s/orders", ord.url);
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, two), 0);
	assert_401(&r, 0);
	ts_resp_free(&r);
	/* another scheme */
	two[0] = "Authorization: Basic YWRtaW46YWRtaW4=";
	two[1] = NULL;
	ck_assert_int_eq(ts_http(&r, "GET", url, NULL, two), 0);
	assert_401(&r, 0);
	ts_resp_free(&r);
	free(p);
	free(pem);
	free(hdr_none);
	/* the services are still fine */
	expect(200, "GET", ord.url, "/orders", NULL, ann);
}
END_TEST

/* ---- the attacks of the issue, replayed ---------------------------------------------------- */

START_TEST(test_attacks_are_refused_and_stock_holds)
{
	long long book = new_book(100);
	long long theirs = place(bob, book, BOB, 3);
	char body[160], path[256];
	struct ts_resp r;

	/* anonymous (and customer) reservation of the whole stock */
	snprintf(body, sizeof body, "{\"reservation_id\":\"x\",\"book_id\":%lld,\"quantity\":97}",
		 book);
	expect_401("POST", cat.url, "/reservations", body, NULL, 0);
	expect_401("POST", cat.url, "/reservations", body, ann, 1);
	/* delete, stock and price changes */
	snprintf(path, sizeof path, "/books/%lld", book);
	expect_401("DELETE", cat.url, path, NULL, NULL, 0);
	expect(403, "DELETE", cat.url, path, NULL, ann);
	expect_401("PUT", cat.url, path, "{\"quantity\":0,\"price\":\"0.01\"}", NULL, 0);
	expect(403, "PATCH", cat.url, path, "{\"quantity\":0}", ann);
	/* someone else's cancel */
	snprintf(path, sizeof path, "/orders/%lld/status", theirs);
	expect_401("PATCH", ord.url, path, "{\"status\":\"cancelled\"}", NULL, 0);
	expect(404, "PATCH", ord.url, path, "{\"status\":\"cancelled\"}", ann);
	/* listing other customers */
	expect_401("GET", ord.url, "/orders", NULL, NULL, 0);
	expect(403, "GET", ord.url, "/orders?customer_email=bob%40example.com", NULL, ann);
	/* The invariant: stock + live reservations = what was put in; bob's order untouched. */
	snprintf(path, sizeof path,
		 "SELECT b.quantity + coalesce((SELECT sum(quantity) FROM reservations WHERE "
		 "book_id = b.id AND status = 'reserved'), 0) FROM books b WHERE b.id = %lld",
		 book);
	ck_assert_int_eq(t_sql_ll(db, path), 100);
	ck_assert_int_eq(t_book_qty(db, book), 97);
	snprintf(path, sizeof path, "/orders/%lld", theirs);
	ck_assert_int_eq(call("GET", ord.url, path, NULL, ts_admin_token(), &r), 200);
	ck_assert_str_eq(ts_str(r.json, "status"), "pending");
	ts_resp_free(&r);
}
END_TEST

/* ---- audit -------------------------------------------------------------------------------- */

static json_t *audit_items(const char *base, const char *query, struct ts_resp *r)
{
	ck_assert_int_eq(call("GET", base, query, NULL, ts_admin_token(), r), 200);
	return json_object_get(r->json, "items");
}

START_TEST(test_every_write_leaves_an_audit_row)
{
	struct ts_resp r;
	json_t *items, *it;
	long long book, order;
	char q[128], path[64], *dump;

	book = new_book(10);
	snprintf(path, sizeof path, "/books/%lld", book);
	expect(200, "PATCH", cat.url, path, "{\"price\":\"13.75\"}", ts_admin_token());
	order = place(ann, book, ANN, 2);
	snprintf(q, sizeof q, "/orders/%lld/status", order);
	expect(200, "PATCH", ord.url, q, "{\"status\":\"cancelled\"}", ann);
	/* The catalog's rows for the book: create, update (price only), newest first. */
	snprintf(q, sizeof q, "/audit?entity=book&entity_id=%lld", book);
	items = audit_items(cat.url, q, &r);
	ck_assert_int_eq(json_array_size(items), 2);
	it = json_array_get(items, 0);
	ck_assert_str_eq(ts_str(it, "action"), "update");
	ck_assert_str_eq(ts_str(it, "actor"), "ts-admin");
	ck_assert_str_eq(ts_str(it, "entity"), "book");
	ck_assert_int_eq(ts_int(it, "entity_id"), book);
	ck_assert_ptr_nonnull(ts_str(it, "at"));
	ck_assert_ptr_nonnull(ts_str(it, "request_id"));
	/* the book's row version after the change (the ETag's number) */
	ck_assert(json_is_integer(json_object_get(it, "version")));
	dump = json_dumps(json_object_get(it, "changes"), JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(dump, "{\"price\":{\"after\":13.75,\"before\":12.5}}");
	free(dump);
	ck_assert_str_eq(ts_str(json_array_get(items, 1), "action"), "create");
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	ts_resp_free(&r);
	/* total counts every match, whatever the page: a partial page, and a page past the end. */
	snprintf(q, sizeof q, "/audit?entity_id=%lld&skip=1&limit=1", book);
	items = audit_items(cat.url, q, &r);
	ck_assert_int_eq(json_array_size(items), 1);
	ck_assert_str_eq(ts_str(json_array_get(items, 0), "action"), "create");
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	ts_resp_free(&r);
	snprintf(q, sizeof q, "/audit?entity_id=%lld&skip=5", book);
	items = audit_items(cat.url, q, &r);
	ck_assert_int_eq(json_array_size(items), 0);
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	ts_resp_free(&r);
	snprintf(q, sizeof q, "/audit?entity_id=%lld", LLONG_MAX);
	items = audit_items(cat.url, q, &r);
	ck_assert_int_eq(json_array_size(items), 0);
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ts_resp_free(&r);
	/* The order service's rows: create and the cancel, by ann. */
	snprintf(q, sizeof q, "/audit?entity_id=%lld", order);
	items = audit_items(ord.url, q, &r);
	ck_assert_int_eq(json_array_size(items), 2);
	it = json_array_get(items, 0);
	ck_assert_str_eq(ts_str(it, "action"), "update");
	ck_assert_str_eq(ts_str(it, "actor"), "ann");
	dump = json_dumps(json_object_get(it, "changes"), JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_str_eq(dump, "{\"status\":{\"after\":\"cancelled\",\"before\":\"pending\"}}");
	free(dump);
	it = json_array_get(items, 1);
	ck_assert_str_eq(ts_str(it, "action"), "create");
	ck_assert_str_eq(ts_str(it, "actor"), "ann");
	ts_resp_free(&r);
	/* delete */
	book = new_book(1);
	snprintf(path, sizeof path, "/books/%lld", book);
	expect(200, "DELETE", cat.url, path, NULL, ts_admin_token());
	snprintf(q, sizeof q, "/audit?entity_id=%lld&actor=ts-admin&limit=1", book);
	items = audit_items(cat.url, q, &r);
	ck_assert_str_eq(ts_str(json_array_get(items, 0), "action"), "delete");
	ts_resp_free(&r);
	/* (The stock ann's order took and its cancel gave back are not user writes of the book:
	 * the book's rows above are exactly its create and the price change.) */
	/* Each service serves its own entity only; admins only; never a token. */
	expect(422, "GET", cat.url, "/audit?entity=order", NULL, ts_admin_token());
	/* actor: 1..255 characters (not bytes), as the OpenAPI document says. */
	{
		char aq[2048];
		size_t n = (size_t)snprintf(aq, sizeof aq, "/audit?actor=");

		for (int i = 0; i < 255; i++)
			n += (size_t)snprintf(aq + n, sizeof aq - n, "%%C3%%A9"); /* U+00E9 */
		expect(200, "GET", cat.url, aq, NULL, ts_admin_token());
		snprintf(aq + n, sizeof aq - n, "e");
		expect(422, "GET", cat.url, aq, NULL, ts_admin_token());
		expect(422, "GET", cat.url, "/audit?actor=", NULL, ts_admin_token());
	}
	expect(403, "GET", cat.url, "/audit", NULL, ann);
	expect_401("GET", ord.url, "/audit", NULL, NULL, 0);
	expect(403, "GET", ord.url, "/audit", NULL, ann);
	ck_assert_int_eq(t_sql_ll(db, "SELECT count(*) FROM audit_log WHERE changes::text LIKE "
				      "'%eyJ%' OR actor LIKE 'eyJ%'"),
			 0);
	/* Append-only. */
	ck_assert_int_ne(
	    ts_system("psql '%s' -X -q -c 'DELETE FROM audit_log' >/dev/null 2>&1", db), 0);
	ck_assert_int_ne(ts_system("psql '%s' -X -q -c \"UPDATE audit_log SET actor = 'x'\" "
				   ">/dev/null 2>&1",
				   db),
			 0);
}
END_TEST

START_TEST(test_access_log_names_the_actor_never_the_token)
{
	char cmd[1024], q[4096];

	expect(200, "GET", ord.url, "/orders", NULL, ann);
	/* a token sent in the query string is ignored (401) and not logged either */
	snprintf(q, sizeof q, "/orders?access_token=%s", ann);
	expect_401("GET", ord.url, q, NULL, NULL, 0);
	snprintf(cmd, sizeof cmd, "grep -q '\"actor\":\"ann\"' '%s'", ord.log_path);
	ck_assert_int_eq(ts_system("%s", cmd), 0);
	snprintf(cmd, sizeof cmd, "grep -qF '%.40s' '%s' '%s'", strrchr(ann, '.') + 1, ord.log_path,
		 cat.log_path);
	ck_assert_int_ne(ts_system("%s", cmd), 0);
}
END_TEST

/* ---- Idempotency-Key scoping -------------------------------------------------------------- */

START_TEST(test_idempotency_key_is_scoped_to_the_caller)
{
	long long book = new_book(20);
	char *mine = order_body(book, ANN), *theirs = order_body(book, BOB);
	char key[80], h_auth[2048], h_key[128], url[256];
	const char *h[] = {h_auth, h_key, NULL};
	struct ts_resp r;
	long long first, second, again;

	snprintf(key, sizeof key, "shared-key-%d", (int)getpid());
	snprintf(h_key, sizeof h_key, "Idempotency-Key: %s", key);
	snprintf(url, sizeof url, "%s/orders", ord.url);
	snprintf(h_auth, sizeof h_auth, "Authorization: Bearer %s", ann);
	ck_assert_int_eq(ts_http(&r, "POST", url, mine, h), 0);
	ck_assert_int_eq(r.status, 201);
	first = ts_int(r.json, "id");
	ts_resp_free(&r);
	/* bob with the same key: his own request, his own order */
	snprintf(h_auth, sizeof h_auth, "Authorization: Bearer %s", bob);
	ck_assert_int_eq(ts_http(&r, "POST", url, theirs, h), 0);
	ck_assert_int_eq(r.status, 201);
	second = ts_int(r.json, "id");
	ck_assert_str_eq(ts_str(r.json, "customer_email"), BOB);
	ts_resp_free(&r);
	ck_assert_int_ne(first, second);
	/* ann's retry still replays ann's order; another token of ann's (same sub) too */
	snprintf(h_auth, sizeof h_auth, "Authorization: Bearer %s", ann2);
	ck_assert_int_eq(ts_http(&r, "POST", url, mine, h), 0);
	ck_assert_int_eq(r.status, 201);
	again = ts_int(r.json, "id");
	ts_resp_free(&r);
	ck_assert_int_eq(again, first);
	ck_assert_int_eq(t_book_qty(db, book), 18);
	free(mine);
	free(theirs);
}
END_TEST

/* ---- settings: rotation, disabled, refused start ------------------------------------------ */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_jwks_rotation_through_a_rewritten_file)
{
	struct token_key a, b;
	const struct token_key *ka[1] = {&a}, *kb[1] = {&b};
	struct token_claims c;
	char path[512], jwks_env[600], dburl[600], *ja, *jb, *ta, *tb;
	const char *env[] = {jwks_env, dburl, "AUTH_JWKS_REFRESH_S=1", NULL};
	struct ts_proc p;
	long long deadline;
	long st = 0;

	token_key_new(&a, "RS256", 0, "rot-a");
	token_key_new(&b, "ES256", 0, "rot-b");
	ja = token_jwks(ka, 1);
	jb = token_jwks(kb, 1);
	memset(&c, 0, sizeof c);
	c.iss = TS_ISSUER;
	c.aud = TS_AUDIENCE;
	c.sub = "rot";
	c.roles_json = "[\"admin\"]";
	c.exp_in = 600;
	ta = token_mint(&a, NULL, &c);
	tb = token_mint(&b, NULL, &c);
	snprintf(path, sizeof path, "%s/rot-jwks-%d.json", t_env("TEST_TMPDIR"), (int)getpid());
	write_file(path, ja);
	snprintf(jwks_env, sizeof jwks_env, "AUTH_JWKS=%s", path);
	snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", db);
	ck_assert_int_eq(ts_spawn(&p, t_env("CATALOG_BIN"), env), 0);
	expect(200, "GET", p.url, "/audit?limit=1", NULL, ta);
	expect_401("GET", p.url, "/audit?limit=1", NULL, tb, 1);
	/* The provider publishes b and removes a: after a refresh b works and a stops. */
	write_file(path, jb);
	deadline = t_now_ms() + 5000;
	while (t_now_ms() < deadline) {
		st = call("GET", p.url, "/audit?limit=1", NULL, tb, NULL);
		if (st == 200)
			break;
		t_sleep_ms(100);
	}
	ck_assert_int_eq(st, 200);
	expect_401("GET", p.url, "/audit?limit=1", NULL, ta, 1);
	/* A file that turns unusable keeps the last good set. */
	write_file(path, "{\"keys\":[]}");
	t_sleep_ms(2500);
	expect(200, "GET", p.url, "/audit?limit=1", NULL, tb);
	ck_assert_int_eq(ts_stop(&p, SIGTERM, 10000), 0);
	unlink(path);
	free(ja);
	free(jb);
	free(ta);
	free(tb);
	token_key_free(&a);
	token_key_free(&b);
}
END_TEST

START_TEST(test_auth_disabled_warns_at_start)
{
	char dburl[600];
	const char *env[] = {dburl, "AUTH_DISABLED=1", "INTERNAL_API_TOKEN=", NULL};
	struct ts_proc p;

	snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", db);
	for (int i = 0; i < 2; i++) { /* at every start */
		ck_assert_int_eq(ts_spawn(&p, t_env("CATALOG_BIN"), env), 0);
		ck_assert_int_eq(ts_system("grep -q 'AUTH_DISABLED=1: bearer tokens are NOT "
					   "checked' '%s'",
					   p.log_path),
				 0);
		/* (the no-auth benchmark baseline: anyone is let through) */
		expect(200, "GET", p.url, "/audit?limit=1", NULL, NULL);
		ck_assert_int_eq(ts_stop(&p, SIGTERM, 10000), 0);
	}
}
END_TEST

START_TEST(test_start_refused_without_jwks_or_internal_token)
{
	char dburl[600];
	const char *no_jwks[] = {dburl, "AUTH_JWKS=", NULL};
	const char *no_internal[] = {dburl, "INTERNAL_API_TOKEN=", NULL};
	const char *bad_jwks[] = {dburl, "AUTH_JWKS=/nonexistent/jwks.json", NULL};
	struct ts_proc p;

	snprintf(dburl, sizeof dburl, "DATABASE_URL=%s", db);
	ck_assert_int_eq(ts_spawn_nowait(&p, t_env("ORDER_BIN"), no_jwks), 0);
	ck_assert_int_eq(ts_stop(&p, 0, 10000), 2);
	ck_assert_int_eq(ts_system("grep -q 'refusing to start: AUTH_JWKS' '%s'", p.log_path), 0);
	ck_assert_int_eq(ts_spawn_nowait(&p, t_env("CATALOG_BIN"), no_internal), 0);
	ck_assert_int_eq(ts_stop(&p, 0, 10000), 2);
	ck_assert_int_eq(ts_system("grep -q 'INTERNAL_API_TOKEN' '%s'", p.log_path), 0);
	ck_assert_int_eq(ts_spawn_nowait(&p, t_env("CATALOG_BIN"), bad_jwks), 0);
	ck_assert_int_eq(ts_stop(&p, 0, 10000), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("auth_matrix");
	TCase *tc = tcase_create("auth");
	SRunner *sr;
	int failed;

	db = ts_db_create(1);
	t_start_catalog(&cat, db, 0);
	t_start_order(&ord, db, cat.url, 0);
	ann = ts_token("ann", ANN, 0, 3600);
	ann2 = ts_token("ann", ANN, 0, 1800);
	bob = ts_token("bob", BOB, 0, 3600);
	nomail = ts_token("carl", NULL, 0, 3600);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_book_reads_are_public);
	tcase_add_test(tc, test_book_writes_need_the_admin);
	tcase_add_test(tc, test_post_orders_matrix);
	tcase_add_test(tc, test_get_orders_lists_only_ones_own);
	tcase_add_test(tc, test_get_order_and_its_book_own_else_404);
	tcase_add_test(tc, test_patch_status_own_and_only_cancel);
	tcase_add_test(tc, test_reservations_only_with_the_internal_token);
	tcase_add_test(tc, test_hostile_tokens_get_401);
	tcase_add_test(tc, test_attacks_are_refused_and_stock_holds);
	tcase_add_test(tc, test_every_write_leaves_an_audit_row);
	tcase_add_test(tc, test_access_log_names_the_actor_never_the_token);
	tcase_add_test(tc, test_idempotency_key_is_scoped_to_the_caller);
	tcase_add_test(tc, test_jwks_rotation_through_a_rewritten_file);
	tcase_add_test(tc, test_auth_disabled_warns_at_start);
	tcase_add_test(tc, test_start_refused_without_jwks_or_internal_token);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	ts_stop(&ord, SIGTERM, 10000);
	ts_stop(&cat, SIGTERM, 10000);
	free(ann);
	free(ann2);
	free(bob);
	free(nomail);
	free(db);
	return failed == 0 ? 0 : 1;
}
