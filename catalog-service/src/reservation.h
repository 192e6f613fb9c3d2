/* reservation.h - stock reservations taken by the order service: validation and JSON.
 * Pure (no I/O); the SQL is in reservation_repo.c, the handlers in reservation_http.c. */
#ifndef CATALOG_RESERVATION_H
#define CATALOG_RESERVATION_H

#include <jansson.h>
#include <stdbool.h>

#include "book.h"

#define RESERVATION_ID_MAX 64
#define RESERVATION_QUANTITY_MAX 1000000

/* A reservation row. A tombstone (released without ever reserving) has book_id 0 (NULL in the
 * database) and quantity 0. */
struct reservation {
	char id[RESERVATION_ID_MAX + 1];
	long long book_id;  /* 0 = none */
	long long quantity;
	bool released;
};

/* What POST /reservations found (see the reservation API in the brief). */
enum reservation_outcome {
	RESERVATION_CREATED,  /* 201: stock taken */
	RESERVATION_REPLAY,   /* 200: same id, book and quantity already reserved */
	RESERVATION_RELEASED, /* 410: the id was released (or is a tombstone) */
	RESERVATION_MISMATCH, /* 422: the id exists with another book or quantity */
	RESERVATION_NO_BOOK,  /* 404 */
	RESERVATION_NO_STOCK, /* 409: fewer than quantity available */
};

/* True when s is 1..64 characters of [A-Za-z0-9_-]. */
bool reservation_id_valid(const char *s);

/* Validates a POST /reservations body {"reservation_id","book_id","quantity"}. Returns 0 with
 * *out filled (released false), or -1 with every problem appended to errors. */
int reservation_parse(const json_t *body, struct reservation *out, json_t *errors);

/* {"reservation_id","status","book_id","quantity"} (book_id null for a tombstone). New
 * reference. When book is not NULL, a "book" member holds its JSON. */
json_t *reservation_to_json(const struct reservation *r, const struct book *book);

#endif
