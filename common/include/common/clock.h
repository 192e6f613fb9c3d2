/* clock.h - the one monotonic clock helper (durations, deadlines, timeouts). */
#ifndef COMMON_CLOCK_H
#define COMMON_CLOCK_H

/* Nanoseconds on CLOCK_MONOTONIC (an arbitrary origin: only differences mean something). */
long long clock_mono_ns(void);
/* The same clock in milliseconds. */
long long clock_mono_ms(void);

#endif
