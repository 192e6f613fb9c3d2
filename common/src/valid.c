/* valid.c - input validation with FastAPI/pydantic v2 error entries (see valid.h). */
#include "common/valid.h"

#include "common/utf8.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Aborts on allocation failure of small objects (STYLE: small allocations may abort). */
static void *valid_oom(void *p)
{
	if (p == NULL) {
		fputs("valid: out of memory\n", stderr);
		abort();
	}
	return p;
}

void valid_error(json_t *errors, const char *type, const char *loc0, const char *loc1,
		 const char *msg, const json_t *input)
{
	json_t *entry = valid_oom(json_object());
	json_t *loc = valid_oom(json_array());

	json_array_append_new(loc, json_string(loc0));
	if (loc1 != NULL)
		json_array_append_new(loc, json_string(loc1));
	json_object_set_new(entry, "type", json_string(type));
	json_object_set_new(entry, "loc", loc);
	json_object_set_new(entry, "msg", json_string(msg));
	if (input != NULL)
		/* jansson's refcount is not const-correct; taking a reference does not modify the
		 * value itself. */
		json_object_set(entry, "input", (json_t *)input);
	json_array_append_new(errors, entry);
}

void valid_missing(json_t *errors, const char *loc0, const char *key)
{
	valid_error(errors, "missing", loc0, key, "Field required", NULL);
}

void valid_null(json_t *errors, const char *loc0, const char *key, const char *type,
		const char *msg)
{
	json_t *null = json_null();

	valid_error(errors, type, loc0, key, msg, null);
	json_decref(null);
}

size_t valid_utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

bool valid_utf8(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;
	size_t n;

	while (i < len) {
		n = utf8_decode(u + i, len - i, &cp);
		if (n == 0 || cp == 0)
			return false;
		i += n;
	}
	return true;
}

/* Python's str.isspace() set, which is what pydantic's str_strip_whitespace strips. */
static bool is_space_cp(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Finds the trimmed span of s[0..len): *start and *end (exclusive). Invalid UTF-8 bytes are
 * treated as non-space. */
static void trim_span(const char *s, size_t len, size_t *start, size_t *end)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	size_t last = 0; /* end of the last non-space character seen */
	size_t first = len;
	uint32_t cp;
	size_t n;

	while (i < len) {
		n = utf8_decode(u + i, len - i, &cp);
		if (n == 0) {
			n = 1;
			cp = 0xFFFD;
		}
		if (!is_space_cp(cp)) {
			if (first == len)
				first = i;
			last = i + n;
		}
		i += n;
	}
	if (first == len) {
		*start = 0;
		*end = 0;
	} else {
		*start = first;
		*end = last;
	}
}

char *valid_trim(const char *s)
{
	size_t start;
	size_t end;
	char *out;

	trim_span(s, strlen(s), &start, &end);
	out = valid_oom(malloc(end - start + 1));
	memcpy(out, s + start, end - start);
	out[end - start] = '\0';
	return out;
}

enum valid_field valid_string(const json_t *obj, const char *key, size_t min_chars,
			      size_t max_chars, char **out, json_t *errors)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;
	size_t start;
	size_t end;
	size_t chars;
	char msg[96];
	char *copy;

	if (v == NULL)
		return VALID_ABSENT;
	if (json_is_null(v))
		return VALID_NULL;
	if (!json_is_string(v)) {
		valid_error(errors, "string_type", "body", key, "Input should be a valid string", v);
		return VALID_INVALID;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	/* jansson accepts "\u0000", which PostgreSQL text cannot store. */
	if (!valid_utf8(s, len)) {
		valid_error(errors, "string_unicode", "body", key,
			    "Input should be a valid string, unable to parse raw data as a unicode string",
			    v);
		return VALID_INVALID;
	}
	trim_span(s, len, &start, &end);
	chars = valid_utf8_chars(s + start, end - start);
	if (chars < min_chars) {
		snprintf(msg, sizeof(msg), "String should have at least %zu character%s", min_chars,
			 min_chars == 1 ? "" : "s");
		valid_error(errors, "string_too_short", "body", key, msg, v);
		return VALID_INVALID;
	}
	if (chars > max_chars) {
		snprintf(msg, sizeof(msg), "String should have at most %zu character%s", max_chars,
			 max_chars == 1 ? "" : "s");
		valid_error(errors, "string_too_long", "body", key, msg, v);
		return VALID_INVALID;
	}
	copy = valid_oom(malloc(end - start + 1));
	memcpy(copy, s + start, end - start);
	copy[end - start] = '\0';
	*out = copy;
	return VALID_OK;
}

/* Appends one range entry: type "greater_than_equal" (bound = min) or "less_than_equal". */
static void range_error(json_t *errors, const char *type, const char *loc0, const char *key,
			long long bound, const json_t *input)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "Input should be %s %lld",
		 strcmp(type, "greater_than_equal") == 0 ? "greater than or equal to"
							  : "less than or equal to",
		 bound);
	valid_error(errors, type, loc0, key, msg, input);
}

/* Appends the range error for value outside [min, max] under loc0.key. Returns 0 if in range. */
static int range_check(long long value, long long min, long long max, const char *loc0,
		       const char *key, const json_t *input, json_t *errors)
{
	if (value < min) {
		range_error(errors, "greater_than_equal", loc0, key, min, input);
		return -1;
	}
	if (value > max) {
		range_error(errors, "less_than_equal", loc0, key, max, input);
		return -1;
	}
	return 0;
}

enum valid_field valid_int(const json_t *obj, const char *key, long long min, long long max,
			   long long *out, json_t *errors)
{
	const json_t *v = json_object_get(obj, key);
	long long i;

	if (v == NULL)
		return VALID_ABSENT;
	if (json_is_null(v))
		return VALID_NULL;
	if (!json_is_integer(v)) {
		valid_error(errors, "int_type", "body", key, "Input should be a valid integer", v);
		return VALID_INVALID;
	}
	i = (long long)json_integer_value(v);
	if (range_check(i, min, max, "body", key, v, errors) != 0)
		return VALID_INVALID;
	*out = i;
	return VALID_OK;
}

/* Strict syntax: '-'? digit+. Returns 0 with *out, -1 on bad syntax; on overflow returns 1
 * with *out saturated to LLONG_MIN/LLONG_MAX. */
static int parse_ll_raw(const char *s, long long *out)
{
	const char *p = s;
	char *end = NULL;
	long long v;

	if (s == NULL)
		return -1;
	if (*p == '-')
		p++;
	if (*p == '\0')
		return -1;
	for (const char *q = p; *q != '\0'; q++)
		if (*q < '0' || *q > '9')
			return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == NULL || *end != '\0')
		return -1;
	*out = v;
	return errno == ERANGE ? 1 : 0;
}

int valid_parse_ll(const char *s, long long min, long long max, long long *out)
{
	long long v;

	if (parse_ll_raw(s, &v) != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int valid_parse_bool(const char *s, bool *out)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0) {
		*out = true;
		return 0;
	}
	if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0) {
		*out = false;
		return 0;
	}
	return -1;
}

enum valid_field valid_text_ll(const char *s, const char *loc0, const char *key, long long min,
			       long long max, long long *out, json_t *errors)
{
	long long v = 0;
	json_t *input = NULL;
	enum valid_field r = VALID_INVALID;
	int rc;

	/* NULL when s is not valid UTF-8: the entry then has no "input". */
	if (s != NULL && valid_utf8(s, strlen(s)))
		input = json_string(s);
	rc = parse_ll_raw(s, &v);
	if (rc < 0) {
		valid_error(errors, "int_parsing", loc0, key,
			    "Input should be a valid integer, unable to parse string as an integer",
			    input);
		goto out;
	}
	/* Too many digits for 64 bits is still an integer, outside every range we accept: report
	 * the bound it passes (never clamp it to LLONG_MAX/LLONG_MIN and let it through). */
	if (rc > 0) {
		if (v > 0)
			range_error(errors, "less_than_equal", loc0, key, max, input);
		else
			range_error(errors, "greater_than_equal", loc0, key, min, input);
		goto out;
	}
	if (range_check(v, min, max, loc0, key, input, errors) != 0)
		goto out;
	*out = v;
	r = VALID_OK;
out:
	json_decref(input);
	return r;
}

enum valid_field valid_query_ll(const char *s, const char *key, long long def, long long min,
				long long max, long long *out, json_t *errors)
{
	if (s == NULL) {
		*out = def;
		return VALID_ABSENT;
	}
	return valid_text_ll(s, "query", key, min, max, out, errors);
}

int valid_isbn(const char *in, char out[14])
{
	char d[14];
	size_t n = 0;
	int sum = 0;

	if (in == NULL)
		return -1;
	for (const char *p = in; *p != '\0'; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		if (n == 13)
			return -1;
		d[n++] = *p;
	}
	d[n] = '\0';
	if (n == 10) {
		for (size_t i = 0; i < 9; i++) {
			if (d[i] < '0' || d[i] > '9')
				return -1;
			sum += (int)(10 - i) * (d[i] - '0');
		}
		if (d[9] == 'X' || d[9] == 'x')
			sum += 10;
		else if (d[9] >= '0' && d[9] <= '9')
			sum += d[9] - '0';
		else
			return -1;
		if (sum % 11 != 0)
			return -1;
		/* ISBN-13 = "978" + the first nine digits + a new EAN-13 check digit. */
		memcpy(out, "978", 3);
		memcpy(out + 3, d, 9);
		sum = 0;
		for (size_t i = 0; i < 12; i++)
			sum += (out[i] - '0') * (i % 2 == 0 ? 1 : 3);
		out[12] = (char)('0' + (10 - sum % 10) % 10);
		out[13] = '\0';
		return 0;
	}
	if (n == 13) {
		for (size_t i = 0; i < 13; i++) {
			if (d[i] < '0' || d[i] > '9')
				return -1;
			sum += (d[i] - '0') * (i % 2 == 0 ? 1 : 3);
		}
		if (sum % 10 != 0)
			return -1;
		memcpy(out, d, 14);
		return 0;
	}
	return -1;
}

int valid_email(const char *in, char **out)
{
	const char *at;
	const char *dom;
	size_t len;
	size_t label = 0;
	int dots = 0;
	char *copy;

	if (in == NULL)
		return -1;
	len = strlen(in);
	if (len == 0 || len > 254)
		return -1;
	for (const char *p = in; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7F)
			return -1;
	}
	at = strchr(in, '@');
	if (at == NULL || at == in || strchr(at + 1, '@') != NULL)
		return -1;
	dom = at + 1;
	if (*dom == '\0')
		return -1;
	for (const char *p = dom; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return -1;
			dots++;
			label = 0;
		} else {
			label++;
		}
	}
	if (label == 0 || dots == 0)
		return -1;
	copy = valid_oom(strdup(in));
	for (char *p = copy + (dom - in); *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	*out = copy;
	return 0;
}
