/* order_saga.c - the steps of the order saga (see order_saga.h and docs/consistency.md). */
#include "order_saga.h"

#include "order_metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/metrics.h"
#include "order_repo.h"

#define IDEM_ATTEMPTS 3
#define STATUS_ATTEMPTS 5
#define RECOVERY_BATCH 100

const char *saga_outcome_name(enum saga_outcome o)
{
	switch (o) {
	case SAGA_CREATED:
		return "created";
	case SAGA_REPLAYED:
		return "replayed";
	case SAGA_UPDATED:
		return "updated";
	case SAGA_INSUFFICIENT_STOCK:
		return "insufficient_stock";
	case SAGA_BOOK_MISSING:
		return "book_missing";
	case SAGA_CATALOG_UNAVAILABLE:
		return "catalog_unavailable";
	case SAGA_CATALOG_SHED:
		return "catalog_shed";
	case SAGA_RECOVERY_OWNS:
		return "recovery_owns";
	case SAGA_IN_PROGRESS:
		return "in_progress";
	case SAGA_IDEMPOTENCY_CONFLICT:
		return "idempotency_conflict";
	case SAGA_NO_RANDOM:
		return "no_random";
	case SAGA_NOT_FOUND:
		return "not_found";
	case SAGA_INVALID_TRANSITION:
		return "invalid_transition";
	case SAGA_CONCURRENT_CHANGE:
		return "concurrent_change";
	case SAGA_DB_UNAVAILABLE:
		return "db_unavailable";
	case SAGA_DB_CONFLICT:
		return "db_conflict";
	case SAGA_DB_ERROR:
		return "db_error";
	}
	return "unknown";
}

/* The outcome of a failed repository call, by the classes of common/app.h's one table
 * (app_db_failure answers and logs it; recovery, which answers no one, logs it here at debug). */
static enum saga_outcome db_outcome(enum db_status st, const char *request_id)
{
	log_msg(LOG_DEBUG, request_id, "saga: database status %d (sqlstate %s): %s", (int)st,
		db_last_error()->sqlstate, db_last_error()->message);
	if (st == DB_UNAVAILABLE)
		return SAGA_DB_UNAVAILABLE;
	if (st == DB_CONFLICT || st == DB_FK || st == DB_CHECK)
		return SAGA_DB_CONFLICT;
	return SAGA_DB_ERROR;
}

/* 32 random hex digits from the kernel's CSPRNG (the unguessable part of a reservation id; the
 * order id in front of it makes the id unique). Returns 0 or -1. */
static int new_random_hex(char out[33])
{
	unsigned char raw[16];
	size_t i;

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	for (i = 0; i < sizeof raw; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* Idempotency step: claims the key, or answers for an earlier request with it.
 * Returns SAGA_CREATED when this request now owns the key and must run the saga (*out
 * untouched); SAGA_REPLAYED with *out; or the outcome that ends the request. */
static enum saga_outcome idem_claim(const struct order_saga *s, const char *actor,
				    const char *key, const char *canonical,
				    const char *request_id, struct order *out)
{
	struct idem_row row;
	enum db_status st;
	bool claimed;
	int attempt;

	for (attempt = 0; attempt < IDEM_ATTEMPTS; attempt++) {
		st = order_repo_idem_claim(s->pool, actor, key, canonical, &claimed);
		if (st != DB_OK)
			return db_outcome(st, request_id);
		if (claimed)
			return SAGA_CREATED;
		st = order_repo_idem_get(s->pool, actor, key, canonical, &row);
		if (st == DB_NOT_FOUND)
			continue; /* the earlier attempt failed and was forgotten: claim again */
		if (st != DB_OK)
			return db_outcome(st, request_id);
		if (!row.same_body)
			return SAGA_IDEMPOTENCY_CONFLICT;
		if (!row.done)
			break;
		st = order_repo_get(s->pool, row.order_id, out);
		if (st == DB_NOT_FOUND)
			return SAGA_NOT_FOUND;
		if (st != DB_OK)
			return db_outcome(st, request_id);
		return SAGA_REPLAYED;
	}
	return SAGA_IN_PROGRESS;
}

/* Undo step, after a failed or doubtful reservation that started at reserve_ms (monotonic).
 * Only if the reserve failed within one catalog timeout is the release tried here, once
 * (idempotent; it also stops a late reserve, which the catalog then refuses with 410), and the
 * intent deleted. Otherwise (a hung or slow catalog), or if that release fails, the intent is
 * marked failed and recovery releases it without waiting for the intent age. */
static void undo_intent(const struct order_saga *s, long long id, const char *reservation_id,
			long long reserve_ms, const char *request_id)
{
	enum catalog_status cs = CATALOG_UNAVAILABLE;

	if (clock_mono_ms() - reserve_ms < s->catalog_timeout_ms) {
		cs = s->catalog->release_once(reservation_id, request_id);
		if (cs == CATALOG_OK) {
			if (order_repo_discard_intent(s->pool, id) != DB_OK)
				log_msg(LOG_WARN, request_id,
					"order %lld: intent left for recovery (release done)", id);
			return;
		}
	}
	log_msg(LOG_WARN, request_id,
		"order %lld: reservation %s not released here (%s); recovery will release it", id,
		reservation_id, catalog_status_name(cs));
	if (order_repo_fail_intent(s->pool, id) != DB_OK)
		log_msg(LOG_WARN, request_id,
			"order %lld: intent left 'reserving'; recovery undoes it after its age", id);
}

/* Reserve and finalize steps, once the intent row exists. */
static enum saga_outcome reserve_and_finalize(const struct order_saga *s,
					      const struct order_input *in, long long id,
					      const char *reservation_id, const char *key,
					      const char *actor, const char *request_id,
					      struct order *out, char **detail)
{
	struct catalog_book book = { 0 };
	char unit[32], total[32];
	enum saga_outcome oc;
	enum catalog_status cs;
	enum db_status st;
	long long reserve_ms = clock_mono_ms();
	bool retried = false;

	cs = s->catalog->reserve(reservation_id, in->book_id, in->quantity, request_id, &book,
				 detail, &retried);
	switch (cs) {
	case CATALOG_OK:
		if (order_price_total(book.price_cents, in->quantity, unit, total) != 0) {
			log_msg(LOG_WARN, request_id, "catalog sent an unusable price");
			undo_intent(s, id, reservation_id, reserve_ms, request_id);
			oc = SAGA_CATALOG_UNAVAILABLE;
			break;
		}
		st = order_repo_finalize(s->pool, id, book.title, unit, total, key, actor,
					 request_id, out);
		if (st == DB_OK) {
			oc = SAGA_CREATED;
		} else if (st == DB_NOT_FOUND) {
			/* Recovery judged the intent abandoned and is undoing it. */
			oc = SAGA_RECOVERY_OWNS;
		} else if (st == DB_FK) {
			/* The book was deleted after the reservation; the catalog's delete took the
			 * reservation with it (ON DELETE CASCADE), so there is no stock to give
			 * back. Nothing committed: drop the intent. */
			(void)order_repo_discard_intent(s->pool, id);
			oc = SAGA_BOOK_MISSING;
		} else {
			/* Ambiguous: the finalize may have committed before the connection broke.
			 * Releasing now could free the stock of a live order, so leave it: if the
			 * row is still 'reserving', recovery undoes it after the intent age. */
			oc = db_outcome(st, request_id);
		}
		break;
	case CATALOG_NOT_FOUND:
		/* Nothing is reserved under this id: the book does not exist (book ids are never
		 * reused, so a delayed earlier attempt cannot reserve either; if it had reserved
		 * before the book was deleted, the reservation was deleted with the book). */
		(void)order_repo_discard_intent(s->pool, id);
		oc = SAGA_BOOK_MISSING;
		break;
	case CATALOG_INSUFFICIENT:
		/* After a retry, the failed first attempt may still be queued in the catalog and
		 * reserve later (stock can come back meanwhile): release the id first, which also
		 * leaves a tombstone so that late attempt gets 410. Without a retry nothing can
		 * follow. */
		if (retried)
			undo_intent(s, id, reservation_id, reserve_ms, request_id);
		else
			(void)order_repo_discard_intent(s->pool, id);
		oc = SAGA_INSUFFICIENT_STOCK;
		break;
	case CATALOG_GONE:
		/* Recovery released this reservation id already and owns the intent. */
		oc = SAGA_RECOVERY_OWNS;
		break;
	case CATALOG_SHED:
		/* The breaker opened after admission and refused the first attempt: nothing was
		 * sent, so nothing can be reserved under this id. */
		(void)order_repo_discard_intent(s->pool, id);
		oc = SAGA_CATALOG_SHED;
		break;
	default:
		undo_intent(s, id, reservation_id, reserve_ms, request_id);
		oc = SAGA_CATALOG_UNAVAILABLE;
		break;
	}
	if (oc != SAGA_INSUFFICIENT_STOCK) {
		free(*detail);
		*detail = NULL;
	}
	if (oc != SAGA_CREATED)
		order_clear(out);
	catalog_book_clear(&book);
	return oc;
}

enum saga_outcome order_saga_place(const struct order_saga *s, const struct order_input *in,
				   const char *idem_key, const char *canonical, const char *actor,
				   const char *request_id, struct order *out, char **detail)
{
	char rnd[33], reservation_id[65];
	enum saga_outcome oc;
	enum db_status st;
	long long id = 0;
	bool own_key = false, entered = false;

	memset(out, 0, sizeof *out);
	*detail = NULL;
	if (idem_key != NULL) {
		oc = idem_claim(s, actor, idem_key, canonical, request_id, out);
		if (oc != SAGA_CREATED)
			goto out;
		own_key = true;
	}
	/* Bulkhead and breaker before anything is recorded: a refused order leaves nothing. */
	if (s->catalog->enter != NULL) {
		if (s->catalog->enter() != CATALOG_OK) {
			oc = SAGA_CATALOG_SHED;
			goto out;
		}
		entered = true;
	}
	if (new_random_hex(rnd) != 0) {
		oc = SAGA_NO_RANDOM;
		goto out;
	}
	/* Step 1: record the intent before anything happens in the catalog. */
	st = order_repo_insert_intent(s->pool, in, rnd, &id, reservation_id);
	if (st != DB_OK) {
		oc = db_outcome(st, request_id);
		goto out;
	}
	/* Steps 2-3: reserve in the catalog (no DB connection held), then finalize. */
	oc = reserve_and_finalize(s, in, id, reservation_id, own_key ? idem_key : NULL, actor,
				  request_id, out, detail);
out:
	if (entered)
		s->catalog->leave();
	if (own_key && oc != SAGA_CREATED && order_repo_idem_forget(s->pool, actor, idem_key) != DB_OK)
		log_msg(LOG_WARN, request_id, "idempotency key left for recovery to expire");
	return oc;
}

/* Cancel step 2: give the stock back. If the catalog cannot be reached the order stays
 * cancelled with stock_released=false and recovery releases it later. */
static void release_cancelled(const struct order_saga *s, const struct order *o,
			      const char *request_id)
{
	enum catalog_status cs;

	if (o->reservation_id == NULL || o->stock_released)
		return;
	if (s->catalog->enter != NULL && s->catalog->enter() != CATALOG_OK) {
		log_msg(LOG_WARN, request_id,
			"order %lld cancelled; catalog busy or breaker open, recovery will restock",
			o->id);
		return;
	}
	cs = s->catalog->release(o->reservation_id, request_id);
	if (s->catalog->enter != NULL)
		s->catalog->leave();
	if (cs != CATALOG_OK) {
		log_msg(LOG_WARN, request_id,
			"order %lld cancelled; release failed (%s), recovery will restock", o->id,
			catalog_status_name(cs));
		return;
	}
	if (order_repo_mark_released(s->pool, o->id) != DB_OK)
		log_msg(LOG_WARN, request_id,
			"order %lld restocked; flag left for recovery (release is idempotent)",
			o->id);
}

enum saga_outcome order_saga_set_status(const struct order_saga *s, long long id,
					enum order_status to, const char *actor,
					const char *request_id, struct order *out)
{
	struct order cur = { 0 };
	enum saga_outcome oc = SAGA_CONCURRENT_CHANGE;
	enum db_status st;
	int attempt;

	memset(out, 0, sizeof *out);
	for (attempt = 0; attempt < STATUS_ATTEMPTS; attempt++) {
		order_clear(&cur);
		st = order_repo_get(s->pool, id, &cur);
		if (st == DB_NOT_FOUND) {
			oc = SAGA_NOT_FOUND;
			goto out;
		}
		if (st != DB_OK) {
			oc = db_outcome(st, request_id);
			goto out;
		}
		switch (order_transition(cur.status, to)) {
		case ORDER_MOVE_SAME:
			/* A retried cancel also retries a release that did not get through. */
			if (to == ORDER_CANCELLED)
				release_cancelled(s, &cur, request_id);
			oc = SAGA_UPDATED;
			goto move_cur;
		case ORDER_MOVE_FORBIDDEN:
			oc = SAGA_INVALID_TRANSITION;
			goto move_cur;
		case ORDER_MOVE_OK:
			break;
		}
		st = order_repo_set_status(s->pool, id, cur.status, to, actor, request_id, out);
		if (st == DB_NOT_FOUND)
			continue; /* changed meanwhile: judge the move again */
		if (st != DB_OK) {
			oc = db_outcome(st, request_id);
			goto out;
		}
		if (to == ORDER_CANCELLED) {
			order_metrics_cancelled();
			release_cancelled(s, out, request_id);
		}
		oc = SAGA_UPDATED;
		goto out;
	}
	goto out;
move_cur:
	*out = cur;
	memset(&cur, 0, sizeof cur);
out:
	order_clear(&cur);
	return oc;
}

long long order_saga_backoff_ms(const struct saga_recovery_limits *lim, int attempts)
{
	long long d = lim->backoff_base_ms;
	int i;

	for (i = 0; i < attempts && d < lim->backoff_max_ms; i++)
		d *= 2;
	return d < lim->backoff_max_ms ? d : lim->backoff_max_ms;
}

/* d jittered to a uniform value in [d/2, d] ("equal jitter"): replicas and items that failed
 * together do not come back together. */
static long long jitter(long long d)
{
	static _Thread_local unsigned int seed;
	unsigned int r;

	if (d <= 1)
		return d;
	if (seed == 0 && getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		seed = (unsigned int)clock_mono_ms() | 1u;
	r = (unsigned int)rand_r(&seed);
	return d / 2 + (long long)((double)r / ((double)RAND_MAX + 1.0) * (double)(d - d / 2 + 1));
}

/* A release the catalog refused as invalid (4xx) will not succeed by retrying soon. */
static bool permanent_failure(enum catalog_status cs)
{
	return cs == CATALOG_REJECTED || cs == CATALOG_NOT_FOUND || cs == CATALOG_INSUFFICIENT ||
	       cs == CATALOG_GONE;
}

static void count_outcome(const char *outcome, int n)
{
	char labels[48];

	if (n <= 0)
		return;
	(void)snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
	metrics_count("recovery_outcomes_total",
		      "Recovery items by outcome: settled, retried (transient failure, backoff), "
		      "parked (permanent failure), error (database error during the pass)",
		      labels, (unsigned long)n);
}

int order_saga_recover(const struct order_saga *s, const struct saga_recovery_limits *lim,
		       struct saga_recovery_pass *stats)
{
	struct saga_recovery_pass pass = { 0 };
	struct recovery_item *items = NULL;
	enum catalog_status cs;
	enum db_status st;
	long long expired = 0, t0 = clock_mono_ms(), delay;
	size_t n = 0, i;
	int rc = -1;
	bool park;
	char request_id[48];

	st = order_repo_claim_unsettled(s->pool, lim->intent_age_ms, lim->lease_ms, RECOVERY_BATCH,
					&items, &n);
	if (st != DB_OK)
		goto out;
	for (i = 0; i < n; i++) {
		struct recovery_item *it = &items[i];

		if (clock_mono_ms() - t0 > lim->lease_ms / 2) {
			/* A slow catalog: give the rest back before their lease runs out, so no
			 * other replica takes them while this one still works on them. */
			(void)order_repo_unlease(s->pool, it, n - i);
			break;
		}
		/* Each row gets its own request id so its calls can be traced in the catalog. */
		(void)snprintf(request_id, sizeof request_id, "recovery-%lld", it->id);
		cs = it->reservation_id[0] != '\0' ? s->catalog->release(it->reservation_id, request_id)
						   : CATALOG_OK;
		if (cs != CATALOG_OK) {
			park = permanent_failure(cs) || it->parked;
			delay = park ? lim->parked_retry_ms
				     : jitter(order_saga_backoff_ms(lim, it->attempts));
			if (park && !it->parked)
				log_msg(LOG_WARN, request_id,
					"recovery: release of order %lld (%s) refused: %s; parked, "
					"retried every %lld ms, the others go on",
					it->id, it->reservation_id, catalog_status_name(cs), delay);
			else if (park)
				log_msg(LOG_WARN, request_id,
					"recovery: order %lld (%s) still parked after %d attempts: %s",
					it->id, it->reservation_id, it->attempts + 1,
					catalog_status_name(cs));
			else
				log_msg(LOG_WARN, request_id,
					"recovery: release of order %lld (%s) failed: %s; attempt %d, "
					"next in %lld ms",
					it->id, it->reservation_id, catalog_status_name(cs),
					it->attempts + 1, delay);
			st = order_repo_reschedule(s->pool, it, delay, park);
			if (st != DB_OK)
				goto out;
			if (park)
				pass.parked++;
			else
				pass.retry++;
			continue;
		}
		st = order_repo_settle(s->pool, it);
		if (st != DB_OK)
			goto out;
		pass.settled++;
		log_msg(it->parked ? LOG_WARN : LOG_INFO, request_id,
			"recovery: order %lld %s, stock released%s", it->id,
			it->kind == RECOVERY_FAILED_INTENT ? "abandoned intent undone" : "cancel finished",
			it->parked ? " (was parked)" : "");
	}
	st = order_repo_idem_expire(s->pool, lim->key_stale_ms, &expired);
	if (st != DB_OK)
		goto out;
	if (pass.settled > 0)
		metrics_count("order_recovery_settled_total",
			      "Orders settled by the recovery pass (intents undone, cancels finished)",
			      "", (unsigned long)pass.settled);
	rc = pass.settled;
out:
	count_outcome("settled", pass.settled);
	count_outcome("retried", pass.retry);
	count_outcome("parked", pass.parked);
	if (rc < 0)
		count_outcome("error", 1);
	if (rc < 0)
		log_msg(LOG_WARN, NULL, "recovery pass stopped: database unavailable");
	if (stats != NULL)
		*stats = pass;
	free(items);
	return rc;
}
