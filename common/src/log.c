/* log.c - JSON lines on stdout, one write(2) per line (see log.h).
 *
 * Lines are built in a stack buffer and written at once, so concurrent threads never interleave
 * inside a line. Strings are JSON-escaped and forced to valid UTF-8 (an invalid byte becomes
 * U+FFFD) because paths and request ids come from clients. Over-long fields are truncated. */
#include "common/log.h"

#include "common/trace.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192
#define LOG_MSG_MAX 2048
#define LOG_PATH_MAX 1024

static const char *log_service = "";
static enum log_level log_min = LOG_INFO;
static int log_slow_ms = 1000;

static const char *const log_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *service, enum log_level min_level)
{
	log_service = service != NULL ? service : "";
	log_min = min_level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	if (s == NULL)
		return -1;
	if (strcasecmp(s, "debug") == 0)
		*out = LOG_DEBUG;
	else if (strcasecmp(s, "info") == 0)
		*out = LOG_INFO;
	else if (strcasecmp(s, "warn") == 0 || strcasecmp(s, "warning") == 0)
		*out = LOG_WARN;
	else if (strcasecmp(s, "error") == 0)
		*out = LOG_ERROR;
	else
		return -1;
	return 0;
}

int log_enabled(enum log_level level)
{
	return level >= log_min;
}

/* A bounded line under construction; over-long string fields are cut (never inside an escape or
 * a UTF-8 sequence), so the line stays valid JSON. */
struct log_line {
	char data[LOG_LINE_MAX];
	size_t len;
};

/* Appends n bytes whole or not at all, keeping `reserve` bytes (and the newline) free. String
 * contents use a reserve so the structural tail of the line always fits. */
static void line_put(struct log_line *l, const char *s, size_t n, size_t reserve)
{
	if (l->len + n + reserve > sizeof(l->data) - 1)
		return;
	memcpy(l->data + l->len, s, n);
	l->len += n;
}

static void line_raw(struct log_line *l, const char *s, size_t n)
{
	line_put(l, s, n, 0);
}

static void line_str(struct log_line *l, const char *s)
{
	line_raw(l, s, strlen(s));
}

/* Appends s (at most max bytes of it) as a quoted JSON string. */
static void line_json(struct log_line *l, const char *s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	size_t n = strlen((const char *)p);
	size_t i = 0;
	char esc[8];

	if (n > max)
		n = max;
	line_raw(l, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];
		size_t k;

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			line_put(l, esc, 2, 160);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			line_put(l, esc, 6, 160);
			i++;
		} else if ((k = utf8_decode(p + i, n - i, NULL)) != 0) {
			line_put(l, (const char *)p + i, k, 160);
			i += k;
		} else {
			line_put(l, "\\ufffd", 6, 160);
			i++;
		}
	}
	line_raw(l, "\"", 1);
}

/* Writes the whole line with one write(2) (retried only on EINTR or a short write). */
static void line_flush(struct log_line *l)
{
	size_t off = 0;

	l->data[l->len++] = '\n';
	while (off < l->len) {
		ssize_t w = write(STDOUT_FILENO, l->data + off, l->len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		off += (size_t)w;
	}
}

/* {"time":"2026-11-29T10:00:00.123Z","level":"info","service":"..." */
static void line_start(struct log_line *l, enum log_level level)
{
	static _Thread_local time_t cached_sec = (time_t)-1;
	static _Thread_local char cached[32];
	struct timespec ts;
	char frac[8];

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != cached_sec) {
		struct tm tm;

		gmtime_r(&ts.tv_sec, &tm);
		strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm);
		cached_sec = ts.tv_sec;
	}
	snprintf(frac, sizeof(frac), ".%03dZ", (int)(ts.tv_nsec / 1000000));
	l->len = 0;
	line_str(l, "{\"time\":\"");
	line_str(l, cached);
	line_str(l, frac);
	line_str(l, "\",\"level\":\"");
	line_str(l, log_names[level]);
	line_str(l, "\",\"service\":");
	line_json(l, log_service, 128);
}

/* ,"trace_id":"...","span_id":"..." from the thread's current trace context, if any. */
static void line_trace(struct log_line *l, const char *trace_id, const char *span_id)
{
	const struct trace_ctx *t = trace_current();

	if (trace_id == NULL && t != NULL) {
		trace_id = t->trace_id;
		span_id = t->span_id;
	}
	if (trace_id == NULL || trace_id[0] == '\0')
		return;
	line_str(l, ",\"trace_id\":");
	line_json(l, trace_id, 32);
	line_str(l, ",\"span_id\":");
	line_json(l, span_id != NULL ? span_id : "", 16);
}

void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
{
	struct log_line l;
	char msg[LOG_MSG_MAX];
	va_list ap;

	if (level < log_min || level > LOG_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line_start(&l, level);
	if (request_id != NULL) {
		line_str(&l, ",\"request_id\":");
		line_json(&l, request_id, 128);
	}
	line_trace(&l, NULL, NULL);
	line_str(&l, ",\"msg\":");
	line_json(&l, msg, sizeof(msg));
	line_raw(&l, "}", 1);
	line_flush(&l);
}

void log_set_slow_ms(int ms)
{
	log_slow_ms = ms;
}

enum log_level log_access_level(int status, double duration_ms)
{
	if (status >= 500)
		return LOG_WARN;
	if (log_slow_ms > 0 && duration_ms > (double)log_slow_ms)
		return LOG_WARN;
	return LOG_INFO;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* True when the query parameter name s[0..n) decodes (percent escapes, '+') to want, compared
 * case-insensitively (as the server's query lookup does). */
static int name_is(const char *s, size_t n, const char *want)
{
	size_t wlen = strlen(want);
	size_t i = 0, k = 0;

	while (i < n) {
		int c = (unsigned char)s[i];

		if (c == '%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0) {
			c = hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]);
			i += 3;
		} else {
			if (c == '+')
				c = ' ';
			i++;
		}
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (k >= wlen || c != want[k])
			return 0;
		k++;
	}
	return k == wlen;
}

/* The parameters whose values never reach the log: the customer's e-mail, and bearer tokens
 * sent in the query string (the services ignore them, docs/auth.md; they must not be logged
 * either). */
static int is_redacted_name(const char *s, size_t n)
{
	static const char *const names[] = { "customer_email", "access_token", "id_token",
					     "token" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (name_is(s, n, names[i]))
			return 1;
	return 0;
}

void log_redact_query(const char *pq, char *out, size_t cap)
{
	const char *q;
	size_t n = 0;

	if (cap == 0)
		return;
	out[0] = '\0';
	if (pq == NULL)
		return;
#define PUT(p, len)                                            \
	do {                                                   \
		size_t _l = (len);                             \
		if (n + _l >= cap)                             \
			_l = cap - 1 - n;                      \
		memcpy(out + n, (p), _l);                      \
		n += _l;                                       \
	} while (0)
	q = strchr(pq, '?');
	if (q == NULL) {
		PUT(pq, strlen(pq));
		out[n] = '\0';
		return;
	}
	PUT(pq, (size_t)(q - pq) + 1);
	q++;
	while (*q != '\0') {
		size_t len = strcspn(q, "&");
		const char *eq = memchr(q, '=', len);

		if (eq != NULL && is_redacted_name(q, (size_t)(eq - q))) {
			PUT(q, (size_t)(eq - q) + 1);
			PUT("REDACTED", 8);
		} else {
			PUT(q, len);
		}
		q += len;
		if (*q == '&') {
			PUT("&", 1);
			q++;
		}
	}
#undef PUT
	out[n] = '\0';
}

void log_access(const struct log_access_rec *a)
{
	struct log_line l;
	char path[LOG_PATH_MAX + 1];
	char tail[160];
	enum log_level level = log_access_level(a->status, a->duration_ms);
	double ms = a->duration_ms >= 0 ? a->duration_ms : 0;
	int n;

	if (level < log_min)
		return;
	line_start(&l, level);
	line_str(&l, ",\"request_id\":");
	line_json(&l, a->request_id, 128);
	line_trace(&l, a->trace_id, a->span_id);
	line_str(&l, ",\"method\":");
	line_json(&l, a->method, 32);
	line_str(&l, ",\"route\":");
	line_json(&l, a->route != NULL ? a->route : "unmatched", 256);
	log_redact_query(a->path_query, path, sizeof(path));
	line_str(&l, ",\"path\":");
	line_json(&l, path, LOG_PATH_MAX);
	n = snprintf(tail, sizeof(tail),
		     ",\"status\":%d,\"duration_ms\":%.3f,\"bytes_in\":%llu,\"bytes_out\":%llu",
		     a->status, ms, a->bytes_in, a->bytes_out);
	if (n > 0 && (size_t)n < sizeof(tail))
		line_raw(&l, tail, (size_t)n);
	line_str(&l, ",\"client\":");
	line_json(&l, a->client != NULL ? a->client : "", 64);
	line_str(&l, ",\"user_agent\":");
	line_json(&l, a->user_agent != NULL ? a->user_agent : "", 256);
	if (a->actor != NULL) {
		line_str(&l, ",\"actor\":");
		line_json(&l, a->actor, 256);
	}
	if (a->status < 500 && level == LOG_WARN)
		line_str(&l, ",\"slow\":true");
	line_raw(&l, "}", 1);
	line_flush(&l);
}
