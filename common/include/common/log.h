/* log.h - one JSON object per line on stdout. Thread-safe (one write(2) per line).
 *
 * While a thread works on a request (trace.h: a current trace context), every line it prints
 * carries "trace_id" and "span_id". */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the service name printed in every line and the minimum level. Call once before threads. */
void log_init(const char *service, enum log_level min_level);
/* Parses "debug" | "info" | "warn" | "warning" | "error" (any case). Returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *out);
/* True when lines of this level are printed. */
int log_enabled(enum log_level level);
/* Prints {"time","level","service","request_id"?,"trace_id"?,"span_id"?,"msg"}; request_id may
 * be NULL. */
void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One answered request. Strings may be NULL (the field is then left out, except the few that
 * are always printed). path_query is the request target as received (path and query string);
 * log_access redacts the values of customer_email parameters in it. */
struct log_access_rec {
	const char *request_id;
	const char *trace_id, *span_id;
	const char *method;
	const char *route;      /* the route template, "unmatched" when none */
	const char *path_query;
	int status;
	double duration_ms;
	unsigned long long bytes_in, bytes_out; /* body bytes received and sent */
	const char *client;     /* the client address (see http.c: TRUSTED_PROXIES) */
	const char *user_agent;
	const char *actor;      /* the authenticated subject (JWT sub); NULL = anonymous */
};

/* Requests slower than this many ms are logged at warn (LOG_SLOW_MS; 0 = never). */
void log_set_slow_ms(int ms);
/* The level of the access line: warn for 5xx and for requests over LOG_SLOW_MS, else info. */
enum log_level log_access_level(int status, double duration_ms);
/* The access-log line: {"time","level","service","request_id","trace_id","span_id","method",
 * "route","path","status","duration_ms","bytes_in","bytes_out","client","user_agent","actor"?,
 * "slow"?}, at log_access_level. */
void log_access(const struct log_access_rec *a);
/* Copies path_query into out (cap bytes, always terminated) with the value of every
 * customer_email, access_token, id_token and token query parameter (name compared
 * case-insensitively, also percent-encoded) replaced by "REDACTED". */
void log_redact_query(const char *path_query, char *out, size_t cap);

#endif
