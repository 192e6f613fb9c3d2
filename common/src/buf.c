/* buf.c - growable NUL-terminated byte buffer with an optional cap (see buf.h). */
#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Out of memory is not recoverable here (as in Redis and h2o): say so on stderr and abort. */
static void buf_oom(size_t want)
{
	char line[128];
	int n = snprintf(line, sizeof(line),
			 "{\"level\":\"error\",\"msg\":\"out of memory (buf, %zu bytes)\"}\n", want);

	if (n > 0 && (size_t)n < sizeof(line)) {
		ssize_t w = write(STDERR_FILENO, line, (size_t)n);
		(void)w;
	}
	abort();
}

/* Ensures room for `extra` more bytes plus the NUL. Returns 0, or -1 if the cap forbids it. */
static int buf_reserve(struct buf *b, size_t extra)
{
	size_t need;
	size_t ncap;
	char *p;

	if (extra > (size_t)-1 - b->len - 1)
		return -1;
	if (b->limit != 0 && b->len + extra > b->limit)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > (size_t)-1 / 2 ? need : ncap * 2;
	/* Never allocate far past the cap: the last growth step lands exactly on it. */
	if (b->limit != 0 && ncap > b->limit + 1)
		ncap = b->limit + 1;
	p = realloc(b->data, ncap);
	if (p == NULL)
		buf_oom(ncap);
	b->data = p;
	b->cap = ncap;
	return 0;
}

int buf_append(struct buf *b, const void *data, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	/* First try in whatever room is already there; most appends fit. */
	room = b->cap > b->len ? b->cap - b->len : 0;
	va_start(ap, fmt);
	n = vsnprintf(room ? b->data + b->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < room) {
		if (b->limit != 0 && b->len + (size_t)n > b->limit) {
			b->data[b->len] = '\0';
			return -1;
		}
		b->len += (size_t)n;
		return 0;
	}
	if (buf_reserve(b, (size_t)n) != 0) {
		if (b->data != NULL)
			b->data[b->len] = '\0';
		return -1;
	}
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *buf_steal(struct buf *b)
{
	char *p = b->data;

	if (p == NULL) {
		p = malloc(1);
		if (p == NULL)
			buf_oom(1);
		p[0] = '\0';
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
