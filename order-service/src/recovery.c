/* recovery.c - the background recovery pass (see recovery.h and docs/consistency.md). */
#include "recovery.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "catalog_client.h"
#include "common/log.h"
#include "common/metrics.h"
#include "order_repo.h"

#define RECOVERY_BATCH 100

static struct recovery_config rec_cfg;
static pthread_t rec_thread;
static bool rec_started;
static bool rec_stop;
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rec_cv;

int recovery_pass(const struct recovery_config *cfg)
{
	struct recovery_item *items = NULL;
	enum catalog_status cs;
	enum db_status st;
	long long expired = 0;
	size_t n = 0, i;
	int settled = 0, rc = -1;
	char rid[48];

	st = order_repo_claim_unsettled(cfg->pool, cfg->intent_age_ms, cfg->lease_ms,
					RECOVERY_BATCH, &items, &n);
	if (st != DB_OK)
		goto out;
	for (i = 0; i < n; i++) {
		/* Each row gets its own request id so its calls can be traced in the catalog. */
		(void)snprintf(rid, sizeof rid, "recovery-%lld", items[i].id);
		if (items[i].reservation_id[0] != '\0') {
			cs = catalog_release(items[i].reservation_id, rid);
			if (cs != CATALOG_OK) {
				log_msg(LOG_WARN, rid,
					"recovery: release of order %lld (%s) failed: %s; retry later",
					items[i].id, items[i].reservation_id,
					catalog_status_name(cs));
				/* Probably down: give the rest back to the next pass. */
				(void)order_repo_unlease(cfg->pool, items + i, n - i);
				break;
			}
		}
		st = order_repo_settle(cfg->pool, &items[i]);
		if (st != DB_OK)
			goto out;
		settled++;
		log_msg(LOG_INFO, rid, "recovery: order %lld %s, stock released", items[i].id,
			items[i].status == ORDER_FAILED ? "abandoned intent undone" : "cancel finished");
	}
	st = order_repo_idem_expire(cfg->pool, cfg->key_stale_ms, &expired);
	if (st != DB_OK)
		goto out;
	if (settled > 0)
		metrics_count("order_recovery_settled_total",
			      "Orders settled by the recovery pass (intents undone, cancels finished)",
			      "", (unsigned long)settled);
	rc = settled;
out:
	if (rc < 0)
		log_msg(LOG_WARN, NULL, "recovery pass stopped: database unavailable");
	free(items);
	return rc;
}

static void *recovery_main(void *arg)
{
	struct timespec deadline;
	bool stop;

	(void)arg;
	for (;;) {
		(void)recovery_pass(&rec_cfg);
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
