/* token.h - test support: key pairs, JWKS documents and JWTs (valid and hostile) for the tests
 * of common/auth.h and, later, every suite that needs a bearer token (DECISIONS.md: one dev key
 * location, scripts/token.sh, and this helper).
 *
 * Signing uses cjose (OpenSSL underneath); the hostile variants are assembled from base64url
 * parts. Every returned string is malloc'd and owned by the caller. All functions abort the
 * process on an internal failure (a test cannot continue without its token). */
#ifndef TESTS_TOKEN_H
#define TESTS_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

struct token_key {
	void *jwk;      /* cjose_jwk_t *, private */
	char kid[64];
	char alg[8];    /* "RS256" or "ES256" (what the key signs with) */
};

/* A fresh key: alg "RS256" (RSA, bits: 0 = 2048), "ES256" (EC P-256) or "ES384" (EC P-384, for
 * hostile JWKS). */
void token_key_new(struct token_key *k, const char *alg, int bits, const char *kid);
void token_key_free(struct token_key *k);
/* The public JWK of a key as JSON text with kid, "use":"sig" and its alg. */
char *token_jwk_public(const struct token_key *k);
/* {"keys":[public JWKs...]} for n keys. */
char *token_jwks(const struct token_key *const *keys, size_t n);
/* The RSA public key as PEM text (for the HS256-with-the-public-key attack). */
char *token_public_pem(const struct token_key *k);

/* What token_mint() puts in the payload. NULL strings are left out; times are relative to now. */
struct token_claims {
	const char *iss;
	const char *aud;        /* a string; aud_json wins when set */
	const char *aud_json;   /* raw JSON for aud, e.g. "[\"x\",\"bookstore\"]" */
	const char *sub;
	const char *email;
	const char *roles_json; /* raw JSON placed at "roles", e.g. "[\"admin\"]" */
	const char *extra_json; /* raw JSON object whose members are merged into the payload */
	long exp_in;            /* exp = now + exp_in */
	bool no_exp;            /* leave exp out */
	bool has_nbf;
	long nbf_in;
	bool has_iat;
	long iat_in;
};

/* A signed token: header {"alg": key's alg, "typ":"JWT", "kid": kid}; kid NULL = key's kid,
 * "" = no kid. */
char *token_mint(const struct token_key *k, const char *kid, const struct token_claims *c);
/* The payload token_mint() would sign, as JSON text. */
char *token_payload(const struct token_claims *c);
/* Signs payload_json with key under an arbitrary protected header (JSON text; its alg is used
 * by cjose, so it must suit the key). */
char *token_sign(const struct token_key *k, const char *header_json, const char *payload_json);
/* HS256 over header.payload with secret bytes as the key (header_json should say HS256). */
char *token_sign_hs256(const void *secret, size_t len, const char *header_json,
		       const char *payload_json);
/* Unsigned assembly: b64url(header).b64url(payload).sig where sig is already base64url text. */
char *token_raw(const char *header_json, const char *payload_json, const char *sig_b64);
/* base64url without padding. */
char *token_b64url(const void *data, size_t len);

#endif
