/* book_repo.c - the SQL of the books API (see book_repo.h). Every value travels as a text
 * parameter; no SQL text is ever built from input. */
#include "book_repo.h"

#include <libpq-fe.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/audit.h"
#include "common/log.h"
#include "common/money.h"
#include "common/valid.h"

/* One plain list statement: $1 skip, $2 limit, $3 in_stock (NULL = all). */
#define BOOK_REPO_LIST_PLAIN(name, order)                                                  \
	{ name,                                                                            \
	  "SELECT t.total, b.* FROM (SELECT (CASE WHEN $3::boolean IS NULL THEN sum(c.n)"    \
	  " WHEN $3::boolean THEN sum(c.in_stock) ELSE sum(c.n - c.in_stock) END)::bigint"  \
	  " AS total FROM books_count c) t LEFT JOIN LATERAL (SELECT " BOOK_REPO_LIST_COLUMNS \
	  " FROM books b WHERE $3::boolean IS NULL OR (b.quantity > 0) = $3::boolean"      \
	  " ORDER BY " order " OFFSET $1::bigint LIMIT $2::integer) b ON true" }

/* The select list every book query returns, in the order book_from_row reads. */
#define BOOK_REPO_LIST_COLUMNS \
	"id, title, author, isbn, price::text, quantity, description, created_at, updated_at"
/* Single-book statements also read the row version (book_row). */
#define BOOK_REPO_COLUMNS BOOK_REPO_LIST_COLUMNS ", version"

static const struct db_stmt book_repo_table[] = {
	{ "book_get", "SELECT " BOOK_REPO_COLUMNS " FROM books WHERE id = $1::bigint" },
	/* Takes stock for a reservation; the condition is re-checked on the locked, newest row
	 * version. */
	{ "book_take_stock",
	  "UPDATE books SET quantity = quantity - $2::integer"
	  " WHERE id = $1::bigint AND quantity >= $2::integer RETURNING " BOOK_REPO_COLUMNS },
	/* Every write names its actor and request for the audit trigger (AUDIT_CTE), so the
	 * audit row is written by the same statement (0005_authz.sql). */
	{ "book_insert",
	  "WITH " AUDIT_CTE("7", "8") " INSERT INTO books (title, author, isbn, price, quantity,"
	  " description) SELECT $1::text, $2::text, $3::text, $4::numeric, $5::integer, $6::text"
	  " FROM au RETURNING " BOOK_REPO_COLUMNS },
	/* Partial update: a NULL parameter keeps the column (title, author, price, quantity can
	 * never be set to NULL); isbn and description take a flag because NULL clears them. */
	{ "book_update",
	  "WITH " AUDIT_CTE("11", "12") " UPDATE books SET title = COALESCE($2, title),"
	  " author = COALESCE($3, author),"
	  " isbn = CASE WHEN $4::boolean THEN $5 ELSE isbn END,"
	  " price = COALESCE($6::numeric, price), quantity = COALESCE($7::integer, quantity),"
	  " description = CASE WHEN $8::boolean THEN $9 ELSE description END"
	  " FROM au WHERE id = $1::bigint AND ($10::bigint[] IS NULL OR version = ANY ($10::bigint[]))"
	  " RETURNING " BOOK_REPO_COLUMNS },
	{ "book_delete",
	  "WITH " AUDIT_CTE("2", "3") " DELETE FROM books USING au WHERE id = $1::bigint"
	  " RETURNING id" },
	/* The function builds its WHERE from fixed fragments and plans per call (0001_init.sql). */
	{ "book_list",
	  "SELECT total, " BOOK_REPO_LIST_COLUMNS " FROM catalog_list_books($1::bigint, $2::integer,"
	  " $3, $4, $5, $6, $7::numeric, $8::numeric, $9::boolean, $10)" },
	/* The lists without a search, isbn or price filter (optionally in_stock), one plain
	 * prepared statement per sort key: no PL/pgSQL, no planning per call. The page walks the
	 * sort key's index; the total is the sum of the books_count slots. An empty page is one
	 * row with the total and NULL columns, like catalog_list_books. */
	BOOK_REPO_LIST_PLAIN("book_list_id", "b.id"),
	BOOK_REPO_LIST_PLAIN("book_list_-id", "b.id DESC"),
	BOOK_REPO_LIST_PLAIN("book_list_title", "lower(b.title), b.id"),
	BOOK_REPO_LIST_PLAIN("book_list_-title", "lower(b.title) DESC, b.id DESC"),
	BOOK_REPO_LIST_PLAIN("book_list_author", "lower(b.author), b.id"),
	BOOK_REPO_LIST_PLAIN("book_list_-author", "lower(b.author) DESC, b.id DESC"),
	BOOK_REPO_LIST_PLAIN("book_list_price", "b.price, b.id"),
	BOOK_REPO_LIST_PLAIN("book_list_-price", "b.price DESC, b.id DESC"),
	BOOK_REPO_LIST_PLAIN("book_list_created_at", "b.created_at, b.id"),
	BOOK_REPO_LIST_PLAIN("book_list_-created_at", "b.created_at DESC, b.id DESC"),
};

void book_repo_stmts(const struct db_stmt **stmts, size_t *n)
{
	*stmts = book_repo_table;
	*n = sizeof(book_repo_table) / sizeof(book_repo_table[0]);
}

/* Copies the 9 book columns starting at column col of row into *out (strings malloc'd).
 * Returns 0, or -1 when a value cannot be read (out is then freed). */
static int book_from_row(const PGresult *res, int row, int col, struct book *out)
{
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (PQnfields(res) < col + 9 || db_col_ll(res, row, col, LLONG_MIN, LLONG_MAX, &out->id) != 0)
		goto out;
	out->title = db_col_dup(res, row, col + 1);
	out->author = db_col_dup(res, row, col + 2);
	out->isbn = db_col_dup(res, row, col + 3);
	if (money_parse(PQgetvalue(res, row, col + 4), &out->price_cents) != MONEY_OK)
		goto out;
	if (db_col_ll(res, row, col + 5, 0, LLONG_MAX, &out->quantity) != 0)
		goto out;
	out->description = db_col_dup(res, row, col + 6);
	out->created_at = db_col_dup(res, row, col + 7);
	out->updated_at = db_col_dup(res, row, col + 8);
	rc = 0;
out:
	if (rc != 0) {
		log_msg(LOG_ERROR, NULL, "book_repo: unreadable book row");
		book_free(out);
	}
	return rc;
}

/* The db_row_fn of every single-book statement (the columns start at 0; the 10th is the
 * version). */
static int book_row(const PGresult *res, int row, void *out)
{
	struct book *b = out;

	if (book_from_row(res, row, 0, b) != 0)
		return -1;
	if (PQnfields(res) > 9 && db_col_ll(res, row, 9, 1, LLONG_MAX, &b->version) != 0) {
		log_msg(LOG_ERROR, NULL, "book_repo: unreadable book version");
		book_free(b);
		return -1;
	}
	return 0;
}

enum db_status book_repo_get_on(struct db_conn *conn, long long id, struct book *out)
{
	char idtext[24];
	const char *values[1] = { idtext };

	snprintf(idtext, sizeof(idtext), "%lld", id);
	return db_run_row(conn, "book_get", 1, values, book_row, out);
}

enum db_status book_repo_take_stock_on(struct db_conn *conn, long long id, long long quantity,
				       struct book *out)
{
	char idtext[24];
	char qtext[24];
	const char *values[2] = { idtext, qtext };

	snprintf(idtext, sizeof(idtext), "%lld", id);
	snprintf(qtext, sizeof(qtext), "%lld", quantity);
	return db_run_row(conn, "book_take_stock", 2, values, book_row, out);
}

enum db_status book_repo_get(struct db_pool *pool, long long id, struct book *out)
{
	char idtext[24];
	const char *values[1] = { idtext };

	snprintf(idtext, sizeof(idtext), "%lld", id);
	return db_exec_row(pool, "book_get", 1, values, true, book_row, out);
}

enum db_status book_repo_create(struct db_pool *pool, const struct book_input *in,
				const char *actor, const char *request_id, struct book *out)
{
	char price[24];
	char quantity[24];
	const char *values[8];

	money_format(in->price_cents, price);
	snprintf(quantity, sizeof(quantity), "%lld", in->quantity);
	values[0] = in->title;
	values[1] = in->author;
	values[2] = in->has_isbn && in->isbn[0] != '\0' ? in->isbn : NULL;
	values[3] = price;
	values[4] = quantity;
	values[5] = in->has_description ? in->description : NULL;
	values[6] = actor;
	values[7] = request_id;
	return db_exec_row(pool, "book_insert", 8, values, false, book_row, out);
}

enum db_status book_repo_update(struct db_pool *pool, long long id, const struct book_input *in,
				const char *if_versions, const char *actor, const char *request_id,
				struct book *out)
{
	char idtext[24];
	char price[24];
	char quantity[24];
	const char *values[12];

	snprintf(idtext, sizeof(idtext), "%lld", id);
	money_format(in->price_cents, price);
	snprintf(quantity, sizeof(quantity), "%lld", in->quantity);
	values[0] = idtext;
	values[1] = in->has_title ? in->title : NULL;
	values[2] = in->has_author ? in->author : NULL;
	values[3] = in->has_isbn ? "true" : "false";
	values[4] = in->has_isbn && in->isbn[0] != '\0' ? in->isbn : NULL;
	values[5] = in->has_price ? price : NULL;
	values[6] = in->has_quantity ? quantity : NULL;
	values[7] = in->has_description ? "true" : "false";
	values[8] = in->has_description ? in->description : NULL;
	values[9] = if_versions;
	values[10] = actor;
	values[11] = request_id;
	return db_exec_row(pool, "book_update", 12, values, false, book_row, out);
}

enum db_status book_repo_delete(struct db_pool *pool, long long id, const char *actor,
				const char *request_id)
{
	char idtext[24];
	const char *values[3] = { idtext, actor, request_id };
	PGresult *res = NULL;
	enum db_status st;

	snprintf(idtext, sizeof(idtext), "%lld", id);
	st = db_exec(pool, "book_delete", 3, values, &res, false);
	if (st == DB_OK && PQntuples(res) == 0)
		st = DB_NOT_FOUND;
	PQclear(res);
	return st;
}

char *book_repo_like_escape(const char *term)
{
	size_t n = strlen(term);
	char *out = malloc(2 * n + 1);
	size_t j = 0;

	if (out == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (term[i] == '\\' || term[i] == '%' || term[i] == '_')
			out[j++] = '\\';
		out[j++] = term[i];
	}
	out[j] = '\0';
	return out;
}

void book_page_free(struct book_page *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n; i++)
		book_free(&p->books[i]);
	free(p->books);
	memset(p, 0, sizeof(*p));
}

enum db_status book_repo_list(struct db_pool *pool, const struct book_query *q,
			      struct book_page *out)
{
	char skip[24];
	char limit[24];
	char min_price[24];
	char max_price[24];
	char *search = NULL;
	char *author = NULL;
	char *title = NULL;
	const char *values[10];
	char plain[32];
	PGresult *res = NULL;
	enum db_status st;
	int rows;

	memset(out, 0, sizeof(*out));
	snprintf(skip, sizeof(skip), "%lld", q->skip);
	snprintf(limit, sizeof(limit), "%lld", q->limit);
	money_format(q->min_price_cents, min_price);
	money_format(q->max_price_cents, max_price);
	if (q->search != NULL)
		search = book_repo_like_escape(q->search);
	if (q->author != NULL)
		author = book_repo_like_escape(q->author);
	if (q->title != NULL)
		title = book_repo_like_escape(q->title);
	values[0] = skip;
	values[1] = limit;
	values[2] = search;
	values[3] = author;
	values[4] = title;
	values[5] = q->isbn[0] != '\0' ? q->isbn : NULL;
	values[6] = q->has_min_price ? min_price : NULL;
	values[7] = q->has_max_price ? max_price : NULL;
	values[8] = q->in_stock < 0 ? NULL : (q->in_stock ? "true" : "false");
	values[9] = q->sort;

	if (search == NULL && author == NULL && title == NULL && values[5] == NULL &&
	    values[6] == NULL && values[7] == NULL) {
		/* q->sort is from the whitelist, so the name is one of book_repo_table. */
		snprintf(plain, sizeof(plain), "book_list_%s", q->sort);
		values[2] = values[8];
		st = db_exec(pool, plain, 3, values, &res, true);
	} else {
		st = db_exec(pool, "book_list", 10, values, &res, true);
	}
	if (st != DB_OK)
		goto out;
	rows = PQntuples(res);
	if (rows == 0 || PQgetisnull(res, 0, 0) ||
	    valid_parse_ll(PQgetvalue(res, 0, 0), 0, LLONG_MAX, &out->total) != 0) {
		/* sum() over books_count is NULL only when the table has no rows, which the
		 * migration prevents; read anything unexpected as a total of 0. */
		out->total = 0;
	}
	/* An empty page comes back as one row with a NULL id. */
	if (rows == 1 && PQgetisnull(res, 0, 1))
		rows = 0;
	if (rows > 0) {
		out->books = calloc((size_t)rows, sizeof(*out->books));
		if (out->books == NULL)
			abort();
	}
	for (int i = 0; i < rows; i++) {
		if (book_from_row(res, i, 1, &out->books[i]) != 0) {
			st = DB_ERROR;
			book_page_free(out);
			goto out;
		}
		out->n++;
	}
out:
	PQclear(res);
	free(search);
	free(author);
	free(title);
	return st;
}
