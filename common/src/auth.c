/* auth.c - JWT bearer verification, JWKS loading and refresh, internal token (see auth.h). */
#include "common/auth.h"

#include "auth_int.h"
#include "common/httpc.h"
#include "common/log.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ROLES_MAX_DEPTH 8
#define ROLES_MAX_LEN 255
#define JWKS_CONNECT_MS 2000
#define JWKS_TOTAL_MS 5000

enum jwks_kind { JWKS_FILE, JWKS_URL, JWKS_INLINE };

struct auth_verifier {
	char *issuer;
	char *audience;
	char *roles_buf;                   /* AUTH_ROLES_CLAIM with '.' replaced by NULs */
	const char *roles[ROLES_MAX_DEPTH]; /* the path segments, pointing into roles_buf */
	size_t roles_depth;
	int leeway_s;
	int refresh_s;
	char *jwks;
	enum jwks_kind kind;

	pthread_mutex_t lock;     /* guards keys and gen_counter; held for pointer copies only */
	struct auth_keyset *keys; /* never NULL after auth_verifier_new */
	uint64_t gen_counter;

	pthread_mutex_t refresh_lock; /* one reload at a time; guards http */
	struct httpc *http;

	struct auth_cache *cache;
	atomic_bool cache_on;

	pthread_mutex_t stop_lock; /* guards stop and running */
	pthread_cond_t stop_cond;
	bool stop;
	bool running;
	pthread_t thread;
};

/* ---- settings ---- */

static bool is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

/* Splits a dotted claim path into v's segments. Returns 0 or -1 (empty segment, too deep). */
static int roles_path_parse(const char *path, char **buf, const char **segs, size_t *depth)
{
	size_t len = path != NULL ? strlen(path) : 0;
	char *b;

	*depth = 0;
	*buf = NULL;
	if (len == 0 || len > ROLES_MAX_LEN)
		return -1;
	b = strdup(path);
	if (b == NULL)
		return -1;
	segs[(*depth)++] = b;
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)b[i] < 0x21 || b[i] == 0x7F)
			goto fail;
		if (b[i] != '.')
			continue;
		b[i] = '\0';
		if (*depth == ROLES_MAX_DEPTH)
			goto fail;
		segs[(*depth)++] = b + i + 1;
	}
	for (size_t i = 0; i < *depth; i++)
		if (segs[i][0] == '\0')
			goto fail;
	*buf = b;
	return 0;
fail:
	free(b);
	*depth = 0;
	return -1;
}

/* True for http URLs whose host is a loopback name or address. */
static bool url_is_loopback(const char *url)
{
	const char *h = strstr(url, "://");
	static const char *const names[] = { "localhost", "127.0.0.1", "[::1]" };

	if (h == NULL)
		return false;
	h += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);

		if (strncasecmp(h, names[i], n) == 0 && (h[n] == '\0' || h[n] == ':' || h[n] == '/'))
			return true;
	}
	return false;
}

int auth_config_check(const struct cfg_auth *c, char *err, size_t errlen)
{
	char *buf = NULL;
	const char *segs[ROLES_MAX_DEPTH];
	size_t depth;

	if (c->disabled == 1) {
		log_msg(LOG_WARN, NULL,
			"auth: AUTH_DISABLED=1: bearer tokens are NOT checked; never run like this "
			"where untrusted clients can connect");
		return 1;
	}
	if (c->jwks == NULL || c->jwks[0] == '\0') {
		snprintf(err, errlen,
			 "AUTH_JWKS: required (a JWKS file path or http(s):// URL); set "
			 "AUTH_DISABLED=1 to run without authentication (development only)");
		return -1;
	}
	if (c->issuer == NULL || c->issuer[0] == '\0') {
		snprintf(err, errlen, "AUTH_ISSUER: required (the tokens' iss claim)");
		return -1;
	}
	if (c->audience == NULL || c->audience[0] == '\0') {
		snprintf(err, errlen, "AUTH_AUDIENCE: required (a value of the tokens' aud claim)");
		return -1;
	}
	if (roles_path_parse(c->roles_claim, &buf, segs, &depth) != 0) {
		snprintf(err, errlen,
			 "AUTH_ROLES_CLAIM: \"%.64s\" is not a dotted claim path (1..%d non-empty "
			 "segments, no spaces)",
			 c->roles_claim != NULL ? c->roles_claim : "", ROLES_MAX_DEPTH);
		return -1;
	}
	free(buf);
	if (c->leeway_s < 0 || c->jwks_refresh_s < 1) {
		snprintf(err, errlen, "AUTH_LEEWAY_S or AUTH_JWKS_REFRESH_S out of range");
		return -1;
	}
	if (strncasecmp(c->jwks, "http://", 7) == 0 && !url_is_loopback(c->jwks))
		log_msg(LOG_WARN, NULL,
			"auth: AUTH_JWKS is a plain http:// URL: anyone on the path can replace the "
			"keys; use https://");
	return 0;
}

/* ---- key sets ---- */

/* Reads the JWKS text from the verifier's source into *text (malloc'd, NUL-terminated). */
static int jwks_read(struct auth_verifier *v, char **text, size_t *len, char *err, size_t errlen)
{
	FILE *f = NULL;
	char *b = NULL;
	size_t n;
	int rc = -1;

	*text = NULL;
	*len = 0;
	if (v->kind == JWKS_INLINE) {
		b = strdup(v->jwks);
		if (b == NULL)
			goto out;
		*len = strlen(b);
		rc = 0;
	} else if (v->kind == JWKS_FILE) {
		f = fopen(v->jwks, "rb");
		if (f == NULL) {
			snprintf(err, errlen, "cannot open %s: %s", v->jwks, strerror(errno));
			goto out;
		}
		b = malloc(AUTH_MAX_JWKS + 1);
		if (b == NULL)
			goto out;
		n = fread(b, 1, AUTH_MAX_JWKS + 1, f);
		if (ferror(f)) {
			snprintf(err, errlen, "cannot read %s", v->jwks);
			goto out;
		}
		if (n > AUTH_MAX_JWKS) {
			snprintf(err, errlen, "%s is larger than %d bytes", v->jwks, AUTH_MAX_JWKS);
			goto out;
		}
		b[n] = '\0';
		*len = n;
		rc = 0;
	} else {
		struct httpc_req req = { .url = v->jwks,
					 .connect_timeout_ms = JWKS_CONNECT_MS,
					 .timeout_ms = JWKS_TOTAL_MS,
					 .max_body = AUTH_MAX_JWKS };
		struct httpc_resp resp;
		enum httpc_status st;

		if (v->http == NULL)
			v->http = httpc_new();
		if (v->http == NULL) {
			snprintf(err, errlen, "cannot create an HTTP client");
			goto out;
		}
		st = httpc_get(v->http, &req, &resp);
		if (st != HTTPC_OK)
			snprintf(err, errlen, "GET %s: %s", v->jwks, resp.error);
		else if (resp.status != 200)
			snprintf(err, errlen, "GET %s: HTTP status %ld", v->jwks, resp.status);
		else {
			b = resp.body;
			*len = resp.len;
			resp.body = NULL;
			rc = 0;
		}
		httpc_resp_free(&resp);
	}
out:
	if (f != NULL)
		fclose(f);
	if (rc != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "out of memory reading the JWKS");
		free(b);
		b = NULL;
	}
	*text = b;
	return rc;
}

/* The current key set with one more reference (the caller releases it). */
static struct auth_keyset *keys_get(struct auth_verifier *v)
{
	struct auth_keyset *ks;

	pthread_mutex_lock(&v->lock);
	ks = v->keys;
	atomic_fetch_add(&ks->refs, 1);
	pthread_mutex_unlock(&v->lock);
	return ks;
}

/* Installs ks (taking its reference) unless the current set came from identical text. Returns
 * true when installed. */
static bool keys_install(struct auth_verifier *v, struct auth_keyset *ks)
{
	struct auth_keyset *old;

	pthread_mutex_lock(&v->lock);
	old = v->keys;
	if (old != NULL && memcmp(old->digest, ks->digest, sizeof(ks->digest)) == 0) {
		pthread_mutex_unlock(&v->lock);
		auth_keyset_release(ks);
		return false;
	}
	ks->gen = ++v->gen_counter;
	v->keys = ks;
	pthread_mutex_unlock(&v->lock);
	auth_keyset_release(old);
	return true;
}

int auth_verifier_refresh(struct auth_verifier *v, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	struct auth_keyset *ks = NULL;
	char kids[256] = "";
	size_t used = 0;
	size_t n;
	int rc = -1;

	err[0] = '\0';
	pthread_mutex_lock(&v->refresh_lock);
	if (jwks_read(v, &text, &len, err, errlen) != 0)
		goto out;
	ks = auth_keyset_parse(text, len, err, errlen);
	if (ks == NULL)
		goto out;
	n = ks->n;
	for (size_t i = 0; i < n && used + 1 < sizeof(kids); i++) {
		int w = snprintf(kids + used, sizeof(kids) - used, "%s%s", i > 0 ? " " : "",
				 ks->keys[i].kid);
		if (w < 0)
			break;
		used += (size_t)w < sizeof(kids) - used ? (size_t)w : sizeof(kids) - used - 1;
	}
	if (keys_install(v, ks))
		log_msg(LOG_INFO, NULL, "auth: JWKS loaded from %s: %zu key(s): %s",
			v->kind == JWKS_INLINE ? "AUTH_JWKS (inline)" : v->jwks, n, kids);
	rc = 0;
out:
	pthread_mutex_unlock(&v->refresh_lock);
	free(text);
	return rc;
}

/* ---- verifier lifecycle ---- */

struct auth_verifier *auth_verifier_new(const struct cfg_auth *c, char *err, size_t errlen)
{
	struct auth_verifier *v = calloc(1, sizeof(*v));
	pthread_condattr_t ca;
	char why[384] = "";

	err[0] = '\0';
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	pthread_mutex_init(&v->refresh_lock, NULL);
	pthread_mutex_init(&v->stop_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&v->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&v->cache_on, true);
	v->cache = auth_cache_new();
	v->leeway_s = c->leeway_s;
	v->refresh_s = c->jwks_refresh_s > 0 ? c->jwks_refresh_s : 300;
	if (c->jwks == NULL || c->issuer == NULL || c->audience == NULL) {
		snprintf(err, errlen, "AUTH_JWKS, AUTH_ISSUER and AUTH_AUDIENCE are required");
		goto fail;
	}
	v->jwks = strdup(c->jwks);
	v->issuer = strdup(c->issuer);
	v->audience = strdup(c->audience);
	if (v->jwks == NULL || v->issuer == NULL || v->audience == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (roles_path_parse(c->roles_claim != NULL ? c->roles_claim : "roles", &v->roles_buf,
			     v->roles, &v->roles_depth) != 0) {
		snprintf(err, errlen, "AUTH_ROLES_CLAIM: not a dotted claim path");
		goto fail;
	}
	v->kind = is_url(v->jwks) ? JWKS_URL : v->jwks[0] == '{' ? JWKS_INLINE : JWKS_FILE;
	if (auth_verifier_refresh(v, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "AUTH_JWKS: %s", why);
		goto fail;
	}
	return v;
fail:
	auth_verifier_free(v);
	return NULL;
}

static void *refresh_main(void *arg)
{
	struct auth_verifier *v = arg;
	char err[384];

	pthread_mutex_lock(&v->stop_lock);
	while (!v->stop) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += v->refresh_s;
		while (!v->stop &&
		       pthread_cond_timedwait(&v->stop_cond, &v->stop_lock, &until) != ETIMEDOUT)
			;
		if (v->stop)
			break;
		pthread_mutex_unlock(&v->stop_lock);
		if (auth_verifier_refresh(v, err, sizeof(err)) != 0)
			log_msg(LOG_WARN, NULL,
				"auth: JWKS refresh failed, keeping the current keys: %s", err);
		pthread_mutex_lock(&v->stop_lock);
	}
	pthread_mutex_unlock(&v->stop_lock);
	return NULL;
}

int auth_verifier_start_refresh(struct auth_verifier *v)
{
	int rc = 0;

	pthread_mutex_lock(&v->stop_lock);
	if (!v->running) {
		v->stop = false;
		if (pthread_create(&v->thread, NULL, refresh_main, v) != 0)
			rc = -1;
		else
			v->running = true;
	}
	pthread_mutex_unlock(&v->stop_lock);
	return rc;
}

void auth_verifier_stop_refresh(struct auth_verifier *v)
{
	bool join;

	pthread_mutex_lock(&v->stop_lock);
	join = v->running;
	v->stop = true;
	pthread_cond_broadcast(&v->stop_cond);
	pthread_mutex_unlock(&v->stop_lock);
	if (join)
		pthread_join(v->thread, NULL);
	pthread_mutex_lock(&v->stop_lock);
	v->running = false;
	pthread_mutex_unlock(&v->stop_lock);
}

void auth_verifier_free(struct auth_verifier *v)
{
	if (v == NULL)
		return;
	auth_verifier_stop_refresh(v);
	auth_keyset_release(v->keys);
	auth_cache_free(v->cache);
	httpc_free(v->http);
	free(v->issuer);
	free(v->audience);
	free(v->roles_buf);
	free(v->jwks);
	pthread_mutex_destroy(&v->lock);
	pthread_mutex_destroy(&v->refresh_lock);
	pthread_mutex_destroy(&v->stop_lock);
	pthread_cond_destroy(&v->stop_cond);
	free(v);
}

void auth_verifier_set_cache(struct auth_verifier *v, bool on)
{
	atomic_store(&v->cache_on, on);
}

size_t auth_verifier_key_count(struct auth_verifier *v)
{
	struct auth_keyset *ks = keys_get(v);
	size_t n = ks->n;

	auth_keyset_release(ks);
	return n;
}

bool auth_verifier_has_kid(struct auth_verifier *v, const char *kid)
{
	struct auth_keyset *ks = keys_get(v);
	bool has = auth_keyset_find(ks, kid) != NULL;

	auth_keyset_release(ks);
	return has;
}

/* ---- the token ---- */

int auth_bearer_token(const char *header, const char **tok, size_t *len)
{
	const char *p = header;
	const char *end;

	if (p == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (strncasecmp(p, "Bearer", 6) != 0 || p[6] != ' ')
		return -1;
	p += 6;
	while (*p == ' ')
		p++;
	end = p + strlen(p);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p)
		return -1;
	for (const char *q = p; q < end; q++)
		if ((unsigned char)*q <= 0x20 || *q == 0x7F)
			return -1;
	*tok = p;
	*len = (size_t)(end - p);
	return 0;
}

const char *auth_token_shape(const char *tok, size_t len)
{
	size_t seg[3] = { 0, 0, 0 };
	size_t dots = 0;

	if (len == 0)
		return "empty token";
	if (len > AUTH_MAX_TOKEN)
		return "token longer than 8192 bytes";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tok[i];

		if (c == '.') {
			if (dots == 2)
				return "more than three segments";
			dots++;
			continue;
		}
		if (c == '=')
			return "base64url padding";
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return "character outside the base64url alphabet";
		seg[dots]++;
	}
	if (dots != 2)
		return "not three segments";
	for (int i = 0; i < 3; i++) {
		if (seg[i] == 0)
			return "empty segment";
		if (seg[i] % 4 == 1)
			return "segment length impossible for base64url";
	}
	return NULL;
}

/* Decodes a base64url segment holding a JSON object (duplicate names rejected). */
static json_t *segment_json(const char *seg, size_t len)
{
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	cjose_err cerr;
	json_t *j = NULL;

	if (!cjose_base64url_decode(seg, len, &raw, &rawlen, &cerr))
		return NULL;
	j = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, NULL);
	cjose_get_dealloc()(raw);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* A JSON string without embedded NULs, or NULL. */
static const char *clean_string(const json_t *v)
{
	const char *s = json_string_value(v);

	if (s == NULL || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

static bool str_is(const json_t *v, const char *want)
{
	const char *s = clean_string(v);

	return s != NULL && strcmp(s, want) == 0;
}

static bool numeric_date(const json_t *v, double *out)
{
	if (json_is_integer(v))
		*out = (double)json_integer_value(v);
	else if (json_is_real(v))
		*out = json_real_value(v);
	else
		return false;
	return true;
}

/* Copies a claim into dst (size dstlen) if it is a string of 1..dstlen-1 bytes without control
 * characters. */
static bool copy_claim(const json_t *v, char *dst, size_t dstlen)
{
	const char *s = clean_string(v);
	size_t len;

	if (s == NULL)
		return false;
	len = strlen(s);
	if (len == 0 || len >= dstlen)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7F)
			return false;
	memcpy(dst, s, len + 1);
	return true;
}

static bool has_admin_role(const struct auth_verifier *v, const json_t *claims)
{
	const json_t *node = claims;
	size_t i;
	const json_t *r;

	for (size_t d = 0; d < v->roles_depth && node != NULL; d++)
		node = json_is_object(node) ? json_object_get(node, v->roles[d]) : NULL;
	if (!json_is_array(node))
		return false;
	json_array_foreach(node, i, r)
		if (str_is(r, AUTH_ROLE_ADMIN))
			return true;
	return false;
}

/* Checks the claims of a verified payload and fills out. Returns NULL or the reason. */
static const char *claims_check(const struct auth_verifier *v, const json_t *claims, double now,
				struct auth_identity *out, int64_t *exp_out)
{
	const json_t *aud = json_object_get(claims, "aud");
	const json_t *email = json_object_get(claims, "email");
	double exp, nbf, iat;
	double leeway = (double)v->leeway_s;
	bool aud_ok = false;

	if (!numeric_date(json_object_get(claims, "exp"), &exp))
		return "exp missing or not a number";
	if (now >= exp + leeway)
		return "expired";
	if (json_object_get(claims, "nbf") != NULL) {
		if (!numeric_date(json_object_get(claims, "nbf"), &nbf))
			return "nbf not a number";
		if (now + leeway < nbf)
			return "not yet valid (nbf)";
	}
	if (json_object_get(claims, "iat") != NULL) {
		if (!numeric_date(json_object_get(claims, "iat"), &iat))
			return "iat not a number";
		if (iat > now + leeway)
			return "issued in the future (iat)";
	}
	if (!str_is(json_object_get(claims, "iss"), v->issuer))
		return "wrong issuer";
	if (json_is_array(aud)) {
		size_t i;
		const json_t *a;

		json_array_foreach(aud, i, a)
			if (str_is(a, v->audience))
				aud_ok = true;
	} else {
		aud_ok = str_is(aud, v->audience);
	}
	if (!aud_ok)
		return "wrong audience";
	memset(out, 0, sizeof(*out));
	if (!copy_claim(json_object_get(claims, "sub"), out->sub, sizeof(out->sub)))
		return "sub missing or malformed";
	if (email != NULL && !json_is_null(email) &&
	    !copy_claim(email, out->email, sizeof(out->email)))
		return "email malformed";
	/* An address the provider says it has not verified identifies nobody: customers' rights
	 * follow the e-mail, and self-registration could otherwise claim someone else's. */
	if (json_is_false(json_object_get(claims, "email_verified")))
		out->email[0] = '\0';
	out->admin = has_admin_role(v, claims);
	*exp_out = exp >= 9.0e18 ? INT64_MAX : (int64_t)exp;
	return NULL;
}

/* Full verification of a token already through auth_token_shape(). */
static const char *verify_token(struct auth_verifier *v, struct auth_keyset *ks, const char *tok,
				size_t len, double now, struct auth_identity *out,
				int64_t *exp_out)
{
	const char *dot1 = memchr(tok, '.', len);
	const char *dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - tok));
	json_t *hdr = segment_json(tok, (size_t)(dot1 - tok));
	json_t *claims = NULL;
	cjose_jws_t *jws = NULL;
	cjose_err cerr;
	const struct auth_key *key;
	const char *alg, *kid, *why = NULL;
	enum auth_alg want;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	json_t *jhdr;

	if (hdr == NULL) {
		why = "header is not a JSON object";
		goto out;
	}
	alg = clean_string(json_object_get(hdr, "alg"));
	if (alg != NULL && strcmp(alg, "RS256") == 0)
		want = AUTH_RS256;
	else if (alg != NULL && strcmp(alg, "ES256") == 0)
		want = AUTH_ES256;
	else {
		why = "alg is not RS256 or ES256";
		goto out;
	}
	if (json_object_get(hdr, "crit") != NULL) {
		why = "crit header";
		goto out;
	}
	kid = clean_string(json_object_get(hdr, "kid"));
	if (kid == NULL) {
		why = "no kid";
		goto out;
	}
	key = auth_keyset_find(ks, kid);
	if (key == NULL) {
		why = "unknown kid";
		goto out;
	}
	if (key->alg != want) {
		why = "alg does not match the key's type";
		goto out;
	}
	if (len - (size_t)(dot2 + 1 - tok) != key->sig_b64_len) {
		why = "signature length wrong for the key";
		goto out;
	}
	jws = cjose_jws_import(tok, len, &cerr);
	if (jws == NULL) {
		why = "not a JWS (cjose import failed)";
		goto out;
	}
	/* cjose parsed the header itself: make sure it saw the same algorithm. */
	jhdr = (json_t *)cjose_jws_get_protected(jws);
	if (!str_is(json_object_get(jhdr, "alg"), alg)) {
		why = "header parsed differently";
		goto out;
	}
	if (!cjose_jws_verify(jws, key->jwk, &cerr)) {
		why = "bad signature";
		goto out;
	}
	if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr)) {
		why = "no payload";
		goto out;
	}
	claims = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(claims)) {
		why = "payload is not a JSON object";
		goto out;
	}
	why = claims_check(v, claims, now, out, exp_out);
out:
	json_decref(hdr);
	json_decref(claims);
	cjose_jws_release(jws);
	return why;
}

enum auth_result auth_check_why(struct auth_verifier *v, const char *header, int header_count,
				struct auth_identity *out, const char **why)
{
	const char *tok = NULL, *reason = NULL;
	size_t len = 0;
	struct auth_keyset *ks = NULL;
	unsigned char digest[32];
	struct auth_identity id;
	int64_t exp = 0;
	time_t now = time(NULL);
	enum auth_result res = AUTH_INVALID;
	bool cache_on;

	if (header_count > 1) {
		reason = "several Authorization headers";
		res = AUTH_MISSING;
		goto out;
	}
	if (header == NULL || header_count < 1) {
		reason = "no Authorization header";
		res = AUTH_MISSING;
		goto out;
	}
	if (auth_bearer_token(header, &tok, &len) != 0) {
		reason = "not a Bearer credential";
		res = AUTH_MISSING;
		goto out;
	}
	if (v == NULL) {
		reason = "no verifier";
		goto out;
	}
	reason = auth_token_shape(tok, len);
	if (reason != NULL)
		goto out;
	ks = keys_get(v);
	auth_sha256(tok, len, digest);
	cache_on = atomic_load(&v->cache_on);
	if (cache_on && auth_cache_get(v->cache, digest, ks->gen, (int64_t)now, out)) {
		reason = "ok";
		res = AUTH_OK;
		goto out;
	}
	reason = verify_token(v, ks, tok, len, (double)now, &id, &exp);
	if (reason != NULL)
		goto out;
	if (cache_on && exp > (int64_t)now)
		auth_cache_put(v->cache, digest, ks->gen, exp, &id);
	*out = id;
	reason = "ok";
	res = AUTH_OK;
out:
	auth_keyset_release(ks);
	if (why != NULL)
		*why = reason;
	return res;
}

enum auth_result auth_check(struct auth_verifier *v, const char *header, int header_count,
			    struct auth_identity *out)
{
	return auth_check_why(v, header, header_count, out, NULL);
}

/* ---- the internal token ---- */

static const char *internal_value_problem(const char *s)
{
	size_t len = strlen(s);

	if (len < AUTH_INTERNAL_MIN)
		return "shorter than 32 characters";
	if (len > AUTH_INTERNAL_MAX)
		return "longer than 512 characters";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
			return "not visible ASCII (spaces and control characters are not allowed)";
	return NULL;
}

int auth_internal_init(struct auth_internal *ai, const struct cfg_internal_token *c, char *err,
		       size_t errlen)
{
	const char *why;

	memset(ai, 0, sizeof(*ai));
	if (c->token == NULL || c->token[0] == '\0') {
		snprintf(err, errlen, "INTERNAL_API_TOKEN: required (at least %d characters)",
			 AUTH_INTERNAL_MIN);
		return -1;
	}
	why = internal_value_problem(c->token);
	if (why != NULL) {
		snprintf(err, errlen, "INTERNAL_API_TOKEN: %s", why);
		return -1;
	}
	auth_sha256(c->token, strlen(c->token), ai->current);
	ai->has_current = true;
	if (c->previous != NULL && c->previous[0] != '\0') {
		why = internal_value_problem(c->previous);
		if (why != NULL) {
			snprintf(err, errlen, "INTERNAL_API_TOKEN_PREVIOUS: %s", why);
			memset(ai, 0, sizeof(*ai));
			return -1;
		}
		auth_sha256(c->previous, strlen(c->previous), ai->previous);
		ai->has_previous = true;
	}
	return 0;
}

bool auth_internal_ok(const struct auth_internal *ai, const char *header, int header_count)
{
	const char *tok;
	size_t len;
	unsigned char d[32];
	int cur, prev;

	if (header_count != 1 || auth_bearer_token(header, &tok, &len) != 0 ||
	    len > AUTH_MAX_TOKEN)
		return false;
	auth_sha256(tok, len, d);
	/* Both comparisons always run; neither depends on where the bytes differ. */
	cur = CRYPTO_memcmp(d, ai->current, sizeof(d));
	prev = CRYPTO_memcmp(d, ai->previous, sizeof(d));
	return (ai->has_current && cur == 0) | (ai->has_previous && prev == 0);
}
