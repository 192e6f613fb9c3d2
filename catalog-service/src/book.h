/* book.h - the book domain: the struct, validation of request bodies and list queries, and the
 * JSON form. Pure: no I/O, no SQL, no HTTP; unit-tested in tests/unit/test_book.c.
 *
 * Validation follows FastAPI's 422 list form (common/valid.h): every bad field appends one entry
 * to the caller's `errors` array, and the parse functions report -1 when any entry was added. */
#ifndef CATALOG_BOOK_H
#define CATALOG_BOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define BOOK_TEXT_MAX 255           /* title, author: characters after trimming */
#define BOOK_DESCRIPTION_MAX 10000  /* characters */
#define BOOK_QUANTITY_MAX 2147483647LL
#define BOOK_LIMIT_DEFAULT 100
#define BOOK_LIMIT_MAX 1000
#define BOOK_FILTER_MAX 255         /* search/author/title query values, characters */

/* A stored book. Strings are malloc'd and owned by the struct (book_free). */
struct book {
	long long id;
	char *title;
	char *author;
	char *isbn;        /* 13 digits, or NULL */
	int64_t price_cents;
	long long quantity;
	char *description; /* NULL when none */
	char *created_at;  /* PostgreSQL timestamptz text in UTC, e.g. "2026-11-29 10:00:00.1+00" */
	char *updated_at;
	long long version; /* row version (ETag, If-Match); 0 when the query did not read it */
};

/* Frees the members and zeroes the struct. NULL is a no-op. */
void book_free(struct book *b);

/* One book on the wire, {"id","title","author","isbn","price","quantity","description",
 * "created_at","updated_at"}: price a string with two decimals, times RFC 3339 UTC, text that is
 * not UTF-8 as null. Two writers of the same bytes (a unit test keeps them identical):
 * book_text_json is THE writer of every books answer (GET, POST, PUT, PATCH: a jansson tree and
 * json_dumps were about half of the service's CPU per page); book_to_json builds the tree only
 * where a book is embedded in a larger jansson answer (a reservation). */
json_t *book_to_json(const struct book *b);
/* The GET /books body {"total":total,"books":[...]} as compact JSON text. malloc'd, never
 * NULL. */
char *book_page_json(long long total, const struct book *books, size_t n);
/* One book as compact JSON text. malloc'd, never NULL. */
char *book_text_json(const struct book *k);

/* The fields of a POST or PUT/PATCH body. has_* tells whether the key was given. For isbn and
 * description a given JSON null means "clear": has_isbn with isbn[0] == '\0', has_description
 * with description == NULL. Strings are trimmed copies owned by the struct. */
struct book_input {
	bool has_title, has_author, has_isbn, has_price, has_quantity, has_description;
	char *title;
	char *author;
	char isbn[14];
	int64_t price_cents;
	long long quantity;
	char *description;
};

/* Frees the members and zeroes the struct. */
void book_input_free(struct book_input *in);

/* Validates a POST body: title, author and price required; isbn, quantity (default 0) and
 * description optional; unknown keys ignored. Returns 0 with *in filled (has_quantity is set,
 * quantity defaulted), or -1 with every problem appended to errors (in is then freed). */
int book_parse_create(const json_t *body, struct book_input *in, json_t *errors);

/* Validates a PUT/PATCH body: every field optional; null is rejected for title, author, price
 * and quantity, and clears isbn and description. Same returns as book_parse_create. */
int book_parse_update(const json_t *body, struct book_input *in, json_t *errors);

/* True when the input changes nothing (an empty update body). */
bool book_input_empty(const struct book_input *in);

/* The list sort keys accepted by GET /books ("id", "-price", ...). */
bool book_sort_valid(const char *sort);

/* A parsed GET /books query. Filter strings are borrowed from the getter's storage. */
struct book_query {
	long long skip;
	long long limit;
	const char *search;  /* NULL = no filter (an empty value counts as none) */
	const char *author;
	const char *title;
	char isbn[14];       /* "" = no filter */
	bool has_min_price, has_max_price;
	int64_t min_price_cents, max_price_cents;
	int in_stock;        /* -1 any, 0 only out of stock, 1 only in stock */
	const char *sort;    /* a static string from the whitelist */
};

/* Returns the value of query parameter key, or NULL when absent. */
typedef const char *(*book_query_get_fn)(void *ctx, const char *key);

/* Parses skip, limit, search, author, title, isbn, min_price, max_price, in_stock and sort.
 * Returns 0, or -1 with one entry per bad value (loc ["query", key]) appended to errors. */
int book_query_parse(book_query_get_fn get, void *ctx, struct book_query *q, json_t *errors);

/* The canonical text of a parsed query, the read cache's key for its page: every field in a fixed
 * order, each string preceded by its length (and "-" for none), so two different queries never
 * share a key and "?limit=20" and "?limit=20&skip=0" share one. Returns a malloc'd string. */
char *book_query_key(const struct book_query *q);

#endif
