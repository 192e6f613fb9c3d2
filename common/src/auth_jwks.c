/* auth_jwks.c - JWKS documents to sets of pinned, checked keys (see auth_int.h).
 *
 * cjose only ever sees a JWK that this file rebuilt from values it checked: the key type, kid,
 * curve and the base64url members, nothing else. That keeps cjose 0.6.2.1's assert on '='
 * padding out of reach and loads only what the verifier accepts: RSA >= 2048 bits for RS256 and
 * EC P-256 for ES256, each with a kid, public parts only. */
#include "auth_int.h"

#include "common/log.h"

#include <jansson.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define RSA_N_MAX_B64 1366 /* 1024 bytes */
#define RSA_E_MAX_B64 11   /* 8 bytes */
#define EC_COORD_B64 43    /* 32 bytes */
#define KID_MAX 128

void auth_sha256(const void *data, size_t len, unsigned char out[32])
{
	(void)SHA256(data, len, out);
}

static bool b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

bool auth_b64url_ok(const char *s, size_t len)
{
	if (len == 0 || len % 4 == 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!b64url_char((unsigned char)s[i]))
			return false;
	return true;
}

/* The string member name of obj when it is a string of acceptable base64url, else NULL. */
static const char *b64_member(const json_t *obj, const char *name, size_t max_len)
{
	const json_t *v = json_object_get(obj, name);
	size_t len;

	if (!json_is_string(v))
		return NULL;
	len = json_string_length(v);
	if (len > max_len || !auth_b64url_ok(json_string_value(v), len))
		return NULL;
	return json_string_value(v);
}

/* A kid: 1..KID_MAX visible ASCII characters. */
static bool kid_ok(const json_t *v)
{
	const char *s;
	size_t len;

	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len > KID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7E)
			return false;
	return true;
}

/* The public exponent must be odd and at least 3 (e = 1 would make every "signature" valid). */
static bool rsa_exponent_ok(const char *e)
{
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	cjose_err err;
	uint64_t v = 0;
	bool ok = false;

	if (!cjose_base64url_decode(e, strlen(e), &raw, &rawlen, &err))
		return false;
	if (rawlen >= 1 && rawlen <= 8) {
		for (size_t i = 0; i < rawlen; i++)
			v = (v << 8) | raw[i];
		ok = v >= 3 && (v & 1) == 1;
	}
	cjose_get_dealloc()(raw);
	return ok;
}

/* Builds one key from a JWKS member. Returns NULL when usable (out filled, jwk owned by out),
 * else the reason it was skipped. */
static const char *key_load(const json_t *k, struct auth_key *out)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth", "k" };
	const char *kty, *use, *alg, *n, *e, *x, *y, *crv;
	json_t *clean = NULL;
	cjose_err err;
	size_t bits;
	const char *why = NULL;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(k))
		return "not an object";
	kty = json_string_value(json_object_get(k, "kty"));
	if (kty == NULL)
		return "no kty";
	if (!kid_ok(json_object_get(k, "kid")))
		return "no kid (or not 1..128 visible characters)";
	memcpy(out->kid, json_string_value(json_object_get(k, "kid")),
	       json_string_length(json_object_get(k, "kid")) + 1);
	use = json_string_value(json_object_get(k, "use"));
	if (json_object_get(k, "use") != NULL && (use == NULL || strcmp(use, "sig") != 0))
		return "use is not \"sig\"";
	for (size_t i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_get(k, private_members[i]) != NULL)
			return "holds private or symmetric key material";
	alg = json_string_value(json_object_get(k, "alg"));
	if (json_object_get(k, "alg") != NULL && alg == NULL)
		return "alg is not a string";

	if (strcmp(kty, "RSA") == 0) {
		if (alg != NULL && strcmp(alg, "RS256") != 0)
			return "RSA key for an algorithm other than RS256";
		n = b64_member(k, "n", RSA_N_MAX_B64);
		e = b64_member(k, "e", RSA_E_MAX_B64);
		if (n == NULL || e == NULL)
			return "n or e missing or not unpadded base64url of a sane length";
		if (!rsa_exponent_ok(e))
			return "RSA exponent not odd or below 3";
		clean = json_pack("{s:s, s:s, s:s, s:s}", "kty", "RSA", "kid", out->kid, "n", n,
				  "e", e);
		out->alg = AUTH_RS256;
	} else if (strcmp(kty, "EC") == 0) {
		if (alg != NULL && strcmp(alg, "ES256") != 0)
			return "EC key for an algorithm other than ES256";
		crv = json_string_value(json_object_get(k, "crv"));
		if (crv == NULL || strcmp(crv, "P-256") != 0)
			return "EC curve is not P-256";
		x = b64_member(k, "x", EC_COORD_B64);
		y = b64_member(k, "y", EC_COORD_B64);
		if (x == NULL || y == NULL || strlen(x) != EC_COORD_B64 || strlen(y) != EC_COORD_B64)
			return "x or y missing or not 32 bytes of unpadded base64url";
		clean = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid", out->kid, "crv",
				  "P-256", "x", x, "y", y);
		out->alg = AUTH_ES256;
	} else {
		return "kty is neither RSA nor EC";
	}
	if (clean == NULL) {
		log_msg(LOG_ERROR, NULL, "auth: out of memory building a JWK");
		abort();
	}
	out->jwk = cjose_jwk_import_json((cjose_header_t *)clean, &err);
	json_decref(clean);
	if (out->jwk == NULL)
		return "rejected by cjose (not a valid public key)";
	bits = cjose_jwk_get_keysize(out->jwk, &err);
	if (out->alg == AUTH_RS256) {
		if (cjose_jwk_get_kty(out->jwk, &err) != CJOSE_JWK_KTY_RSA)
			why = "not an RSA key after import";
		else if (bits < RSA_MIN_BITS)
			why = "RSA key shorter than 2048 bits";
		else if (bits > RSA_MAX_BITS)
			why = "RSA key longer than 8192 bits";
		out->sig_len = (bits + 7) / 8;
	} else {
		if (cjose_jwk_get_kty(out->jwk, &err) != CJOSE_JWK_KTY_EC)
			why = "not an EC key after import";
		else if (bits != 256)
			why = "EC key is not 256 bits";
		out->sig_len = 64;
	}
	out->sig_b64_len = (out->sig_len * 4 + 2) / 3;
	if (why != NULL) {
		cjose_jwk_release(out->jwk);
		out->jwk = NULL;
	}
	return why;
}

struct auth_keyset *auth_keyset_parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = NULL;
	json_t *keys;
	struct auth_keyset *ks = NULL;
	size_t count;

	if (len > AUTH_MAX_JWKS) {
		snprintf(err, errlen, "JWKS larger than %d bytes", AUTH_MAX_JWKS);
		goto fail;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL) {
		snprintf(err, errlen, "JWKS is not JSON (line %d column %d: %s)", jerr.line,
			 jerr.column, jerr.text);
		goto fail;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_object(doc) || !json_is_array(keys)) {
		snprintf(err, errlen, "JWKS is not an object with a \"keys\" array");
		goto fail;
	}
	count = json_array_size(keys);
	if (count > AUTH_MAX_KEYS) {
		snprintf(err, errlen, "JWKS holds %zu keys, more than %d", count, AUTH_MAX_KEYS);
		goto fail;
	}
	ks = calloc(1, sizeof(*ks) + count * sizeof(ks->keys[0]));
	if (ks == NULL) {
		log_msg(LOG_ERROR, NULL, "auth: out of memory loading a JWKS");
		abort();
	}
	atomic_init(&ks->refs, 1);
	auth_sha256(text, len, ks->digest);
	for (size_t i = 0; i < count; i++) {
		struct auth_key *slot = &ks->keys[ks->n];
		const char *why = key_load(json_array_get(keys, i), slot);

		if (why == NULL && auth_keyset_find(ks, slot->kid) != NULL) {
			cjose_jwk_release(slot->jwk);
			slot->jwk = NULL;
			why = "duplicate kid (the first one is used)";
		}
		if (why != NULL) {
			if (slot->kid[0] != '\0')
				log_msg(LOG_WARN, NULL, "auth: JWKS key \"%s\" skipped: %s", slot->kid,
					why);
			else
				log_msg(LOG_WARN, NULL, "auth: JWKS key #%zu skipped: %s", i, why);
			memset(slot, 0, sizeof(*slot));
			continue;
		}
		ks->n++;
	}
	if (ks->n == 0) {
		snprintf(err, errlen,
			 "JWKS holds no usable key (RSA >= 2048 bits or EC P-256, with a kid, public "
			 "parts only)");
		goto fail;
	}
	json_decref(doc);
	return ks;
fail:
	json_decref(doc);
	auth_keyset_release(ks);
	return NULL;
}

void auth_keyset_release(struct auth_keyset *ks)
{
	if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ks->n; i++)
		cjose_jwk_release(ks->keys[i].jwk);
	free(ks);
}

const struct auth_key *auth_keyset_find(const struct auth_keyset *ks, const char *kid)
{
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return &ks->keys[i];
	return NULL;
}
