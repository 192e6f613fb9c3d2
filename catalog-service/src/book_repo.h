/* book_repo.h - every SQL statement of the books API. The only catalog file (with
 * reservation_repo.c) that talks to PostgreSQL; PGresult never leaves it.
 *
 * Each function checks a connection out of the pool, runs one prepared statement and copies the
 * rows into caller-owned structs. Statuses: DB_OK, DB_NOT_FOUND (no such book), DB_CONFLICT
 * (duplicate ISBN), DB_FK (orders reference the book), DB_UNAVAILABLE (answer 503), DB_ERROR. */
#ifndef CATALOG_BOOK_REPO_H
#define CATALOG_BOOK_REPO_H

#include <libpq-fe.h>
#include <stddef.h>

#include "book.h"
#include "common/db.h"

#define BOOK_REPO_NSTMTS 15
/* The prepared statements, for the pool configuration. */
extern const struct db_stmt book_repo_stmts[BOOK_REPO_NSTMTS];

/* The select list every book query returns, in the order book_repo_from_row reads. */
#define BOOK_REPO_COLUMNS \
	"id, title, author, isbn, price::text, quantity, description, created_at, updated_at"

/* Copies the 9 book columns starting at column col of row into *out (strings malloc'd).
 * Returns 0, or -1 when a value cannot be read (out is then freed). */
int book_repo_from_row(const PGresult *res, int row, int col, struct book *out);

/* GET /books/{id}: DB_OK with *out, or DB_NOT_FOUND. */
enum db_status book_repo_get(struct db_pool *pool, long long id, struct book *out);
/* POST /books: DB_OK with the stored row in *out, or DB_CONFLICT on a duplicate ISBN. */
enum db_status book_repo_create(struct db_pool *pool, const struct book_input *in,
				struct book *out);
/* PUT/PATCH: changes the fields present in `in` (one statement). DB_OK with the row,
 * DB_NOT_FOUND when there is no such book (whatever the ISBN), or DB_CONFLICT. */
enum db_status book_repo_update(struct db_pool *pool, long long id, const struct book_input *in,
				struct book *out);
/* DELETE: DB_OK, DB_NOT_FOUND, or DB_FK when orders reference the book. */
enum db_status book_repo_delete(struct db_pool *pool, long long id);

/* One page of GET /books and the total number of matching books. */
struct book_page {
	long long total;
	struct book *books;
	size_t n;
};
/* Runs the list query: a plain prepared statement per sort key when there is no search, isbn
 * or price filter, else catalog_list_books (0001_init.sql). DB_OK with *out filled. */
enum db_status book_repo_list(struct db_pool *pool, const struct book_query *q,
			      struct book_page *out);
/* Frees the books and zeroes the page. */
void book_page_free(struct book_page *p);

/* Escapes the LIKE metacharacters \ % _ of a user term with '\' so that they match literally.
 * Returns a malloc'd string (caller frees). */
char *book_repo_like_escape(const char *term);

#endif
