/* buf.h - a growable, NUL-terminated byte buffer with an optional cap. */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;    /* always NUL-terminated once anything was appended; NULL when empty */
	size_t len;    /* bytes used, not counting the NUL */
	size_t cap;    /* bytes allocated */
	size_t limit;  /* 0 = unlimited; appends that would pass it fail */
};

/* Appends n bytes. Returns 0, or -1 if the cap would be exceeded (buffer unchanged).
 * Aborts with a log line if memory runs out. */
int buf_append(struct buf *b, const void *data, size_t n);
/* Appends a NUL-terminated string; same returns as buf_append. */
int buf_puts(struct buf *b, const char *s);
/* printf-style append; same returns as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data to the caller (who frees it) and leaves the buffer empty. Never NULL. */
char *buf_steal(struct buf *b);
/* Frees the data; the buffer can be reused. */
void buf_free(struct buf *b);

#endif
