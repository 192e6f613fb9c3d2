/* money.c - exact decimal money as integer cents (see money.h).
 *
 * The checks run in pydantic's order for condecimal(gt=0, lt=1e8, decimal_places=2): the text
 * must be a decimal number, then it may have at most two significant decimals (trailing zeros
 * do not count, as pydantic normalises the Decimal first), then it must be positive, then small
 * enough. */
#include "common/money.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Parses the text without range checks. On MONEY_OK *cents holds the value, saturated to
 * MONEY_MAX_CENTS + 1 in magnitude when it is larger (enough for the range checks). */
static enum money_err money_scan(const char *s, int64_t *cents)
{
	const char *p = s;
	bool neg = false;
	int64_t whole = 0;
	int64_t frac = 0;
	int nfrac = 0;
	bool big = false;
	bool extra_nonzero = false;

	if (*p == '-') {
		neg = true;
		p++;
	}
	if (*p < '0' || *p > '9')
		return MONEY_BAD_FORMAT;
	while (*p >= '0' && *p <= '9') {
		if (!big) {
			whole = whole * 10 + (*p - '0');
			if (whole > MONEY_MAX_CENTS / 100)
				big = true;
		}
		p++;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return MONEY_BAD_FORMAT;
		while (*p >= '0' && *p <= '9') {
			if (nfrac < 2)
				frac = frac * 10 + (*p - '0');
			else if (*p != '0')
				extra_nonzero = true;
			nfrac++;
			p++;
		}
	}
	if (*p != '\0')
		return MONEY_BAD_FORMAT;
	if (extra_nonzero)
		return MONEY_TOO_PRECISE;
	if (nfrac == 1)
		frac *= 10;
	if (big)
		*cents = MONEY_MAX_CENTS + 1;
	else
		*cents = whole * 100 + frac;
	if (neg)
		*cents = -*cents;
	return MONEY_OK;
}

static enum money_err money_range(int64_t cents)
{
	if (cents <= 0)
		return MONEY_NOT_POSITIVE;
	if (cents > MONEY_MAX_CENTS)
		return MONEY_TOO_LARGE;
	return MONEY_OK;
}

enum money_err money_parse(const char *s, int64_t *cents)
{
	int64_t v = 0;
	enum money_err e;

	if (s == NULL)
		return MONEY_BAD_TYPE;
	e = money_scan(s, &v);
	if (e == MONEY_OK)
		e = money_range(v);
	if (e == MONEY_OK)
		*cents = v;
	return e;
}

/* A JSON real goes through its shortest round-trip decimal text ("%.15g" gives 44.99 for the
 * double nearest 44.99), so 44.99 is exact and 44.999 has three decimals. Exponent forms only
 * appear for magnitudes < 1e-4 (too precise or zero) or >= 1e15 (too large). */
static enum money_err money_from_real(double d, int64_t *cents)
{
	char text[64];

	if (d >= 1e8)
		return MONEY_TOO_LARGE;
	if (d <= -1e8 || d == 0.0)
		return MONEY_NOT_POSITIVE;
	snprintf(text, sizeof(text), "%.15g", d);
	if (strchr(text, 'e') != NULL)
		return d > 0 ? MONEY_TOO_PRECISE : MONEY_NOT_POSITIVE;
	return money_parse(text, cents);
}

enum money_err money_from_json(const json_t *v, int64_t *cents)
{
	json_int_t i;

	if (json_is_string(v)) {
		/* An embedded NUL makes the text shorter than the string: not a number. */
		if (strlen(json_string_value(v)) != json_string_length(v))
			return MONEY_BAD_FORMAT;
		return money_parse(json_string_value(v), cents);
	}
	if (json_is_integer(v)) {
		i = json_integer_value(v);
		if (i <= 0)
			return MONEY_NOT_POSITIVE;
		if (i > MONEY_MAX_CENTS / 100)
			return MONEY_TOO_LARGE;
		*cents = (int64_t)i * 100;
		return MONEY_OK;
	}
	if (json_is_real(v))
		return money_from_real(json_real_value(v), cents);
	return MONEY_BAD_TYPE;
}

const char *money_err_msg(enum money_err e)
{
	switch (e) {
	case MONEY_OK:
		return "";
	case MONEY_BAD_TYPE:
		return "Decimal input should be an integer, float, string or Decimal object";
	case MONEY_BAD_FORMAT:
		return "Input should be a valid decimal";
	case MONEY_TOO_PRECISE:
		return "Decimal input should have no more than 2 decimal places";
	case MONEY_NOT_POSITIVE:
		return "Input should be greater than 0";
	case MONEY_TOO_LARGE:
		return "Input should be less than 100000000";
	}
	return "Input should be a valid decimal";
}

const char *money_err_type(enum money_err e)
{
	switch (e) {
	case MONEY_OK:
		return "";
	case MONEY_BAD_TYPE:
		return "decimal_type";
	case MONEY_BAD_FORMAT:
		return "decimal_parsing";
	case MONEY_TOO_PRECISE:
		return "decimal_max_places";
	case MONEY_NOT_POSITIVE:
		return "greater_than";
	case MONEY_TOO_LARGE:
		return "less_than";
	}
	return "decimal_parsing";
}

char *money_format(int64_t cents, char *out)
{
	/* The magnitude as unsigned so INT64_MIN has no overflow. */
	uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents : (uint64_t)cents;

	snprintf(out, 24, "%s%" PRIu64 ".%02" PRIu64, cents < 0 ? "-" : "", mag / 100, mag % 100);
	return out;
}

json_t *money_to_json(int64_t cents)
{
	char text[24];

	return json_string(money_format(cents, text));
}

int money_mul(int64_t cents, int64_t n, int64_t *out)
{
	int64_t r;

	if (__builtin_mul_overflow(cents, n, &r))
		return -1;
	*out = r;
	return 0;
}
