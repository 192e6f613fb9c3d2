/* reservation_repo.c - the SQL of the reservation API (see reservation_repo.h). */
#include "reservation_repo.h"

#include "reservation_metrics.h"

#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "book_repo.h"
#include "common/valid.h"

static const struct db_stmt reservation_repo_table[] = {
	/* Claims the id. No row: the id exists already (after waiting for a concurrent claim to
	 * commit or roll back) or the book does not exist. */
	{ "reservation_claim",
	  "INSERT INTO reservations (id, book_id, quantity, status)"
	  " SELECT $1, $2::bigint, $3::integer, 'reserved'"
	  " WHERE EXISTS (SELECT 1 FROM books WHERE id = $2::bigint)"
	  " ON CONFLICT (id) DO NOTHING RETURNING id" },
	/* Release in one statement: a reserved row turns released and gives its quantity back; an
	 * unknown id becomes a tombstone (book NULL, quantity 0, so nothing is given back); an
	 * already released row is left alone and no row is returned. */
	{ "reservation_release",
	  "WITH r AS (INSERT INTO reservations AS r (id, book_id, quantity, status)"
	  " VALUES ($1, NULL, 0, 'released')"
	  " ON CONFLICT (id) DO UPDATE SET status = 'released' WHERE r.status = 'reserved'"
	  " RETURNING r.id, r.book_id, r.quantity, r.status),"
	  " b AS (UPDATE books SET quantity = books.quantity + r.quantity FROM r"
	  " WHERE books.id = r.book_id RETURNING books.id)"
	  " SELECT id, book_id, quantity, status FROM r" },
	{ "reservation_get",
	  "SELECT id, book_id, quantity, status FROM reservations WHERE id = $1" },
};

void reservation_repo_stmts(const struct db_stmt **stmts, size_t *n)
{
	*stmts = reservation_repo_table;
	*n = sizeof(reservation_repo_table) / sizeof(reservation_repo_table[0]);
}

/* Copies a (id, book_id, quantity, status) row. Returns 0 or -1. */
static int from_row(const PGresult *res, int row, struct reservation *out)
{
	const char *id = PQgetvalue(res, row, 0);

	memset(out, 0, sizeof(*out));
	if (strlen(id) > RESERVATION_ID_MAX)
		return -1;
	memcpy(out->id, id, strlen(id) + 1);
	if (!PQgetisnull(res, row, 1) && db_col_ll(res, row, 1, 1, LLONG_MAX, &out->book_id) != 0)
		return -1;
	if (db_col_ll(res, row, 2, 0, LLONG_MAX, &out->quantity) != 0)
		return -1;
	out->released = strcmp(PQgetvalue(res, row, 3), "released") == 0;
	return 0;
}

/* reservation_get on a checked-out connection. DB_OK, DB_NOT_FOUND or a failure. */
static enum db_status get_on(struct db_conn *conn, const char *id, struct reservation *out)
{
	const char *values[1] = { id };
	PGresult *res = NULL;
	enum db_status st;

	st = db_run(conn, "reservation_get", 1, values, &res);
	if (st != DB_OK)
		goto out;
	if (PQntuples(res) == 0)
		st = DB_NOT_FOUND;
	else if (from_row(res, 0, out) != 0)
		st = DB_ERROR;
out:
	PQclear(res);
	return st;
}

/* Plain SQL (BEGIN/COMMIT/ROLLBACK) on a connection. */
static enum db_status sql_on(struct db_conn *conn, const char *sql)
{
	PGresult *res = NULL;
	enum db_status st = db_run_sql(conn, sql, &res);

	PQclear(res);
	return st;
}

/* After a failed claim: tells a known id (replay, released, mismatch) from a missing book. */
static enum db_status classify_existing(struct db_conn *conn, const struct reservation *r,
					enum reservation_outcome *outcome, struct book *book)
{
	struct reservation stored = { 0 };
	struct reservation *existing = &stored;
	enum db_status st = get_on(conn, r->id, existing);

	if (st == DB_NOT_FOUND) {
		*outcome = RESERVATION_NO_BOOK;
		return DB_OK;
	}
	if (st != DB_OK)
		return st;
	if (existing->released) {
		*outcome = RESERVATION_RELEASED;
	} else if (existing->book_id != r->book_id || existing->quantity != r->quantity) {
		*outcome = RESERVATION_MISMATCH;
	} else {
		*outcome = RESERVATION_REPLAY;
		st = book_repo_get_on(conn, r->book_id, book);
		if (st == DB_NOT_FOUND) { /* deleted since: the reservation went with it */
			*outcome = RESERVATION_NO_BOOK;
			st = DB_OK;
		}
	}
	return st;
}

enum db_status reservation_repo_reserve(struct db_pool *pool, const struct reservation *r,
					enum reservation_outcome *outcome, struct book *book,
					long long *available)
{
	struct db_conn *conn = NULL;
	char book_id[24];
	char quantity[24];
	const char *claim[3] = { r->id, book_id, quantity };
	PGresult *res = NULL;
	enum db_status st;
	struct book current = { 0 };

	snprintf(book_id, sizeof(book_id), "%lld", r->book_id);
	snprintf(quantity, sizeof(quantity), "%lld", r->quantity);
	st = db_acquire(pool, &conn);
	if (st != DB_OK)
		goto out;
	/* Asynchronous commit: the caller (the order service) commits its finalize synchronously on
	 * the same PostgreSQL cluster afterwards, and WAL is flushed in order, so a durable order
	 * implies a durable reservation; a reservation lost in a server crash is one whose order
	 * was never confirmed to a client (docs/consistency.md, "Durability of each commit").
	 * DB_SHARED_WAL=0 (common/db.h) keeps the server's setting. */
	st = sql_on(conn, "BEGIN; SELECT " DB_SAGA_ASYNC_COMMIT_SQL);
	if (st != DB_OK)
		goto out;
	st = db_run(conn, "reservation_claim", 3, claim, &res);
	if (st == DB_FK) { /* the book was deleted between the check and the insert */
		sql_on(conn, "ROLLBACK");
		*outcome = RESERVATION_NO_BOOK;
		st = DB_OK;
		goto out;
	}
	if (st != DB_OK)
		goto out;
	if (PQntuples(res) == 0) {
		st = sql_on(conn, "ROLLBACK");
		if (st == DB_OK)
			st = classify_existing(conn, r, outcome, book);
		goto out;
	}
	st = book_repo_take_stock_on(conn, r->book_id, r->quantity, book);
	if (st == DB_NOT_FOUND) {
		st = sql_on(conn, "ROLLBACK");
		if (st != DB_OK)
			goto out;
		st = book_repo_get_on(conn, r->book_id, &current);
		if (st == DB_NOT_FOUND) {
			*outcome = RESERVATION_NO_BOOK;
			st = DB_OK;
		} else if (st == DB_OK) {
			*outcome = RESERVATION_NO_STOCK;
			*available = current.quantity;
		}
		goto out;
	}
	if (st != DB_OK)
		goto out;
	st = sql_on(conn, "COMMIT");
	if (st != DB_OK) {
		book_free(book);
		goto out;
	}
	*outcome = RESERVATION_CREATED;
out:
	PQclear(res);
	book_free(&current);
	db_release(pool, conn); /* rolls back a transaction left open by an error */
	return st;
}

enum db_status reservation_repo_release(struct db_pool *pool, const char *id,
					struct reservation *out)
{
	struct db_conn *conn = NULL;
	const char *values[1] = { id };
	PGresult *res = NULL;
	enum db_status st;

	st = db_acquire(pool, &conn);
	if (st != DB_OK)
		goto out;
	st = db_run(conn, "reservation_release", 1, values, &res);
	if (st != DB_OK)
		goto out;
	if (PQntuples(res) > 0) {
		if (from_row(res, 0, out) != 0)
			st = DB_ERROR;
		else if (out->book_id != 0)
			reservation_metrics_released(); /* this statement gave the stock back */
		goto out;
	}
	/* Released before: report the stored row (read after the statement, so a release that
	 * committed concurrently is visible). */
	st = get_on(conn, id, out);
	if (st == DB_NOT_FOUND)
		st = DB_ERROR;
out:
	PQclear(res);
	db_release(pool, conn);
	return st;
}

enum db_status reservation_repo_get(struct db_pool *pool, const char *id, struct reservation *out)
{
	struct db_conn *conn = NULL;
	enum db_status st;

	st = db_acquire(pool, &conn);
	if (st == DB_OK)
		st = get_on(conn, id, out);
	db_release(pool, conn);
	return st;
}
