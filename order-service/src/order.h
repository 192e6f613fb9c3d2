/* order.h - the order domain, pure (no I/O): the order record, validation of request bodies and
 * query strings into FastAPI 422 lists, the status machine and the JSON rendering.
 *
 * Statuses of an order: pending, processing, confirmed, shipped, delivered, cancelled. An order
 * that is still being placed is not an order but an intent (table order_intents); its states
 * ('reserving', 'failed') belong to the saga and are described in order_repo.h. */
#ifndef ORDER_H
#define ORDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum order_status {
	ORDER_PENDING,
	ORDER_PROCESSING,
	ORDER_CONFIRMED,
	ORDER_SHIPPED,
	ORDER_DELIVERED,
	ORDER_CANCELLED,
	ORDER_STATUS_INVALID,
};

#define ORDER_QTY_MAX 1000
#define ORDER_NAME_MAX 255
#define ORDER_EMAIL_MAX 254
#define ORDER_IDEMPOTENCY_KEY_MAX 255

/* One order row as the API shows it. Strings are owned by the struct (order_clear frees them);
 * prices are the database's exact decimal text ("44.99"), NULL while the order is an intent. */
struct order {
	long long id;
	long long book_id;
	char *book_title;
	char *customer_name;
	char *customer_email;
	int quantity;
	char *unit_price;
	char *total_price;
	enum order_status status;
	char *created_at; /* PostgreSQL timestamptz text in UTC */
	char *updated_at;
	char *reservation_id;
	bool stock_released;
};

/* The validated body of POST /orders. name/email are malloc'd (order_input_clear frees them);
 * the e-mail has its domain lower-cased. */
struct order_input {
	long long book_id;
	char *customer_name;
	char *customer_email;
	int quantity;
};

/* The validated query of GET /orders. email points into the request (borrowed). */
struct order_filter {
	long long skip;
	long long limit;
	bool has_status;
	enum order_status status;
	const char *customer_email; /* NULL = no filter */
	long long book_id;          /* 0 = no filter */
};

enum order_move {
	ORDER_MOVE_OK,        /* an allowed transition */
	ORDER_MOVE_SAME,      /* to == from: answer 200 without change */
	ORDER_MOVE_FORBIDDEN, /* answer 409 naming both states */
};

/* "pending" ... "cancelled"; "invalid" for ORDER_STATUS_INVALID. Static strings. */
const char *order_status_name(enum order_status s);
/* Parses a status name. ORDER_STATUS_INVALID if unknown or NULL. */
enum order_status order_status_parse(const char *s);
/* True for the six statuses (false for ORDER_STATUS_INVALID and anything out of range). */
bool order_status_public(enum order_status s);
/* The status machine: pending->processing|confirmed|cancelled, processing->confirmed|cancelled,
 * confirmed->shipped|cancelled, shipped->delivered; same status is ORDER_MOVE_SAME; everything
 * else (including an invalid status on either side) is ORDER_MOVE_FORBIDDEN. */
enum order_move order_transition(enum order_status from, enum order_status to);

/* Validates a POST /orders body, appending one FastAPI entry per bad field to errors (loc
 * ["body", field]). Returns 0 when errors stayed empty (in filled; clear it), else -1 (in is left
 * cleared). */
int order_validate_create(const json_t *body, struct order_input *in, json_t *errors);
void order_input_clear(struct order_input *in);

/* Validates a PATCH /orders/{id}/status body. Returns 0 with *to set to a public status, else -1
 * with an entry appended to errors (missing, string_type, or enum with the allowed values). */
int order_validate_status(const json_t *body, enum order_status *to, json_t *errors);

/* Validates GET /orders query values (NULL = absent): skip >= 0 (default 0), limit 1..1000
 * (default 100), status one of the public statuses, customer_email any non-empty string,
 * book_id >= 1. Returns 0 or -1 with entries (loc ["query", key]) appended to errors. */
int order_validate_filter(const char *skip, const char *limit, const char *status,
			  const char *customer_email, const char *book_id, struct order_filter *f,
			  json_t *errors);

/* Parses a path id (decimal, 1..2^63-1). Returns 0 or -1. */
int order_parse_id(const char *s, long long *id);

/* The Idempotency-Key header: 1..255 visible ASCII characters (0x21..0x7e). */
bool order_idempotency_key_valid(const char *key);

/* total = unit * quantity in cents, exactly. Writes both as "%.2f"-like exact text ("44.99")
 * into unit_out/total_out (at least 24 bytes each). Returns 0, or -1 when the unit price is not
 * positive, the quantity is below 1 or the product overflows. */
int order_price_total(int64_t unit_cents, int quantity, char *unit_out, char *total_out);

/* The API JSON of an order (new reference): id, book_id, book_title, customer_name,
 * customer_email, quantity, unit_price, total_price, status, created_at, updated_at. */
json_t *order_to_json(const struct order *o);
/* Frees the strings of o and zeroes it. */
void order_clear(struct order *o);

#endif
