/* order_repo.h - every SQL statement of the order service (orders, idempotency keys, recovery).
 *
 * Each function checks a connection out of the pool, runs one statement (or two for a list) and
 * gives it back before returning, so no caller ever holds a connection across a catalog call.
 * Results are copied out; PGresult never leaves this file. Statuses: DB_OK, DB_NOT_FOUND (no row
 * matched), DB_FK (the referenced book does not exist), DB_UNAVAILABLE (-> 503), DB_ERROR.
 *
 * An order being placed is first a row of order_intents (not of orders), in one of two states
 * of the saga (order_saga.h, docs/consistency.md), never shown by the API:
 *   'reserving'  recorded before the catalog call; the reservation may or may not exist;
 *   'failed'     being undone: recovery releases its reservation, then deletes the row. */
#ifndef ORDER_REPO_H
#define ORDER_REPO_H

#include <stdbool.h>
#include <stddef.h>

#include "common/db.h"
#include "order.h"

/* The statements to prepare on every pool connection (static storage, built on first call;
 * call once from main before threads start). */
void order_repo_stmts(const struct db_stmt **stmts, size_t *n);

/* Records a new order as an intent (table order_intents, state 'reserving'). Its id is taken
 * from the orders sequence and becomes the order's id; its reservation id is
 * 'o' || id || '-' || random_hex (unique by construction). DB_OK with *id and reservation_id.
 * The book is not checked here (the catalog's 404 is). */
enum db_status order_repo_insert_intent(struct db_pool *pool, const struct order_input *in,
					const char *random_hex, long long *id,
					char reservation_id[65]);

/* In one statement: deletes the intent only if it is still 'reserving', inserts the pending
 * order (same id, title, prices), marks the idempotency key (may be NULL; the actor's) done for
 * it, and (through the audit trigger) records the actor's create in audit_log.
 * DB_OK with *out; DB_NOT_FOUND when recovery claimed the intent meanwhile; DB_FK when the book
 * was deleted after the reservation (nothing committed; the intent is still there). */
enum db_status order_repo_finalize(struct db_pool *pool, long long id, const char *book_title,
				   const char *unit_price, const char *total_price,
				   const char *idempotency_key, const char *actor,
				   const char *request_id, struct order *out);

/* Deletes an intent whose reservation is known to be released or never to have existed. */
enum db_status order_repo_discard_intent(struct db_pool *pool, long long id);
/* Marks a still-'reserving' intent 'failed' so recovery releases it without waiting its age. */
enum db_status order_repo_fail_intent(struct db_pool *pool, long long id);

/* An order (every row of orders is visible; intents live in order_intents). */
enum db_status order_repo_get(struct db_pool *pool, long long id, struct order *out);

/* One page of orders, newest first, and the total count of matches. *items is a
 * malloc'd array of *n orders (free each with order_clear, then free the array). */
enum db_status order_repo_list(struct db_pool *pool, const struct order_filter *f,
			       long long *total, struct order **items, size_t *n);

/* Moves an order from `from` to `to` only if it is still in `from` (optimistic). A move to
 * cancelled also sets stock_released=false (true for orders that never held a reservation).
 * The same statement records the move in audit_log under actor (the caller's sub) and
 * request_id. DB_OK with *out; DB_NOT_FOUND when the status changed meanwhile (or the order
 * vanished). */
enum db_status order_repo_set_status(struct db_pool *pool, long long id, enum order_status from,
				     enum order_status to, const char *actor,
				     const char *request_id, struct order *out);

/* Records that the cancelled order's stock is back in the catalog (no-op if already). */
enum db_status order_repo_mark_released(struct db_pool *pool, long long id);

/* Idempotency keys, each owned by a caller (owner = the token's sub): the same key of another
 * owner is another key. claim: inserts (owner, key, md5(canonical)) as in progress; *claimed
 * tells whether this call created it. */
enum db_status order_repo_idem_claim(struct db_pool *pool, const char *owner, const char *key,
				     const char *canonical, bool *claimed);

struct idem_row {
	bool same_body;     /* the stored hash equals md5(canonical) */
	bool done;          /* state 'done' (else in progress) */
	long long order_id; /* 0 while in progress */
};
/* Reads a key. DB_NOT_FOUND when it does not exist (any more). */
enum db_status order_repo_idem_get(struct db_pool *pool, const char *owner, const char *key,
				   const char *canonical, struct idem_row *out);
/* Forgets an in-progress key (the request failed, so its retry runs anew). */
enum db_status order_repo_idem_forget(struct db_pool *pool, const char *owner, const char *key);
/* Deletes in-progress keys older than stale_ms and done keys older than 25 hours. */
enum db_status order_repo_idem_expire(struct db_pool *pool, long long stale_ms, long long *deleted);

/* Recovery. A claimed unsettled item: a failed intent (order_intents) or a cancelled order. */
enum recovery_kind {
	RECOVERY_FAILED_INTENT,   /* a row of order_intents in state 'failed': release, delete */
	RECOVERY_CANCELLED_ORDER, /* a cancelled order whose stock is not back: release, mark */
};
struct recovery_item {
	long long id;
	enum recovery_kind kind;
	char reservation_id[65];
	int attempts; /* releases tried before this claim */
	bool parked;  /* a permanent failure was seen before */
};
/* Claims for lease_ms up to limit intents and up to limit cancelled orders that are due
 * (next_attempt_at NULL or past), most overdue first: intents ('reserving') created more than
 * intent_age_ms ago become 'failed'; failed intents and cancelled orders whose stock is not yet
 * released are included as they are. Rows another replica holds (row lock or live lease) are
 * skipped. *items is malloc'd (free it). */
enum db_status order_repo_claim_unsettled(struct db_pool *pool, long long intent_age_ms,
					  long long lease_ms, int limit,
					  struct recovery_item **items, size_t *n);
/* After a successful release: deletes a failed intent, or marks a cancelled order released. */
enum db_status order_repo_settle(struct db_pool *pool, const struct recovery_item *item);

/* Gives up the lease of rows a pass could not settle, so the next pass retries them. */
enum db_status order_repo_unlease(struct db_pool *pool, const struct recovery_item *items,
				  size_t n);

/* After a failed release: gives the lease up, counts the attempt and makes the row due again
 * in delay_ms; park = a permanent failure (sets parked_at the first time; it stays set). */
enum db_status order_repo_reschedule(struct db_pool *pool, const struct recovery_item *item,
				     long long delay_ms, bool park);

/* The recovery gauges. */
struct recovery_stats {
	long long backlog;   /* unsettled items (failed or abandoned intents, unreleased cancels) */
	double oldest_age_s; /* age of the oldest of them (intent: since created; cancel: since
			      * the cancel), 0 when none */
	long long parked;    /* of them, parked after a permanent failure */
};
enum db_status order_repo_recovery_stats(struct db_pool *pool, long long intent_age_ms,
					 struct recovery_stats *out);

#endif
