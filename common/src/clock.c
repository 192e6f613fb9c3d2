/* clock.c - the monotonic clock (see clock.h). */
#include "common/clock.h"

#include <time.h>

long long clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long long clock_mono_ms(void)
{
	return clock_mono_ns() / 1000000LL;
}
