/* recovery.h - the recovery pass that finishes or undoes orders left half-done (by a crash, a
 * timeout or a catalog outage), run by a background thread at start and every interval.
 *
 * A pass claims unsettled rows with one conditional UPDATE ... FOR UPDATE SKIP LOCKED plus a
 * lease, so any number of replicas may run it at once, then for each row releases its
 * reservation in the catalog (idempotent) and settles it: an abandoned intent is deleted, a
 * cancelled order gets stock_released = true. Stale in-progress idempotency keys and done keys
 * older than 25 h are deleted. See docs/consistency.md. */
#ifndef RECOVERY_H
#define RECOVERY_H

#include "common/db.h"

struct recovery_config {
	struct db_pool *pool;
	int interval_ms;       /* RECOVERY_INTERVAL_MS: pause between passes */
	long long intent_age_ms; /* an intent older than this is considered abandoned */
	long long lease_ms;    /* how long a claimed row is reserved for this replica */
	long long key_stale_ms;/* an in-progress idempotency key older than this is forgotten */
};

/* Runs one pass. Returns the number of orders settled, or -1 if the database failed. Stops the
 * pass at the first release the catalog does not confirm (it is probably down). Blocks. */
int recovery_pass(const struct recovery_config *cfg);

/* Starts the thread (first pass immediately). The config is copied. Returns 0 or -1. Block
 * SIGTERM/SIGINT before (http_signals_block) so the thread inherits the mask. */
int recovery_start(const struct recovery_config *cfg);
/* Asks the thread to stop, waits for the pass in progress to end, joins. No-op if not started. */
void recovery_stop(void);

#endif
