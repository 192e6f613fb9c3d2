/* order.c - pure order rules: validation, status machine, money totals, JSON. */
#include "order.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonx.h"
#include "common/money.h"
#include "common/valid.h"

static const char *const status_names[] = {
	[ORDER_PENDING] = "pending",     [ORDER_PROCESSING] = "processing",
	[ORDER_CONFIRMED] = "confirmed", [ORDER_SHIPPED] = "shipped",
	[ORDER_DELIVERED] = "delivered", [ORDER_CANCELLED] = "cancelled",
};

#define STATUS_ENUM_MSG \
	"Input should be 'pending', 'processing', 'confirmed', 'shipped', 'delivered' or 'cancelled'"

const char *order_status_name(enum order_status s)
{
	if (s < ORDER_PENDING || s >= ORDER_STATUS_INVALID)
		return "invalid";
	return status_names[s];
}

enum order_status order_status_parse(const char *s)
{
	enum order_status r = ORDER_STATUS_INVALID;
	int i;

	if (s == NULL)
		goto out;
	for (i = ORDER_PENDING; i < ORDER_STATUS_INVALID; i++) {
		if (strcmp(s, status_names[i]) == 0) {
			r = (enum order_status)i;
			break;
		}
	}
out:
	return r;
}

bool order_status_public(enum order_status s)
{
	return s >= ORDER_PENDING && s <= ORDER_CANCELLED;
}

enum order_move order_transition(enum order_status from, enum order_status to)
{
	if (!order_status_public(from) || !order_status_public(to))
		return ORDER_MOVE_FORBIDDEN;
	if (from == to)
		return ORDER_MOVE_SAME;
	switch (from) {
	case ORDER_PENDING:
		if (to == ORDER_PROCESSING || to == ORDER_CONFIRMED || to == ORDER_CANCELLED)
			return ORDER_MOVE_OK;
		break;
	case ORDER_PROCESSING:
		if (to == ORDER_CONFIRMED || to == ORDER_CANCELLED)
			return ORDER_MOVE_OK;
		break;
	case ORDER_CONFIRMED:
		if (to == ORDER_SHIPPED || to == ORDER_CANCELLED)
			return ORDER_MOVE_OK;
		break;
	case ORDER_SHIPPED:
		if (to == ORDER_DELIVERED)
			return ORDER_MOVE_OK;
		break;
	default:
		break;
	}
	return ORDER_MOVE_FORBIDDEN;
}

static void email_error(json_t *errors, const json_t *input, const char *why)
{
	char msg[160];

	msg[0] = '\0';
	(void)snprintf(msg, sizeof msg, "value is not a valid email address: %s", why);
	valid_error(errors, "value_error", "body", "customer_email", msg, input);
}

/* Validates customer_email into *out (malloc'd, domain lower-cased). */
static void validate_email(const json_t *body, char **out, json_t *errors)
{
	const json_t *v = json_object_get(body, "customer_email");
	const char *s;
	char *trimmed = NULL;

	if (v == NULL) {
		valid_missing(errors, "body", "customer_email");
		goto out;
	}
	if (!json_is_string(v)) {
		valid_error(errors, "string_type", "body", "customer_email",
			    "Input should be a valid string", v);
		goto out;
	}
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v)) {
		email_error(errors, v, "it contains a NUL character.");
		goto out;
	}
	trimmed = valid_trim(s);
	if (strchr(trimmed, '@') == NULL) {
		email_error(errors, v, "An email address must have an @-sign.");
		goto out;
	}
	if (strlen(trimmed) > ORDER_EMAIL_MAX) {
		email_error(errors, v, "The email address is too long.");
		goto out;
	}
	if (valid_email(trimmed, out) != 0) {
		*out = NULL;
		email_error(errors, v,
			    "it must have exactly one @-sign, a dotted domain and no spaces.");
		goto out;
	}
out:
	free(trimmed);
}

int order_validate_create(const json_t *body, struct order_input *in, json_t *errors)
{
	size_t before = json_array_size(errors);
	long long v = 0;
	enum valid_field f;

	memset(in, 0, sizeof *in);

	f = valid_int(body, "book_id", 1, LLONG_MAX, &v, errors);
	if (f == VALID_ABSENT)
		valid_missing(errors, "body", "book_id");
	else if (f == VALID_NULL)
		valid_null(errors, "body", "book_id", "int_type", "Input should be a valid integer");
	else if (f == VALID_OK)
		in->book_id = v;

	f = valid_string(body, "customer_name", 1, ORDER_NAME_MAX, &in->customer_name, errors);
	if (f == VALID_ABSENT)
		valid_missing(errors, "body", "customer_name");
	else if (f == VALID_NULL)
		valid_null(errors, "body", "customer_name", "string_type",
			   "Input should be a valid string");
	if (f != VALID_OK)
		in->customer_name = NULL;

	if (json_is_null(json_object_get(body, "customer_email")))
		valid_null(errors, "body", "customer_email", "string_type",
			   "Input should be a valid string");
	else
		validate_email(body, &in->customer_email, errors);

	f = valid_int(body, "quantity", 1, ORDER_QTY_MAX, &v, errors);
	if (f == VALID_ABSENT)
		valid_missing(errors, "body", "quantity");
	else if (f == VALID_NULL)
		valid_null(errors, "body", "quantity", "int_type", "Input should be a valid integer");
	else if (f == VALID_OK)
		in->quantity = (int)v;

	if (json_array_size(errors) != before) {
		order_input_clear(in);
		return -1;
	}
	return 0;
}

void order_input_clear(struct order_input *in)
{
	free(in->customer_name);
	free(in->customer_email);
	memset(in, 0, sizeof *in);
}

int order_validate_status(const json_t *body, enum order_status *to, json_t *errors)
{
	const json_t *v = json_object_get(body, "status");
	enum order_status s;
	int rc = -1;

	if (v == NULL) {
		valid_missing(errors, "body", "status");
		goto out;
	}
	if (!json_is_string(v)) {
		valid_error(errors, "string_type", "body", "status", "Input should be a valid string",
			    v);
		goto out;
	}
	s = order_status_parse(json_string_value(v));
	if (!order_status_public(s)) {
		valid_error(errors, "enum", "body", "status", STATUS_ENUM_MSG, v);
		goto out;
	}
	*to = s;
	rc = 0;
out:
	return rc;
}

int order_validate_filter(const char *skip, const char *limit, const char *status,
			  const char *customer_email, const char *book_id, struct order_filter *f,
			  json_t *errors)
{
	size_t before = json_array_size(errors);
	json_t *input = NULL;

	/* Each error carries its own input (json_decref(NULL) is a no-op). */
	memset(f, 0, sizeof *f);
	(void)valid_query_ll(skip, "skip", 0, 0, LLONG_MAX, &f->skip, errors);
	(void)valid_query_ll(limit, "limit", 100, 1, 1000, &f->limit, errors);
	(void)valid_query_ll(book_id, "book_id", 0, 1, LLONG_MAX, &f->book_id, errors);
	if (status != NULL) {
		f->status = order_status_parse(status);
		if (!order_status_public(f->status)) {
			input = json_string(status);
			valid_error(errors, "enum", "query", "status", STATUS_ENUM_MSG, input);
			json_decref(input);
			input = NULL;
		} else {
			f->has_status = true;
		}
	}
	if (customer_email != NULL) {
		if (customer_email[0] == '\0') {
			input = json_string("");
			valid_error(errors, "string_too_short", "query", "customer_email",
				    "String should have at least 1 character", input);
		} else {
			f->customer_email = customer_email;
		}
	}
	json_decref(input);
	return json_array_size(errors) == before ? 0 : -1;
}

int order_parse_id(const char *s, long long *id)
{
	if (s == NULL)
		return -1;
	return valid_parse_ll(s, 1, LLONG_MAX, id);
}

bool order_idempotency_key_valid(const char *key)
{
	size_t i, n;

	if (key == NULL)
		return false;
	n = strlen(key);
	if (n == 0 || n > ORDER_IDEMPOTENCY_KEY_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c < 0x21 || c > 0x7e)
			return false;
	}
	return true;
}

int order_price_total(int64_t unit_cents, int quantity, char *unit_out, char *total_out)
{
	int64_t total = 0;

	if (unit_cents <= 0 || quantity < 1)
		return -1;
	if (money_mul(unit_cents, quantity, &total) != 0)
		return -1;
	money_format(unit_cents, unit_out);
	money_format(total, total_out);
	return 0;
}

json_t *order_to_json(const struct order *o)
{
	return json_pack("{s:I, s:I, s:o, s:o, s:o, s:i, s:o, s:o, s:s, s:o, s:o}", "id",
			 (json_int_t)o->id, "book_id", (json_int_t)o->book_id, "book_title",
			 jsonx_string_or_null(o->book_title), "customer_name",
			 jsonx_string_or_null(o->customer_name), "customer_email",
			 jsonx_string_or_null(o->customer_email), "quantity", o->quantity,
			 "unit_price", jsonx_string_or_null(o->unit_price), "total_price",
			 jsonx_string_or_null(o->total_price), "status",
			 order_status_name(o->status), "created_at", jsonx_pg_time(o->created_at),
			 "updated_at", jsonx_pg_time(o->updated_at));
}

void order_clear(struct order *o)
{
	free(o->book_title);
	free(o->customer_name);
	free(o->customer_email);
	free(o->unit_price);
	free(o->total_price);
	free(o->created_at);
	free(o->updated_at);
	free(o->reservation_id);
	memset(o, 0, sizeof *o);
}
