/* etag.c - entity tags and conditional-request lists (see etag.h). */
#include "common/etag.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

void etag_from_version(char *out, const char *prefix, long long n)
{
	snprintf(out, ETAG_MAX, "\"%.8s%lld\"", prefix, n);
}

void etag_from_body(char *out, const char *data, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)data[i];
		h *= 1099511628211ULL;
	}
	snprintf(out, ETAG_MAX, "\"h%016llx\"", (unsigned long long)h);
}

/* One list element at *p: an optional W/ prefix, then a quoted tag without inner quotes. On
 * success sets *tag and *len (quotes included) and *is_weak, advances *p past the element,
 * returns 1; at the end of the list returns 0; on a malformed element returns -1. */
static int next_tag(const char **p, const char **tag, size_t *len, bool *is_weak)
{
	const char *s = *p;
	const char *end;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (*s == '\0')
		return 0;
	*is_weak = false;
	if (s[0] == 'W' && s[1] == '/') {
		*is_weak = true;
		s += 2;
	}
	if (*s != '"')
		return -1;
	end = strchr(s + 1, '"');
	if (end == NULL)
		return -1;
	*tag = s;
	*len = (size_t)(end - s) + 1;
	s = end + 1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != ',' && *s != '\0')
		return -1;
	*p = s;
	return 1;
}

static bool only_star(const char *h)
{
	while (*h == ' ' || *h == '\t')
		h++;
	if (*h != '*')
		return false;
	h++;
	while (*h == ' ' || *h == '\t')
		h++;
	return *h == '\0';
}

bool etag_list_match(const char *header, const char *tag, bool weak)
{
	const char *p = header;
	const char *t;
	size_t len;
	bool is_weak;
	const char *want = tag;

	if (header == NULL || tag == NULL)
		return false;
	if (only_star(header))
		return true;
	if (want[0] == 'W' && want[1] == '/')
		want += 2;
	while (next_tag(&p, &t, &len, &is_weak) == 1) {
		if (is_weak && !weak)
			continue;
		if (len == strlen(want) && memcmp(t, want, len) == 0)
			return true;
	}
	return false;
}

int etag_list_each(const char *header, int (*fn)(const char *tag, size_t len, void *ctx),
		   void *ctx)
{
	const char *p = header;
	const char *t;
	size_t len;
	bool is_weak;

	if (header == NULL)
		return 0;
	if (only_star(header))
		return 1;
	while (next_tag(&p, &t, &len, &is_weak) == 1)
		if (!is_weak && fn(t, len, ctx) != 0)
			break;
	return 0;
}
