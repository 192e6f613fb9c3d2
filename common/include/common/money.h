/* money.h - exact decimal money as integer cents. The wire format is a JSON string with exactly
 * two decimals ("44.99"). Input may be a JSON number or a numeric string. */
#ifndef COMMON_MONEY_H
#define COMMON_MONEY_H

#include <jansson.h>
#include <stdint.h>

#define MONEY_MAX_CENTS 9999999999LL /* 99999999.99: prices must be < 100000000 */

enum money_err {
	MONEY_OK = 0,
	MONEY_BAD_TYPE,     /* not a number or string */
	MONEY_BAD_FORMAT,   /* not a decimal number */
	MONEY_TOO_PRECISE,  /* more than two decimals */
	MONEY_NOT_POSITIVE, /* <= 0 */
	MONEY_TOO_LARGE,    /* >= 100000000 */
};

/* Parses "[-]digits[.d[d]]" strictly (no spaces, no exponent, no '+'). On success writes cents.
 * Range rules (positive, < 1e8) are applied too. */
enum money_err money_parse(const char *s, int64_t *cents);
/* Same for a JSON value: integer, real (read through its shortest decimal form) or string. */
enum money_err money_from_json(const json_t *v, int64_t *cents);
/* A human message for an error, e.g. "Decimal input should have no more than 2 decimal places". */
const char *money_err_msg(enum money_err e);
/* The FastAPI-style error type for an error, e.g. "decimal_max_places", "greater_than". */
const char *money_err_type(enum money_err e);
/* Writes "-?\d+\.\d\d" into out (at least 24 bytes). Returns out. */
char *money_format(int64_t cents, char *out);
/* A new JSON string reference for the amount. */
json_t *money_to_json(int64_t cents);
/* Multiplies without overflow; returns 0 or -1 on overflow. */
int money_mul(int64_t cents, int64_t n, int64_t *out);

#endif
