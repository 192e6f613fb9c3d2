/* book.c - the book domain: validation, query parsing and JSON (see book.h). */
#include "book.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/jsonx.h"
#include "common/money.h"
#include "common/valid.h"

static const char *const book_sorts[] = {
	"id",	      "-id",	    "title",	  "-title",	"author",
	"-author",    "price",	    "-price",	  "created_at", "-created_at",
};
#define BOOK_NSORTS (sizeof(book_sorts) / sizeof(book_sorts[0]))

void book_free(struct book *b)
{
	if (b == NULL)
		return;
	free(b->title);
	free(b->author);
	free(b->isbn);
	free(b->description);
	free(b->created_at);
	free(b->updated_at);
	memset(b, 0, sizeof(*b));
}

json_t *book_to_json(const struct book *b)
{
	json_t *o = json_object();

	if (o == NULL)
		abort();
	json_object_set_new(o, "id", json_integer(b->id));
	json_object_set_new(o, "title", jsonx_string_or_null(b->title));
	json_object_set_new(o, "author", jsonx_string_or_null(b->author));
	json_object_set_new(o, "isbn", jsonx_string_or_null(b->isbn));
	json_object_set_new(o, "price", money_to_json(b->price_cents));
	json_object_set_new(o, "quantity", json_integer(b->quantity));
	json_object_set_new(o, "description", jsonx_string_or_null(b->description));
	json_object_set_new(o, "created_at", jsonx_pg_time(b->created_at));
	json_object_set_new(o, "updated_at", jsonx_pg_time(b->updated_at));
	return o;
}

/* Appends s as a JSON string the way jansson writes it (UTF-8 kept, '"', '\\' and control
 * characters escaped), or null for NULL and for text that is not valid UTF-8 (what
 * jsonx_string_or_null gives the tree). */
static void page_string(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len;
	size_t start = 0;

	len = s != NULL ? strlen(s) : 0;
	if (s == NULL || !valid_utf8(s, len)) {
		buf_puts(b, "null");
		return;
	}
	buf_append(b, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 0, 0, 0, 0, 0, 0 };
		size_t elen = 2;

		if (c == '"' || c == '\\')
			esc[1] = (char)c;
		else if (c == '\b')
			esc[1] = 'b';
		else if (c == '\f')
			esc[1] = 'f';
		else if (c == '\n')
			esc[1] = 'n';
		else if (c == '\r')
			esc[1] = 'r';
		else if (c == '\t')
			esc[1] = 't';
		else if (c < 0x20) {
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			elen = 6;
		} else {
			continue;
		}
		buf_append(b, s + start, i - start);
		buf_append(b, esc, elen);
		start = i + 1;
	}
	buf_append(b, s + start, len - start);
	buf_append(b, "\"", 1);
}

static void page_time(struct buf *b, const char *pg_text)
{
	char out[64];

	if (pg_text == NULL)
		buf_puts(b, "null");
	else
		page_string(b, jsonx_pg_time_text(pg_text, out));
}

/* Appends one book object. */
static void page_book(struct buf *b, const struct book *k)
{
	char price[24];

	buf_printf(b, "{\"id\":%lld,\"title\":", k->id);
	page_string(b, k->title);
	buf_puts(b, ",\"author\":");
	page_string(b, k->author);
	buf_puts(b, ",\"isbn\":");
	page_string(b, k->isbn);
	buf_printf(b, ",\"price\":\"%s\",\"quantity\":%lld,\"description\":",
		   money_format(k->price_cents, price), k->quantity);
	page_string(b, k->description);
	buf_puts(b, ",\"created_at\":");
	page_time(b, k->created_at);
	buf_puts(b, ",\"updated_at\":");
	page_time(b, k->updated_at);
	buf_puts(b, "}");
}

char *book_page_json(long long total, const struct book *books, size_t n)
{
	struct buf b = { 0 };

	buf_printf(&b, "{\"total\":%lld,\"books\":[", total);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_puts(&b, ",");
		page_book(&b, &books[i]);
	}
	buf_puts(&b, "]}");
	return buf_steal(&b);
}

char *book_text_json(const struct book *k)
{
	struct buf b = { 0 };

	page_book(&b, k);
	return buf_steal(&b);
}

void book_input_free(struct book_input *in)
{
	if (in == NULL)
		return;
	free(in->title);
	free(in->author);
	free(in->description);
	memset(in, 0, sizeof(*in));
}

bool book_input_empty(const struct book_input *in)
{
	return !in->has_title && !in->has_author && !in->has_isbn && !in->has_price &&
	       !in->has_quantity && !in->has_description;
}

/* title/author: a required-when-creating string of 1..255 characters; null is never valid. */
static void parse_text(const json_t *body, const char *key, bool required, bool *has, char **out,
		       json_t *errors)
{
	switch (valid_string(body, key, 1, BOOK_TEXT_MAX, out, errors)) {
	case VALID_OK:
		*has = true;
		break;
	case VALID_ABSENT:
		if (required)
			valid_missing(errors, "body", key);
		break;
	case VALID_NULL:
		valid_null(errors, "body", key, "string_type", "Input should be a valid string");
		break;
	case VALID_INVALID:
		break;
	}
}

/* isbn: optional; null clears it; a string is normalised to its ISBN-13 form. */
static void parse_isbn(const json_t *body, struct book_input *in, json_t *errors)
{
	const json_t *v = json_object_get(body, "isbn");

	if (v == NULL)
		return;
	if (json_is_null(v)) {
		in->has_isbn = true;
		in->isbn[0] = '\0';
		return;
	}
	if (!json_is_string(v)) {
		valid_error(errors, "string_type", "body", "isbn", "Input should be a valid string", v);
		return;
	}
	/* An embedded NUL ("\u0000") would hide the rest of the text from valid_isbn(). */
	if (json_string_length(v) > 64 || strlen(json_string_value(v)) != json_string_length(v) ||
	    valid_isbn(json_string_value(v), in->isbn) != 0) {
		valid_error(errors, "value_error", "body", "isbn",
			    "Value error, invalid ISBN: expected an ISBN-10 or ISBN-13 with a correct "
			    "check digit (hyphens and spaces allowed)",
			    v);
		in->isbn[0] = '\0';
		return;
	}
	in->has_isbn = true;
}

/* price: a JSON number or numeric string, 0 < price < 100000000, at most two decimals. */
static void parse_price(const json_t *body, bool required, struct book_input *in, json_t *errors)
{
	const json_t *v = json_object_get(body, "price");
	enum money_err e;

	if (v == NULL) {
		if (required)
			valid_missing(errors, "body", "price");
		return;
	}
	e = money_from_json(v, &in->price_cents);
	if (e != MONEY_OK) {
		valid_error(errors, money_err_type(e), "body", "price", money_err_msg(e), v);
		return;
	}
	in->has_price = true;
}

/* quantity: a JSON integer 0..2147483647; null is never valid. */
static void parse_quantity(const json_t *body, struct book_input *in, json_t *errors)
{
	switch (valid_int(body, "quantity", 0, BOOK_QUANTITY_MAX, &in->quantity, errors)) {
	case VALID_OK:
		in->has_quantity = true;
		break;
	case VALID_NULL:
		valid_null(errors, "body", "quantity", "int_type", "Input should be a valid integer");
		break;
	case VALID_ABSENT:
	case VALID_INVALID:
		break;
	}
}

/* description: optional, up to 10000 characters; null clears it. */
static void parse_description(const json_t *body, struct book_input *in, json_t *errors)
{
	switch (valid_string(body, "description", 0, BOOK_DESCRIPTION_MAX, &in->description,
			     errors)) {
	case VALID_OK:
	case VALID_NULL:
		in->has_description = true;
		break;
	case VALID_ABSENT:
	case VALID_INVALID:
		break;
	}
}

/* Shared by create and update; required says whether title/author/price must be present. */
static int parse_body(const json_t *body, bool required, struct book_input *in, json_t *errors)
{
	size_t before = json_array_size(errors);

	memset(in, 0, sizeof(*in));
	parse_text(body, "title", required, &in->has_title, &in->title, errors);
	parse_text(body, "author", required, &in->has_author, &in->author, errors);
	parse_isbn(body, in, errors);
	parse_price(body, required, in, errors);
	parse_quantity(body, in, errors);
	parse_description(body, in, errors);
	if (json_array_size(errors) > before) {
		book_input_free(in);
		return -1;
	}
	return 0;
}

int book_parse_create(const json_t *body, struct book_input *in, json_t *errors)
{
	if (parse_body(body, true, in, errors) != 0)
		return -1;
	if (!in->has_quantity) {
		in->has_quantity = true;
		in->quantity = 0;
	}
	return 0;
}

int book_parse_update(const json_t *body, struct book_input *in, json_t *errors)
{
	return parse_body(body, false, in, errors);
}

bool book_sort_valid(const char *sort)
{
	for (size_t i = 0; i < BOOK_NSORTS; i++)
		if (strcmp(sort, book_sorts[i]) == 0)
			return true;
	return false;
}

/* A text filter: absent or "" means none; otherwise valid UTF-8 of at most 255 characters. */
static const char *query_text(const char *s, const char *key, json_t *errors)
{
	json_t *input = NULL;
	char msg[80];
	size_t len;

	if (s == NULL || s[0] == '\0')
		return NULL;
	len = strlen(s);
	if (!valid_utf8(s, len)) {
		valid_error(errors, "string_unicode", "query", key,
			    "Input should be a valid string, unable to parse raw data as a unicode string",
			    NULL);
		return NULL;
	}
	if (valid_utf8_chars(s, len) > BOOK_FILTER_MAX) {
		snprintf(msg, sizeof(msg), "String should have at most %d characters", BOOK_FILTER_MAX);
		input = json_string(s);
		valid_error(errors, "string_too_long", "query", key, msg, input);
		json_decref(input);
		return NULL;
	}
	return s;
}

/* A price bound: like a body price, except that 0 is allowed. */
static void query_price(const char *s, const char *key, bool *has, int64_t *cents, json_t *errors)
{
	enum money_err e;
	json_t *input = NULL;

	if (s == NULL)
		return;
	e = money_parse(s, cents);
	if (e == MONEY_NOT_POSITIVE && s[0] != '-' && strspn(s, "0.") == strlen(s)) {
		e = MONEY_OK;
		*cents = 0;
	}
	if (e != MONEY_OK) {
		input = valid_utf8(s, strlen(s)) ? json_string(s) : NULL;
		valid_error(errors, money_err_type(e), "query", key,
			    e == MONEY_NOT_POSITIVE ? "Input should be greater than or equal to 0"
						    : money_err_msg(e),
			    input);
		json_decref(input);
		return;
	}
	*has = true;
}

int book_query_parse(book_query_get_fn get, void *ctx, struct book_query *q, json_t *errors)
{
	size_t before = json_array_size(errors);
	const char *s;
	json_t *input = NULL;
	bool b;

	memset(q, 0, sizeof(*q));
	q->in_stock = -1;
	q->sort = "id";
	valid_query_ll(get(ctx, "skip"), "skip", 0, 0, LLONG_MAX, &q->skip, errors);
	valid_query_ll(get(ctx, "limit"), "limit", BOOK_LIMIT_DEFAULT, 1, BOOK_LIMIT_MAX, &q->limit,
		       errors);
	q->search = query_text(get(ctx, "search"), "search", errors);
	q->author = query_text(get(ctx, "author"), "author", errors);
	q->title = query_text(get(ctx, "title"), "title", errors);

	s = get(ctx, "isbn");
	if (s != NULL && s[0] != '\0' && (strlen(s) > 64 || valid_isbn(s, q->isbn) != 0)) {
		q->isbn[0] = '\0';
		input = valid_utf8(s, strlen(s)) ? json_string(s) : NULL;
		valid_error(errors, "value_error", "query", "isbn",
			    "Value error, invalid ISBN: expected an ISBN-10 or ISBN-13", input);
		json_decref(input);
		input = NULL;
	}

	query_price(get(ctx, "min_price"), "min_price", &q->has_min_price, &q->min_price_cents,
		    errors);
	query_price(get(ctx, "max_price"), "max_price", &q->has_max_price, &q->max_price_cents,
		    errors);

	s = get(ctx, "in_stock");
	if (s != NULL) {
		if (valid_parse_bool(s, &b) == 0) {
			q->in_stock = b ? 1 : 0;
		} else {
			input = valid_utf8(s, strlen(s)) ? json_string(s) : NULL;
			valid_error(errors, "bool_parsing", "query", "in_stock",
				    "Input should be a valid boolean, unable to interpret input", input);
			json_decref(input);
			input = NULL;
		}
	}

	s = get(ctx, "sort");
	if (s != NULL) {
		q->sort = "id";
		for (size_t i = 0; i < BOOK_NSORTS; i++)
			if (strcmp(s, book_sorts[i]) == 0)
				q->sort = book_sorts[i];
		if (!book_sort_valid(s)) {
			input = valid_utf8(s, strlen(s)) ? json_string(s) : NULL;
			valid_error(errors, "literal_error", "query", "sort",
				    "Input should be 'id', 'title', 'author', 'price' or 'created_at', "
				    "optionally prefixed with '-' for descending order",
				    input);
			json_decref(input);
			input = NULL;
		}
	}
	return json_array_size(errors) > before ? -1 : 0;
}

/* A string field of book_query_key: "<length>:<text>" or "-". */
static void key_str(struct buf *b, const char *v)
{
	if (v == NULL)
		(void)buf_puts(b, "-|");
	else
		(void)buf_printf(b, "%zu:%s|", strlen(v), v);
}

char *book_query_key(const struct book_query *q)
{
	struct buf b = { 0 };
	char *key;

	(void)buf_printf(&b, "%lld|%lld|", q->skip, q->limit);
	key_str(&b, q->search);
	key_str(&b, q->author);
	key_str(&b, q->title);
	key_str(&b, q->isbn[0] != '\0' ? q->isbn : NULL);
	if (q->has_min_price)
		(void)buf_printf(&b, "%lld|", (long long)q->min_price_cents);
	else
		(void)buf_puts(&b, "-|");
	if (q->has_max_price)
		(void)buf_printf(&b, "%lld|", (long long)q->max_price_cents);
	else
		(void)buf_puts(&b, "-|");
	(void)buf_printf(&b, "%d|", q->in_stock);
	key_str(&b, q->sort);
	key = buf_steal(&b);
	if (key == NULL)
		abort();
	return key;
}
