/* router.c - the pure path router (http_route_match in http.h).
 *
 * Rules: a path starts with '/', and its segments are compared one by one with the pattern's.
 * A literal segment matches itself exactly; a "{name}" segment matches one non-empty segment.
 * Empty segments ("//" or a trailing '/') therefore never match a parameter, and "/books/" is not
 * "/books". The first route (table order) matching both path and method wins; HEAD is served by
 * a GET route. */
#include "common/http.h"

#include <string.h>

#define ROUTER_MAX_SEGMENTS 32

/* Splits path in place into segments. Returns the count, or -1 (not a path / too many). */
static int split_path(char *path, char **segs)
{
	int n = 0;
	char *p;

	if (path == NULL || path[0] != '/')
		return -1;
	p = path + 1;
	if (*p == '\0')
		return 0; /* "/" has no segments */
	for (;;) {
		char *slash = strchr(p, '/');

		if (n == ROUTER_MAX_SEGMENTS)
			return -1;
		segs[n++] = p;
		if (slash == NULL)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

/* Matches the pattern against the segments; on success fills params (if not NULL). */
static int pattern_match(const char *pattern, char *const *segs, int nsegs, const char **params,
			 size_t *nparams)
{
	const char *p = pattern;
	size_t np = 0;
	int i = 0;

	if (p[0] != '/')
		return 0;
	p++;
	while (*p != '\0') {
		const char *end = strchr(p, '/');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		if (i >= nsegs)
			return 0;
		if (len >= 2 && p[0] == '{' && p[len - 1] == '}') {
			if (segs[i][0] == '\0')
				return 0;
			if (np < HTTP_MAX_PARAMS) {
				if (params != NULL)
					params[np] = segs[i];
				np++;
			}
		} else if (strlen(segs[i]) != len || memcmp(segs[i], p, len) != 0) {
			return 0;
		}
		i++;
		if (end == NULL)
			break;
		p = end + 1;
	}
	if (i != nsegs)
		return 0;
	if (nparams != NULL)
		*nparams = np;
	return 1;
}

/* Appends method to the ", "-separated allow list unless already present. */
static void allow_add(char *allow, size_t allowlen, const char *method)
{
	size_t mlen = strlen(method);
	size_t used = strlen(allow);
	const char *p = allow;

	while ((p = strstr(p, method)) != NULL) {
		if ((p == allow || p[-1] == ' ') && (p[mlen] == ',' || p[mlen] == '\0'))
			return;
		p += mlen;
	}
	if (used + (used ? 2 : 0) + mlen + 1 > allowlen)
		return;
	if (used) {
		memcpy(allow + used, ", ", 2);
		used += 2;
	}
	memcpy(allow + used, method, mlen + 1);
}

static int route_passes(const struct http_route *r, enum http_route_filter filter)
{
	switch (filter) {
	case HTTP_ROUTES_PUBLIC:
		return r->visibility == HTTP_PUBLIC;
	case HTTP_ROUTES_INTERNAL:
		return r->visibility != HTTP_PUBLIC;
	case HTTP_ROUTES_ALL:
		break;
	}
	return 1;
}

enum http_match http_route_match(const struct http_route *routes, size_t nroutes,
				 const char *method, char *path, const struct http_route **route,
				 const char **params, size_t *nparams, char *allow, size_t allowlen)
{
	return http_route_match_filtered(routes, nroutes, HTTP_ROUTES_ALL, method, path, route,
					 params, nparams, allow, allowlen);
}

int http_base_path_valid(const char *p)
{
	size_t i, seg = 0;

	if (p == NULL || p[0] == '\0')
		return 0;
	if (p[0] != '/' || strlen(p) > 128)
		return -1;
	for (i = 1;; i++) {
		char c = p[i];

		if (c == '/' || c == '\0') {
			/* an empty segment ("//", trailing '/') or a dot segment is refused */
			if (seg == 0 || (seg == 1 && p[i - 1] == '.') ||
			    (seg == 2 && p[i - 1] == '.' && p[i - 2] == '.'))
				return -1;
			if (c == '\0')
				return 0;
			seg = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '~' || c == '-'))
			return -1;
		seg++;
	}
}

enum http_match http_route_match_filtered(const struct http_route *routes, size_t nroutes,
					  enum http_route_filter filter, const char *method,
					  char *path, const struct http_route **route,
					  const char **params, size_t *nparams, char *allow,
					  size_t allowlen)
{
	char *segs[ROUTER_MAX_SEGMENTS];
	int nsegs;
	int path_known = 0;
	size_t i;

	if (allow != NULL && allowlen > 0)
		allow[0] = '\0';
	if (nparams != NULL)
		*nparams = 0;
	nsegs = split_path(path, segs);
	if (nsegs < 0 || method == NULL)
		return HTTP_MATCH_NOT_FOUND;
	for (i = 0; i < nroutes; i++) {
		const struct http_route *r = &routes[i];

		if (!route_passes(r, filter))
			continue;
		if (!pattern_match(r->pattern, segs, nsegs, NULL, NULL))
			continue;
		path_known = 1;
		if (strcmp(r->method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0)) {
			pattern_match(r->pattern, segs, nsegs, params, nparams);
			if (route != NULL)
				*route = r;
			return HTTP_MATCH_FOUND;
		}
		if (allow != NULL && allowlen > 0)
			allow_add(allow, allowlen, r->method);
	}
	return path_known ? HTTP_MATCH_BAD_METHOD : HTTP_MATCH_NOT_FOUND;
}
