/* order_repo.c - the order service's SQL (see order_repo.h). */
#include "order_repo.h"

#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/audit.h"
#include "common/buf.h"
#include "common/log.h"

#define ORDER_COLS \
	"id, book_id, book_title, customer_name, customer_email, quantity, unit_price::text, " \
	"total_price::text, status, created_at, updated_at, reservation_id, stock_released"
#define ORDER_NCOLS 13

/* Commits that a later synchronous commit on the same WAL makes durable, or whose loss in a
 * PostgreSQL crash is harmless, skip the WAL flush wait (docs/consistency.md, "Durability of each
 * commit"; the switch DB_SHARED_WAL in common/db.h turns this off):
 * - the key claim and the intent insert: the saga's next durable commit (the finalize, or on a
 *   failure path the key's release) comes later in the same WAL and flushes them too; if it never
 *   happens, whatever was lost is undone by recovery or was never visible to a client;
 * - deleting an undone intent, marking a released cancel, recovery's delete of a failed intent:
 *   if lost, the intent (or flag) comes back and recovery repeats an idempotent release.
 * Everything a client is told as a fact (finalize, status moves, a failed request's key release)
 * commits with the server's synchronous_commit. The CTE must be referenced (FROM/USING sc) or
 * PostgreSQL does not evaluate it. */
#define ASYNC_COMMIT "WITH sc AS (SELECT " DB_SAGA_ASYNC_COMMIT_SQL ") "

/* List statements: one prepared pair (page, count) per combination of the three filters, so each
 * gets a plan that uses its index. Bit 0 status, bit 1 e-mail, bit 2 book. */
#define LIST_VARIANTS 8

static const struct db_stmt fixed_stmts[] = {
	/* The id comes from the orders sequence and stays the order's id; the reservation id
	 * embeds it, so it is unique by construction ($5: random hex so it is not guessable). */
	{ "order_insert_intent",
	  ASYNC_COMMIT ", n AS (SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id FROM sc) "
	  "INSERT INTO order_intents (id, reservation_id, book_id, customer_name, customer_email, "
	  "quantity) SELECT n.id, 'o' || n.id || '-' || $5::text, $1::bigint, $2::text, $3::text, "
	  "$4::int FROM n RETURNING id, reservation_id" },
	/* One statement: the intent disappears and the order appears (only if the intent is still
	 * 'reserving', i.e. recovery has not claimed it), and the idempotency key is marked done. */
	{ "order_finalize",
	  "WITH " AUDIT_CTE("6", "7") ", "
	  "i AS (DELETE FROM order_intents USING au WHERE id = $1::bigint AND state = 'reserving' "
	  "RETURNING id, book_id, customer_name, customer_email, quantity, reservation_id), "
	  "o AS (INSERT INTO orders (id, book_id, book_title, customer_name, customer_email, "
	  "quantity, unit_price, total_price, status, reservation_id, stock_released) "
	  "SELECT i.id, i.book_id, $2::text, i.customer_name, i.customer_email, i.quantity, "
	  "$3::numeric, $4::numeric, 'pending', i.reservation_id, false FROM i "
	  "RETURNING " ORDER_COLS "), "
	  "k AS (UPDATE idempotency_keys SET state = 'done', order_id = o.id FROM o "
	  "WHERE idempotency_keys.owner = $6::text AND idempotency_keys.key = $5::text "
	  "RETURNING 1) "
	  "SELECT " ORDER_COLS " FROM o" },
	{ "order_discard_intent",
	  ASYNC_COMMIT "DELETE FROM order_intents USING sc WHERE id = $1::bigint" },
	{ "order_fail_intent",
	  "UPDATE order_intents SET state = 'failed' WHERE id = $1::bigint AND state = 'reserving'" },
	{ "order_get", "SELECT " ORDER_COLS " FROM orders WHERE id = $1::bigint" },
	{ "order_set_status",
	  "WITH " AUDIT_CTE("4", "5") " "
	  "UPDATE orders SET status = $3::text, updated_at = now(), stock_released = CASE "
	  "WHEN $3::text = 'cancelled' THEN reservation_id IS NULL ELSE stock_released END "
	  "FROM au WHERE id = $1::bigint AND status = $2::text RETURNING " ORDER_COLS },
	{ "order_mark_released",
	  ASYNC_COMMIT "UPDATE orders SET stock_released = true, recovery_lease = NULL FROM sc "
	  "WHERE id = $1::bigint AND status = 'cancelled' AND NOT stock_released" },
	{ "idem_claim",
	  ASYNC_COMMIT "INSERT INTO idempotency_keys (owner, key, request_hash, state) SELECT "
	  "$3::text, $1::text, md5($2::text), 'in_progress' FROM sc ON CONFLICT (owner, key) DO "
	  "NOTHING RETURNING key" },
	{ "idem_get",
	  "SELECT request_hash = md5($2::text), state = 'done', coalesce(order_id, 0) "
	  "FROM idempotency_keys WHERE owner = $3::text AND key = $1::text" },
	{ "idem_forget",
	  "DELETE FROM idempotency_keys WHERE owner = $2::text AND key = $1::text AND "
	  "state = 'in_progress'" },
	{ "idem_expire",
	  "DELETE FROM idempotency_keys WHERE (state = 'in_progress' AND created_at < now() - "
	  "$1::bigint * interval '1 millisecond') OR (state = 'done' AND created_at < now() - "
	  "interval '25 hours')" },
	/* Claims abandoned or failed intents (flipping 'reserving' to 'failed', which the
	 * request's finalize can then no longer match) and cancels whose stock is not back, each
	 * only once it is due (next_attempt_at), most overdue first: a row that keeps failing is
	 * rescheduled later and never holds the head of the queue. */
	{ "recovery_claim",
	  "WITH a AS (UPDATE order_intents i SET state = 'failed', "
	  "recovery_lease = now() + $2::bigint * interval '1 millisecond' "
	  "WHERE i.id IN (SELECT id FROM order_intents "
	  "WHERE (state = 'failed' OR created_at < now() - $1::bigint * interval '1 millisecond') "
	  "AND (recovery_lease IS NULL OR recovery_lease < now()) "
	  "AND (next_attempt_at IS NULL OR next_attempt_at <= now()) "
	  "ORDER BY next_attempt_at NULLS FIRST, id LIMIT $3::int FOR UPDATE SKIP LOCKED) "
	  "RETURNING i.id, 'failed'::text AS status, i.reservation_id, i.recovery_attempts, "
	  "i.parked_at IS NOT NULL AS parked), "
	  "c AS (UPDATE orders o SET recovery_lease = now() + $2::bigint * interval '1 millisecond' "
	  "WHERE o.id IN (SELECT id FROM orders WHERE status = 'cancelled' AND NOT stock_released "
	  "AND (recovery_lease IS NULL OR recovery_lease < now()) "
	  "AND (next_attempt_at IS NULL OR next_attempt_at <= now()) "
	  "ORDER BY next_attempt_at NULLS FIRST, id LIMIT $3::int FOR UPDATE SKIP LOCKED) "
	  "RETURNING o.id, o.status::text, o.reservation_id, o.recovery_attempts, "
	  "o.parked_at IS NOT NULL AS parked) "
	  "SELECT id, status, reservation_id, recovery_attempts, parked FROM a UNION ALL "
	  "SELECT id, status, reservation_id, recovery_attempts, parked FROM c" },
	/* Intents and orders share the id sequence, so one id array serves both tables. */
	{ "recovery_unlease",
	  "WITH a AS (UPDATE order_intents SET recovery_lease = NULL WHERE id = ANY ($1::bigint[]) "
	  "RETURNING 1) "
	  "UPDATE orders SET recovery_lease = NULL WHERE id = ANY ($1::bigint[])" },
	/* A failed release: the next attempt in $2 ms; $3 parks the row (first permanent
	 * failure sets parked_at, which stays). The id is in one of the two tables. */
	{ "recovery_reschedule",
	  "WITH a AS (UPDATE order_intents SET recovery_lease = NULL, "
	  "recovery_attempts = recovery_attempts + 1, "
	  "next_attempt_at = now() + $2::bigint * interval '1 millisecond', "
	  "parked_at = CASE WHEN $3::boolean THEN coalesce(parked_at, now()) ELSE parked_at END "
	  "WHERE id = $1::bigint RETURNING 1) "
	  "UPDATE orders SET recovery_lease = NULL, recovery_attempts = recovery_attempts + 1, "
	  "next_attempt_at = now() + $2::bigint * interval '1 millisecond', "
	  "parked_at = CASE WHEN $3::boolean THEN coalesce(parked_at, now()) ELSE parked_at END "
	  "WHERE id = $1::bigint AND status = 'cancelled' AND NOT stock_released" },
	/* Gauges for /metrics: unsettled items (intents count once failed or past the intent age),
	 * the age of the oldest one in seconds, parked ones. */
	{ "recovery_stats",
	  "WITH i AS (SELECT created_at AS since, parked_at FROM order_intents "
	  "WHERE state = 'failed' OR created_at < now() - $1::bigint * interval '1 millisecond'), "
	  "o AS (SELECT updated_at AS since, parked_at FROM orders "
	  "WHERE status = 'cancelled' AND NOT stock_released), "
	  "u AS (SELECT * FROM i UNION ALL SELECT * FROM o) "
	  "SELECT count(*), coalesce(extract(epoch FROM now() - min(since)), 0)::float8, "
	  "count(parked_at) FROM u" },
	{ "recovery_delete_failed",
	  ASYNC_COMMIT "DELETE FROM order_intents USING sc WHERE id = $1::bigint AND state = 'failed'" },
};

#define NFIXED (sizeof fixed_stmts / sizeof fixed_stmts[0])

static struct db_stmt all_stmts[NFIXED + 2 * LIST_VARIANTS];
static char list_names[2 * LIST_VARIANTS][24];

static char *build_where(int mask, int *nparams)
{
	static const char *const conds[3] = { "status = $%d::text",
					      "lower(customer_email) = lower($%d::text)",
					      "book_id = $%d::bigint" };
	struct buf b = { 0 };
	int k = 0, bit;

	(void)buf_puts(&b, " FROM orders");
	for (bit = 0; bit < 3; bit++) {
		if (!(mask & (1 << bit)))
			continue;
		(void)buf_puts(&b, k == 0 ? " WHERE " : " AND ");
		k++;
		(void)buf_printf(&b, conds[bit], k);
	}
	*nparams = k;
	return buf_steal(&b);
}

void order_repo_stmts(const struct db_stmt **stmts, size_t *n)
{
	static int built;
	int mask, k;
	char *where;
	struct buf b;

	if (!built) {
		memcpy(all_stmts, fixed_stmts, sizeof fixed_stmts);
		for (mask = 0; mask < LIST_VARIANTS; mask++) {
			where = build_where(mask, &k);
			memset(&b, 0, sizeof b);
			(void)buf_printf(&b,
					 "SELECT " ORDER_COLS "%s ORDER BY created_at DESC, id DESC "
					 "OFFSET $%d::bigint LIMIT $%d::bigint",
					 where, k + 1, k + 2);
			(void)snprintf(list_names[2 * mask], sizeof list_names[0], "order_list_%d",
				       mask);
			all_stmts[NFIXED + 2 * mask].name = list_names[2 * mask];
			all_stmts[NFIXED + 2 * mask].sql = buf_steal(&b);
			memset(&b, 0, sizeof b);
			(void)buf_printf(&b, "SELECT count(*)%s", where);
			(void)snprintf(list_names[2 * mask + 1], sizeof list_names[0],
				       "order_count_%d", mask);
			all_stmts[NFIXED + 2 * mask + 1].name = list_names[2 * mask + 1];
			all_stmts[NFIXED + 2 * mask + 1].sql = buf_steal(&b);
			free(where);
		}
		built = 1;
	}
	*stmts = all_stmts;
	*n = NFIXED + 2 * LIST_VARIANTS;
}

/* An integer column (0 for SQL NULL: only nullable columns can be NULL, and there 0 means none). */
static long long ll_value(const PGresult *r, int row, int col)
{
	long long v = 0;

	if (db_col_ll(r, row, col, LLONG_MIN, LLONG_MAX, &v) != 0)
		v = 0;
	return v;
}

/* Copies row `row` (ORDER_COLS) into o. */
static void row_to_order(const PGresult *r, int row, struct order *o)
{
	memset(o, 0, sizeof *o);
	o->id = ll_value(r, row, 0);
	o->book_id = ll_value(r, row, 1);
	o->book_title = db_col_dup(r, row, 2);
	o->customer_name = db_col_dup(r, row, 3);
	o->customer_email = db_col_dup(r, row, 4);
	o->quantity = (int)ll_value(r, row, 5);
	o->unit_price = db_col_dup(r, row, 6);
	o->total_price = db_col_dup(r, row, 7);
	o->status = order_status_parse(PQgetvalue(r, row, 8));
	o->created_at = db_col_dup(r, row, 9);
	o->updated_at = db_col_dup(r, row, 10);
	o->reservation_id = db_col_dup(r, row, 11);
	o->stock_released = strcmp(PQgetvalue(r, row, 12), "t") == 0;
}

/* The db_row_fn of every single-order statement. */
static int order_row(const PGresult *r, int row, void *out)
{
	if (PQnfields(r) != ORDER_NCOLS)
		return -1;
	row_to_order(r, row, out);
	return 0;
}

/* Runs a command and reports DB_NOT_FOUND when it touched no row. */
static enum db_status run_cmd(struct db_pool *pool, const char *stmt, int nparams,
			      const char *const *values, bool idempotent, long long *affected)
{
	PGresult *r = NULL;
	enum db_status st;
	long long n = 0;

	st = db_exec(pool, stmt, nparams, values, &r, idempotent);
	if (st != DB_OK)
		goto out;
	n = strtoll(PQcmdTuples(r), NULL, 10);
	if (n == 0 && PQntuples(r) == 0)
		st = DB_NOT_FOUND;
out:
	if (affected != NULL)
		*affected = n;
	PQclear(r);
	return st;
}

enum db_status order_repo_insert_intent(struct db_pool *pool, const struct order_input *in,
					const char *random_hex, long long *id,
					char reservation_id[65])
{
	char book[24], qty[16];
	const char *v[5];
	PGresult *r = NULL;
	enum db_status st;

	(void)snprintf(book, sizeof book, "%lld", in->book_id);
	(void)snprintf(qty, sizeof qty, "%d", in->quantity);
	v[0] = book;
	v[1] = in->customer_name;
	v[2] = in->customer_email;
	v[3] = qty;
	v[4] = random_hex;
	st = db_exec(pool, "order_insert_intent", 5, v, &r, false);
	if (st != DB_OK)
		goto out;
	if (PQntuples(r) != 1 || PQgetlength(r, 0, 1) > 64) {
		st = DB_ERROR;
		goto out;
	}
	*id = ll_value(r, 0, 0);
	(void)snprintf(reservation_id, 65, "%s", PQgetvalue(r, 0, 1));
out:
	PQclear(r);
	return st;
}

enum db_status order_repo_finalize(struct db_pool *pool, long long id, const char *book_title,
				   const char *unit_price, const char *total_price,
				   const char *idempotency_key, const char *actor,
				   const char *request_id, struct order *out)
{
	char ids[24];
	const char *v[7];

	(void)snprintf(ids, sizeof ids, "%lld", id);
	v[0] = ids;
	v[1] = book_title;
	v[2] = unit_price;
	v[3] = total_price;
	v[4] = idempotency_key;
	v[5] = actor;
	v[6] = request_id;
	/* Idempotent: a second run finds no 'reserving' intent any more. */
	return db_exec_row(pool, "order_finalize", 7, v, false, order_row, out);
}

enum db_status order_repo_discard_intent(struct db_pool *pool, long long id)
{
	char ids[24];
	const char *v[1] = { ids };

	(void)snprintf(ids, sizeof ids, "%lld", id);
	return run_cmd(pool, "order_discard_intent", 1, v, true, NULL);
}

enum db_status order_repo_fail_intent(struct db_pool *pool, long long id)
{
	char ids[24];
	const char *v[1] = { ids };

	(void)snprintf(ids, sizeof ids, "%lld", id);
	return run_cmd(pool, "order_fail_intent", 1, v, true, NULL);
}

enum db_status order_repo_get(struct db_pool *pool, long long id, struct order *out)
{
	char ids[24];
	const char *v[1] = { ids };

	(void)snprintf(ids, sizeof ids, "%lld", id);
	return db_exec_row(pool, "order_get", 1, v, true, order_row, out);
}

enum db_status order_repo_list(struct db_pool *pool, const struct order_filter *f,
			       long long *total, struct order **items, size_t *n)
{
	struct db_conn *conn = NULL;
	PGresult *r = NULL;
	enum db_status st;
	const char *v[5];
	char book[24], skip[24], limit[24], name[24];
	int mask = 0, k = 0, i, rows;

	*total = 0;
	*items = NULL;
	*n = 0;
	if (f->has_status) {
		mask |= 1;
		v[k++] = order_status_name(f->status);
	}
	if (f->customer_email != NULL) {
		mask |= 2;
		v[k++] = f->customer_email;
	}
	if (f->book_id > 0) {
		mask |= 4;
		(void)snprintf(book, sizeof book, "%lld", f->book_id);
		v[k++] = book;
	}
	st = db_acquire(pool, &conn);
	if (st != DB_OK)
		goto out;
	(void)snprintf(name, sizeof name, "order_count_%d", mask);
	st = db_run(conn, name, k, v, &r);
	if (st != DB_OK)
		goto out;
	*total = ll_value(r, 0, 0);
	PQclear(r);
	r = NULL;
	(void)snprintf(skip, sizeof skip, "%lld", f->skip);
	(void)snprintf(limit, sizeof limit, "%lld", f->limit);
	v[k] = skip;
	v[k + 1] = limit;
	(void)snprintf(name, sizeof name, "order_list_%d", mask);
	st = db_run(conn, name, k + 2, v, &r);
	if (st != DB_OK)
		goto out;
	rows = PQntuples(r);
	if (rows > 0) {
		*items = calloc((size_t)rows, sizeof **items);
		if (*items == NULL) {
			log_msg(LOG_ERROR, NULL, "out of memory");
			abort();
		}
		for (i = 0; i < rows; i++)
			row_to_order(r, i, &(*items)[i]);
		*n = (size_t)rows;
	}
out:
	PQclear(r);
	db_release(pool, conn);
	return st;
}

enum db_status order_repo_set_status(struct db_pool *pool, long long id, enum order_status from,
				     enum order_status to, const char *actor,
				     const char *request_id, struct order *out)
{
	char ids[24];
	const char *v[5];

	(void)snprintf(ids, sizeof ids, "%lld", id);
	v[0] = ids;
	v[1] = order_status_name(from);
	v[2] = order_status_name(to);
	v[3] = actor;
	v[4] = request_id;
	/* Conditional on the old status, so running it twice cannot move twice. */
	return db_exec_row(pool, "order_set_status", 5, v, false, order_row, out);
}

enum db_status order_repo_mark_released(struct db_pool *pool, long long id)
{
	char ids[24];
	const char *v[1] = { ids };
	enum db_status st;

	(void)snprintf(ids, sizeof ids, "%lld", id);
	st = run_cmd(pool, "order_mark_released", 1, v, true, NULL);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status order_repo_idem_claim(struct db_pool *pool, const char *owner, const char *key,
				     const char *canonical, bool *claimed)
{
	const char *v[3] = { key, canonical, owner };
	PGresult *r = NULL;
	enum db_status st;

	*claimed = false;
	st = db_exec(pool, "idem_claim", 3, v, &r, false);
	if (st == DB_OK)
		*claimed = PQntuples(r) == 1;
	PQclear(r);
	return st;
}

enum db_status order_repo_idem_get(struct db_pool *pool, const char *owner, const char *key,
				   const char *canonical, struct idem_row *out)
{
	const char *v[3] = { key, canonical, owner };
	PGresult *r = NULL;
	enum db_status st;

	memset(out, 0, sizeof *out);
	st = db_exec(pool, "idem_get", 3, v, &r, true);
	if (st != DB_OK)
		goto out;
	if (PQntuples(r) != 1) {
		st = DB_NOT_FOUND;
		goto out;
	}
	out->same_body = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	out->done = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	out->order_id = ll_value(r, 0, 2);
out:
	PQclear(r);
	return st;
}

enum db_status order_repo_idem_forget(struct db_pool *pool, const char *owner, const char *key)
{
	const char *v[2] = { key, owner };
	enum db_status st;

	st = run_cmd(pool, "idem_forget", 2, v, true, NULL);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status order_repo_idem_expire(struct db_pool *pool, long long stale_ms, long long *deleted)
{
	char ms[24];
	const char *v[1] = { ms };
	enum db_status st;

	(void)snprintf(ms, sizeof ms, "%lld", stale_ms);
	st = run_cmd(pool, "idem_expire", 1, v, true, deleted);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status order_repo_claim_unsettled(struct db_pool *pool, long long intent_age_ms,
					  long long lease_ms, int limit,
					  struct recovery_item **items, size_t *n)
{
	char age[24], lease[24], lim[16];
	const char *v[3] = { age, lease, lim };
	PGresult *r = NULL;
	enum db_status st;
	int i, rows;

	*items = NULL;
	*n = 0;
	(void)snprintf(age, sizeof age, "%lld", intent_age_ms);
	(void)snprintf(lease, sizeof lease, "%lld", lease_ms);
	(void)snprintf(lim, sizeof lim, "%d", limit);
	st = db_exec(pool, "recovery_claim", 3, v, &r, false);
	if (st != DB_OK)
		goto out;
	rows = PQntuples(r);
	if (rows == 0)
		goto out;
	*items = calloc((size_t)rows, sizeof **items);
	if (*items == NULL) {
		log_msg(LOG_ERROR, NULL, "out of memory");
		abort();
	}
	for (i = 0; i < rows; i++) {
		(*items)[i].id = ll_value(r, i, 0);
		(*items)[i].kind = strcmp(PQgetvalue(r, i, 1), "failed") == 0
					   ? RECOVERY_FAILED_INTENT
					   : RECOVERY_CANCELLED_ORDER;
		(void)snprintf((*items)[i].reservation_id, sizeof(*items)[i].reservation_id, "%s",
			       PQgetvalue(r, i, 2));
		(*items)[i].attempts = (int)ll_value(r, i, 3);
		(*items)[i].parked = strcmp(PQgetvalue(r, i, 4), "t") == 0;
	}
	*n = (size_t)rows;
out:
	PQclear(r);
	return st;
}

enum db_status order_repo_settle(struct db_pool *pool, const struct recovery_item *item)
{
	char ids[24];
	const char *v[1] = { ids };
	enum db_status st;

	(void)snprintf(ids, sizeof ids, "%lld", item->id);
	if (item->kind == RECOVERY_FAILED_INTENT)
		st = run_cmd(pool, "recovery_delete_failed", 1, v, true, NULL);
	else
		st = run_cmd(pool, "order_mark_released", 1, v, true, NULL);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status order_repo_unlease(struct db_pool *pool, const struct recovery_item *items,
				  size_t n)
{
	struct buf ids = { 0 };
	const char *v[1];
	enum db_status st = DB_OK;
	size_t i;

	if (n == 0)
		goto out;
	(void)buf_puts(&ids, "{");
	for (i = 0; i < n; i++)
		(void)buf_printf(&ids, "%s%lld", i > 0 ? "," : "", items[i].id);
	(void)buf_puts(&ids, "}");
	v[0] = ids.data;
	st = run_cmd(pool, "recovery_unlease", 1, v, true, NULL);
	if (st == DB_NOT_FOUND)
		st = DB_OK;
out:
	buf_free(&ids);
	return st;
}

enum db_status order_repo_reschedule(struct db_pool *pool, const struct recovery_item *item,
				     long long delay_ms, bool park)
{
	char ids[24], delay[24];
	const char *v[3] = { ids, delay, park ? "true" : "false" };
	enum db_status st;

	(void)snprintf(ids, sizeof ids, "%lld", item->id);
	(void)snprintf(delay, sizeof delay, "%lld", delay_ms);
	st = run_cmd(pool, "recovery_reschedule", 3, v, true, NULL);
	return st == DB_NOT_FOUND ? DB_OK : st;
}

enum db_status order_repo_recovery_stats(struct db_pool *pool, long long intent_age_ms,
					 struct recovery_stats *out)
{
	char age[24];
	const char *v[1] = { age };
	PGresult *r = NULL;
	enum db_status st;

	memset(out, 0, sizeof *out);
	(void)snprintf(age, sizeof age, "%lld", intent_age_ms);
	st = db_exec(pool, "recovery_stats", 1, v, &r, true);
	if (st != DB_OK)
		goto out;
	if (PQntuples(r) != 1) {
		st = DB_ERROR;
		goto out;
	}
	out->backlog = ll_value(r, 0, 0);
	out->oldest_age_s = strtod(PQgetvalue(r, 0, 1), NULL);
	out->parked = ll_value(r, 0, 2);
out:
	PQclear(r);
	return st;
}
