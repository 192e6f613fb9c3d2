/* reservation_repo.h - the SQL of the reservation API. Atomic and race-safe: a reservation id is
 * claimed by its primary key (INSERT ... ON CONFLICT waits for a concurrent claim) and stock is
 * taken by one conditional UPDATE under the book's row lock, both in one transaction, so stock is
 * never oversold and never taken twice for one id. */
#ifndef CATALOG_RESERVATION_REPO_H
#define CATALOG_RESERVATION_REPO_H

#include "book.h"
#include "common/db.h"
#include "reservation.h"

/* The prepared statements (a db_stmts_fn, listed in main.c's app_spec). */
void reservation_repo_stmts(const struct db_stmt **stmts, size_t *n);

/* Reserves r->quantity of book r->book_id under id r->id. DB_OK with *outcome; for CREATED and
 * REPLAY *book holds the book (after the decrement), for NO_STOCK *available the stock. Other
 * statuses: DB_UNAVAILABLE, DB_ERROR. */
enum db_status reservation_repo_reserve(struct db_pool *pool, const struct reservation *r,
					enum reservation_outcome *outcome, struct book *book,
					long long *available);

/* Releases id: a reserved row becomes released and its quantity returns to the book (exactly
 * once); an unknown id becomes a tombstone. DB_OK with the row in *out. */
enum db_status reservation_repo_release(struct db_pool *pool, const char *id,
					struct reservation *out);

/* DB_OK with *out, or DB_NOT_FOUND. */
enum db_status reservation_repo_get(struct db_pool *pool, const char *id, struct reservation *out);

#endif
