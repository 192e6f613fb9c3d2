/* jsonx.h - small jansson helpers. Ownership: every json_t * returned is a new reference the
 * caller owns (never NULL); every char * returned is malloc'd for the caller to free. */
#ifndef COMMON_JSONX_H
#define COMMON_JSONX_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

/* A string, or JSON null when s is NULL or not valid UTF-8. */
json_t *jsonx_string_or_null(const char *s);
/* Converts PostgreSQL's timestamptz text output in UTC ("2026-11-29 10:00:00.123456+00")
 * into RFC 3339 ("2026-11-29T10:00:00.123456Z") as a new JSON string. Sessions must run with
 * TimeZone=UTC (the pool sets it). JSON null for NULL or text that is not UTF-8. */
json_t *jsonx_pg_time(const char *pg_text);
/* The RFC 3339 text jsonx_pg_time would hold, written into out (64 bytes); returns out, or
 * pg_text itself when it is not in PostgreSQL's timestamptz form (kept as is). */
const char *jsonx_pg_time_text(const char *pg_text, char *out);
/* Serialises compactly with sorted keys (canonical form, used for hashing request bodies).
 * Caller frees. */
char *jsonx_canonical(const json_t *v);

#endif
