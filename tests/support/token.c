/* token.c - test tokens (see token.h). */
#define OPENSSL_SUPPRESS_DEPRECATED /* RSA* is what cjose hands out for an RSA key */
#include "token.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *what)
{
	fprintf(stderr, "token: %s failed\n", what);
	abort();
}

void token_key_new(struct token_key *k, const char *alg, int bits, const char *kid)
{
	static const uint8_t e[] = { 1, 0, 1 };
	cjose_err err;
	cjose_jwk_t *jwk = NULL;

	memset(k, 0, sizeof(*k));
	if (strcmp(alg, "RS256") == 0)
		jwk = cjose_jwk_create_RSA_random(bits > 0 ? (size_t)bits : 2048, e, sizeof(e), &err);
	else if (strcmp(alg, "ES256") == 0)
		jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
	else if (strcmp(alg, "ES384") == 0)
		jwk = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_384, &err);
	if (jwk == NULL || !cjose_jwk_set_kid(jwk, kid, strlen(kid), &err))
		die("key generation");
	k->jwk = jwk;
	snprintf(k->kid, sizeof(k->kid), "%s", kid);
	snprintf(k->alg, sizeof(k->alg), "%s", alg);
}

void token_key_free(struct token_key *k)
{
	if (k->jwk != NULL)
		cjose_jwk_release(k->jwk);
	memset(k, 0, sizeof(*k));
}

static json_t *public_jwk_json(const struct token_key *k)
{
	cjose_err err;
	char *text = cjose_jwk_to_json(k->jwk, false, &err);
	json_t *j;

	if (text == NULL)
		die("cjose_jwk_to_json");
	j = json_loads(text, 0, NULL);
	free(text);
	if (j == NULL)
		die("parsing the public JWK");
	json_object_set_new(j, "kid", json_string(k->kid));
	json_object_set_new(j, "use", json_string("sig"));
	json_object_set_new(j, "alg", json_string(k->alg));
	return j;
}

char *token_jwk_public(const struct token_key *k)
{
	json_t *j = public_jwk_json(k);
	char *s = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	if (s == NULL)
		die("json_dumps");
	return s;
}

char *token_jwks(const struct token_key *const *keys, size_t n)
{
	json_t *arr = json_array();
	json_t *doc;
	char *s;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, public_jwk_json(keys[i]));
	doc = json_pack("{s:o}", "keys", arr);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (s == NULL)
		die("json_dumps");
	return s;
}

char *token_public_pem(const struct token_key *k)
{
	cjose_err err;
	RSA *rsa = cjose_jwk_get_keydata(k->jwk, &err);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	char *out;

	if (rsa == NULL || bio == NULL || PEM_write_bio_RSA_PUBKEY(bio, rsa) != 1)
		die("PEM export");
	len = BIO_get_mem_data(bio, &data);
	out = malloc((size_t)len + 1);
	if (out == NULL)
		die("malloc");
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	BIO_free(bio);
	return out;
}

char *token_payload(const struct token_claims *c)
{
	json_t *p = json_object();
	long now = (long)time(NULL);
	char *s;

	if (c->iss != NULL)
		json_object_set_new(p, "iss", json_string(c->iss));
	if (c->aud_json != NULL)
		json_object_set_new(p, "aud", json_loads(c->aud_json, JSON_DECODE_ANY, NULL));
	else if (c->aud != NULL)
		json_object_set_new(p, "aud", json_string(c->aud));
	if (c->sub != NULL)
		json_object_set_new(p, "sub", json_string(c->sub));
	if (c->email != NULL)
		json_object_set_new(p, "email", json_string(c->email));
	if (c->roles_json != NULL)
		json_object_set_new(p, "roles", json_loads(c->roles_json, JSON_DECODE_ANY, NULL));
	if (!c->no_exp)
		json_object_set_new(p, "exp", json_integer(now + c->exp_in));
	if (c->has_nbf)
		json_object_set_new(p, "nbf", json_integer(now + c->nbf_in));
	if (c->has_iat)
		json_object_set_new(p, "iat", json_integer(now + c->iat_in));
	if (c->extra_json != NULL) {
		json_t *x = json_loads(c->extra_json, 0, NULL);

		if (x == NULL || json_object_update(p, x) != 0)
			die("extra_json");
		json_decref(x);
	}
	s = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (s == NULL)
		die("json_dumps");
	return s;
}

static char *sign_with(const cjose_jwk_t *jwk, const char *header_json, const char *payload_json)
{
	cjose_err err;
	json_t *hdr = json_loads(header_json, 0, NULL);
	cjose_jws_t *jws;
	const char *compact = NULL;
	char *out;

	if (hdr == NULL)
		die("header JSON");
	jws = cjose_jws_sign(jwk, (cjose_header_t *)hdr, (const uint8_t *)payload_json,
			     strlen(payload_json), &err);
	json_decref(hdr);
	if (jws == NULL || !cjose_jws_export(jws, &compact, &err))
		die("cjose_jws_sign");
	out = strdup(compact);
	cjose_jws_release(jws);
	if (out == NULL)
		die("strdup");
	return out;
}

char *token_sign(const struct token_key *k, const char *header_json, const char *payload_json)
{
	return sign_with(k->jwk, header_json, payload_json);
}

char *token_mint(const struct token_key *k, const char *kid, const struct token_claims *c)
{
	char header[160];
	char *payload = token_payload(c);
	char *tok;

	if (kid == NULL)
		kid = k->kid;
	if (kid[0] == '\0')
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", k->alg);
	else
		snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
			 k->alg, kid);
	tok = token_sign(k, header, payload);
	free(payload);
	return tok;
}

char *token_sign_hs256(const void *secret, size_t len, const char *header_json,
		       const char *payload_json)
{
	cjose_err err;
	cjose_jwk_t *oct = cjose_jwk_create_oct_spec(secret, len, &err);
	char *tok;

	if (oct == NULL)
		die("oct key");
	tok = sign_with(oct, header_json, payload_json);
	cjose_jwk_release(oct);
	return tok;
}

char *token_b64url(const void *data, size_t len)
{
	cjose_err err;
	char *b64 = NULL;
	size_t b64len = 0;
	char *out;

	if (!cjose_base64url_encode(data, len, &b64, &b64len, &err))
		die("base64url");
	out = malloc(b64len + 1);
	if (out == NULL)
		die("malloc");
	memcpy(out, b64, b64len);
	out[b64len] = '\0';
	cjose_get_dealloc()(b64);
	return out;
}

char *token_raw(const char *header_json, const char *payload_json, const char *sig_b64)
{
	char *h = token_b64url(header_json, strlen(header_json));
	char *p = token_b64url(payload_json, strlen(payload_json));
	size_t n = strlen(h) + strlen(p) + strlen(sig_b64) + 3;
	char *out = malloc(n);

	if (out == NULL)
		die("malloc");
	snprintf(out, n, "%s.%s.%s", h, p, sig_b64);
	free(h);
	free(p);
	return out;
}
