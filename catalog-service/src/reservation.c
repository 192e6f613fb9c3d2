/* reservation.c - reservation validation and JSON (see reservation.h). */
#include "reservation.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/valid.h"

bool reservation_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RESERVATION_ID_MAX)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

int reservation_parse(const json_t *body, struct reservation *out, json_t *errors)
{
	size_t before = json_array_size(errors);
	const json_t *v = json_object_get(body, "reservation_id");
	long long n;

	memset(out, 0, sizeof(*out));
	if (v == NULL) {
		valid_missing(errors, "body", "reservation_id");
	} else if (!json_is_string(v)) {
		valid_error(errors, "string_type", "body", "reservation_id",
			    "Input should be a valid string", v);
	} else if (!reservation_id_valid(json_string_value(v))) {
		valid_error(errors, "string_pattern_mismatch", "body", "reservation_id",
			    "String should match pattern '^[A-Za-z0-9_-]{1,64}$'", v);
	} else {
		memcpy(out->id, json_string_value(v), strlen(json_string_value(v)) + 1);
	}

	switch (valid_int(body, "book_id", 1, LLONG_MAX, &n, errors)) {
	case VALID_OK:
		out->book_id = n;
		break;
	case VALID_ABSENT:
		valid_missing(errors, "body", "book_id");
		break;
	case VALID_NULL:
		valid_error(errors, "int_type", "body", "book_id", "Input should be a valid integer",
			    json_object_get(body, "book_id"));
		break;
	case VALID_INVALID:
		break;
	}

	switch (valid_int(body, "quantity", 1, RESERVATION_QUANTITY_MAX, &n, errors)) {
	case VALID_OK:
		out->quantity = n;
		break;
	case VALID_ABSENT:
		valid_missing(errors, "body", "quantity");
		break;
	case VALID_NULL:
		valid_error(errors, "int_type", "body", "quantity", "Input should be a valid integer",
			    json_object_get(body, "quantity"));
		break;
	case VALID_INVALID:
		break;
	}
	return json_array_size(errors) > before ? -1 : 0;
}

json_t *reservation_to_json(const struct reservation *r, const struct book *book)
{
	json_t *o = json_object();

	if (o == NULL)
		abort();
	json_object_set_new(o, "reservation_id", json_string(r->id));
	json_object_set_new(o, "status", json_string(r->released ? "released" : "reserved"));
	json_object_set_new(o, "book_id", r->book_id > 0 ? json_integer(r->book_id) : json_null());
	json_object_set_new(o, "quantity", json_integer(r->quantity));
	if (book != NULL)
		json_object_set_new(o, "book", book_to_json(book));
	return o;
}
