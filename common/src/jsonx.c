/* jsonx.c - small jansson helpers (see jsonx.h). */
#include "common/jsonx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *jsonx_string_or_null(const char *s)
{
	json_t *v = NULL;

	if (s != NULL)
		v = json_string(s);
	return v != NULL ? v : json_null();
}

/* A JSON string of s, or JSON null when s is not valid UTF-8 (jansson refuses it; the text
 * comes from the database, so that would be a bug, not a reason to abort the process). */
static json_t *pg_time_string(const char *s)
{
	json_t *v = json_string(s);

	return v != NULL ? v : json_null();
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff]" followed by "+00", "+00:00" or "+00:00:00" becomes
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ": the fraction always has six digits (PostgreSQL drops trailing
 * zeros, so clients would otherwise see ".3115" next to ".85357"). Another offset is kept in
 * RFC 3339 form ("+05:30"). Text of any other shape (e.g. "infinity") is returned unchanged. */
const char *jsonx_pg_time_text(const char *pg_text, char *out)
{
	size_t len;
	size_t i;
	size_t o;
	size_t digits = 0;
	const char *off;

	len = strlen(pg_text);
	if (len < 22 || len > 40 || pg_text[10] != ' ')
		return pg_text;
	/* The offset starts after the seconds and optional fraction. */
	i = 19;
	if (pg_text[i] == '.') {
		i++;
		while (pg_text[i] >= '0' && pg_text[i] <= '9') {
			i++;
			digits++;
		}
	}
	off = pg_text + i;
	if (*off != '+' && *off != '-')
		return pg_text;
	/* At most 40 bytes in: 19 + '.' + max(digits, 6) + "+hh:mm:ss" + NUL fits in 64. */
	memcpy(out, pg_text, 19);
	out[10] = 'T';
	out[19] = '.';
	o = 20;
	if (digits > 0) {
		memcpy(out + o, pg_text + 20, digits);
		o += digits;
	}
	for (; digits < 6; digits++)
		out[o++] = '0';
	if (strcmp(off, "+00") == 0 || strcmp(off, "+00:00") == 0 ||
	    strcmp(off, "+00:00:00") == 0) {
		out[o] = 'Z';
		out[o + 1] = '\0';
	} else if (strlen(off) == 3) {
		snprintf(out + o, 64 - o, "%s:00", off);
	} else {
		snprintf(out + o, 64 - o, "%s", off);
	}
	return out;
}

json_t *jsonx_pg_time(const char *pg_text)
{
	char out[64];

	if (pg_text == NULL)
		return json_null();
	return pg_time_string(jsonx_pg_time_text(pg_text, out));
}

char *jsonx_canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
