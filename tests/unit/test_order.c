/* test_order.c - unit tests of the pure order module: validation, e-mail, status machine,
 * money totals, JSON. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"

/* Validates a JSON text as a POST /orders body; returns the errors array (caller decrefs). */
static json_t *create_errors(const char *text, struct order_input *in)
{
	json_t *body = json_loads(text, 0, NULL);
	json_t *errors = json_array();

	ck_assert_ptr_nonnull(body);
	(void)order_validate_create(body, in, errors);
	json_decref(body);
	return errors;
}

/* True when errors has an entry whose loc is ["body", field] with the given type. */
static int has_error(const json_t *errors, const char *loc0, const char *field, const char *type)
{
	size_t i;
	json_t *e;

	json_array_foreach(errors, i, e) {
		const json_t *loc = json_object_get(e, "loc");
		if (strcmp(json_string_value(json_array_get(loc, 0)), loc0) == 0 &&
		    strcmp(json_string_value(json_array_get(loc, 1)), field) == 0 &&
		    (type == NULL || strcmp(json_string_value(json_object_get(e, "type")), type) == 0))
			return 1;
	}
	return 0;
}

START_TEST(test_validate_create_accepts_a_good_body)
{
	struct order_input in;
	json_t *errors = create_errors("{\"book_id\": 7, \"customer_name\": \"  Ada Lovelace \", "
				       "\"customer_email\": \"Ada@Example.COM\", \"quantity\": 2, "
				       "\"extra\": true}",
				       &in);

	ck_assert_int_eq(json_array_size(errors), 0);
	ck_assert_int_eq(in.book_id, 7);
	ck_assert_str_eq(in.customer_name, "Ada Lovelace");
	ck_assert_str_eq(in.customer_email, "Ada@example.com");
	ck_assert_int_eq(in.quantity, 2);
	order_input_clear(&in);
	json_decref(errors);
}
END_TEST

START_TEST(test_validate_create_names_every_missing_field)
{
	struct order_input in;
	json_t *errors = create_errors("{}", &in);

	ck_assert_int_eq(json_array_size(errors), 4);
	ck_assert(has_error(errors, "body", "book_id", "missing"));
	ck_assert(has_error(errors, "body", "customer_name", "missing"));
	ck_assert(has_error(errors, "body", "customer_email", "missing"));
	ck_assert(has_error(errors, "body", "quantity", "missing"));
	ck_assert_ptr_null(in.customer_name);
	json_decref(errors);
}
END_TEST

START_TEST(test_validate_create_rejects_wrong_types_and_ranges)
{
	struct order_input in;
	json_t *errors = create_errors("{\"book_id\": \"5\", \"customer_name\": 3, "
				       "\"customer_email\": null, \"quantity\": 1001}",
				       &in);

	ck_assert_int_eq(json_array_size(errors), 4);
	ck_assert(has_error(errors, "body", "book_id", NULL));
	ck_assert(has_error(errors, "body", "customer_name", "string_type"));
	ck_assert(has_error(errors, "body", "customer_email", "string_type"));
	ck_assert(has_error(errors, "body", "quantity", NULL));
	json_decref(errors);

	errors = create_errors("{\"book_id\": 0, \"customer_name\": \"   \", "
			       "\"customer_email\": \"a@b.co\", \"quantity\": 0}",
			       &in);
	ck_assert_int_eq(json_array_size(errors), 3);
	ck_assert(has_error(errors, "body", "book_id", NULL));
	ck_assert(has_error(errors, "body", "customer_name", "string_too_short"));
	ck_assert(has_error(errors, "body", "quantity", NULL));
	json_decref(errors);

	errors = create_errors("{\"book_id\": 1.0, \"customer_name\": \"x\", "
			       "\"customer_email\": \"a@b.co\", \"quantity\": true}",
			       &in);
	ck_assert_int_eq(json_array_size(errors), 2);
	json_decref(errors);
}
END_TEST

START_TEST(test_validate_create_rejects_a_256_char_name)
{
	struct order_input in;
	char body[600];
	char name[257];
	json_t *errors;

	memset(name, 'n', 256);
	name[256] = '\0';
	(void)snprintf(body, sizeof body,
		       "{\"book_id\":1,\"customer_name\":\"%s\",\"customer_email\":\"a@b.co\","
		       "\"quantity\":1}",
		       name);
	errors = create_errors(body, &in);
	ck_assert(has_error(errors, "body", "customer_name", "string_too_long"));
	json_decref(errors);
	name[255] = '\0';
	(void)snprintf(body, sizeof body,
		       "{\"book_id\":1,\"customer_name\":\"%s\",\"customer_email\":\"a@b.co\","
		       "\"quantity\":1}",
		       name);
	errors = create_errors(body, &in);
	ck_assert_int_eq(json_array_size(errors), 0);
	order_input_clear(&in);
	json_decref(errors);
}
END_TEST

static int email_ok(const char *email)
{
	struct order_input in;
	char body[800];
	json_t *errors;
	int ok;

	(void)snprintf(body, sizeof body,
		       "{\"book_id\":1,\"customer_name\":\"x\",\"customer_email\":\"%s\","
		       "\"quantity\":1}",
		       email);
	errors = create_errors(body, &in);
	ok = json_array_size(errors) == 0;
	if (!ok)
		ck_assert(has_error(errors, "body", "customer_email", NULL));
	order_input_clear(&in);
	json_decref(errors);
	return ok;
}

START_TEST(test_email_rules)
{
	char longmail[300];

	ck_assert(email_ok("john@example.com"));
	ck_assert(email_ok("john.doe+tag@mail.example.co.uk"));
	ck_assert(!email_ok("john"));
	ck_assert(!email_ok("john@"));
	ck_assert(!email_ok("@example.com"));
	ck_assert(!email_ok("john@example"));
	ck_assert(!email_ok("jo hn@example.com"));
	ck_assert(!email_ok("a@b@example.com"));
	ck_assert(!email_ok("john@example..com"));
	ck_assert(!email_ok(""));
	memset(longmail, 'a', 250);
	memcpy(longmail + 250, "@b.co", 6); /* 255 characters */
	ck_assert(!email_ok(longmail));
	memcpy(longmail + 249, "@b.co", 6); /* 254 characters */
	ck_assert(email_ok(longmail));
}
END_TEST

START_TEST(test_status_names_round_trip)
{
	int s;

	for (s = ORDER_PENDING; s < ORDER_STATUS_INVALID; s++)
		ck_assert_int_eq(order_status_parse(order_status_name((enum order_status)s)), s);
	ck_assert_int_eq(order_status_parse("PENDING"), ORDER_STATUS_INVALID);
	ck_assert_int_eq(order_status_parse(NULL), ORDER_STATUS_INVALID);
	ck_assert(order_status_public(ORDER_CANCELLED));
	ck_assert(!order_status_public(ORDER_STATUS_INVALID));
	/* The saga's intent states are not order statuses. */
	ck_assert_int_eq(order_status_parse("reserving"), ORDER_STATUS_INVALID);
	ck_assert_int_eq(order_status_parse("failed"), ORDER_STATUS_INVALID);
}
END_TEST

START_TEST(test_status_machine_allows_exactly_the_listed_moves)
{
	static const char *const allowed[] = {
		"pending>processing", "pending>confirmed",  "pending>cancelled",
		"processing>confirmed", "processing>cancelled", "confirmed>shipped",
		"confirmed>cancelled", "shipped>delivered",
	};
	int from, to, n_ok = 0;
	size_t i;
	char pair[40];

	for (from = ORDER_PENDING; from < ORDER_STATUS_INVALID; from++) {
		for (to = ORDER_PENDING; to < ORDER_STATUS_INVALID; to++) {
			enum order_move m = order_transition(from, to);
			int listed = 0;

			(void)snprintf(pair, sizeof pair, "%s>%s", order_status_name(from),
				       order_status_name(to));
			for (i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
				if (strcmp(pair, allowed[i]) == 0)
					listed = 1;
			if (listed) {
				ck_assert_msg(m == ORDER_MOVE_OK, "%s should be allowed", pair);
				n_ok++;
			} else if (from == to && order_status_public(from)) {
				ck_assert_msg(m == ORDER_MOVE_SAME, "%s should be same", pair);
			} else {
				ck_assert_msg(m == ORDER_MOVE_FORBIDDEN, "%s should be forbidden",
					      pair);
			}
		}
	}
	ck_assert_int_eq(n_ok, 8);
}
END_TEST

START_TEST(test_validate_status_body)
{
	enum order_status to;
	json_t *errors = json_array();
	json_t *b = json_pack("{s:s}", "status", "shipped");

	ck_assert_int_eq(order_validate_status(b, &to, errors), 0);
	ck_assert_int_eq(to, ORDER_SHIPPED);
	json_decref(b);
	b = json_pack("{s:s}", "status", "reserving");
	ck_assert_int_eq(order_validate_status(b, &to, errors), -1);
	ck_assert(has_error(errors, "body", "status", "enum"));
	json_decref(b);
	b = json_pack("{s:i}", "status", 3);
	ck_assert_int_eq(order_validate_status(b, &to, errors), -1);
	json_decref(b);
	b = json_object();
	ck_assert_int_eq(order_validate_status(b, &to, errors), -1);
	ck_assert(has_error(errors, "body", "status", "missing"));
	json_decref(b);
	json_decref(errors);
}
END_TEST

START_TEST(test_filter_defaults_and_errors)
{
	struct order_filter f;
	json_t *errors = json_array();

	ck_assert_int_eq(order_validate_filter(NULL, NULL, NULL, NULL, NULL, &f, errors), 0);
	ck_assert_int_eq(f.skip, 0);
	ck_assert_int_eq(f.limit, 100);
	ck_assert(!f.has_status);
	ck_assert_ptr_null(f.customer_email);
	ck_assert_int_eq(f.book_id, 0);
	ck_assert_int_eq(order_validate_filter("5", "10", "shipped", "A@b.co", "3", &f, errors), 0);
	ck_assert_int_eq(f.skip, 5);
	ck_assert_int_eq(f.limit, 10);
	ck_assert_int_eq(f.status, ORDER_SHIPPED);
	ck_assert_str_eq(f.customer_email, "A@b.co");
	ck_assert_int_eq(f.book_id, 3);
	ck_assert_int_eq(json_array_size(errors), 0);
	ck_assert_int_eq(order_validate_filter("-1", "0", "lost", "", "x", &f, errors), -1);
	ck_assert_int_eq(json_array_size(errors), 5);
	ck_assert(has_error(errors, "query", "skip", NULL));
	ck_assert(has_error(errors, "query", "limit", NULL));
	ck_assert(has_error(errors, "query", "status", "enum"));
	ck_assert(has_error(errors, "query", "customer_email", NULL));
	ck_assert(has_error(errors, "query", "book_id", NULL));
	json_decref(errors);
	/* Each entry echoes its own input: the bad e-mail's input is "", not the bad status. */
	errors = json_array();
	ck_assert_int_eq(order_validate_filter(NULL, NULL, "lost", "", NULL, &f, errors), -1);
	ck_assert_int_eq(json_array_size(errors), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 0), "input")),
			 "lost");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errors, 1), "input")), "");
	json_decref(errors);
	errors = json_array();
	ck_assert_int_eq(order_validate_filter(NULL, "1001", "failed", NULL, NULL, &f, errors), -1);
	ck_assert_int_eq(json_array_size(errors), 2);
	json_decref(errors);
}
END_TEST

START_TEST(test_parse_id_and_idempotency_key)
{
	long long id;

	ck_assert_int_eq(order_parse_id("42", &id), 0);
	ck_assert_int_eq(id, 42);
	ck_assert_int_eq(order_parse_id("0", &id), -1);
	ck_assert_int_eq(order_parse_id("abc", &id), -1);
	ck_assert_int_eq(order_parse_id("1 ", &id), -1);
	ck_assert_int_eq(order_parse_id("99999999999999999999", &id), -1);
	ck_assert(order_idempotency_key_valid("a1b2-c3"));
	ck_assert(!order_idempotency_key_valid(""));
	ck_assert(!order_idempotency_key_valid("has space"));
	ck_assert(!order_idempotency_key_valid(NULL));
}
END_TEST

START_TEST(test_money_totals_are_exact)
{
	char unit[32], total[32];

	ck_assert_int_eq(order_price_total(4499, 2, unit, total), 0);
	ck_assert_str_eq(unit, "44.99");
	ck_assert_str_eq(total, "89.98");
	ck_assert_int_eq(order_price_total(4499, 1000, unit, total), 0);
	ck_assert_str_eq(total, "44990.00");
	ck_assert_int_eq(order_price_total(10, 3, unit, total), 0);
	ck_assert_str_eq(unit, "0.10");
	ck_assert_str_eq(total, "0.30");
	ck_assert_int_eq(order_price_total(9999999999LL, 1000, unit, total), 0);
	ck_assert_str_eq(total, "99999999990.00");
	ck_assert_int_eq(order_price_total(1999, 3, unit, total), 0);
	ck_assert_str_eq(total, "59.97");
	ck_assert_int_eq(order_price_total(0, 1, unit, total), -1);
	ck_assert_int_eq(order_price_total(-5, 1, unit, total), -1);
	ck_assert_int_eq(order_price_total(100, 0, unit, total), -1);
	ck_assert_int_eq(order_price_total(INT64_MAX / 2, 1000, unit, total), -1);
}
END_TEST

START_TEST(test_order_to_json_shape)
{
	struct order o = { 0 };
	json_t *j;

	o.id = 5;
	o.book_id = 7;
	o.book_title = strdup("Clean Code");
	o.customer_name = strdup("Ada");
	o.customer_email = strdup("ada@example.com");
	o.quantity = 2;
	o.unit_price = strdup("44.99");
	o.total_price = strdup("89.98");
	o.status = ORDER_PENDING;
	o.created_at = strdup("2026-11-29 10:00:00.123456+00");
	o.updated_at = strdup("2026-11-29 10:00:00.123456+00");
	o.reservation_id = strdup("oabc");
	j = order_to_json(&o);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_object_size(j), 11);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 5);
	ck_assert_str_eq(json_string_value(json_object_get(j, "total_price")), "89.98");
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "pending");
	ck_assert_str_eq(json_string_value(json_object_get(j, "created_at")),
			 "2026-11-29T10:00:00.123456Z");
	ck_assert_ptr_null(json_object_get(j, "reservation_id"));
	json_decref(j);
	order_clear(&o);
	ck_assert_ptr_null(o.book_title);
}
END_TEST

static Suite *order_suite(void)
{
	Suite *s = suite_create("order");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_validate_create_accepts_a_good_body);
	tcase_add_test(tc, test_validate_create_names_every_missing_field);
	tcase_add_test(tc, test_validate_create_rejects_wrong_types_and_ranges);
	tcase_add_test(tc, test_validate_create_rejects_a_256_char_name);
	tcase_add_test(tc, test_email_rules);
	tcase_add_test(tc, test_status_names_round_trip);
	tcase_add_test(tc, test_status_machine_allows_exactly_the_listed_moves);
	tcase_add_test(tc, test_validate_status_body);
	tcase_add_test(tc, test_filter_defaults_and_errors);
	tcase_add_test(tc, test_parse_id_and_idempotency_key);
	tcase_add_test(tc, test_money_totals_are_exact);
	tcase_add_test(tc, test_order_to_json_shape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(order_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
