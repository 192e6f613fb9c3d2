/* jsonx.c - small jansson helpers (see jsonx.h). */
#include "common/jsonx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *jsonx_oom(json_t *v)
{
	if (v == NULL) {
		fputs("jsonx: out of memory\n", stderr);
		abort();
	}
	return v;
}

json_t *jsonx_detail(const char *fmt, ...)
{
	va_list ap;
	char small[256];
	char *text = small;
	int n;
	json_t *msg;
	json_t *obj;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		small[0] = '\0';
	} else if ((size_t)n >= sizeof(small)) {
		text = malloc((size_t)n + 1);
		if (text == NULL) {
			fputs("jsonx: out of memory\n", stderr);
			abort();
		}
		va_start(ap, fmt);
		vsnprintf(text, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	/* The text may carry user input that is not UTF-8; jansson then refuses it. */
	msg = json_string(text);
	if (msg == NULL)
		msg = json_string("(message not valid UTF-8)");
	obj = jsonx_oom(json_object());
	json_object_set_new(obj, "detail", jsonx_oom(msg));
	if (text != small)
		free(text);
	return obj;
}

json_t *jsonx_detail_list(json_t *errors)
{
	json_t *obj = jsonx_oom(json_object());

	json_object_set_new(obj, "detail", errors);
	return obj;
}

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
 * "YYYY-MM-DDTHH:MM:SS[.ffffff]Z". Another offset is kept in RFC 3339 form ("+05:30"). Text of
 * any other shape (e.g. "infinity") is returned unchanged. */
const char *jsonx_pg_time_text(const char *pg_text, char *out)
{
	size_t len;
	size_t i;
	const char *off;

	len = strlen(pg_text);
	if (len < 22 || len > 40 || pg_text[10] != ' ')
		return pg_text;
	/* The offset starts after the seconds and optional fraction. */
	i = 19;
	if (pg_text[i] == '.') {
		i++;
		while (pg_text[i] >= '0' && pg_text[i] <= '9')
			i++;
	}
	off = pg_text + i;
	if (*off != '+' && *off != '-')
		return pg_text;
	memcpy(out, pg_text, i);
	out[10] = 'T';
	if (strcmp(off, "+00") == 0 || strcmp(off, "+00:00") == 0 ||
	    strcmp(off, "+00:00:00") == 0) {
		out[i] = 'Z';
		out[i + 1] = '\0';
	} else if (strlen(off) == 3) {
		snprintf(out + i, 64 - i, "%s:00", off);
	} else {
		snprintf(out + i, 64 - i, "%s", off);
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

int jsonx_equal(const json_t *a, const json_t *b)
{
	return json_equal(a, b) ? 1 : 0;
}

char *jsonx_canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
