/* recovery.c - the background thread that runs the saga's recovery step (see recovery.h). */
#include "recovery.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "common/log.h"
#include "common/metrics.h"
#include "common/trace.h"
#include "order_repo.h"

static struct recovery_config rec_cfg;
static pthread_t rec_thread;
static bool rec_started;
static bool rec_stop;
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cv;

/* The gauges of the last pass (under rec_mu); valid once stats_known. */
static struct recovery_stats rec_stats;
static bool stats_known;

/* The pass itself and the gauges it leaves (see run_pass). */
static void pass_work(void)
{
	struct recovery_stats st;

	(void)order_saga_recover(&rec_cfg.saga, &rec_cfg.limits, NULL);
	metrics_count("recovery_passes_total", "Recovery passes run by this process", "", 1);
	if (order_repo_recovery_stats(rec_cfg.saga.pool, rec_cfg.limits.intent_age_ms, &st) !=
	    DB_OK)
		return;
	pthread_mutex_lock(&rec_mu);
	if (st.parked > rec_stats.parked)
		log_msg(LOG_WARN, NULL, "recovery: %lld parked item(s) need attention (oldest "
			"unsettled item %.0f s old)", st.parked, st.oldest_age_s);
	rec_stats = st;
	stats_known = true;
	pthread_mutex_unlock(&rec_mu);
}

/* One pass, then the gauges: the backlog is read after the pass, so what a pass could not
 * settle (and parked items) shows up at once. A pass is one trace: its log lines and the
 * catalog calls it makes carry the same trace id (docs/observability.md). */
static void run_pass(void)
{
	struct trace_ctx trace;

	trace_begin(&trace, NULL, NULL);
	trace_set_current(&trace);
	pass_work();
	trace_set_current(NULL);
}

void recovery_metrics(struct buf *out)
{
	struct recovery_stats st;
	bool known;

	pthread_mutex_lock(&rec_mu);
	st = rec_stats;
	known = stats_known;
	pthread_mutex_unlock(&rec_mu);
	if (!known)
		return;
	(void)buf_printf(out,
			 "# HELP recovery_backlog Unsettled saga items (failed or abandoned intents, "
			 "cancels whose stock is not back) after the last recovery pass\n"
			 "# TYPE recovery_backlog gauge\nrecovery_backlog %lld\n"
			 "# HELP recovery_oldest_item_age_seconds Age of the oldest unsettled item\n"
			 "# TYPE recovery_oldest_item_age_seconds gauge\n"
			 "recovery_oldest_item_age_seconds %.3f\n"
			 "# HELP recovery_parked_items Items parked after a permanent failure (retried "
			 "every RECOVERY_PARKED_RETRY_MS)\n"
			 "# TYPE recovery_parked_items gauge\nrecovery_parked_items %lld\n",
			 st.backlog, st.oldest_age_s, st.parked);
}

static void *recovery_main(void *arg)
{
	struct timespec deadline;
	bool stop;

	(void)arg;
	for (;;) {
		run_pass();
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
