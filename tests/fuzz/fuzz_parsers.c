/* fuzz_parsers.c - libFuzzer harness for the pure parsers of common/ (money, valid, jsonx, the
 * router, the bearer token and JWKS parsers of auth, the observability parsers: traceparent,
 * TRUSTED_PROXIES/X-Forwarded-For, the access log's query redaction). Client bytes reach each of them, so none may
 * crash, hang, leak or read out of bounds, whatever the input. Built by scripts/fuzz.sh (see
 * docs/fuzzing.md); not part of the CMake build.
 *
 * The first input byte picks the target, the rest is the payload, so one corpus covers all. */
#include "../../common/src/auth_int.h"
#include "common/auth.h"
#include "common/http.h"
#include "common/jsonx.h"
#include "common/money.h"
#include "common/valid.h"

#include "common/log.h"
#include "common/netaddr.h"
#include "common/trace.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fuzz_handler(struct http_req *req, struct http_resp *resp)
{
	(void)req;
	(void)resp;
	return 200;
}

static const struct http_route fuzz_routes[] = {
	{ "GET", "/", fuzz_handler, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "GET", "/books", fuzz_handler, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "POST", "/books", fuzz_handler, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "GET", "/books/{id}", fuzz_handler, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "PUT", "/books/{id}", fuzz_handler, HTTP_PUBLIC, HTTP_ACCESS_PUBLIC },
	{ "POST", "/reservations/{rid}/release", fuzz_handler, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC },
	{ "GET", "/a/{w}/{x}/{y}/{z}/{v}", fuzz_handler, HTTP_INTERNAL, HTTP_ACCESS_PUBLIC },
};

/* Invariants of a successful money parse: in range, and formatting then parsing gives it back. */
static void check_cents(int64_t cents)
{
	char text[24];
	int64_t again = 0;

	if (cents <= 0 || cents > MONEY_MAX_CENTS)
		abort();
	money_format(cents, text);
	if (money_parse(text, &again) != MONEY_OK || again != cents)
		abort();
}

/* The observability parsers: a traceparent that parses round-trips; a CIDR list and an
 * X-Forwarded-For never give a client that is not an address; redaction stays in bounds. */
static void fuzz_observability(const char *s)
{
	char tid[33], pid[17], out[TRACE_TRACEPARENT_LEN + 1], client[NETADDR_TEXT_MAX];
	char redacted[64];
	struct netaddr_list l;
	struct trace_ctx t;
	char err[160];
	uint8_t flags;

	if (trace_parse_traceparent(s, tid, pid, &flags) == 0) {
		trace_begin(&t, s, NULL);
		if (strcmp(t.trace_id, tid) != 0 || strcmp(t.parent_id, pid) != 0)
			abort();
		trace_format(&t, out);
		if (trace_parse_traceparent(out, NULL, NULL, NULL) != 0)
			abort();
	}
	(void)trace_tracestate_ok(s);
	if (netaddr_list_parse(s, &l, err, sizeof(err)) == 0 && l.n > NETADDR_MAX_CIDRS)
		abort();
	(void)netaddr_list_parse("127.0.0.1,10.0.0.0/8", &l, err, sizeof(err));
	netaddr_client(&l, "127.0.0.1", s, client);
	if (strlen(client) >= NETADDR_TEXT_MAX)
		abort();
	log_redact_query(s, redacted, sizeof(redacted));
	if (strlen(redacted) >= sizeof(redacted))
		abort();
}

static void fuzz_text(const char *s, size_t len)
{
	int64_t cents = 0;
	long long ll = 0;
	char isbn[14];
	char *email = NULL;
	char *trimmed = NULL;
	bool b = false;
	json_t *errors = json_array();
	json_t *t = NULL;
	enum money_err e;

	e = money_parse(s, &cents);
	if (e == MONEY_OK)
		check_cents(cents);
	(void)money_err_msg(e);
	(void)money_err_type(e);
	if (valid_isbn(s, isbn) == 0 && (strlen(isbn) != 13 || valid_isbn(isbn, isbn) != 0))
		abort();
	if (valid_email(s, &email) == 0 && strlen(email) != strlen(s))
		abort();
	free(email);
	if (valid_parse_ll(s, -1000, 1000000, &ll) == 0 && (ll < -1000 || ll > 1000000))
		abort();
	(void)valid_parse_bool(s, &b);
	(void)valid_query_ll(s, "limit", 10, 1, 100, &ll, errors);
	(void)valid_utf8(s, len);
	if (valid_utf8(s, len)) {
		(void)valid_utf8_chars(s, len);
		trimmed = valid_trim(s);
		free(trimmed);
	}
	t = jsonx_pg_time(s);
	json_decref(t);
	json_decref(errors);
	fuzz_observability(s);
}

static void fuzz_json(const char *s, size_t len)
{
	json_error_t err;
	json_t *v = json_loadb(s, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
	json_t *errors = json_array();
	const char *key;
	json_t *val;
	char *str = NULL;
	long long ll = 0;
	int64_t cents = 0;
	char *canon = NULL;

	if (v == NULL)
		goto out;
	(void)money_from_json(v, &cents);
	if (json_is_object(v)) {
		json_object_foreach(v, key, val) {
			if (valid_string(v, key, 1, 255, &str, errors) == VALID_OK) {
				if (!valid_utf8(str, strlen(str)))
					abort();
				free(str);
				str = NULL;
			}
			(void)valid_int(v, key, 1, 1000000, &ll, errors);
			if (money_from_json(val, &cents) == MONEY_OK)
				check_cents(cents);
		}
		(void)valid_string(v, "missing-key", 0, 10, &str, errors);
	}
	canon = jsonx_canonical(v);
	/* Every error list must serialise (it becomes a 422 body). */
	free(canon);
	canon = json_dumps(errors, JSON_COMPACT);
	if (canon == NULL)
		abort();
out:
	free(canon);
	json_decref(v);
	json_decref(errors);
}

static void fuzz_route(const char *s, size_t len)
{
	char *path = malloc(len + 1);
	const struct http_route *route = NULL;
	const char *params[HTTP_MAX_PARAMS];
	size_t nparams = 0;
	char allow[128];

	if (path == NULL)
		abort();
	memcpy(path, s, len + 1);
	if (http_route_match(fuzz_routes, sizeof(fuzz_routes) / sizeof(fuzz_routes[0]),
			     len % 2 ? "GET" : "DELETE", path, &route, params, &nparams, allow,
			     sizeof(allow)) == HTTP_MATCH_FOUND &&
	    nparams > HTTP_MAX_PARAMS)
		abort();
	free(path);
}

/* The verifier the token target checks against: the JWKS in $FUZZ_JWKS (scripts/fuzz.sh makes
 * dev keys and seeds signed with them, so the fuzzer starts from tokens that verify), else one
 * built-in EC key whose private half is gone (then every signature fails, but every parser before
 * the signature check is still reached). */
static struct auth_verifier *fuzz_verifier(void)
{
	static struct auth_verifier *v;
	static const char builtin[] =
		"{\"keys\":[{\"kty\":\"EC\",\"use\":\"sig\",\"alg\":\"ES256\",\"kid\":\"fuzz-ec\","
		"\"crv\":\"P-256\",\"x\":\"TgARJgaC7Fn-yRDEU4GMtXwi890Tbh4tEOce8kn2kJk\","
		"\"y\":\"y8e4wdSH0bRxTw_Ibya9VRC6p5i4M6v4y9fzhBxvx0I\"}]}";
	struct cfg_auth c = { .issuer = "http://localhost/dev", .audience = "bookstore",
			      .leeway_s = 30, .roles_claim = "realm.roles", .jwks_refresh_s = 300 };
	char err[512];

	if (v != NULL)
		return v;
	log_init("fuzz", LOG_ERROR);
	c.jwks = getenv("FUZZ_JWKS") != NULL ? getenv("FUZZ_JWKS") : builtin;
	v = auth_verifier_new(&c, err, sizeof(err));
	if (v == NULL) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	return v;
}

#define FUZZ_INTERNAL "fuzz-internal-token-0123456789abcdef"

static const struct auth_internal *fuzz_internal(void)
{
	static struct auth_internal ai;
	static bool ready;
	struct cfg_internal_token t = { .token = FUZZ_INTERNAL, .previous = NULL };
	char err[128];

	if (!ready && auth_internal_init(&ai, &t, err, sizeof(err)) != 0)
		abort();
	ready = true;
	return &ai;
}

/* The Authorization header: refusals never fill an identity, an acceptance only with clean
 * strings, and a token the shape check refuses is never accepted. */
static void fuzz_token(const char *s, size_t len)
{
	struct auth_verifier *v = fuzz_verifier();
	struct auth_identity id;
	const char *why = NULL;
	const char *tok = NULL;
	size_t toklen = 0;
	char *hdr = malloc(len + 8);
	enum auth_result r;

	if (hdr == NULL)
		abort();
	memcpy(hdr, "Bearer ", 7);
	memcpy(hdr + 7, s, len + 1);
	memset(&id, 0x5A, sizeof(id));
	r = auth_check_why(v, hdr, 1, &id, &why);
	if (why == NULL)
		abort();
	if (r == AUTH_OK) {
		if (auth_bearer_token(hdr, &tok, &toklen) != 0 || auth_token_shape(tok, toklen) != NULL)
			abort();
		if (memchr(id.sub, '\0', sizeof(id.sub)) == NULL || id.sub[0] == '\0' ||
		    memchr(id.email, '\0', sizeof(id.email)) == NULL)
			abort();
		for (const char *p = id.sub; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20)
				abort();
	}
	/* The raw header too (any scheme, any bytes), and the internal-token check. */
	(void)auth_check(v, s, 1, &id);
	if (auth_internal_ok(fuzz_internal(), s, 1) && strcmp(s, "Bearer " FUZZ_INTERNAL) != 0 &&
	    strncasecmp(s, "bearer", 6) != 0)
		abort();
	if (auth_bearer_token(s, &tok, &toklen) == 0)
		(void)auth_token_shape(tok, toklen);
	free(hdr);
}

/* JWKS documents: a parse either fails or yields 1..AUTH_MAX_KEYS keys with distinct kids. */
static void fuzz_jwks(const char *s, size_t len)
{
	char err[256];
	struct auth_keyset *ks;

	(void)fuzz_verifier(); /* log_init */
	ks = auth_keyset_parse(s, len, err, sizeof(err));
	if (ks == NULL)
		return;
	if (ks->n == 0 || ks->n > AUTH_MAX_KEYS)
		abort();
	for (size_t i = 0; i < ks->n; i++)
		if (auth_keyset_find(ks, ks->keys[i].kid) != &ks->keys[i])
			abort();
	auth_keyset_release(ks);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;
	size_t len;

	if (size == 0)
		return 0;
	len = size - 1;
	/* NUL-terminated copy of exactly the payload, so ASan sees reads past its end. */
	s = malloc(len + 1);
	if (s == NULL)
		abort();
	memcpy(s, data + 1, len);
	s[len] = '\0';
	switch (data[0] % 5) {
	case 0:
		fuzz_text(s, strlen(s));
		break;
	case 1:
		fuzz_json(s, len);
		break;
	case 2:
		fuzz_route(s, strlen(s));
		break;
	case 3:
		fuzz_token(s, strlen(s));
		break;
	default:
		fuzz_jwks(s, len);
		break;
	}
	free(s);
	return 0;
}
