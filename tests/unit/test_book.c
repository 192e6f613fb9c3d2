/* test_book.c - book.h (create/update validation, list-query parsing, JSON), the LIKE escaping
 * of book_repo.h and reservation.h, without a database or a network. */
#include "book.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "book_repo.h"
#include "reservation.h"

static json_t *obj(const char *text)
{
	json_error_t err;
	json_t *v = json_loads(text, 0, &err);

	ck_assert_msg(v != NULL, "bad test JSON: %s", err.text);
	return v;
}

/* True when errors holds an entry with this type and loc [loc0, key]. */
static int has_error(const json_t *errors, const char *type, const char *loc0, const char *key)
{
	size_t i;
	const json_t *e;

	json_array_foreach(errors, i, e) {
		const json_t *loc = json_object_get(e, "loc");

		if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0 &&
		    strcmp(json_string_value(json_array_get(loc, 0)), loc0) == 0 &&
		    strcmp(json_string_value(json_array_get(loc, 1)), key) == 0)
			return 1;
	}
	return 0;
}

/* Parses a create body; returns the parse result and leaves errors in *errors (caller decrefs). */
static int create(const char *text, struct book_input *in, json_t **errors)
{
	json_t *body = obj(text);
	int rc;

	*errors = json_array();
	rc = book_parse_create(body, in, *errors);
	json_decref(body);
	return rc;
}

static int update(const char *text, struct book_input *in, json_t **errors)
{
	json_t *body = obj(text);
	int rc;

	*errors = json_array();
	rc = book_parse_update(body, in, *errors);
	json_decref(body);
	return rc;
}

START_TEST(test_create_accepts_full_body_and_normalises)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(create("{\"title\":\"  Kubernetes in Action \",\"author\":\"Marko Lukša\","
				"\"isbn\":\"978-1617293726\",\"price\":\"59.99\",\"quantity\":12,"
				"\"description\":\"d\",\"unknown\":1}",
				&in, &errors),
			 0);
	ck_assert_int_eq(json_array_size(errors), 0);
	ck_assert_str_eq(in.title, "Kubernetes in Action");
	ck_assert_str_eq(in.author, "Marko Lukša");
	ck_assert(in.has_isbn);
	ck_assert_str_eq(in.isbn, "9781617293726");
	ck_assert_int_eq(in.price_cents, 5999);
	ck_assert_int_eq(in.quantity, 12);
	ck_assert_str_eq(in.description, "d");
	book_input_free(&in);
	json_decref(errors);
}
END_TEST

START_TEST(test_create_defaults_quantity_and_accepts_number_price_and_isbn10)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(create("{\"title\":\"T\",\"author\":\"A\",\"price\":44.5,"
				"\"isbn\":\"0-306-40615-2\"}",
				&in, &errors),
			 0);
	ck_assert(in.has_quantity);
	ck_assert_int_eq(in.quantity, 0);
	ck_assert_int_eq(in.price_cents, 4450);
	ck_assert_str_eq(in.isbn, "9780306406157");
	ck_assert(!in.has_description);
	book_input_free(&in);
	json_decref(errors);
}
END_TEST

START_TEST(test_create_lists_every_bad_field)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(create("{\"title\":\"   \",\"author\":5,\"isbn\":\"\",\"price\":\"1.555\","
				"\"quantity\":\"5\",\"description\":7}",
				&in, &errors),
			 -1);
	ck_assert_int_eq(json_array_size(errors), 6);
	ck_assert(has_error(errors, "string_too_short", "body", "title"));
	ck_assert(has_error(errors, "string_type", "body", "author"));
	ck_assert(has_error(errors, "value_error", "body", "isbn"));
	ck_assert(has_error(errors, "decimal_max_places", "body", "price"));
	ck_assert(has_error(errors, "int_type", "body", "quantity"));
	ck_assert(has_error(errors, "string_type", "body", "description"));
	ck_assert_ptr_null(in.title);
	json_decref(errors);
}
END_TEST

START_TEST(test_create_requires_title_author_price)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(create("{}", &in, &errors), -1);
	ck_assert_int_eq(json_array_size(errors), 3);
	ck_assert(has_error(errors, "missing", "body", "title"));
	ck_assert(has_error(errors, "missing", "body", "author"));
	ck_assert(has_error(errors, "missing", "body", "price"));
	json_decref(errors);
}
END_TEST

START_TEST(test_create_rejects_nulls_for_required_fields)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(create("{\"title\":null,\"author\":null,\"price\":null,\"quantity\":null}",
				&in, &errors),
			 -1);
	ck_assert_int_eq(json_array_size(errors), 4);
	ck_assert(has_error(errors, "string_type", "body", "title"));
	ck_assert(has_error(errors, "int_type", "body", "quantity"));
	json_decref(errors);
}
END_TEST

START_TEST(test_create_price_and_quantity_ranges)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(create("{\"title\":\"T\",\"author\":\"A\",\"price\":0,\"quantity\":-1}", &in,
				&errors),
			 -1);
	ck_assert(has_error(errors, "greater_than", "body", "price"));
	ck_assert(has_error(errors, "greater_than_equal", "body", "quantity"));
	json_decref(errors);
	ck_assert_int_eq(create("{\"title\":\"T\",\"author\":\"A\",\"price\":\"100000000\","
				"\"quantity\":2147483648}",
				&in, &errors),
			 -1);
	ck_assert(has_error(errors, "less_than", "body", "price"));
	ck_assert(has_error(errors, "less_than_equal", "body", "quantity"));
	json_decref(errors);
	ck_assert_int_eq(create("{\"title\":\"T\",\"author\":\"A\",\"price\":\"99999999.99\","
				"\"quantity\":2147483647}",
				&in, &errors),
			 0);
	ck_assert_int_eq(in.price_cents, 9999999999LL);
	book_input_free(&in);
	json_decref(errors);
	ck_assert_int_eq(create("{\"title\":\"T\",\"author\":\"A\",\"price\":1,\"quantity\":5.0}",
				&in, &errors),
			 -1);
	ck_assert(has_error(errors, "int_type", "body", "quantity"));
	json_decref(errors);
	ck_assert_int_eq(create("{\"title\":\"T\",\"author\":\"A\",\"price\":1,\"quantity\":true}",
				&in, &errors),
			 -1);
	json_decref(errors);
	ck_assert_int_eq(create("{\"title\":\"T\",\"author\":\"A\",\"price\":true}", &in, &errors),
			 -1);
	ck_assert(has_error(errors, "decimal_type", "body", "price"));
	json_decref(errors);
}
END_TEST

START_TEST(test_create_lengths_count_characters)
{
	char body[2048];
	char title[1024];
	struct book_input in;
	json_t *errors;

	/* 255 two-byte characters are fine, 256 are not. */
	title[0] = '\0';
	for (int i = 0; i < 255; i++)
		strcat(title, "é");
	snprintf(body, sizeof(body), "{\"title\":\"%s\",\"author\":\"A\",\"price\":1}", title);
	ck_assert_int_eq(create(body, &in, &errors), 0);
	book_input_free(&in);
	json_decref(errors);
	strcat(title, "é");
	snprintf(body, sizeof(body), "{\"title\":\"%s\",\"author\":\"A\",\"price\":1}", title);
	ck_assert_int_eq(create(body, &in, &errors), -1);
	ck_assert(has_error(errors, "string_too_long", "body", "title"));
	json_decref(errors);
}
END_TEST

START_TEST(test_create_description_limit)
{
	char *body = malloc(10100);
	char *p;
	struct book_input in;
	json_t *errors;

	p = body + sprintf(body, "{\"title\":\"T\",\"author\":\"A\",\"price\":1,\"description\":\"");
	memset(p, 'x', 10001);
	strcpy(p + 10001, "\"}");
	ck_assert_int_eq(create(body, &in, &errors), -1);
	ck_assert(has_error(errors, "string_too_long", "body", "description"));
	json_decref(errors);
	strcpy(p + 10000, "\"}");
	ck_assert_int_eq(create(body, &in, &errors), 0);
	ck_assert_int_eq(strlen(in.description), 10000);
	book_input_free(&in);
	json_decref(errors);
	free(body);
}
END_TEST

START_TEST(test_update_empty_body_changes_nothing)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(update("{\"unknown\":1}", &in, &errors), 0);
	ck_assert(book_input_empty(&in));
	json_decref(errors);
}
END_TEST

START_TEST(test_update_null_rules)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(update("{\"isbn\":null,\"description\":null}", &in, &errors), 0);
	ck_assert(in.has_isbn);
	ck_assert_str_eq(in.isbn, "");
	ck_assert(in.has_description);
	ck_assert_ptr_null(in.description);
	ck_assert(!book_input_empty(&in));
	book_input_free(&in);
	json_decref(errors);

	ck_assert_int_eq(update("{\"title\":null,\"author\":null,\"price\":null,\"quantity\":null}",
				&in, &errors),
			 -1);
	ck_assert_int_eq(json_array_size(errors), 4);
	ck_assert(has_error(errors, "string_type", "body", "author"));
	ck_assert(has_error(errors, "decimal_type", "body", "price"));
	json_decref(errors);
}
END_TEST

START_TEST(test_update_partial_fields)
{
	struct book_input in;
	json_t *errors;

	ck_assert_int_eq(update("{\"price\":\"12\",\"isbn\":\"080442957x\"}", &in, &errors), 0);
	ck_assert(in.has_price && in.has_isbn);
	ck_assert(!in.has_title && !in.has_author && !in.has_quantity && !in.has_description);
	ck_assert_int_eq(in.price_cents, 1200);
	ck_assert_str_eq(in.isbn, "9780804429573");
	book_input_free(&in);
	json_decref(errors);
}
END_TEST

/* A query getter over a NULL-terminated list of "key", "value" pairs. */
static const char *pairs_get(void *ctx, const char *key)
{
	const char *const *kv = ctx;

	for (size_t i = 0; kv[i] != NULL; i += 2)
		if (strcmp(kv[i], key) == 0)
			return kv[i + 1];
	return NULL;
}

START_TEST(test_query_defaults)
{
	const char *kv[] = { NULL };
	struct book_query q;
	json_t *errors = json_array();

	ck_assert_int_eq(book_query_parse(pairs_get, kv, &q, errors), 0);
	ck_assert_int_eq(q.skip, 0);
	ck_assert_int_eq(q.limit, 100);
	ck_assert_ptr_null(q.search);
	ck_assert_ptr_null(q.author);
	ck_assert_str_eq(q.isbn, "");
	ck_assert(!q.has_min_price && !q.has_max_price);
	ck_assert_int_eq(q.in_stock, -1);
	ck_assert_str_eq(q.sort, "id");
	json_decref(errors);
}
END_TEST

START_TEST(test_query_all_values)
{
	const char *kv[] = { "skip", "20", "limit", "1000", "search", "50%_off", "author",
			     "Fowler", "title", "", "isbn", "0-306-40615-2", "min_price", "0",
			     "max_price", "44.99", "in_stock", "TRUE", "sort", "-created_at",
			     NULL };
	struct book_query q;
	json_t *errors = json_array();

	ck_assert_int_eq(book_query_parse(pairs_get, kv, &q, errors), 0);
	ck_assert_int_eq(q.skip, 20);
	ck_assert_int_eq(q.limit, 1000);
	ck_assert_str_eq(q.search, "50%_off");
	ck_assert_str_eq(q.author, "Fowler");
	ck_assert_ptr_null(q.title);
	ck_assert_str_eq(q.isbn, "9780306406157");
	ck_assert(q.has_min_price && q.has_max_price);
	ck_assert_int_eq(q.min_price_cents, 0);
	ck_assert_int_eq(q.max_price_cents, 4499);
	ck_assert_int_eq(q.in_stock, 1);
	ck_assert_str_eq(q.sort, "-created_at");
	json_decref(errors);
}
END_TEST

START_TEST(test_query_rejects_every_bad_value)
{
	char long_search[300];
	const char *kv[] = { "skip", "-1", "limit", "1001", "search", long_search, "author",
			     "\xff\xfe", "isbn", "12345", "min_price", "abc", "max_price", "1.234",
			     "in_stock", "maybe", "sort", "popularity", NULL };
	struct book_query q;
	json_t *errors = json_array();

	memset(long_search, 'a', 256);
	long_search[256] = '\0';
	ck_assert_int_eq(book_query_parse(pairs_get, kv, &q, errors), -1);
	ck_assert_int_eq(json_array_size(errors), 9);
	ck_assert(has_error(errors, "greater_than_equal", "query", "skip"));
	ck_assert(has_error(errors, "less_than_equal", "query", "limit"));
	ck_assert(has_error(errors, "string_too_long", "query", "search"));
	ck_assert(has_error(errors, "string_unicode", "query", "author"));
	ck_assert(has_error(errors, "value_error", "query", "isbn"));
	ck_assert(has_error(errors, "decimal_parsing", "query", "min_price"));
	ck_assert(has_error(errors, "decimal_max_places", "query", "max_price"));
	ck_assert(has_error(errors, "bool_parsing", "query", "in_stock"));
	ck_assert(has_error(errors, "literal_error", "query", "sort"));
	json_decref(errors);
}
END_TEST

START_TEST(test_query_limit_zero_and_non_integers)
{
	const char *kv[] = { "limit", "0", "skip", "1.5", "min_price", "-1", NULL };
	struct book_query q;
	json_t *errors = json_array();

	ck_assert_int_eq(book_query_parse(pairs_get, kv, &q, errors), -1);
	ck_assert(has_error(errors, "greater_than_equal", "query", "limit"));
	ck_assert(has_error(errors, "int_parsing", "query", "skip"));
	ck_assert(has_error(errors, "greater_than", "query", "min_price"));
	json_decref(errors);
}
END_TEST

/* The read cache's key of a list query: equal for queries that mean the same page, different
 * for any difference (strings carry their length, so a '|' in a term cannot forge a field). */
static char *key_of(const char *const *kv)
{
	struct book_query q;
	json_t *errors = json_array();
	char *key;

	ck_assert_int_eq(book_query_parse(pairs_get, (void *)kv, &q, errors), 0);
	key = book_query_key(&q);
	json_decref(errors);
	return key;
}

START_TEST(test_query_key_is_canonical)
{
	const char *none[] = { NULL };
	const char *explicit_defaults[] = { "skip", "0", "limit", "100", "title", "", "sort", "id",
					    NULL };
	const char *pipe[] = { "search", "a|b", NULL };
	const char *split[] = { "search", "a", "author", "b", NULL };
	const char *min0[] = { "min_price", "0", NULL };
	const char *stock[] = { "in_stock", "false", NULL };
	char *k1 = key_of(none), *k2 = key_of(explicit_defaults), *k3 = key_of(pipe);
	char *k4 = key_of(split), *k5 = key_of(min0), *k6 = key_of(stock);

	ck_assert_str_eq(k1, k2);
	ck_assert_str_ne(k3, k4);
	ck_assert_str_ne(k1, k5);
	ck_assert_str_ne(k1, k6);
	ck_assert_str_ne(k5, k6);
	free(k1);
	free(k2);
	free(k3);
	free(k4);
	free(k5);
	free(k6);
}
END_TEST

START_TEST(test_sort_whitelist)
{
	ck_assert(book_sort_valid("id"));
	ck_assert(book_sort_valid("-price"));
	ck_assert(book_sort_valid("created_at"));
	ck_assert(!book_sort_valid("--price"));
	ck_assert(!book_sort_valid("price; DROP TABLE books"));
	ck_assert(!book_sort_valid(""));
}
END_TEST

/* book_page_json writes exactly what json_dumps(JSON_COMPACT) gives for the jansson tree. */
START_TEST(test_book_page_json_matches_jansson)
{
	struct book books[3] = {
		{ .id = 1, .title = (char *)"Clean \"Code\" \\ \t\n\x01\x1f end", .author = (char *)"R\xc3\xa9my",
		  .isbn = (char *)"9780132350884", .price_cents = 4499, .quantity = 5,
		  .description = NULL, .created_at = (char *)"2026-11-29 10:00:00.123456+00",
		  .updated_at = (char *)"2026-11-29 10:00:01+05:30" },
		{ .id = 2, .title = (char *)"t", .author = (char *)"a", .isbn = NULL,
		  .price_cents = 1, .quantity = 0, .description = (char *)"d/\b\f\r",
		  .created_at = (char *)"odd", .updated_at = NULL },
		{ .id = 3, .title = (char *)"bad \xff", .author = (char *)"a" },
	};
	json_t *arr = json_array();
	json_t *obj;
	char *want;
	char *got;

	for (int i = 0; i < 3; i++)
		json_array_append_new(arr, book_to_json(&books[i]));
	obj = json_pack("{s:I, s:o}", "total", (json_int_t)1234567, "books", arr);
	want = json_dumps(obj, JSON_COMPACT);
	got = book_page_json(1234567, books, 3);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want);
	free(got);
	free(want);
	json_decref(obj);
	got = book_page_json(0, books, 0);
	ck_assert_str_eq(got, "{\"total\":0,\"books\":[]}");
	free(got);
	/* A single book: the same text as json_dumps of book_to_json (text that is not UTF-8, as
	 * in books[2], is null in both). */
	for (int i = 0; i < 3; i++) {
		obj = book_to_json(&books[i]);
		want = json_dumps(obj, JSON_COMPACT);
		got = book_text_json(&books[i]);
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, want);
		free(got);
		free(want);
		json_decref(obj);
	}
}
END_TEST

START_TEST(test_book_to_json_shape)
{
	struct book b = { 0 };
	json_t *j;
	char *text;

	b.id = 7;
	b.title = strdup("Clean Code");
	b.author = strdup("Robert C. Martin");
	b.price_cents = 4499;
	b.quantity = 3;
	b.created_at = strdup("2026-11-29 10:00:00.123456+00");
	b.updated_at = strdup("2026-11-29 10:00:01+00");
	j = book_to_json(&b);
	ck_assert_int_eq(json_object_size(j), 9);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(j, "price")), "44.99");
	ck_assert(json_is_null(json_object_get(j, "isbn")));
	ck_assert(json_is_null(json_object_get(j, "description")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "created_at")),
			 "2026-11-29T10:00:00.123456Z");
	text = json_dumps(j, 0);
	ck_assert_ptr_nonnull(strstr(text, "\"updated_at\": \"2026-11-29T10:00:01"));
	free(text);
	json_decref(j);
	book_free(&b);
	ck_assert_ptr_null(b.title);
}
END_TEST

START_TEST(test_like_escape_makes_metacharacters_literal)
{
	char *s = book_repo_like_escape("50%_off\\x");

	ck_assert_str_eq(s, "50\\%\\_off\\\\x");
	free(s);
	s = book_repo_like_escape("plain");
	ck_assert_str_eq(s, "plain");
	free(s);
}
END_TEST

START_TEST(test_reservation_id_rules)
{
	char id[80];

	ck_assert(reservation_id_valid("order-42_a"));
	ck_assert(!reservation_id_valid(""));
	ck_assert(!reservation_id_valid("a b"));
	ck_assert(!reservation_id_valid("x'; --"));
	memset(id, 'a', 64);
	id[64] = '\0';
	ck_assert(reservation_id_valid(id));
	id[64] = 'a';
	id[65] = '\0';
	ck_assert(!reservation_id_valid(id));
}
END_TEST

START_TEST(test_reservation_parse)
{
	json_t *body = obj("{\"reservation_id\":\"r-1\",\"book_id\":3,\"quantity\":2}");
	json_t *errors = json_array();
	struct reservation r;
	json_t *j;

	ck_assert_int_eq(reservation_parse(body, &r, errors), 0);
	ck_assert_str_eq(r.id, "r-1");
	ck_assert_int_eq(r.book_id, 3);
	ck_assert_int_eq(r.quantity, 2);
	j = reservation_to_json(&r, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "reserved");
	ck_assert_int_eq(json_object_size(j), 4);
	json_decref(j);
	json_decref(body);

	body = obj("{\"reservation_id\":\"bad id\",\"book_id\":0,\"quantity\":1000001}");
	ck_assert_int_eq(reservation_parse(body, &r, errors), -1);
	ck_assert_int_eq(json_array_size(errors), 3);
	json_decref(body);
	json_decref(errors);

	errors = json_array();
	body = obj("{\"book_id\":\"1\",\"quantity\":null}");
	ck_assert_int_eq(reservation_parse(body, &r, errors), -1);
	ck_assert(has_error(errors, "missing", "body", "reservation_id"));
	ck_assert(has_error(errors, "int_type", "body", "book_id"));
	ck_assert(has_error(errors, "int_type", "body", "quantity"));
	json_decref(body);
	json_decref(errors);
}
END_TEST

START_TEST(test_reservation_tombstone_json)
{
	struct reservation r = { 0 };
	json_t *j;

	strcpy(r.id, "ghost");
	r.released = true;
	j = reservation_to_json(&r, NULL);
	ck_assert(json_is_null(json_object_get(j, "book_id")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "quantity")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "released");
	json_decref(j);
}
END_TEST

START_TEST(test_isbn_body_rules)
{
	struct book_input in;
	json_t *errors;
	json_t *body;

	/* "" and whitespace-only are invalid, not "no ISBN". */
	ck_assert_int_eq(
	    create("{\"title\":\"t\",\"author\":\"a\",\"price\":1,\"isbn\":\"\"}", &in, &errors),
	    -1);
	ck_assert(has_error(errors, "value_error", "body", "isbn"));
	json_decref(errors);
	ck_assert_int_eq(
	    create("{\"title\":\"t\",\"author\":\"a\",\"price\":1,\"isbn\":\" - \"}", &in, &errors),
	    -1);
	json_decref(errors);
	/* ISBN-10 with a lower-case x becomes its ISBN-13. */
	ck_assert_int_eq(create("{\"title\":\"t\",\"author\":\"a\",\"price\":1,"
				"\"isbn\":\"0-8044-2957-x\"}",
				&in, &errors),
			 0);
	ck_assert_str_eq(in.isbn, "9780804429573");
	book_input_free(&in);
	json_decref(errors);
	/* A NUL inside the string must not hide trailing garbage. */
	body = json_pack("{s:s, s:s, s:i, s:o}", "title", "t", "author", "a", "price", 1, "isbn",
			 json_stringn("9781593279288\0zz", 16));
	errors = json_array();
	ck_assert_int_eq(book_parse_create(body, &in, errors), -1);
	ck_assert(has_error(errors, "value_error", "body", "isbn"));
	json_decref(errors);
	json_decref(body);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("book");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_create_accepts_full_body_and_normalises);
	tcase_add_test(tc, test_create_defaults_quantity_and_accepts_number_price_and_isbn10);
	tcase_add_test(tc, test_create_lists_every_bad_field);
	tcase_add_test(tc, test_create_requires_title_author_price);
	tcase_add_test(tc, test_create_rejects_nulls_for_required_fields);
	tcase_add_test(tc, test_create_price_and_quantity_ranges);
	tcase_add_test(tc, test_create_lengths_count_characters);
	tcase_add_test(tc, test_create_description_limit);
	tcase_add_test(tc, test_update_empty_body_changes_nothing);
	tcase_add_test(tc, test_update_null_rules);
	tcase_add_test(tc, test_update_partial_fields);
	tcase_add_test(tc, test_query_defaults);
	tcase_add_test(tc, test_query_all_values);
	tcase_add_test(tc, test_query_rejects_every_bad_value);
	tcase_add_test(tc, test_query_limit_zero_and_non_integers);
	tcase_add_test(tc, test_sort_whitelist);
	tcase_add_test(tc, test_query_key_is_canonical);
	tcase_add_test(tc, test_book_to_json_shape);
	tcase_add_test(tc, test_book_page_json_matches_jansson);
	tcase_add_test(tc, test_like_escape_makes_metacharacters_literal);
	tcase_add_test(tc, test_reservation_id_rules);
	tcase_add_test(tc, test_reservation_parse);
	tcase_add_test(tc, test_reservation_tombstone_json);
	tcase_add_test(tc, test_isbn_body_rules);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
