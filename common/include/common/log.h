/* log.h - one JSON object per line on stdout. Thread-safe (one write(2) per line). */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the service name printed in every line and the minimum level. Call once before threads. */
void log_init(const char *service, enum log_level min_level);
/* Parses "debug" | "info" | "warn" | "warning" | "error" (any case). Returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *out);
/* True when lines of this level are printed. */
int log_enabled(enum log_level level);
/* Prints {"time","level","service","request_id"?,"msg"}; request_id may be NULL. */
void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The access-log line: {"time","level":"info","service","request_id","method","path","status",
 * "duration_ms"}. Printed at INFO. */
void log_access(const char *request_id, const char *method, const char *path, int status,
		double duration_ms);

#endif
