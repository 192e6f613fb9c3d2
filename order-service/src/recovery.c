/* recovery.c - the background thread that runs the saga's recovery step (see recovery.h). */
#include "recovery.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

static struct recovery_config rec_cfg;
static pthread_t rec_thread;
static bool rec_started;
static bool rec_stop;
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cv;

static void *recovery_main(void *arg)
{
	struct timespec deadline;
	bool stop;

	(void)arg;
	for (;;) {
		(void)order_saga_recover(&rec_cfg.saga, &rec_cfg.limits);
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += rec_cfg.interval_ms / 1000;
		deadline.tv_nsec += (long)(rec_cfg.interval_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&rec_mu);
		while (!rec_stop) {
			if (pthread_cond_timedwait(&rec_cv, &rec_mu, &deadline) == ETIMEDOUT)
				break;
		}
		stop = rec_stop;
		pthread_mutex_unlock(&rec_mu);
		if (stop)
			break;
	}
	return NULL;
}

int recovery_start(const struct recovery_config *cfg)
{
	pthread_condattr_t attr;

	rec_cfg = *cfg;
	rec_stop = false;
	if (pthread_condattr_init(&attr) != 0)
		return -1;
	(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (pthread_cond_init(&rec_cv, &attr) != 0) {
		pthread_condattr_destroy(&attr);
		return -1;
	}
	pthread_condattr_destroy(&attr);
	if (pthread_create(&rec_thread, NULL, recovery_main, NULL) != 0) {
		pthread_cond_destroy(&rec_cv);
		return -1;
	}
	rec_started = true;
	return 0;
}

void recovery_stop(void)
{
	if (!rec_started)
		return;
	pthread_mutex_lock(&rec_mu);
	rec_stop = true;
	pthread_cond_signal(&rec_cv);
	pthread_mutex_unlock(&rec_mu);
	(void)pthread_join(rec_thread, NULL);
	pthread_cond_destroy(&rec_cv);
	rec_started = false;
}
