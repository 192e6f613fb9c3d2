/* book_repo.h - every SQL statement that reads or writes books. The only catalog file (with
 * reservation_repo.c, which reads books through the *_on functions below) that talks to
 * PostgreSQL; PGresult never leaves it.
 *
 * Each function checks a connection out of the pool, runs one prepared statement and copies the
 * rows into caller-owned structs. Statuses: DB_OK, DB_NOT_FOUND (no such book), DB_CONFLICT
 * (duplicate ISBN), DB_FK (orders reference the book), DB_UNAVAILABLE (answer 503), DB_ERROR. */
#ifndef CATALOG_BOOK_REPO_H
#define CATALOG_BOOK_REPO_H

#include <stddef.h>

#include "book.h"
#include "common/db.h"

/* The prepared statements (a db_stmts_fn, listed in main.c's app_spec). */
void book_repo_stmts(const struct db_stmt **stmts, size_t *n);

/* GET /books/{id}: DB_OK with *out, or DB_NOT_FOUND. */
enum db_status book_repo_get(struct db_pool *pool, long long id, struct book *out);
/* book_repo_get on a connection the caller holds (e.g. inside its transaction). */
enum db_status book_repo_get_on(struct db_conn *conn, long long id, struct book *out);
/* Takes quantity of book id's stock on the caller's connection (inside its transaction), under
 * the row lock. DB_OK with the book after the decrement, or DB_NOT_FOUND when the book does not
 * exist or has less stock (read it with book_repo_get_on to tell which). */
enum db_status book_repo_take_stock_on(struct db_conn *conn, long long id, long long quantity,
				       struct book *out);
/* The writes below record an audit_log row in the same statement (actor: the caller's sub;
 * request_id: the request's id), through the trigger of 0005_authz.sql. */
/* POST /books: DB_OK with the stored row in *out, or DB_CONFLICT on a duplicate ISBN. */
enum db_status book_repo_create(struct db_pool *pool, const struct book_input *in,
				const char *actor, const char *request_id, struct book *out);
/* PUT/PATCH: changes the fields present in `in` (one statement). if_versions: NULL, or a
 * PostgreSQL bigint array literal ("{3,4}"): the row changes only if its version is one of them
 * (If-Match). DB_OK with the row, DB_NOT_FOUND when there is no such book or its version is not
 * listed (whatever the ISBN), or DB_CONFLICT. */
enum db_status book_repo_update(struct db_pool *pool, long long id, const struct book_input *in,
				const char *if_versions, const char *actor, const char *request_id,
				struct book *out);
/* DELETE: DB_OK, DB_NOT_FOUND, or DB_FK when orders reference the book. */
enum db_status book_repo_delete(struct db_pool *pool, long long id, const char *actor,
				const char *request_id);

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
