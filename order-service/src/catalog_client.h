/* catalog_client.h - the order service's calls to the catalog's HTTP API (the only libcurl user).
 *
 * Every thread gets its own curl easy handle (created on first use, freed at thread exit) that is
 * reused for every call, so connections to the catalog stay alive. Each attempt is bounded by
 * CATALOG_TIMEOUT_MS (connect and total). Only idempotent calls are retried (reserve with a fixed
 * reservation id, release, GET), at most CATALOG_ATTEMPTS times. The caller's request id is sent as
 * X-Request-ID. All calls block; the caller must not hold a pooled DB connection meanwhile.
 *
 * Fault isolation (docs/consistency.md "Catalog calls"): a circuit breaker sees every attempt.
 * CATALOG_BREAKER_FAILURES consecutive failures (transport error, timeout, 5xx, garbage) open it:
 * for CATALOG_BREAKER_OPEN_MS every attempt fails at once without touching a socket
 * (CATALOG_SHED), then one trial attempt (half-open) closes it again or reopens it. A 4xx is an
 * answer, not a failure. A bulkhead bounds the request paths' concurrent catalog work to
 * CATALOG_MAX_INFLIGHT per process (catalog_enter / catalog_leave; GET /books through
 * catalog_get_book takes a slot by itself); recovery does not take slots (one thread). */
#ifndef CATALOG_CLIENT_H
#define CATALOG_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

#define CATALOG_ATTEMPTS 2

enum catalog_status {
	CATALOG_OK,            /* 200/201 with a well-formed body */
	CATALOG_NOT_FOUND,     /* 404: the book does not exist */
	CATALOG_INSUFFICIENT,  /* 409: not enough stock; detail holds the catalog's message */
	CATALOG_GONE,          /* 410: the reservation id was released (never reserve under it) */
	CATALOG_REJECTED,      /* 422 or another 4xx: the catalog refused the request as invalid */
	CATALOG_BAD_ANSWER,    /* a 2xx whose book is not usable (no title, no positive price...) */
	CATALOG_UNAVAILABLE,   /* transport failure, timeout, 5xx or an unparseable body */
	CATALOG_SHED,          /* refused here, nothing sent: breaker open or bulkhead full */
};

/* A book as the order service uses it. Owned by the struct (catalog_book_clear frees it).
 * `raw` is the catalog's book object as it was sent, kept only for catalog_book_answer (the
 * pass-through of GET /orders/{id}/book); nobody outside catalog_client.c reads it. */
struct catalog_book {
	long long id;
	char *title;
	int64_t price_cents; /* > 0 */
	long long quantity;  /* stock left (after the decrement, for a reservation) */
	json_t *raw;
};

/* Frees the book's members and zeroes it. Safe on a zeroed book. */
void catalog_book_clear(struct catalog_book *b);

/* The body of GET /orders/{id}/book: the catalog's book object plus "available" (quantity > 0).
 * New reference (the caller owns it), or NULL on allocation failure. */
json_t *catalog_book_answer(const struct catalog_book *b);

/* Frees what catalog_init and the setters keep (libcurl's global state is app_main's). */
void catalog_global_cleanup(void);

/* Stores the base URL (a trailing '/' is dropped) and the per-attempt timeout. Call once before
 * threads use the client. Returns 0 or -1 (out of memory / bad URL). */
int catalog_init(const char *base_url, int timeout_ms);
/* Stores the catalog's public prefix (its BASE_PATH, e.g. "/catalog"; "" or NULL = none): the
 * book read (GET <prefix>/books/{id}) goes under it, the internal reservations API never does.
 * Call once before threads use the client. Returns 0 or -1 (out of memory). */
int catalog_set_books_prefix(const char *prefix);
/* Sends "Authorization: Bearer <token>" (INTERNAL_API_TOKEN) on every call to the catalog (its
 * reservations API accepts nothing else); NULL or "" sends none. Call once before threads use
 * the client. Returns 0 or -1 (out of memory). The token is never logged. */
int catalog_set_internal_token(const char *token);

/* The fault-isolation settings (CATALOG_MAX_INFLIGHT, CATALOG_BREAKER_FAILURES,
 * CATALOG_BREAKER_OPEN_MS). Call once before threads use the client; defaults 16, 5, 5000. */
void catalog_resilience_init(int max_inflight, int breaker_failures, int breaker_open_ms);

/* Bulkhead: takes one of the CATALOG_MAX_INFLIGHT slots. CATALOG_OK (call catalog_leave once
 * the catalog work is over) or CATALOG_SHED, without a slot, when all are taken (counted in
 * catalog_bulkhead_rejections_total) or the breaker is open (nothing would be sent anyway).
 * Never blocks. */
enum catalog_status catalog_enter(void);
void catalog_leave(void);

/* Appends the breaker's state and the bulkhead's use (gauges) to a /metrics page. */
void catalog_metrics(struct buf *out);

/* POST /reservations {reservation_id, book_id, quantity}.
 * CATALOG_OK: *book is the book after the decrement (clear it with catalog_book_clear).
 * CATALOG_INSUFFICIENT: *detail is the catalog's message (malloc'd).
 * Other statuses: nothing is returned (*book zeroed, *detail NULL). *retried is true when the
 * answer came from a retry: the failed earlier attempt may still reserve later, so a 409 or 404
 * from the retry does not prove that nothing is (or will be) reserved under the id.
 * CATALOG_SHED: the breaker refused the first attempt: nothing was sent, nothing is reserved. */
enum catalog_status catalog_reserve(const char *reservation_id, long long book_id, int quantity,
				    const char *request_id, struct catalog_book *book,
				    char **detail, bool *retried);

/* POST /reservations/{id}/release. CATALOG_OK when the stock is back (also when it already was,
 * or when the id was never reserved: the catalog then records a tombstone). */
enum catalog_status catalog_release(const char *reservation_id, const char *request_id);

/* catalog_release with a single attempt (at most one CATALOG_TIMEOUT_MS): for a request that
 * must answer its client within a bound and can leave a failed release to recovery. */
enum catalog_status catalog_release_once(const char *reservation_id, const char *request_id);

/* GET /books/{id} under a bulkhead slot of its own. CATALOG_OK with *book (clear it),
 * CATALOG_NOT_FOUND, CATALOG_SHED (no slot, breaker open) or a failure. */
enum catalog_status catalog_get_book(long long book_id, const char *request_id,
				     struct catalog_book *book);

/* A short name for logs ("ok", "unavailable"...). */
const char *catalog_status_name(enum catalog_status s);

/* The catalog as the saga and the handlers call it: the functions above behind pointers, so
 * tests can put a fake catalog in their place (tests/integration/test_order_saga.c). Each
 * pointer has the contract of the function of the same name above. */
struct catalog_ops {
	enum catalog_status (*reserve)(const char *reservation_id, long long book_id, int quantity,
				       const char *request_id, struct catalog_book *book,
				       char **detail, bool *retried);
	enum catalog_status (*release)(const char *reservation_id, const char *request_id);
	enum catalog_status (*release_once)(const char *reservation_id, const char *request_id);
	enum catalog_status (*get_book)(long long book_id, const char *request_id,
					struct catalog_book *book);
	/* The bulkhead (catalog_enter / catalog_leave); NULL for a catalog without one. */
	enum catalog_status (*enter)(void);
	void (*leave)(void);
};

/* The real catalog over HTTP (the functions above). */
extern const struct catalog_ops catalog_http_ops;

#endif
