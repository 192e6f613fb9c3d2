/* etag.h - entity tags and the conditional-request headers (RFC 9110 sections 8.8.3 and 13.1).
 *
 * Handlers make the tag (from a row version, or a hash of the body), compare If-None-Match
 * (weak comparison: 304) and If-Match (strong comparison: 412) with it; http.c is not involved. */
#ifndef COMMON_ETAG_H
#define COMMON_ETAG_H

#include <stdbool.h>
#include <stddef.h>

/* Room for every tag made here, quotes and NUL included. */
#define ETAG_MAX 40

/* Writes the strong tag "<prefix><n>" (quotes included) into out[ETAG_MAX]. */
void etag_from_version(char *out, const char *prefix, long long n);

/* Writes the strong tag "h<16 hex digits>" of a 64-bit FNV-1a hash of data into out[ETAG_MAX]. */
void etag_from_body(char *out, const char *data, size_t len);

/* True when header (an If-None-Match or If-Match value: "*" or a comma-separated list of
 * entity-tags, each optionally W/-prefixed) names tag. weak: the weak comparison of
 * If-None-Match (W/ ignored on both sides); otherwise the strong comparison of If-Match (a W/ tag
 * never matches). "*" matches any tag. A malformed list matches nothing past the point where
 * it stops parsing. header NULL: false. */
bool etag_list_match(const char *header, const char *tag, bool weak);

/* Calls fn(tag, len, ctx) for every strong entity-tag of an If-Match list (quotes included),
 * in order, until fn returns non-zero. Returns 1 for "*", 0 otherwise. */
int etag_list_each(const char *header, int (*fn)(const char *tag, size_t len, void *ctx),
		   void *ctx);

#endif
