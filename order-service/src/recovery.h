/* recovery.h - the background thread that finishes or undoes orders left half-done (by a crash,
 * a timeout or a catalog outage): it runs the saga's recovery step (order_saga_recover) at start
 * and every interval.
 *
 * A pass claims the unsettled rows that are due with one conditional UPDATE ... FOR UPDATE SKIP
 * LOCKED plus a lease, so any number of replicas may run it at once, then for each row releases
 * its reservation in the catalog (idempotent) and settles it, or reschedules that row alone
 * (backoff when transient, parked when permanent): an abandoned intent is deleted, a
 * cancelled order gets stock_released = true. Stale in-progress idempotency keys and done keys
 * older than 25 h are deleted. See docs/consistency.md. */
#ifndef RECOVERY_H
#define RECOVERY_H

#include "common/buf.h"
#include "order_saga.h"

struct recovery_config {
	struct order_saga saga;
	int interval_ms;                    /* RECOVERY_INTERVAL_MS: pause between passes */
	struct saga_recovery_limits limits; /* intent age, lease, stale key age */
};

/* Starts the thread (first pass immediately). The config is copied. Returns 0 or -1. Block
 * SIGTERM/SIGINT before (http_signals_block) so the thread inherits the mask. */
int recovery_start(const struct recovery_config *cfg);
/* Appends the recovery gauges of the last pass (recovery_backlog,
 * recovery_oldest_item_age_seconds, recovery_parked_items) to a /metrics page; nothing before
 * the first pass. Thread-safe. */
void recovery_metrics(struct buf *out);
/* Asks the thread to stop, waits for the pass in progress to end, joins. No-op if not started. */
void recovery_stop(void);

#endif
