/* auth_int.h - what the auth*.c files share; not part of common/'s public headers. */
#ifndef COMMON_AUTH_INT_H
#define COMMON_AUTH_INT_H

#include "common/auth.h"

#include <cjose/cjose.h>
#include <stdatomic.h>
#include <stdint.h>

enum auth_alg { AUTH_RS256, AUTH_ES256 };

/* One usable key: the algorithm it is pinned to and the exact length of its signatures. */
struct auth_key {
	char kid[129];
	enum auth_alg alg;
	size_t sig_len;     /* bytes: 64 for ES256, the modulus size for RS256 */
	size_t sig_b64_len; /* base64url characters of such a signature, without padding */
	cjose_jwk_t *jwk;   /* public key, read-only once loaded (safe to share across threads) */
};

/* An immutable set of keys, shared by reference count between the verifier and the requests
 * verifying with it at the moment. */
struct auth_keyset {
	atomic_int refs;
	uint64_t gen;               /* changes whenever a different set is installed */
	unsigned char digest[32];   /* SHA-256 of the JWKS text it was parsed from */
	size_t n;
	struct auth_key keys[];
};

/* Parses a JWKS document (len bytes, not necessarily NUL-terminated) into a new set with one
 * reference. Unusable keys are skipped with a warning. Returns NULL with err set when the text
 * is not a JWKS or holds no usable key. */
struct auth_keyset *auth_keyset_parse(const char *text, size_t len, char *err, size_t errlen);
void auth_keyset_release(struct auth_keyset *ks);
const struct auth_key *auth_keyset_find(const struct auth_keyset *ks, const char *kid);

/* SHA-256 through OpenSSL. */
void auth_sha256(const void *data, size_t len, unsigned char out[32]);
/* True when s[0..len) is non-empty base64url without padding, of a length a base64url encoding
 * can have (len % 4 != 1). */
bool auth_b64url_ok(const char *s, size_t len);

/* The verified-token cache: bounded, set-associative, one mutex per shard. */
struct auth_cache;
struct auth_cache *auth_cache_new(void);
void auth_cache_free(struct auth_cache *c);
/* Copies the identity of a cached token whose exp is still ahead of now and whose key set
 * generation is gen. Returns true on a hit. */
bool auth_cache_get(struct auth_cache *c, const unsigned char key[32], uint64_t gen, int64_t now,
		    struct auth_identity *out);
void auth_cache_put(struct auth_cache *c, const unsigned char key[32], uint64_t gen, int64_t exp,
		    const struct auth_identity *id);

#endif
