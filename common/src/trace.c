/* trace.c - W3C Trace Context parsing, ids and the per-thread current context (see trace.h).
 *
 * Ids come from a per-thread splitmix64 generator seeded from getrandom(2): trace and span ids
 * need uniqueness, not secrecy, and this keeps a syscall off the request path. */
#include "common/trace.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static _Thread_local const struct trace_ctx *trace_tls;

static uint64_t trace_rng(void)
{
	static _Thread_local uint64_t state;
	uint64_t z;

	if (state == 0) {
		if (getrandom(&state, sizeof(state), 0) != (ssize_t)sizeof(state) || state == 0) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			state = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^
				(uint64_t)(uintptr_t)&state;
			state |= 1;
		}
	}
	z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void trace_random_hex(char *out, int nbytes)
{
	static const char hex[] = "0123456789abcdef";
	int i = 0;
	int nonzero = 0;

	while (i < 2 * nbytes) {
		uint64_t r = trace_rng();

		for (int k = 0; k < 16 && i < 2 * nbytes; k++, i++) {
			out[i] = hex[(r >> (k * 4)) & 15];
			nonzero |= out[i] != '0';
		}
	}
	if (!nonzero && nbytes > 0)
		out[2 * nbytes - 1] = '1'; /* all zero is the invalid id */
	out[2 * nbytes] = '\0';
}

/* n lowercase hex digits at s, not all '0'. */
static int hex_id(const char *s, size_t n)
{
	int nonzero = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
		nonzero |= c != '0';
	}
	return nonzero;
}

static int hex_val(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int trace_parse_traceparent(const char *s, char trace_id[33], char parent_id[17],
			    uint8_t *flags)
{
	int f1, f2;

	if (s == NULL || strlen(s) != TRACE_TRACEPARENT_LEN)
		return -1;
	if (s[0] != '0' || s[1] != '0' || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return -1;
	if (!hex_id(s + 3, 32) || !hex_id(s + 36, 16))
		return -1;
	f1 = hex_val(s[53]);
	f2 = hex_val(s[54]);
	if (f1 < 0 || f2 < 0)
		return -1;
	if (trace_id != NULL) {
		memcpy(trace_id, s + 3, 32);
		trace_id[32] = '\0';
	}
	if (parent_id != NULL) {
		memcpy(parent_id, s + 36, 16);
		parent_id[16] = '\0';
	}
	if (flags != NULL)
		*flags = (uint8_t)(f1 * 16 + f2);
	return 0;
}

bool trace_tracestate_ok(const char *s)
{
	size_t n;

	if (s == NULL)
		return false;
	for (n = 0; s[n] != '\0'; n++)
		if (n >= TRACE_TRACESTATE_MAX || (unsigned char)s[n] < 0x20 ||
		    (unsigned char)s[n] > 0x7e)
			return false;
	return n > 0;
}

void trace_begin(struct trace_ctx *t, const char *traceparent, const char *tracestate)
{
	if (trace_parse_traceparent(traceparent, t->trace_id, t->parent_id, &t->flags) == 0) {
		if (trace_tracestate_ok(tracestate))
			memcpy(t->tracestate, tracestate, strlen(tracestate) + 1);
		else
			t->tracestate[0] = '\0';
	} else {
		trace_random_hex(t->trace_id, 16);
		t->parent_id[0] = '\0';
		t->flags = 1; /* we start it: sampled */
		t->tracestate[0] = '\0';
	}
	trace_random_hex(t->span_id, 8);
}

void trace_format(const struct trace_ctx *t, char out[TRACE_TRACEPARENT_LEN + 1])
{
	snprintf(out, TRACE_TRACEPARENT_LEN + 1, "00-%.32s-%.16s-%02x", t->trace_id, t->span_id,
		 (unsigned)t->flags);
}

void trace_set_current(const struct trace_ctx *t)
{
	trace_tls = t;
}

const struct trace_ctx *trace_current(void)
{
	return trace_tls;
}

void trace_outbound(char traceparent[TRACE_TRACEPARENT_LEN + 1],
		    char tracestate[TRACE_TRACESTATE_MAX + 1])
{
	const struct trace_ctx *t = trace_tls;
	struct trace_ctx fresh;

	if (t == NULL) {
		trace_begin(&fresh, NULL, NULL);
		t = &fresh;
	}
	trace_format(t, traceparent);
	memcpy(tracestate, t->tracestate, strlen(t->tracestate) + 1);
}

void trace_header_lines(char lines[2][TRACE_HEADER_LINE_MAX])
{
	char tp[TRACE_TRACEPARENT_LEN + 1];
	char ts[TRACE_TRACESTATE_MAX + 1];

	trace_outbound(tp, ts);
	snprintf(lines[0], TRACE_HEADER_LINE_MAX, "traceparent: %s", tp);
	if (ts[0] != '\0')
		snprintf(lines[1], TRACE_HEADER_LINE_MAX, "tracestate: %s", ts);
	else
		lines[1][0] = '\0';
}
