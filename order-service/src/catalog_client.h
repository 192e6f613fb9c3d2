/* catalog_client.h - the order service's calls to the catalog's HTTP API (the only libcurl user).
 *
 * Every thread gets its own curl easy handle (created on first use, freed at thread exit) that is
 * reused for every call, so connections to the catalog stay alive. Each attempt is bounded by
 * CATALOG_TIMEOUT_MS (connect and total). Only idempotent calls are retried (reserve with a fixed
 * reservation id, release, GET), at most CATALOG_ATTEMPTS times. The caller's request id is sent as
 * X-Request-ID. All calls block; the caller must not hold a pooled DB connection meanwhile. */
#ifndef CATALOG_CLIENT_H
#define CATALOG_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "common/buf.h"

#define CATALOG_ATTEMPTS 2

enum catalog_status {
	CATALOG_OK,            /* 200/201 with a well-formed body */
	CATALOG_NOT_FOUND,     /* 404: the book does not exist */
	CATALOG_INSUFFICIENT,  /* 409: not enough stock; detail holds the catalog's message */
	CATALOG_GONE,          /* 410: the reservation id was released (never reserve under it) */
	CATALOG_REJECTED,      /* 422 or another 4xx: the catalog refused the request as invalid */
	CATALOG_UNAVAILABLE,   /* transport failure, timeout, 5xx or an unparseable answer */
};

/* Calls curl_global_init; once in main before any thread starts. Returns 0 or -1. */
int catalog_global_init(void);
void catalog_global_cleanup(void);

/* Stores the base URL (a trailing '/' is dropped) and the per-attempt timeout. Call once before
 * threads use the client. Returns 0 or -1 (out of memory / bad URL). */
int catalog_init(const char *base_url, int timeout_ms);

/* POST /reservations {reservation_id, book_id, quantity}.
 * CATALOG_OK: *book is the catalog's book JSON after the decrement (new reference).
 * CATALOG_INSUFFICIENT: *detail is the catalog's message (malloc'd).
 * Other statuses: nothing is returned. *retried is true when the answer came from a retry: the
 * failed earlier attempt may still reserve later, so a 409 or 404 from the retry does not prove
 * that nothing is (or will be) reserved under the id. */
enum catalog_status catalog_reserve(const char *reservation_id, long long book_id, int quantity,
				    const char *request_id, json_t **book, char **detail,
				    bool *retried);

/* POST /reservations/{id}/release. CATALOG_OK when the stock is back (also when it already was,
 * or when the id was never reserved: the catalog then records a tombstone). */
enum catalog_status catalog_release(const char *reservation_id, const char *request_id);

/* catalog_release with a single attempt (at most one CATALOG_TIMEOUT_MS): for a request that
 * must answer its client within a bound and can leave a failed release to recovery. */
enum catalog_status catalog_release_once(const char *reservation_id, const char *request_id);

/* The per-attempt timeout in milliseconds (CATALOG_TIMEOUT_MS). */
long catalog_timeout(void);

/* GET /books/{id}. CATALOG_OK with *book (new reference), CATALOG_NOT_FOUND, or a failure. */
enum catalog_status catalog_get_book(long long book_id, const char *request_id, json_t **book);

/* A short name for logs ("ok", "unavailable"...). */
const char *catalog_status_name(enum catalog_status s);

#endif
