/* order_saga.h - the order saga: every step of placing an order (idempotency claim, intent,
 * reserve, finalize, undo), of changing its status (a cancel gives the stock back) and of
 * recovering half-done ones, as described step by step in docs/consistency.md.
 *
 * The saga knows the database (order_repo) and the catalog (through struct catalog_ops, so tests
 * can put a fake catalog in place), never HTTP: each step returns an outcome that the handlers
 * (order_http.c) map to exactly one answer. All steps block; none holds a pooled connection
 * across a catalog call. */
#ifndef ORDER_SAGA_H
#define ORDER_SAGA_H

#include "catalog_client.h"
#include "common/db.h"
#include "order.h"

/* What the saga runs on. Plain values, shared read-only by every thread. */
struct order_saga {
	struct db_pool *pool;
	const struct catalog_ops *catalog;
	/* CATALOG_TIMEOUT_MS, the bound of one catalog attempt. The undo policy uses it: a release
	 * is tried in the request only if the reserve failed within one timeout, so the client's
	 * wait stays bounded by about 2 x this (docs/consistency.md). */
	long catalog_timeout_ms;
};

/* The outcome of a step, each with one HTTP answer (order_http.c). */
enum saga_outcome {
	SAGA_CREATED,              /* place: a new order (*out) -> 201 */
	SAGA_REPLAYED,             /* place: the order an earlier request with this key made -> 201 */
	SAGA_UPDATED,              /* set_status: the order after the move, or as it was -> 200 */
	SAGA_INSUFFICIENT_STOCK,   /* place: *detail is the catalog's message -> 409 */
	SAGA_BOOK_MISSING,         /* place: the book does not exist (or was deleted) -> 422 */
	SAGA_CATALOG_UNAVAILABLE,  /* place: catalog down, refused or answered garbage -> 503 */
	SAGA_CATALOG_SHED,         /* place: bulkhead full or breaker open; nothing was recorded
				    * (no intent, no reservation, key forgotten) -> 503 at once */
	SAGA_RECOVERY_OWNS,        /* place: recovery judged the intent abandoned -> 503 */
	SAGA_IN_PROGRESS,          /* place: a request with this key is still running -> 409 */
	SAGA_IDEMPOTENCY_CONFLICT, /* place: the key was used with another body -> 422 */
	SAGA_NO_RANDOM,            /* place: the kernel gave no random bytes -> 503 */
	SAGA_NOT_FOUND,            /* the order does not exist (any more) -> 404 */
	SAGA_INVALID_TRANSITION,   /* set_status: *out is the order as read (its status) -> 409 */
	SAGA_CONCURRENT_CHANGE,    /* set_status: the status kept changing under us -> 409 */
	SAGA_DB_UNAVAILABLE,       /* -> 503 with Retry-After */
	SAGA_DB_CONFLICT,          /* a constraint or data error the checks did not foresee -> 409 */
	SAGA_DB_ERROR,             /* any other database failure -> 500 */
};

/* A short name for logs and tests ("created", "db_unavailable"...). Static string. */
const char *saga_outcome_name(enum saga_outcome o);

/* POST /orders by actor (the caller's sub: owner of the idempotency key, recorded in the audit
 * row). idem_key (NULL = none) must be valid (order_idempotency_key_valid) and
 * canonical the canonical text of the request body when idem_key is set. Steps: claim the key
 * (or answer for the earlier request that holds it), record the intent, reserve in the catalog,
 * finalize (intent -> pending order and key done, one statement), or undo. A key this call
 * claimed is forgotten unless the outcome is SAGA_CREATED.
 * SAGA_CREATED / SAGA_REPLAYED: *out filled (order_clear it). SAGA_INSUFFICIENT_STOCK: *detail
 * malloc'd (free it). Otherwise *out is zeroed and *detail NULL. */
enum saga_outcome order_saga_place(const struct order_saga *s, const struct order_input *in,
				   const char *idem_key, const char *canonical, const char *actor,
				   const char *request_id, struct order *out, char **detail);

/* PATCH /orders/{id}/status, to a public status, by actor (recorded in the audit row). Optimistic: read, judge the move, update only
 * if the status is still the one read (a few attempts). A move to cancelled, or a repeated
 * cancel, then gives the stock back; if the catalog cannot take it the order stays
 * stock_released=false and recovery finishes it (the outcome is still SAGA_UPDATED: the
 * cancellation itself is durable). SAGA_UPDATED and SAGA_INVALID_TRANSITION fill *out
 * (order_clear it); otherwise *out is zeroed. */
enum saga_outcome order_saga_set_status(const struct order_saga *s, long long id,
					enum order_status to, const char *actor,
					const char *request_id, struct order *out);

/* The limits of one recovery pass (recovery.c reads them from the configuration). */
struct saga_recovery_limits {
	long long intent_age_ms; /* an intent older than this is considered abandoned */
	long long lease_ms;      /* how long a claimed row is reserved for this replica; the pass
				  * gives back what it has not reached after half of it */
	long long key_stale_ms;  /* an in-progress idempotency key older than this is forgotten */
	/* Per-item retry schedule after a failed release. A transient failure (transport,
	 * timeout, 5xx, breaker open) waits min(backoff_max_ms, backoff_base_ms x 2^attempts),
	 * jittered to between half and all of it; a permanent one (a 4xx) parks the item and
	 * retries it every parked_retry_ms. 0 = due again at once (tests). */
	long long backoff_base_ms;
	long long backoff_max_ms;
	long long parked_retry_ms;
};

/* What one pass did (order_saga_recover's *stats, may be NULL). */
struct saga_recovery_pass {
	int settled; /* released and settled */
	int retry;   /* transient failure: rescheduled with backoff */
	int parked;  /* permanent failure: parked (or still parked) */
};

/* The backoff before attempt number attempts+1 after a transient failure (see
 * saga_recovery_limits), before jitter. Pure. */
long long order_saga_backoff_ms(const struct saga_recovery_limits *lim, int attempts);

/* One recovery pass: claims the unsettled rows that are due (abandoned or failed intents,
 * cancelled orders whose stock is not back; safe with any number of replicas), releases each
 * one's reservation in the catalog and settles it (intent deleted, order marked released). A
 * release that fails reschedules only that row: with backoff when transient, parked when the
 * catalog refuses it (4xx, logged at warn); the pass goes on with the others. Then expires stale
 * idempotency keys. Returns the number of rows settled (and *stats), or -1 if the database
 * failed. */
int order_saga_recover(const struct order_saga *s, const struct saga_recovery_limits *lim,
		       struct saga_recovery_pass *stats);

#endif
