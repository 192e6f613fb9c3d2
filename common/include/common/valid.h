/* valid.h - input validation shared by both services, producing FastAPI's 422 list form:
 *   {"detail":[{"type":"string_too_short","loc":["body","title"],"msg":"...","input":...}, ...]}
 * Every function that finds a problem appends one entry to `errors` (a JSON array the caller
 * owns) and reports it in its return value; callers validate every field, then answer 422 once
 * if json_array_size(errors) > 0. All functions are pure (no I/O). */
#ifndef COMMON_VALID_H
#define COMMON_VALID_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum valid_field {
	VALID_ABSENT,  /* the key is not in the object (not an error by itself) */
	VALID_NULL,    /* the key holds JSON null (not an error by itself) */
	VALID_OK,      /* present and valid: *out written */
	VALID_INVALID, /* present and invalid: an entry was appended to errors */
};

/* Appends {"type","loc":[loc0,loc1],"msg","input"?}. input is borrowed and may be NULL. */
void valid_error(json_t *errors, const char *type, const char *loc0, const char *loc1,
		 const char *msg, const json_t *input);
/* Appends a "missing"/"Field required" entry for body.key. */
void valid_missing(json_t *errors, const char *loc0, const char *key);
/* Appends the entry for a field that holds JSON null where a value is required: the given type
 * and msg (e.g. "string_type", "Input should be a valid string") with input null. */
void valid_null(json_t *errors, const char *loc0, const char *key, const char *type,
		const char *msg);

/* Number of UTF-8 characters in s (s must be valid UTF-8: jansson guarantees it for JSON). */
size_t valid_utf8_chars(const char *s, size_t len);
/* True when s is valid UTF-8 without NUL bytes. */
bool valid_utf8(const char *s, size_t len);

/* A string field, trimmed of leading/trailing Unicode-ASCII whitespace, whose length in
 * characters is in [min_chars, max_chars]. On VALID_OK *out is a malloc'd copy (caller frees).
 * A non-string gives "string_type"; too short "string_too_short"; too long "string_too_long". */
enum valid_field valid_string(const json_t *obj, const char *key, size_t min_chars,
			      size_t max_chars, char **out, json_t *errors);
/* An integer field: JSON integers only ("5", 5.0, true are rejected with "int_type"), in
 * [min, max] ("greater_than_equal" / "less_than_equal"). */
enum valid_field valid_int(const json_t *obj, const char *key, long long min, long long max,
			   long long *out, json_t *errors);

/* Strict decimal integer from text (query strings, path parameters): optional '-', digits only,
 * no spaces, within [min, max]. Returns 0 or -1. */
int valid_parse_ll(const char *s, long long min, long long max, long long *out);
/* "true"/"false"/"1"/"0" (any case) -> 0 and *out; else -1. */
int valid_parse_bool(const char *s, bool *out);
/* The one integer parser for text inputs (query strings, path parameters): strict syntax as
 * valid_parse_ll, then the range [min, max]. VALID_OK with *out, or VALID_INVALID with one entry
 * appended under loc [loc0, key]: "int_parsing" for anything that is not an integer, else
 * "greater_than_equal" / "less_than_equal" naming the bound. A number too long for 64 bits is an
 * integer out of range (never clamped to LLONG_MAX and let through). */
enum valid_field valid_text_ll(const char *s, const char *loc0, const char *key, long long min,
			       long long max, long long *out, json_t *errors);
/* A query parameter: s NULL => *out = def, VALID_ABSENT; otherwise valid_text_ll with loc0
 * "query". */
enum valid_field valid_query_ll(const char *s, const char *key, long long def, long long min,
				long long max, long long *out, json_t *errors);

/* ISBN: strips hyphens and spaces, validates ISBN-10 (check digit, 'X'/'x' allowed last) or
 * ISBN-13 (check digit), and writes the ISBN-13 form (13 digits + NUL) to out[14].
 * Returns 0 or -1. "" is invalid. */
int valid_isbn(const char *in, char out[14]);

/* Email: one '@', non-empty local part, a dotted domain with non-empty labels, no spaces or
 * control characters, total <= 254 bytes. On success writes a malloc'd copy with the domain
 * lower-cased to *out. Returns 0 or -1. */
int valid_email(const char *in, char **out);

/* Copies s with leading/trailing whitespace removed (malloc'd, caller frees). */
char *valid_trim(const char *s);

#endif
