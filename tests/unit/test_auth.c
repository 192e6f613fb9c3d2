/* test_auth.c - common/auth.h: every refusal the module can decide on its own (hostile tokens,
 * hostile JWKS, claims, rotation, refresh failures over a loopback HTTP server), the internal
 * token, the settings, and a printed (not asserted) cost of a verification with and without the
 * cache. Keys are generated once in main (the forked tests inherit them). */
#include "common/auth.h"

#include "common/config.h"
#include "common/log.h"
#include "token.h"

#include <arpa/inet.h>
#include <check.h>
#include <cjose/cjose.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ISS "https://idp.test/realms/bookstore"
#define AUD "bookstore"

static struct token_key rsa1, rsa2, ec1, ec384, rsa1024;
static char tmpdir[256];

/* ---- helpers ---- */

static char *tmp_path(const char *name)
{
	static int seq;
	char *p = malloc(512);

	ck_assert_ptr_nonnull(p);
	snprintf(p, 512, "%s/%d-%d-%s", tmpdir, (int)getpid(), seq++, name);
	return p;
}

/* Writes text to path atomically (temporary file + rename), as a config manager would. */
static void write_file(const char *path, const char *text)
{
	char tmp[600];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

static char *jwks_of(const struct token_key *a, const struct token_key *b)
{
	const struct token_key *keys[2] = { a, b };

	return token_jwks(keys, b != NULL ? 2 : 1);
}

static struct cfg_auth auth_cfg(const char *jwks)
{
	struct cfg_auth c = { .jwks = jwks,
			      .issuer = ISS,
			      .audience = AUD,
			      .leeway_s = 30,
			      .roles_claim = "roles",
			      .jwks_refresh_s = 300,
			      .disabled = 0 };
	return c;
}

/* A verifier over a JWKS file holding rsa1 and ec1. *path (optional) receives the file name. */
static struct auth_verifier *std_verifier(char **path_out)
{
	char *jwks = jwks_of(&rsa1, &ec1);
	char *path = tmp_path("jwks.json");
	struct cfg_auth c = auth_cfg(path);
	char err[512];
	struct auth_verifier *v;

	write_file(path, jwks);
	free(jwks);
	v = auth_verifier_new(&c, err, sizeof(err));
	ck_assert_msg(v != NULL, "verifier: %s", err);
	if (path_out != NULL)
		*path_out = path;
	else
		free(path);
	return v;
}

static struct token_claims good(void)
{
	struct token_claims c = { .iss = ISS,
				  .aud = AUD,
				  .sub = "user-1",
				  .email = "ann@example.com",
				  .exp_in = 300,
				  .has_iat = true,
				  .iat_in = 0 };
	return c;
}

static enum auth_result check_tok(struct auth_verifier *v, const char *tok, const char **why,
				  struct auth_identity *id)
{
	size_t n = strlen(tok) + 8;
	char *h = malloc(n);
	struct auth_identity scratch;
	enum auth_result r;

	ck_assert_ptr_nonnull(h);
	snprintf(h, n, "Bearer %s", tok);
	r = auth_check_why(v, h, 1, id != NULL ? id : &scratch, why);
	free(h);
	return r;
}

/* Asserts that tok is refused as AUTH_INVALID for the given reason, then frees tok. */
static void expect_invalid(struct auth_verifier *v, char *tok, const char *reason)
{
	const char *why = NULL;
	enum auth_result r = check_tok(v, tok, &why, NULL);

	ck_assert_msg(r == AUTH_INVALID, "expected AUTH_INVALID (%s), got %d (%s)", reason, r,
		      why != NULL ? why : "?");
	if (reason != NULL)
		ck_assert_str_eq(why, reason);
	free(tok);
}

static void expect_ok(struct auth_verifier *v, char *tok, struct auth_identity *id)
{
	const char *why = NULL;
	struct auth_identity scratch;
	enum auth_result r = check_tok(v, tok, &why, id != NULL ? id : &scratch);

	ck_assert_msg(r == AUTH_OK, "expected AUTH_OK, got %d (%s)", r, why != NULL ? why : "?");
	free(tok);
}

static char *mint(const struct token_key *k, const struct token_claims *c)
{
	return token_mint(k, NULL, c);
}

/* The three segments of a compact token, as copies. */
static void split3(const char *tok, char *h, char *p, char *s, size_t n)
{
	const char *d1 = strchr(tok, '.');
	const char *d2 = strchr(d1 + 1, '.');

	snprintf(h, n, "%.*s", (int)(d1 - tok), tok);
	snprintf(p, n, "%.*s", (int)(d2 - d1 - 1), d1 + 1);
	snprintf(s, n, "%s", d2 + 1);
}

static char *join3(const char *h, const char *p, const char *s)
{
	size_t n = strlen(h) + strlen(p) + strlen(s) + 3;
	char *out = malloc(n);

	ck_assert_ptr_nonnull(out);
	snprintf(out, n, "%s.%s.%s", h, p, s);
	return out;
}

/* ---- a tiny loopback HTTP server for JWKS URLs ---- */

struct jwks_server {
	int fd;
	int port;
	pthread_t thread;
	pthread_mutex_t mu;
	int status;
	char *body;
	atomic_bool stop;
	atomic_int hits;
};

static void *server_main(void *arg)
{
	struct jwks_server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		char req[8192];
		size_t got = 0;
		char head[256];
		int c;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept(s->fd, NULL, NULL);
		if (c < 0)
			continue;
		struct timeval tv = { .tv_sec = 2 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (got < sizeof(req) - 1) {
			ssize_t r = recv(c, req + got, sizeof(req) - 1 - got, 0);

			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			if (strstr(req, "\r\n\r\n") != NULL)
				break;
		}
		/* Counted before the answer goes out: the client may read it and check hits before
		 * this thread runs again. */
		atomic_fetch_add(&s->hits, 1);
		pthread_mutex_lock(&s->mu);
		snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: "
			 "%zu\r\nConnection: close\r\n\r\n",
			 s->status, strlen(s->body));
		if (send(c, head, strlen(head), MSG_NOSIGNAL) > 0)
			(void)send(c, s->body, strlen(s->body), MSG_NOSIGNAL);
		pthread_mutex_unlock(&s->mu);
		close(c);
	}
	return NULL;
}

/* Starts serving body with status on 127.0.0.1:port (0 = any free port). */
static void server_start(struct jwks_server *s, int port, int status, const char *body)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	socklen_t alen = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->status = status;
	s->body = strdup(body);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->fd, 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(s->fd, 16), 0);
	ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_set(struct jwks_server *s, int status, const char *body)
{
	pthread_mutex_lock(&s->mu);
	s->status = status;
	free(s->body);
	s->body = strdup(body);
	pthread_mutex_unlock(&s->mu);
}

/* Stops the server and closes its socket: connections are then refused. */
static void server_stop(struct jwks_server *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
	free(s->body);
	s->body = NULL;
	pthread_mutex_destroy(&s->mu);
}

/* ---- the header ---- */

START_TEST(test_valid_rs256_token_is_accepted_with_identity)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	struct auth_identity id;

	expect_ok(v, mint(&rsa1, &c), &id);
	ck_assert_str_eq(id.sub, "user-1");
	ck_assert_str_eq(id.email, "ann@example.com");
	ck_assert(!id.admin);
	c.email = NULL;
	c.roles_json = "[\"customer\",\"admin\"]";
	expect_ok(v, mint(&rsa1, &c), &id);
	ck_assert_str_eq(id.email, "");
	ck_assert(id.admin);
	c.email = "ann@example.com";
	c.extra_json = "{\"email_verified\":false}";
	expect_ok(v, mint(&rsa1, &c), &id);
	ck_assert_str_eq(id.email, ""); /* an unverified address identifies nobody */
	c.extra_json = "{\"email_verified\":true}";
	expect_ok(v, mint(&rsa1, &c), &id);
	ck_assert_str_eq(id.email, "ann@example.com");
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_valid_es256_token_is_accepted)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	struct auth_identity id;

	c.roles_json = "[\"admin\"]";
	expect_ok(v, mint(&ec1, &c), &id);
	ck_assert(id.admin);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_admin_role_must_be_exact_and_in_an_array)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	struct auth_identity id;
	const char *variants[] = { "[\"Admin\"]", "\"admin\"", "[[\"admin\"]]", "{\"admin\":true}",
				   "[\"admin \"]", "[]" };

	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		c.roles_json = variants[i];
		expect_ok(v, mint(&rsa1, &c), &id);
		ck_assert_msg(!id.admin, "roles %s must not make an admin", variants[i]);
	}
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_bearer_header_parsing)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *tok = mint(&rsa1, &c);
	char h[4096];
	struct auth_identity id;
	const char *why;
	const char *missing[] = { "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer    ",
				  "Bearertoken", "Token abc", "", "   " };

	snprintf(h, sizeof(h), "bearer %s", tok);
	ck_assert_int_eq(auth_check(v, h, 1, &id), AUTH_OK);
	snprintf(h, sizeof(h), "  BEARER    %s \t", tok);
	ck_assert_int_eq(auth_check(v, h, 1, &id), AUTH_OK);
	snprintf(h, sizeof(h), "Bearer %s extra", tok);
	ck_assert_int_eq(auth_check_why(v, h, 1, &id, &why), AUTH_MISSING);
	ck_assert_int_eq(auth_check_why(v, NULL, 0, &id, &why), AUTH_MISSING);
	ck_assert_str_eq(why, "no Authorization header");
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		ck_assert_msg(auth_check(v, missing[i], 1, &id) == AUTH_MISSING, "\"%s\"",
			      missing[i]);
	free(tok);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_two_authorization_headers_are_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *tok = mint(&rsa1, &c);
	char h[4096];
	struct auth_identity id;
	const char *why;

	snprintf(h, sizeof(h), "Bearer %s", tok);
	ck_assert_int_eq(auth_check_why(v, h, 2, &id, &why), AUTH_MISSING);
	ck_assert_str_eq(why, "several Authorization headers");
	ck_assert_int_eq(auth_check(v, h, 1, &id), AUTH_OK);
	free(tok);
	auth_verifier_free(v);
}
END_TEST

/* ---- claims ---- */

START_TEST(test_expired_token_is_rejected_after_leeway)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();

	c.exp_in = -60;
	expect_invalid(v, mint(&rsa1, &c), "expired");
	c.exp_in = -10; /* inside the 30 s leeway */
	expect_ok(v, mint(&rsa1, &c), NULL);
	c.no_exp = true;
	expect_invalid(v, mint(&rsa1, &c), "exp missing or not a number");
	c.no_exp = false;
	c.extra_json = "{\"exp\":\"9999999999\"}";
	expect_invalid(v, mint(&rsa1, &c), "exp missing or not a number");
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_nbf_in_the_future_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();

	c.has_nbf = true;
	c.nbf_in = 120;
	expect_invalid(v, mint(&rsa1, &c), "not yet valid (nbf)");
	c.nbf_in = 10;
	expect_ok(v, mint(&rsa1, &c), NULL);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_iat_in_the_future_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();

	c.iat_in = 120;
	expect_invalid(v, mint(&rsa1, &c), "issued in the future (iat)");
	c.iat_in = 10;
	expect_ok(v, mint(&rsa1, &c), NULL);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_wrong_issuer_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();

	c.iss = "https://evil.test/realms/bookstore";
	expect_invalid(v, mint(&rsa1, &c), "wrong issuer");
	c.iss = NULL;
	expect_invalid(v, mint(&rsa1, &c), "wrong issuer");
	c.iss = ISS "/";
	expect_invalid(v, mint(&rsa1, &c), "wrong issuer");
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_wrong_audience_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();

	c.aud = "another-api";
	expect_invalid(v, mint(&rsa1, &c), "wrong audience");
	c.aud = NULL;
	expect_invalid(v, mint(&rsa1, &c), "wrong audience");
	c.aud_json = "[\"account\",\"another-api\"]";
	expect_invalid(v, mint(&rsa1, &c), "wrong audience");
	c.aud_json = "[\"account\",\"" AUD "\"]";
	expect_ok(v, mint(&rsa1, &c), NULL);
	c.aud_json = "[\"bookstore\\u0000x\"]";
	expect_invalid(v, mint(&rsa1, &c), "wrong audience");
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_sub_is_required_and_clean)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();

	c.sub = NULL;
	expect_invalid(v, mint(&rsa1, &c), "sub missing or malformed");
	c.sub = "";
	expect_invalid(v, mint(&rsa1, &c), "sub missing or malformed");
	c.sub = "user\n-1";
	expect_invalid(v, mint(&rsa1, &c), "sub missing or malformed");
	c.sub = "user-1";
	c.email = "ann\r@example.com";
	expect_invalid(v, mint(&rsa1, &c), "email malformed");
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_payload_must_be_one_json_object)
{
	struct auth_verifier *v = std_verifier(NULL);
	char *payload;
	char dup[512];

	expect_invalid(v, token_sign(&rsa1, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "[1,2]"),
		       "payload is not a JSON object");
	payload = token_payload(&(struct token_claims){ .iss = ISS, .aud = AUD, .sub = "a",
							.exp_in = 300 });
	/* a second "sub" appended: duplicate claim names are ambiguous */
	snprintf(dup, sizeof(dup), "%.*s,\"sub\":\"admin\"}", (int)strlen(payload) - 1, payload);
	expect_invalid(v, token_sign(&rsa1, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", dup),
		       "payload is not a JSON object");
	free(payload);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_roles_via_dotted_path)
{
	char *jwks = jwks_of(&rsa1, NULL);
	struct cfg_auth cfg = auth_cfg(jwks);
	struct auth_verifier *v;
	struct token_claims c = good();
	struct auth_identity id;
	char err[256];
	const char *not_admin[] = {
		"{\"roles\":[\"admin\"]}", "{\"realm_access\":{\"roles\":\"admin\"}}",
		"{\"realm_access\":[\"admin\"]}", "{\"realm_access\":{\"role\":[\"admin\"]}}"
	};

	cfg.roles_claim = "realm_access.roles";
	v = auth_verifier_new(&cfg, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	c.extra_json = "{\"realm_access\":{\"roles\":[\"offline_access\",\"admin\"]}}";
	expect_ok(v, mint(&rsa1, &c), &id);
	ck_assert(id.admin);
	for (size_t i = 0; i < sizeof(not_admin) / sizeof(not_admin[0]); i++) {
		c.extra_json = not_admin[i];
		expect_ok(v, mint(&rsa1, &c), &id);
		ck_assert_msg(!id.admin, "%s", not_admin[i]);
	}
	auth_verifier_free(v);
	free(jwks);
}
END_TEST

/* ---- header and algorithm attacks ---- */

START_TEST(test_alg_none_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *payload = token_payload(&c);
	const char *algs[] = { "none", "None", "NONE", "" };

	expect_invalid(v, token_raw("{\"alg\":\"none\",\"kid\":\"rsa-1\"}", payload, ""),
		       "empty segment");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		char hdr[96];

		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"rsa-1\"}", algs[i]);
		expect_invalid(v, token_raw(hdr, payload, "AAAA"), "alg is not RS256 or ES256");
	}
	expect_invalid(v, token_raw("{\"kid\":\"rsa-1\"}", payload, "AAAA"),
		       "alg is not RS256 or ES256");
	free(payload);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_hs256_keyed_with_the_public_key_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *payload = token_payload(&c);
	char *pem = token_public_pem(&rsa1);
	char *jwk = token_jwk_public(&rsa1);

	expect_invalid(v,
		       token_sign_hs256(pem, strlen(pem),
					"{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"rsa-1\"}", payload),
		       "alg is not RS256 or ES256");
	expect_invalid(v,
		       token_sign_hs256(jwk, strlen(jwk),
					"{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"rsa-1\"}", payload),
		       "alg is not RS256 or ES256");
	expect_invalid(v, token_sign_hs256(pem, strlen(pem), "{\"alg\":\"HS512\",\"kid\":\"rsa-1\"}",
					   payload),
		       "alg is not RS256 or ES256");
	free(jwk);
	free(pem);
	free(payload);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_rs_es_mismatch_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *payload = token_payload(&c);

	/* a valid ES256 signature, but the kid names the RSA key (and the other way round) */
	expect_invalid(v, token_sign(&ec1, "{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}", payload),
		       "alg does not match the key's type");
	expect_invalid(v, token_sign(&rsa1, "{\"alg\":\"RS256\",\"kid\":\"ec-1\"}", payload),
		       "alg does not match the key's type");
	/* algorithms cjose would accept on these keys, pinned out */
	expect_invalid(v, token_sign(&rsa1, "{\"alg\":\"RS384\",\"kid\":\"rsa-1\"}", payload),
		       "alg is not RS256 or ES256");
	expect_invalid(v, token_sign(&rsa1, "{\"alg\":\"PS256\",\"kid\":\"rsa-1\"}", payload),
		       "alg is not RS256 or ES256");
	free(payload);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_unknown_or_missing_kid_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *payload = token_payload(&c);

	expect_invalid(v, mint(&rsa2, &c), "unknown kid"); /* rsa2 is not in the JWKS */
	expect_invalid(v, token_mint(&rsa1, "", &c), "no kid");
	expect_invalid(v, token_sign(&rsa1, "{\"alg\":\"RS256\",\"kid\":7}", payload), "no kid");
	expect_invalid(v, token_sign(&rsa1, "{\"alg\":\"RS256\",\"kid\":\"rsa-1 \"}", payload),
		       "unknown kid");
	/* right kid, wrong key: rsa2 signs under rsa1's kid */
	expect_invalid(v, token_mint(&rsa2, "rsa-1", &c), "bad signature");
	free(payload);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_crit_header_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *payload = token_payload(&c);

	expect_invalid(v,
		       token_sign(&rsa1, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"alg\"]}",
				  payload),
		       "crit header");
	expect_invalid(v,
		       token_sign(&rsa1, "{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"x\"],\"x\":1}",
				  payload),
		       "crit header");
	free(payload);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_header_must_be_one_json_object)
{
	struct auth_verifier *v = std_verifier(NULL);
	char sig[400];

	memset(sig, 'A', 342);
	sig[342] = '\0';
	expect_invalid(v, token_raw("[\"RS256\"]", "{}", sig), "header is not a JSON object");
	expect_invalid(v, token_raw("not json", "{}", sig), "header is not a JSON object");
	/* duplicate names: cjose keeps the last alg, a reader the first; refuse both readings */
	expect_invalid(v,
		       token_raw("{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", "{}", sig),
		       "header is not a JSON object");
	auth_verifier_free(v);
}
END_TEST

/* ---- damaged tokens ---- */

START_TEST(test_tampered_payload_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *tok = mint(&rsa1, &c);
	char h[1024], p[1024], s[1024];
	char *evil_payload;
	char *evil_b64;

	split3(tok, h, p, s, sizeof(h));
	c.roles_json = "[\"admin\"]";
	evil_payload = token_payload(&c);
	evil_b64 = token_b64url(evil_payload, strlen(evil_payload));
	expect_invalid(v, join3(h, evil_b64, s), "bad signature");
	/* one flipped signature character (still base64url) */
	s[10] = s[10] == 'A' ? 'B' : 'A';
	expect_invalid(v, join3(h, p, s), "bad signature");
	free(evil_b64);
	free(evil_payload);
	free(tok);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_every_truncation_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *toks[2] = { mint(&rsa1, &c), mint(&ec1, &c) };

	auth_verifier_set_cache(v, false);
	for (int t = 0; t < 2; t++) {
		size_t len = strlen(toks[t]);

		for (size_t cut = 1; cut < len; cut++) {
			char *prefix = strndup(toks[t], cut);
			const char *why = NULL;
			enum auth_result r = check_tok(v, prefix, &why, NULL);

			ck_assert_msg(r == AUTH_INVALID, "prefix of %zu bytes: %d (%s)", cut, r,
				      why != NULL ? why : "?");
			free(prefix);
		}
		free(toks[t]);
	}
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_token_over_8_kb_is_rejected)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char extra[9000];
	char *tok;
	char *junk = malloc(20000);

	/* just under the bound: accepted (the bound is not too tight for real tokens) */
	snprintf(extra, sizeof(extra), "{\"pad\":\"%05000d\"}", 0);
	c.extra_json = extra;
	tok = mint(&rsa1, &c);
	ck_assert_int_lt(strlen(tok), AUTH_MAX_TOKEN);
	expect_ok(v, tok, NULL);
	/* a validly signed token over 8 KB */
	snprintf(extra, sizeof(extra), "{\"pad\":\"%06400d\"}", 0);
	tok = mint(&rsa1, &c);
	ck_assert_int_gt(strlen(tok), AUTH_MAX_TOKEN);
	expect_invalid(v, tok, "token longer than 8192 bytes");
	/* a huge junk segment */
	memset(junk, 'a', 19990);
	junk[6] = '.';
	junk[12] = '.';
	junk[19990] = '\0';
	expect_invalid(v, junk, "token longer than 8192 bytes");
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_base64_padding_is_rejected_without_abort)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *tok = mint(&rsa1, &c);
	char h[1024], p[1024], s[1024], padded[1100];

	split3(tok, h, p, s, sizeof(h));
	snprintf(padded, sizeof(padded), "%s==", s);
	expect_invalid(v, join3(h, p, padded), "base64url padding");
	snprintf(padded, sizeof(padded), "%s=", h);
	expect_invalid(v, join3(padded, p, s), "base64url padding");
	expect_invalid(v, join3("A===", p, s), "base64url padding");
	expect_invalid(v, join3(h, "=", s), "base64url padding");
	expect_invalid(v, join3(h, p, "A"), "segment length impossible for base64url");
	expect_invalid(v, strdup("a.b.c.d"), "more than three segments");
	expect_invalid(v, strdup("abcd.efgh"), "not three segments");
	expect_invalid(v, strdup("ab+d.ef/h.ijkl"), "character outside the base64url alphabet");
	free(tok);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_es256_signature_must_be_64_bytes)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	char *tok = mint(&ec1, &c);
	char h[1024], p[1024], s[1024];
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	uint8_t longer[80];
	char *b64;
	cjose_err err;

	split3(tok, h, p, s, sizeof(h));
	ck_assert(cjose_base64url_decode(s, strlen(s), &raw, &rawlen, &err));
	ck_assert_uint_eq(rawlen, 64);
	/* 65 bytes: cjose 0.6.2.1 would take it; the wrapper refuses it */
	longer[0] = 0;
	memcpy(longer + 1, raw, 64);
	b64 = token_b64url(longer, 65);
	expect_invalid(v, join3(h, p, b64), "signature length wrong for the key");
	free(b64);
	b64 = token_b64url(raw, 63);
	expect_invalid(v, join3(h, p, b64), "signature length wrong for the key");
	free(b64);
	cjose_get_dealloc()(raw);
	free(tok);
	auth_verifier_free(v);
}
END_TEST

/* ---- JWKS ---- */

/* The public JWK of k as a jansson object (new reference). */
static json_t *jwk_obj(const struct token_key *k)
{
	char *s = token_jwk_public(k);
	json_t *j = json_loads(s, 0, NULL);

	free(s);
	ck_assert_ptr_nonnull(j);
	return j;
}

START_TEST(test_jwks_loads_only_pinned_strong_public_keys)
{
	json_t *keys = json_array();
	json_t *k;
	json_t *doc;
	char *text;
	char *n_padded;
	struct cfg_auth cfg;
	struct auth_verifier *v;
	char err[512];
	cjose_err cerr;
	char *priv;

	json_array_append_new(keys, jwk_obj(&rsa1024));     /* too short */
	json_array_append_new(keys, jwk_obj(&ec384));       /* P-384 */
	json_array_append_new(keys, json_pack("{s:s, s:s, s:s}", "kty", "oct", "kid", "oct-1",
					      "k", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"));
	k = jwk_obj(&rsa2);
	json_object_del(k, "kid"); /* no kid */
	json_array_append_new(keys, k);
	k = jwk_obj(&rsa2);
	json_object_set_new(k, "kid", json_string("padded"));
	n_padded = malloc(strlen(json_string_value(json_object_get(k, "n"))) + 3);
	sprintf(n_padded, "%s==", json_string_value(json_object_get(k, "n")));
	json_object_set_new(k, "n", json_string(n_padded)); /* would abort cjose 0.6.2.1 */
	free(n_padded);
	json_array_append_new(keys, k);
	k = jwk_obj(&rsa2);
	json_object_set_new(k, "kid", json_string("e-is-one"));
	json_object_set_new(k, "e", json_string("AQ"));
	json_array_append_new(keys, k);
	k = jwk_obj(&rsa2);
	json_object_set_new(k, "kid", json_string("for-encryption"));
	json_object_set_new(k, "use", json_string("enc"));
	json_array_append_new(keys, k);
	k = jwk_obj(&rsa2);
	json_object_set_new(k, "kid", json_string("rs384"));
	json_object_set_new(k, "alg", json_string("RS384"));
	json_array_append_new(keys, k);
	priv = cjose_jwk_to_json(rsa2.jwk, true, &cerr); /* private parts published by mistake */
	k = json_loads(priv, 0, NULL);
	free(priv);
	json_object_set_new(k, "kid", json_string("private"));
	json_array_append_new(keys, k);
	json_array_append_new(keys, json_string("not an object"));
	json_array_append_new(keys, jwk_obj(&ec1)); /* the one usable key */
	k = jwk_obj(&rsa2);
	json_object_set_new(k, "kid", json_string("ec-1")); /* duplicate kid: first one wins */
	json_array_append_new(keys, k);
	doc = json_pack("{s:o}", "keys", keys);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);

	cfg = auth_cfg(text);
	v = auth_verifier_new(&cfg, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	ck_assert_uint_eq(auth_verifier_key_count(v), 1);
	ck_assert(auth_verifier_has_kid(v, "ec-1"));
	{
		struct token_claims c = good();

		expect_ok(v, mint(&ec1, &c), NULL);
		expect_invalid(v, mint(&rsa1024, &c), "unknown kid");
	}
	auth_verifier_free(v);
	free(text);
}
END_TEST

START_TEST(test_jwks_without_usable_key_is_a_start_error)
{
	const char *bad[] = { "", "not json", "[]", "{\"keys\":{}}", "{\"keys\":[]}",
			      "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"A===\",\"e\":\"AQAB\"}]}",
			      "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"x\",\"crv\":\"P-256\",\"x\":\"=\",\"y\":\"=\"}]}" };
	char *path = tmp_path("bad.json");
	char *only384 = jwks_of(&ec384, &rsa1024);
	char err[512];
	struct cfg_auth cfg;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i]);
		cfg = auth_cfg(path);
		err[0] = '\0';
		ck_assert_msg(auth_verifier_new(&cfg, err, sizeof(err)) == NULL, "%s", bad[i]);
		ck_assert_msg(strncmp(err, "AUTH_JWKS: ", 11) == 0, "%s", err);
	}
	cfg = auth_cfg(only384);
	ck_assert_ptr_null(auth_verifier_new(&cfg, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "no usable key"));
	cfg = auth_cfg("/nonexistent/jwks.json");
	ck_assert_ptr_null(auth_verifier_new(&cfg, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));
	free(only384);
	free(path);
}
END_TEST

START_TEST(test_jwks_file_rotation_after_refresh)
{
	char *path = NULL;
	struct auth_verifier *v = std_verifier(&path);
	struct token_claims c = good();
	char *t1 = mint(&rsa1, &c);
	char *t2 = mint(&rsa2, &c);
	char *only2 = jwks_of(&rsa2, NULL);
	char *both = jwks_of(&rsa1, &rsa2);
	char err[512];

	expect_ok(v, strdup(t1), NULL);
	expect_ok(v, strdup(t1), NULL); /* now cached */
	expect_invalid(v, strdup(t2), "unknown kid");
	write_file(path, only2);
	expect_ok(v, strdup(t1), NULL); /* nothing changes before a refresh */
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), 0);
	expect_invalid(v, strdup(t1), "unknown kid"); /* the cache does not outlive its key */
	expect_ok(v, strdup(t2), NULL);
	write_file(path, both);
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), 0);
	expect_ok(v, strdup(t1), NULL);
	expect_ok(v, strdup(t2), NULL);
	free(t1);
	free(t2);
	free(only2);
	free(both);
	free(path);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_jwks_refresh_failure_keeps_last_good_set)
{
	char *path = NULL;
	struct auth_verifier *v = std_verifier(&path);
	struct token_claims c = good();
	char *t1 = mint(&rsa1, &c);
	char err[512];

	auth_verifier_set_cache(v, false); /* prove the keys stayed, not just the cache */
	write_file(path, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"AA==\",\"e\":\"AQAB\"}]}");
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), -1);
	expect_ok(v, strdup(t1), NULL);
	write_file(path, "{ truncated");
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), -1);
	expect_ok(v, strdup(t1), NULL);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), -1);
	expect_ok(v, strdup(t1), NULL);
	ck_assert_uint_eq(auth_verifier_key_count(v), 2);
	free(t1);
	free(path);
	auth_verifier_free(v);
}
END_TEST

START_TEST(test_refresh_thread_picks_up_a_new_key)
{
	char *path = tmp_path("jwks.json");
	char *only1 = jwks_of(&rsa1, NULL);
	char *both = jwks_of(&rsa1, &rsa2);
	struct cfg_auth cfg = auth_cfg(path);
	struct auth_verifier *v;
	struct token_claims c = good();
	char err[512];
	int waited_ms = 0;

	cfg.jwks_refresh_s = 1;
	write_file(path, only1);
	v = auth_verifier_new(&cfg, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	ck_assert_int_eq(auth_verifier_start_refresh(v), 0);
	ck_assert_int_eq(auth_verifier_start_refresh(v), 0); /* twice: no second thread */
	write_file(path, both);
	while (!auth_verifier_has_kid(v, "rsa-2") && waited_ms < 5000) {
		usleep(50 * 1000);
		waited_ms += 50;
	}
	ck_assert_msg(auth_verifier_has_kid(v, "rsa-2"), "not refreshed after %d ms", waited_ms);
	expect_ok(v, mint(&rsa2, &c), NULL);
	auth_verifier_stop_refresh(v);
	auth_verifier_free(v);
	free(only1);
	free(both);
	free(path);
}
END_TEST

START_TEST(test_jwks_url_down_at_refresh_keeps_last_good_set)
{
	struct jwks_server srv;
	char *only1 = jwks_of(&rsa1, NULL);
	char *only2 = jwks_of(&rsa2, NULL);
	char url[96];
	struct cfg_auth cfg;
	struct auth_verifier *v;
	struct token_claims c = good();
	char *t1 = mint(&rsa1, &c);
	char *t2 = mint(&rsa2, &c);
	char err[512];
	int port;

	server_start(&srv, 0, 200, only1);
	port = srv.port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/realms/x/protocol/openid-connect/certs",
		 port);
	cfg = auth_cfg(url);
	v = auth_verifier_new(&cfg, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	ck_assert_int_eq(atomic_load(&srv.hits), 1);
	auth_verifier_set_cache(v, false);
	expect_ok(v, strdup(t1), NULL);

	server_set(&srv, 503, "{\"detail\":\"down\"}"); /* the IdP answers an error */
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "503"));
	expect_ok(v, strdup(t1), NULL);
	server_set(&srv, 200, "<html>maintenance</html>"); /* garbage with a 200 */
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), -1);
	expect_ok(v, strdup(t1), NULL);
	server_stop(&srv); /* nothing listens: connection refused */
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), -1);
	expect_ok(v, strdup(t1), NULL);

	server_start(&srv, port, 200, only2); /* back, with a rotated set */
	ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), 0);
	expect_ok(v, strdup(t2), NULL);
	expect_invalid(v, strdup(t1), "unknown kid");
	auth_verifier_free(v);
	server_stop(&srv);
	free(t1);
	free(t2);
	free(only1);
	free(only2);
}
END_TEST

START_TEST(test_jwks_url_down_at_start_is_a_start_error)
{
	struct jwks_server srv;
	char url[96];
	struct cfg_auth cfg;
	char err[512];
	int port;

	server_start(&srv, 0, 404, "{\"detail\":\"Not Found\"}");
	port = srv.port;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks.json", port);
	cfg = auth_cfg(url);
	ck_assert_ptr_null(auth_verifier_new(&cfg, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "404"));
	server_stop(&srv);
	ck_assert_ptr_null(auth_verifier_new(&cfg, err, sizeof(err)));
	ck_assert_msg(strncmp(err, "AUTH_JWKS: GET ", 15) == 0, "%s", err);
}
END_TEST

/* ---- cache ---- */

START_TEST(test_cache_never_serves_a_token_past_exp)
{
	char *jwks = jwks_of(&rsa1, NULL);
	struct cfg_auth cfg = auth_cfg(jwks);
	struct auth_verifier *v;
	struct token_claims c = good();
	char *tok;
	char err[256];
	time_t exp;

	cfg.leeway_s = 0;
	v = auth_verifier_new(&cfg, err, sizeof(err));
	ck_assert_msg(v != NULL, "%s", err);
	c.exp_in = 1;
	exp = time(NULL) + 1;
	tok = mint(&rsa1, &c);
	expect_ok(v, strdup(tok), NULL); /* verified and cached */
	while (time(NULL) < exp)
		usleep(20 * 1000);
	expect_invalid(v, tok, "expired");
	auth_verifier_free(v);
	free(jwks);
}
END_TEST

struct hammer {
	struct auth_verifier *v;
	const char *tok;
	int failures;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	char hdr[2048];
	struct auth_identity id;

	snprintf(hdr, sizeof(hdr), "Bearer %s", h->tok);
	for (int i = 0; i < 300; i++)
		if (auth_check(h->v, hdr, 1, &id) != AUTH_OK || strcmp(id.sub, "user-1") != 0)
			h->failures++;
	return NULL;
}

START_TEST(test_checks_run_concurrently_with_refreshes)
{
	char *path = NULL;
	struct auth_verifier *v = std_verifier(&path);
	struct token_claims c = good();
	char *toks[4] = { mint(&rsa1, &c), mint(&ec1, &c), mint(&rsa1, &c), mint(&ec1, &c) };
	char *a = jwks_of(&rsa1, &ec1);
	struct token_key *three[3] = { &rsa1, &ec1, &rsa2 };
	char *b = token_jwks((const struct token_key *const *)three, 3);
	struct hammer h[4];
	pthread_t th[4];
	char err[512];

	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ .v = v, .tok = toks[i] };
		ck_assert_int_eq(pthread_create(&th[i], NULL, hammer_main, &h[i]), 0);
	}
	for (int i = 0; i < 40; i++) {
		write_file(path, i % 2 == 0 ? b : a);
		ck_assert_int_eq(auth_verifier_refresh(v, err, sizeof(err)), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(h[i].failures, 0);
		free(toks[i]);
	}
	free(a);
	free(b);
	free(path);
	auth_verifier_free(v);
}
END_TEST

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Prints the cost of one check; asserts only that every check succeeded. */
START_TEST(test_report_verification_cost)
{
	struct auth_verifier *v = std_verifier(NULL);
	struct token_claims c = good();
	const struct token_key *keys[2] = { &rsa1, &ec1 };

	for (int k = 0; k < 2; k++) {
		char *tok = mint(keys[k], &c);
		char hdr[2048];
		struct auth_identity id;
		double t0, full, cached;
		const int n = 300;

		snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
		auth_verifier_set_cache(v, false);
		t0 = now_us();
		for (int i = 0; i < n; i++)
			ck_assert_int_eq(auth_check(v, hdr, 1, &id), AUTH_OK);
		full = (now_us() - t0) / n;
		auth_verifier_set_cache(v, true);
		t0 = now_us();
		for (int i = 0; i < 10 * n; i++)
			ck_assert_int_eq(auth_check(v, hdr, 1, &id), AUTH_OK);
		cached = (now_us() - t0) / (10 * n);
		printf("auth verify cost %s: %.1f us per token without the cache, %.2f us with it\n",
		       keys[k]->alg, full, cached);
		free(tok);
	}
	auth_verifier_free(v);
}
END_TEST

/* ---- settings and the internal token ---- */

static const char *const *fake_env;

static const char *fake_get(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; fake_env != NULL && fake_env[i] != NULL; i++)
		if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
			return fake_env[i] + n + 1;
	return NULL;
}

START_TEST(test_auth_settings_defaults_and_checks)
{
	static const char *const none[] = { NULL };
	static const char *const disabled[] = { "AUTH_DISABLED=1", NULL };
	static const char *const full[] = { "AUTH_JWKS=https://idp.example/certs",
					    "AUTH_ISSUER=https://idp.example/realms/shop",
					    "AUTH_AUDIENCE=bookstore",
					    "AUTH_ROLES_CLAIM=realm_access.roles", NULL };
	struct cfg_auth a;
	struct cfg_var vars[] = { CFG_AUTH_VARS(&a) };
	char err[512];

	fake_env = none;
	ck_assert_int_eq(cfg_parse(vars, sizeof(vars) / sizeof(vars[0]), fake_get, err, sizeof(err)), 0);
	ck_assert_int_eq(a.leeway_s, 30);
	ck_assert_int_eq(a.jwks_refresh_s, 300);
	ck_assert_int_eq(a.disabled, 0);
	ck_assert_str_eq(a.roles_claim, "roles");
	ck_assert_int_eq(auth_config_check(&a, err, sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "AUTH_JWKS: required", 19) == 0, "%s", err);

	fake_env = disabled;
	ck_assert_int_eq(cfg_parse(vars, sizeof(vars) / sizeof(vars[0]), fake_get, err, sizeof(err)), 0);
	ck_assert_int_eq(auth_config_check(&a, err, sizeof(err)), 1);

	fake_env = full;
	ck_assert_int_eq(cfg_parse(vars, sizeof(vars) / sizeof(vars[0]), fake_get, err, sizeof(err)), 0);
	ck_assert_int_eq(auth_config_check(&a, err, sizeof(err)), 0);
	a.issuer = NULL;
	ck_assert_int_eq(auth_config_check(&a, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "AUTH_ISSUER"));
	a.issuer = "x";
	a.audience = "";
	ck_assert_int_eq(auth_config_check(&a, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "AUTH_AUDIENCE"));
	a.audience = "bookstore";
	a.roles_claim = "realm_access..roles";
	ck_assert_int_eq(auth_config_check(&a, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "AUTH_ROLES_CLAIM"));
	a.roles_claim = "a.b.c.d.e.f.g.h.i";
	ck_assert_int_eq(auth_config_check(&a, err, sizeof(err)), -1);
	a.roles_claim = "resource_access.bookstore-api.roles";
	ck_assert_int_eq(auth_config_check(&a, err, sizeof(err)), 0);
}
END_TEST

#define TOK_A "a-very-long-internal-token-0123456789"
#define TOK_B "b-the-previous-internal-token-987654321"

START_TEST(test_internal_token)
{
	struct auth_internal ai;
	struct cfg_internal_token t = { .token = TOK_A, .previous = NULL };
	char err[256];

	ck_assert_int_eq(auth_internal_init(&ai, &t, err, sizeof(err)), 0);
	ck_assert(auth_internal_ok(&ai, "Bearer " TOK_A, 1));
	ck_assert(!auth_internal_ok(&ai, "Bearer " TOK_B, 1)); /* no previous configured */
	ck_assert(!auth_internal_ok(&ai, "Bearer " TOK_A, 2));
	ck_assert(!auth_internal_ok(&ai, TOK_A, 1));
	ck_assert(!auth_internal_ok(&ai, "Bearer " TOK_A "x", 1));
	ck_assert(!auth_internal_ok(&ai, "Bearer a-very-long-internal-token-012345678", 1));
	ck_assert(!auth_internal_ok(&ai, NULL, 0));
	ck_assert(!auth_internal_ok(&ai, "Bearer ", 1));

	t.previous = TOK_B;
	ck_assert_int_eq(auth_internal_init(&ai, &t, err, sizeof(err)), 0);
	ck_assert(auth_internal_ok(&ai, "Bearer " TOK_A, 1));
	ck_assert(auth_internal_ok(&ai, "bearer  " TOK_B, 1));

	t.token = "short-secret";
	ck_assert_int_eq(auth_internal_init(&ai, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "INTERNAL_API_TOKEN: shorter"));
	ck_assert_ptr_null(strstr(err, "short-secret")); /* never echo the secret */
	ck_assert(!auth_internal_ok(&ai, "Bearer short-secret", 1));
	t.token = "has a space in the middle of it, long enough";
	ck_assert_int_eq(auth_internal_init(&ai, &t, err, sizeof(err)), -1);
	t.token = NULL;
	ck_assert_int_eq(auth_internal_init(&ai, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "required"));
	t.token = TOK_A;
	t.previous = "tiny";
	ck_assert_int_eq(auth_internal_init(&ai, &t, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "INTERNAL_API_TOKEN_PREVIOUS"));
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *t = tcase_create("core");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_valid_rs256_token_is_accepted_with_identity);
	tcase_add_test(t, test_valid_es256_token_is_accepted);
	tcase_add_test(t, test_admin_role_must_be_exact_and_in_an_array);
	tcase_add_test(t, test_bearer_header_parsing);
	tcase_add_test(t, test_two_authorization_headers_are_rejected);
	tcase_add_test(t, test_expired_token_is_rejected_after_leeway);
	tcase_add_test(t, test_nbf_in_the_future_is_rejected);
	tcase_add_test(t, test_iat_in_the_future_is_rejected);
	tcase_add_test(t, test_wrong_issuer_is_rejected);
	tcase_add_test(t, test_wrong_audience_is_rejected);
	tcase_add_test(t, test_sub_is_required_and_clean);
	tcase_add_test(t, test_payload_must_be_one_json_object);
	tcase_add_test(t, test_roles_via_dotted_path);
	tcase_add_test(t, test_alg_none_is_rejected);
	tcase_add_test(t, test_hs256_keyed_with_the_public_key_is_rejected);
	tcase_add_test(t, test_rs_es_mismatch_is_rejected);
	tcase_add_test(t, test_unknown_or_missing_kid_is_rejected);
	tcase_add_test(t, test_crit_header_is_rejected);
	tcase_add_test(t, test_header_must_be_one_json_object);
	tcase_add_test(t, test_tampered_payload_is_rejected);
	tcase_add_test(t, test_every_truncation_is_rejected);
	tcase_add_test(t, test_token_over_8_kb_is_rejected);
	tcase_add_test(t, test_base64_padding_is_rejected_without_abort);
	tcase_add_test(t, test_es256_signature_must_be_64_bytes);
	tcase_add_test(t, test_jwks_loads_only_pinned_strong_public_keys);
	tcase_add_test(t, test_jwks_without_usable_key_is_a_start_error);
	tcase_add_test(t, test_jwks_file_rotation_after_refresh);
	tcase_add_test(t, test_jwks_refresh_failure_keeps_last_good_set);
	tcase_add_test(t, test_refresh_thread_picks_up_a_new_key);
	tcase_add_test(t, test_jwks_url_down_at_refresh_keeps_last_good_set);
	tcase_add_test(t, test_jwks_url_down_at_start_is_a_start_error);
	tcase_add_test(t, test_cache_never_serves_a_token_past_exp);
	tcase_add_test(t, test_checks_run_concurrently_with_refreshes);
	tcase_add_test(t, test_report_verification_cost);
	tcase_add_test(t, test_auth_settings_defaults_and_checks);
	tcase_add_test(t, test_internal_token);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;
	const char *base = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";

	log_init("test_auth", LOG_ERROR); /* the skipped-key warnings are expected */
	json_object_seed(0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_auth.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	token_key_new(&rsa1, "RS256", 2048, "rsa-1");
	token_key_new(&rsa2, "RS256", 2048, "rsa-2");
	token_key_new(&ec1, "ES256", 0, "ec-1");
	token_key_new(&ec384, "ES384", 0, "ec-384");
	token_key_new(&rsa1024, "RS256", 1024, "rsa-1024");
	sr = srunner_create(auth_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	token_key_free(&rsa1);
	token_key_free(&rsa2);
	token_key_free(&ec1);
	token_key_free(&ec384);
	token_key_free(&rsa1024);
	curl_global_cleanup();
	{
		char cmd[320];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "test_auth: could not remove %s\n", tmpdir);
	}
	return failed == 0 ? 0 : 1;
}
