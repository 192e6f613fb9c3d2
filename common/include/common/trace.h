/* trace.h - W3C Trace Context (https://www.w3.org/TR/trace-context/) for one request.
 *
 * Every request gets a server span: it continues the caller's trace when the `traceparent`
 * header parses (strictly: version "00", 32 and 16 lowercase hex digits, neither all zero, two
 * hex flag digits, exactly 55 characters), or starts a new trace otherwise; its span id is always
 * new. The thread handling a request makes its context "current" (trace_set_current), so log
 * lines carry trace_id/span_id and outbound calls send a traceparent naming this span as the
 * parent. */
#ifndef COMMON_TRACE_H
#define COMMON_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#define TRACE_TRACEPARENT_LEN 55  /* "00-<32 hex>-<16 hex>-<2 hex>" */
#define TRACE_TRACESTATE_MAX 512  /* longer tracestate values are dropped, not cut */

struct trace_ctx {
	char trace_id[33];        /* 32 lowercase hex digits */
	char span_id[17];         /* this span: 16 lowercase hex digits */
	char parent_id[17];       /* the caller's span, "" when the trace starts here */
	uint8_t flags;            /* trace-flags; bit 0 = sampled */
	char tracestate[TRACE_TRACESTATE_MAX + 1]; /* the caller's, passed on as is; "" = none */
};

/* Strict parse of a traceparent value. Returns 0 with the ids copied out (NUL-terminated,
 * buffers of 33 and 17 bytes; any may be NULL), or -1 when it is malformed. */
int trace_parse_traceparent(const char *s, char trace_id[33], char parent_id[17],
			    uint8_t *flags);
/* True when s is an acceptable tracestate to pass on: 1..TRACE_TRACESTATE_MAX printable ASCII
 * characters (no control characters, so no header injection). */
bool trace_tracestate_ok(const char *s);

/* Fills t for a new server span: continues traceparent when it parses (and keeps a sane
 * tracestate with it), else starts a new sampled trace. Either may be NULL. */
void trace_begin(struct trace_ctx *t, const char *traceparent, const char *tracestate);
/* Writes "00-<trace_id>-<span_id>-<flags>" (TRACE_TRACEPARENT_LEN + 1 bytes) naming t's own span
 * as the parent of the next hop. */
void trace_format(const struct trace_ctx *t, char out[TRACE_TRACEPARENT_LEN + 1]);
/* n random bytes as 2n lowercase hex digits (never all zero) into out (2n + 1 bytes). */
void trace_random_hex(char *out, int nbytes);

/* The calling thread's current context (NULL = none), set by the HTTP server around a
 * request's work. t must stay valid until it is replaced or cleared. */
void trace_set_current(const struct trace_ctx *t);
const struct trace_ctx *trace_current(void);
/* The traceparent (and tracestate) an outbound call from this thread should send: the current
 * span as the parent, or, when no context is current (a background worker), a new trace.
 * tracestate gets "" when there is none. */
void trace_outbound(char traceparent[TRACE_TRACEPARENT_LEN + 1],
		    char tracestate[TRACE_TRACESTATE_MAX + 1]);
/* The same as ready-made request header lines for an HTTP client: lines[0] gets
 * "traceparent: 00-...", lines[1] "tracestate: ..." or "" when there is none. */
#define TRACE_HEADER_LINE_MAX (TRACE_TRACESTATE_MAX + 16)
void trace_header_lines(char lines[2][TRACE_HEADER_LINE_MAX]);

#endif
