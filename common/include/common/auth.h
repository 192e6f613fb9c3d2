/* auth.h - authentication building blocks: JWT bearer tokens verified against a JWKS, and the
 * shared-secret token of the internal (service-to-service) API.
 *
 * Library choice: cjose (Debian libcjose, the JOSE library under Apache's mod_auth_openidc), not
 * libjwt. Neither parses a JWKS, pins algorithms or checks claims, so a strict wrapper is needed
 * either way; libjwt 1.10.2 (Debian 12) is unsafe underneath one: it accepts HS256 keyed with an
 * RSA public key's PEM (algorithm confusion), skips verification on a NULL or empty key, rejects
 * RFC 9068 `typ: at+jwt`, writes past a heap buffer on an empty header, overflows the stack on a
 * large segment, takes PEM keys only and verifies 6-16x slower. cjose 0.6.2.1 behind this wrapper
 * decides every hostile case correctly; the wrapper closes its known gaps (docs/auth.md):
 *   - `=` padding in a base64url segment or JWK value aborts the process on an assert: the raw
 *     token is checked first (<= AUTH_MAX_TOKEN bytes, base64url alphabet, exactly two dots, no
 *     empty segment) and JWKs are rebuilt from checked values before cjose sees them;
 *   - cjose accepts RS384/PS256, ES256 over P-384, 65/66-byte ES256 signatures and HS256 with any
 *     oct key: only RSA >= 2048 bits (pinned to RS256) and EC P-256 (pinned to ES256) keys with a
 *     kid are loaded, the header's alg must equal the key's pinned alg, the signature must have
 *     the key's exact length (64 bytes for ES256), and a `crit` header is rejected;
 *   - its error messages sit in a shared static buffer: only err.code is logged;
 *   - cjose_set_alloc_funcs() changes jansson's globals: never called.
 * No cryptography is written here: signatures are checked by cjose (OpenSSL), hashes by OpenSSL.
 *
 * Threads: auth_check() may be called from any number of threads at once. The key set is
 * reference-counted and swapped under a mutex held only for a pointer copy, so a JWKS refresh
 * (file or URL, on its own thread) never blocks a request. Verified tokens are cached (bounded,
 * keyed by the SHA-256 of the token, never served at or past exp, dropped when the keys change).
 *
 * Answers (FastAPI-shaped, written by the HTTP layer): AUTH_MISSING -> 401
 * {"detail": AUTH_DETAIL_MISSING} with WWW-Authenticate: AUTH_WWW_MISSING; AUTH_INVALID -> 401
 * {"detail": AUTH_DETAIL_INVALID} with WWW-Authenticate: AUTH_WWW_INVALID; an authenticated caller
 * without the right -> 403 {"detail": AUTH_DETAIL_FORBIDDEN}. Tokens are never logged. */
#ifndef COMMON_AUTH_H
#define COMMON_AUTH_H

#include "common/config.h"

#include <stdbool.h>
#include <stddef.h>

#define AUTH_DETAIL_MISSING "Not authenticated"
#define AUTH_DETAIL_INVALID "Could not validate credentials"
#define AUTH_DETAIL_FORBIDDEN "Not enough permissions"
#define AUTH_WWW_MISSING "Bearer"
#define AUTH_WWW_INVALID "Bearer error=\"invalid_token\""

#define AUTH_MAX_TOKEN 8192         /* longest accepted JWT, bytes */
#define AUTH_MAX_JWKS (1024 * 1024) /* largest accepted JWKS document, bytes */
#define AUTH_MAX_KEYS 64            /* most keys loaded from one JWKS */
#define AUTH_INTERNAL_MIN 32        /* shortest accepted INTERNAL_API_TOKEN */
#define AUTH_INTERNAL_MAX 512       /* longest accepted INTERNAL_API_TOKEN */
#define AUTH_ROLE_ADMIN "admin"

enum auth_result {
	AUTH_OK,      /* out is filled */
	AUTH_MISSING, /* no credentials, or not a well-formed single "Bearer <token>" header */
	AUTH_INVALID  /* a bearer token that does not verify (signature, key, claims, shape) */
};

/* Who the token says the caller is. Strings are NUL-terminated, free of control characters. */
struct auth_identity {
	char sub[256];   /* the sub claim (required, non-empty) */
	char email[321]; /* the email claim; "" when absent or when email_verified is false */
	bool admin;      /* the roles claim (AUTH_ROLES_CLAIM) contains "admin" */
};

/* Checks the AUTH_* settings at start. Returns 0 when authentication is on and the settings are
 * usable; 1 when AUTH_DISABLED=1 (a warning is logged: call it at every start); -1 with one line
 * in err naming the variable (AUTH_JWKS unset while not disabled, AUTH_ISSUER or AUTH_AUDIENCE
 * unset, a malformed AUTH_ROLES_CLAIM path). A plain-http JWKS URL to a non-loopback host is
 * allowed but logged as a warning. Does no I/O besides the log. */
int auth_config_check(const struct cfg_auth *c, char *err, size_t errlen);

/* Creates a verifier from checked settings (auth_config_check() == 0) and loads the JWKS now:
 * reads the file, fetches the URL (2 s connect, 5 s total) or parses the inline document. Returns
 * NULL with one line in err when the keys cannot be loaded or none is usable: a start error.
 * The verifier copies what it needs from c. Keys that are present but unusable (wrong type, too
 * short, no kid, P-384, private parts...) are skipped with a warning naming their kid. */
struct auth_verifier *auth_verifier_new(const struct cfg_auth *c, char *err, size_t errlen);
/* Starts the refresh thread: reloads the JWKS every AUTH_JWKS_REFRESH_S seconds, keeping the
 * current set when a reload fails (logged as a warning). Returns 0 or -1 (thread not created).
 * Calling it twice is a no-op. */
int auth_verifier_start_refresh(struct auth_verifier *v);
/* Stops and joins the refresh thread. A fetch in flight is waited for (bounded by its 5 s
 * timeout). No-op if not started. */
void auth_verifier_stop_refresh(struct auth_verifier *v);
/* Reloads the JWKS once, now, on the calling thread (the refresh thread calls this). Returns 0
 * when a usable set was loaded (installed if it differs from the current one), -1 with err set
 * otherwise; the current set stays in use either way on failure. */
int auth_verifier_refresh(struct auth_verifier *v, char *err, size_t errlen);
/* Stops the refresh thread if running and frees everything. NULL is a no-op. */
void auth_verifier_free(struct auth_verifier *v);

/* Verifies the Authorization header of one request. header is its value (NULL when absent),
 * header_count how many Authorization headers the request carried (more than one is rejected as
 * AUTH_MISSING: ambiguous credentials). Fills out on AUTH_OK only. Never blocks on I/O. */
enum auth_result auth_check(struct auth_verifier *v, const char *header, int header_count,
			    struct auth_identity *out);
/* auth_check() that also tells why a token was refused (a static string, for debug logs and
 * tests; never contains token bytes). *why is "ok" on AUTH_OK. why may be NULL. */
enum auth_result auth_check_why(struct auth_verifier *v, const char *header, int header_count,
				struct auth_identity *out, const char **why);
/* Turns the verified-token cache on (default) or off; for benchmarks and tests. */
void auth_verifier_set_cache(struct auth_verifier *v, bool on);
/* How many keys the current set holds, and whether one has this kid (for tests and /ready). */
size_t auth_verifier_key_count(struct auth_verifier *v);
bool auth_verifier_has_kid(struct auth_verifier *v, const char *kid);

/* Extracts the token of an "Authorization: Bearer <token>" value: scheme case-insensitive, one
 * or more spaces, the token, optional trailing spaces. Returns 0 with *tok and *len pointing into
 * header, or -1 (absent, other scheme, empty, embedded space or control characters). */
int auth_bearer_token(const char *header, const char **tok, size_t *len);
/* The raw shape checks done before any parsing: 1..AUTH_MAX_TOKEN bytes, base64url alphabet,
 * exactly two dots, three non-empty segments of a possible base64url length, no '=' padding.
 * Returns NULL when acceptable, else a static reason. Pure; exported for the fuzz harness. */
const char *auth_token_shape(const char *tok, size_t len);

/* The internal API's shared secret, kept as SHA-256 digests so the comparison is constant-time
 * and independent of the presented token's length. */
struct auth_internal {
	unsigned char current[32];
	unsigned char previous[32];
	bool has_current;
	bool has_previous;
};

/* Checks INTERNAL_API_TOKEN and INTERNAL_API_TOKEN_PREVIOUS (the first required; each AUTH_INTERNAL_MIN..AUTH_INTERNAL_MAX
 * visible ASCII characters, no spaces) and fills ai. Returns 0, or -1 with one line in err naming
 * the variable (never its value). */
int auth_internal_init(struct auth_internal *ai, const struct cfg_internal_token *c, char *err,
		       size_t errlen);
/* True when the single Authorization header is "Bearer <token>" with the current or the previous
 * token. Both are always compared, in constant time. header_count > 1 is refused. */
bool auth_internal_ok(const struct auth_internal *ai, const char *header, int header_count);

#endif
