/* test_catalog_books.c - the books API against a real PostgreSQL and the real catalog-service:
 * CRUD, search, filters, sort, pagination, totals, ISBN rules, concurrent duplicate inserts. */
#include "test_catalog_common.h"

/* The ids of the books in r's page, in order, as "1,2,3". */
static void page_ids(const struct ts_resp *r, char *out, size_t len)
{
	const json_t *books = json_object_get(r->json, "books");
	size_t i;
	const json_t *b;
	size_t used = 0;

	out[0] = '\0';
	json_array_foreach(books, i, b) {
		int n = snprintf(out + used, len - used, "%s%lld", i ? "," : "",
				 (long long)json_integer_value(json_object_get(b, "id")));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

START_TEST(test_list_seeded_books_default_page_and_total)
{
	struct ts_resp r;
	const json_t *first;

	c_req(&r, "GET", NULL, "/books");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 10);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "books")), 10);
	first = json_array_get(json_object_get(r.json, "books"), 0);
	ck_assert_str_eq(ts_str(first, "title"), "Clean Code");
	ck_assert_str_eq(ts_str(first, "author"), "Robert C. Martin");
	ck_assert_str_eq(ts_str(first, "isbn"), "9780132350884");
	ck_assert_str_eq(ts_str(first, "price"), "44.99");
	ck_assert_int_eq(json_object_size(first), 9);
	ck_assert_ptr_nonnull(strchr(ts_str(first, "created_at"), 'T'));
	ck_assert(ts_str(first, "created_at")[strlen(ts_str(first, "created_at")) - 1] == 'Z');
	ts_resp_free(&r);

	c_req(&r, "GET", NULL, "/books?skip=8&limit=5");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 10);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "books")), 2);
	ts_resp_free(&r);

	c_req(&r, "GET", NULL, "/books?skip=100");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 10);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "books")), 0);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_get_book_found_missing_and_bad_id)
{
	struct ts_resp r;

	c_req(&r, "GET", NULL, "/books/3");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "title"), "Design Patterns");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/999999");
	c_assert_detail(&r, 404, "Book not found");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/-1");
	c_assert_detail(&r, 404, "Book not found");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/abc");
	c_assert_422(&r, "int_parsing", "path", "id");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/1.5");
	c_assert_422(&r, "int_parsing", "path", "id");
	ts_resp_free(&r);
	/* More than 64 bits is an integer out of range, never clamped (DECISIONS.md). */
	c_req(&r, "GET", NULL, "/books/99999999999999999999");
	c_assert_422(&r, "less_than_equal", "path", "id");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_post_book_201_location_and_roundtrip)
{
	struct ts_resp r;
	char *loc;
	char path[64];
	long long id;

	c_req(&r, "POST", "{\"title\":\"  Working Effectively with Legacy Code \","
			  "\"author\":\"Michael Feathers\",\"isbn\":\"978-0131177055\","
			  "\"price\":39.9,\"quantity\":4,\"description\":\"Seams.\",\"extra\":[1]}",
	      "/books");
	ck_assert_int_eq(r.status, 201);
	id = ts_int(r.json, "id");
	ck_assert_int_gt(id, 10);
	ck_assert_str_eq(ts_str(r.json, "title"), "Working Effectively with Legacy Code");
	ck_assert_str_eq(ts_str(r.json, "isbn"), "9780131177055");
	ck_assert_str_eq(ts_str(r.json, "price"), "39.90");
	ck_assert_int_eq(ts_int(r.json, "quantity"), 4);
	ck_assert_ptr_null(json_object_get(r.json, "extra"));
	loc = ts_header(&r, "Location");
	snprintf(path, sizeof path, "/books/%lld", id);
	ck_assert_str_eq(loc, path);
	free(loc);
	ts_resp_free(&r);

	c_req(&r, "GET", NULL, "%s", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "description"), "Seams.");
	ck_assert_str_eq(ts_str(r.json, "created_at"), ts_str(r.json, "updated_at"));
	ts_resp_free(&r);

	{
		const char *h[] = { "X-Forwarded-Prefix: /catalog", NULL };
		char want[80];

		c_req_h(&r, "POST", "/books", "{\"title\":\"T\",\"author\":\"A\",\"price\":\"1\"}", h);
		ck_assert_int_eq(r.status, 201);
		loc = ts_header(&r, "Location");
		snprintf(want, sizeof want, "/catalog/books/%lld", ts_int(r.json, "id"));
		ck_assert_str_eq(loc, want);
		free(loc);
		ts_resp_free(&r);
	}
	{
		/* An insane prefix is ignored. */
		const char *h[] = { "X-Forwarded-Prefix: http://evil/../x", NULL };

		c_req_h(&r, "POST", "/books", "{\"title\":\"T2\",\"author\":\"A\",\"price\":\"1\"}", h);
		ck_assert_int_eq(r.status, 201);
		loc = ts_header(&r, "Location");
		ck_assert_int_eq(strncmp(loc, "/books/", 7), 0);
		free(loc);
		ts_resp_free(&r);
	}
}
END_TEST

START_TEST(test_post_book_without_isbn_and_quantity_defaults)
{
	struct ts_resp r;

	c_req(&r, "POST", "{\"title\":\"No ISBN\",\"author\":\"Anon\",\"price\":\"5.00\"}", "/books");
	ck_assert_int_eq(r.status, 201);
	ck_assert(json_is_null(json_object_get(r.json, "isbn")));
	ck_assert(json_is_null(json_object_get(r.json, "description")));
	ck_assert_int_eq(ts_int(r.json, "quantity"), 0);
	ts_resp_free(&r);
	/* Several books without ISBN coexist (NULL is not a duplicate). */
	c_req(&r, "POST", "{\"title\":\"No ISBN 2\",\"author\":\"Anon\",\"price\":\"5.00\","
			  "\"isbn\":null}", "/books");
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_isbn_normalised_and_isbn10_duplicate_of_isbn13_is_409)
{
	struct ts_resp r;

	/* Kubernetes in Action is seeded as 9781617293726; its ISBN-10 is 1617293725. */
	c_req(&r, "POST", "{\"title\":\"K\",\"author\":\"A\",\"price\":1,\"isbn\":\"1-61729-372-5\"}",
	      "/books");
	c_assert_detail(&r, 409, "Book with ISBN 9781617293726 already exists");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"K\",\"author\":\"A\",\"price\":1,\"isbn\":\"978 1617293726\"}",
	      "/books");
	ck_assert_int_eq(r.status, 409);
	ts_resp_free(&r);
	/* ISBN-10 with a lower-case x check digit is stored as its ISBN-13. */
	c_req(&r, "POST", "{\"title\":\"X\",\"author\":\"A\",\"price\":1,\"isbn\":\"080442957x\"}",
	      "/books");
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(ts_str(r.json, "isbn"), "9780804429573");
	ts_resp_free(&r);
	/* Bad check digits, wrong lengths and "" are 422. */
	c_req(&r, "POST", "{\"title\":\"X\",\"author\":\"A\",\"price\":1,\"isbn\":\"9781617293727\"}",
	      "/books");
	c_assert_422(&r, "value_error", "body", "isbn");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"X\",\"author\":\"A\",\"price\":1,\"isbn\":\"\"}", "/books");
	c_assert_422(&r, "value_error", "body", "isbn");
	ts_resp_free(&r);
	c_req(&r, "POST", "{\"title\":\"X\",\"author\":\"A\",\"price\":1,\"isbn\":9781617293726}",
	      "/books");
	c_assert_422(&r, "string_type", "body", "isbn");
	ts_resp_free(&r);
	/* The exact isbn filter normalises too. */
	c_req(&r, "GET", NULL, "/books?isbn=1-61729-372-5");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?isbn=123");
	c_assert_422(&r, "value_error", "query", "isbn");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_put_and_patch_partial_update_rules)
{
	struct ts_resp r;
	long long id = c_book("Original", "Someone", NULL, "10.00", 3);
	char path[64];
	char *updated_at;

	snprintf(path, sizeof path, "/books/%lld", id);
	c_req(&r, "PUT", "{\"title\":\"Renamed\",\"price\":\"12.50\",\"isbn\":\"0-306-40615-2\","
			 "\"description\":\"new\"}", "%s", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "title"), "Renamed");
	ck_assert_str_eq(ts_str(r.json, "author"), "Someone");
	ck_assert_str_eq(ts_str(r.json, "price"), "12.50");
	ck_assert_str_eq(ts_str(r.json, "isbn"), "9780306406157");
	ck_assert_int_eq(ts_int(r.json, "quantity"), 3);
	ck_assert_str_ne(ts_str(r.json, "created_at"), ts_str(r.json, "updated_at"));
	updated_at = strdup(ts_str(r.json, "updated_at"));
	ts_resp_free(&r);

	/* {} changes nothing, not even updated_at. */
	c_req(&r, "PATCH", "{}", "%s", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "updated_at"), updated_at);
	ck_assert_str_eq(ts_str(r.json, "title"), "Renamed");
	ts_resp_free(&r);
	free(updated_at);

	/* PATCH means the same; null clears isbn and description. */
	c_req(&r, "PATCH", "{\"quantity\":0,\"isbn\":null,\"description\":null}", "%s", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "quantity"), 0);
	ck_assert(json_is_null(json_object_get(r.json, "isbn")));
	ck_assert(json_is_null(json_object_get(r.json, "description")));
	ck_assert_str_eq(ts_str(r.json, "title"), "Renamed");
	ts_resp_free(&r);

	/* null for title, author, price, quantity is 422 naming each. */
	c_req(&r, "PUT", "{\"title\":null,\"author\":null,\"price\":null,\"quantity\":null}", "%s",
	      path);
	c_assert_422(&r, "string_type", "body", "title");
	c_assert_422(&r, "string_type", "body", "author");
	c_assert_422(&r, "decimal_type", "body", "price");
	c_assert_422(&r, "int_type", "body", "quantity");
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "detail")), 4);
	ts_resp_free(&r);

	/* Duplicate ISBN -> 409; missing book -> 404 even with a duplicate ISBN. */
	c_req(&r, "PUT", "{\"isbn\":\"9780132350884\"}", "%s", path);
	c_assert_detail(&r, 409, "Book with ISBN 9780132350884 already exists");
	ts_resp_free(&r);
	c_req(&r, "PUT", "{\"isbn\":\"9780132350884\"}", "/books/999999");
	c_assert_detail(&r, 404, "Book not found");
	ts_resp_free(&r);
	c_req(&r, "PATCH", "{}", "/books/999999");
	c_assert_detail(&r, 404, "Book not found");
	ts_resp_free(&r);
	/* Setting a book's own ISBN again is not a conflict. */
	c_req(&r, "PUT", "{\"isbn\":\"9780132350884\",\"price\":\"45.00\"}", "/books/1");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "price"), "45.00");
	ts_resp_free(&r);
	c_req(&r, "PUT", "{\"price\":\"-1\"}", "/books/abc");
	c_assert_422(&r, "int_parsing", "path", "id");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_delete_book_then_404_and_409_with_orders)
{
	struct ts_resp r;
	long long id = c_book("Doomed", "A", NULL, "1.00", 1);
	char *v;

	c_req(&r, "DELETE", NULL, "/books/%lld", id);
	ck_assert_int_eq(r.status, 200);
	{
		char want[80];

		snprintf(want, sizeof want, "Book %lld deleted successfully", id);
		ck_assert_str_eq(ts_str(r.json, "message"), want);
	}
	ts_resp_free(&r);
	c_req(&r, "DELETE", NULL, "/books/%lld", id);
	c_assert_detail(&r, 404, "Book not found");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/%lld", id);
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);

	/* An order references book 2: deleting it is a 409 and the book stays. */
	v = ts_sql(c_db, "INSERT INTO orders (book_id, customer_name, customer_email, quantity) "
			 "VALUES (2, 'Ada', 'ada@example.com', 1) RETURNING id");
	free(v);
	c_req(&r, "DELETE", NULL, "/books/2");
	ck_assert_int_eq(r.status, 409);
	ck_assert_ptr_nonnull(strstr(ts_str(r.json, "detail"), "orders"));
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/2");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_search_and_filters)
{
	struct ts_resp r;
	char ids[256];

	/* search: case-insensitive substring of title, author or isbn. */
	c_req(&r, "GET", NULL, "/books?search=DESIGN");
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "3,8");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=fowler");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "4");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=1617293");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "10");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=luk%%C5%%A1a");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "10");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=nothing-like-this");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ts_resp_free(&r);

	/* author and title filters, combined. */
	c_req(&r, "GET", NULL, "/books?author=eric");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "3,6,8"); /* Erich Gamma, Eric Matthes, Eric Freeman */
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?author=eric&title=patterns");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "3,8");
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	ts_resp_free(&r);

	/* prices, inclusive bounds. */
	c_req(&r, "GET", NULL, "/books?min_price=49.99&max_price=54.99");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "2,3,8");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?max_price=30");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "7");
	ts_resp_free(&r);

	/* in_stock. */
	free(ts_sql(c_db, "UPDATE books SET quantity = 0 WHERE id IN (4, 9) RETURNING id"));
	c_req(&r, "GET", NULL, "/books?in_stock=false");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "4,9");
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?in_stock=true&limit=1");
	ck_assert_int_eq(ts_int(r.json, "total"), 8);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "books")), 1);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?in_stock=1&search=handbook");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "");
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ts_resp_free(&r);
}
END_TEST

/* The word dictionary (0004) is only a prefilter: terms across word boundaries, inside words,
 * with double spaces in the data, combined filters, a word that exists nowhere, and words that a
 * PUT brings in or takes away all answer exactly as the plain substring rule says. */
START_TEST(test_search_word_prefilter_is_exact)
{
	struct ts_resp r;
	char ids[256];
	char want[256];
	long long a = c_book("Mutable Mountain Atlas", "Ann Lee", NULL, "1.00", 1);
	long long b = c_book("Immutable  Mountaineer", "Bob Quill", NULL, "1.00", 1);
	long long c = c_book("The Mutable Mountains", "Carla Zed", NULL, "1.00", 1);
	long long d = c_book("Zeta", "Sophie Lindqvist-Berg", NULL, "1.00", 1);
	long long e = c_book("Word Spanning", "Dee", NULL, "1.00", 1);

	c_req(&r, "GET", NULL, "/books?search=mutable%%20mountain");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld,%lld", a, c);
	ck_assert_str_eq(ids, want);
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=TABLE%%20MOUNT");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?title=table%%20%%20mount");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", b);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=d%%20spa");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", e);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?author=lindqvist-b");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", d);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=mountain&author=ann");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", a);
	ck_assert_str_eq(ids, want);
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=mountain%%20zzqqyy");
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "books")), 0);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?title=xylophone");
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ts_resp_free(&r);

	/* A changed title is found by its new words at once, and no longer by the old ones. */
	c_req(&r, "PATCH", "{\"title\": \"Quasar Xylophones\"}", "/books/%lld", a);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?title=XYLOPHONE");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", a);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=mutable%%20mountain");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", c);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
}
END_TEST

/* The substring filters read books_text (0007), kept in step with books by triggers: a new
 * book, a changed title, author or isbn, a price or stock change (which must not touch it) and a
 * delete are all seen by the next search, and the two tables never disagree. */
START_TEST(test_search_side_table_follows_every_write)
{
	struct ts_resp r;
	char ids[256];
	char want[256];
	long long a = c_book("Glimmering Quokka", "Vera Tansy", "9780306406157", "5.00", 3);
	long long b = c_book("Dull Quokka", "Otto Brine", NULL, "9.00", 0);

	c_req(&r, "GET", NULL, "/books?search=quokka&sort=-price");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld,%lld", b, a);
	ck_assert_str_eq(ids, want);
	ck_assert_int_eq(ts_int(r.json, "total"), 2);
	ts_resp_free(&r);

	/* Price and stock: books_text keeps its row version (no write to it), the filters and
	 * sorts that read books see the new values. */
	char sql[128];
	long long xmin0;

	snprintf(sql, sizeof sql, "SELECT xmin::text::bigint FROM books_text WHERE id = %lld", a);
	xmin0 = c_sql_ll(sql);
	ck_assert_int_gt(xmin0, 0);
	c_req(&r, "PATCH", "{\"price\": \"12.00\", \"quantity\": 7}", "/books/%lld", a);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	ck_assert_int_eq(c_sql_ll(sql), xmin0);
	c_req(&r, "GET", NULL, "/books?search=quokka&sort=-price&in_stock=true&min_price=10");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", a);
	ck_assert_str_eq(ids, want);
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);

	/* Author and isbn changes are found by their new values only. */
	c_req(&r, "PATCH", "{\"author\": \"Wren Halloway\", \"isbn\": \"9780470059029\"}",
	      "/books/%lld", a);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?author=tansy");
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?author=halloway");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=0470059");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=0306406");
	ck_assert_int_eq(ts_int(r.json, "total"), 0);
	ts_resp_free(&r);

	/* A deleted book is gone from the search at once. */
	c_req(&r, "DELETE", NULL, "/books/%lld", b);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=quokka");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, want);
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);

	ck_assert_int_eq(c_sql_ll("SELECT count(*) FROM books b FULL JOIN books_text t USING (id)"
				  " WHERE b.id IS NULL OR t.id IS NULL OR (b.title, b.author, b.isbn)"
				  " IS DISTINCT FROM (t.title, t.author, t.isbn)"), 0);
}
END_TEST

/* If-Match compares only the first 16 entity tags of its list (book_http.c, stated in the
 * OpenAPI document): the current tag as the 17th matches nothing, as the 16th it does. */
START_TEST(test_if_match_compares_only_the_first_16_tags)
{
	struct ts_resp r;
	char *etag;
	char line[1024];
	const char *hdrs[2] = { line, NULL };
	size_t n;

	c_req(&r, "GET", NULL, "/books/4");
	ck_assert_int_eq(r.status, 200);
	etag = ts_header(&r, "ETag");
	ck_assert_ptr_nonnull(etag);
	ts_resp_free(&r);

	n = (size_t)snprintf(line, sizeof line, "If-Match: ");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, "\"b%d\", ", 900000 + i);
	snprintf(line + n, sizeof line - n, "%s", etag);
	c_req_h(&r, "PATCH", "/books/4", "{\"price\": \"3.33\"}", hdrs);
	ck_assert_int_eq(r.status, 412);
	ts_resp_free(&r);

	n = (size_t)snprintf(line, sizeof line, "If-Match: ");
	for (int i = 0; i < 15; i++)
		n += (size_t)snprintf(line + n, sizeof line - n, "\"b%d\", ", 900000 + i);
	snprintf(line + n, sizeof line - n, "%s, \"b900099\"", etag);
	c_req_h(&r, "PATCH", "/books/4", "{\"price\": \"3.33\"}", hdrs);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "price"), "3.33");
	ts_resp_free(&r);
	free(etag);
}
END_TEST

/* HTTP caching: ETag from the row version (every update, a stock change included, moves it on),
 * If-None-Match -> 304 without a body, If-Match -> 412 on a stale version, Cache-Control per
 * route. */
START_TEST(test_etags_conditional_get_and_if_match)
{
	struct ts_resp r;
	char *h;
	const char *inm1[] = { "If-None-Match: \"x\", \"b1\"", NULL };
	const char *im1[] = { "If-Match: \"b1\"", NULL };
	const char *im_weak[] = { "If-Match: W/\"b2\"", NULL };
	const char *im_star[] = { "If-Match: *", NULL };
	const char *inm_list[2] = { NULL, NULL };
	char line[128];

	c_req(&r, "GET", NULL, "/books/3");
	ck_assert_int_eq(r.status, 200);
	h = ts_header(&r, "ETag");
	ck_assert_str_eq(h, "\"b1\"");
	free(h);
	h = ts_header(&r, "Cache-Control");
	ck_assert_str_eq(h, "public, max-age=5, stale-while-revalidate=30");
	free(h);
	ts_resp_free(&r);

	c_req_h(&r, "GET", "/books/3", NULL, inm1);
	ck_assert_int_eq(r.status, 304);
	ck_assert_uint_eq(r.body_len, 0);
	h = ts_header(&r, "ETag");
	ck_assert_str_eq(h, "\"b1\"");
	free(h);
	ts_resp_free(&r);

	c_req_h(&r, "PATCH", "/books/3", "{\"price\": \"9.99\"}", im1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "price"), "9.99");
	h = ts_header(&r, "ETag");
	ck_assert_str_eq(h, "\"b2\"");
	free(h);
	h = ts_header(&r, "Cache-Control");
	ck_assert_str_eq(h, "no-store");
	free(h);
	ts_resp_free(&r);

	/* The same If-Match again: someone else's edit came first. Nothing changes. */
	c_req_h(&r, "PUT", "/books/3", "{\"price\": \"1.00\"}", im1);
	c_assert_detail(&r, 412, "Book 3 has changed (If-Match does not name its current ETag)");
	ts_resp_free(&r);
	c_req_h(&r, "PATCH", "/books/3", "{}", im1);
	ck_assert_int_eq(r.status, 412);
	ts_resp_free(&r);
	c_req_h(&r, "PATCH", "/books/3", "{\"price\": \"1.00\"}", im_weak);
	ck_assert_int_eq(r.status, 412);
	ts_resp_free(&r);
	c_req_h(&r, "PATCH", "/books/999999", "{\"price\": \"1.00\"}", im1);
	ck_assert_int_eq(r.status, 404);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books/3");
	ck_assert_str_eq(ts_str(r.json, "price"), "9.99");
	ts_resp_free(&r);

	/* A stock change (as a reservation makes) is a new version too. */
	free(ts_sql(c_db, "UPDATE books SET quantity = quantity + 1 WHERE id = 3 RETURNING id"));
	c_req_h(&r, "GET", "/books/3", NULL, inm1);
	ck_assert_int_eq(r.status, 200);
	h = ts_header(&r, "ETag");
	ck_assert_str_eq(h, "\"b3\"");
	free(h);
	ts_resp_free(&r);
	c_req_h(&r, "PATCH", "/books/3", "{\"quantity\": 7}", im_star);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);

	/* Lists: the ETag hashes the body; a change anywhere on the page changes it. */
	c_req(&r, "GET", NULL, "/books?limit=5");
	ck_assert_int_eq(r.status, 200);
	h = ts_header(&r, "ETag");
	ck_assert_ptr_nonnull(h);
	snprintf(line, sizeof line, "If-None-Match: %s", h);
	free(h);
	ts_resp_free(&r);
	inm_list[0] = line;
	c_req_h(&r, "GET", "/books?limit=5", NULL, inm_list);
	ck_assert_int_eq(r.status, 304);
	ck_assert_uint_eq(r.body_len, 0);
	ts_resp_free(&r);
	c_req(&r, "PATCH", "{\"title\": \"Retitled\"}", "/books/2");
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	c_req_h(&r, "GET", "/books?limit=5", NULL, inm_list);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);

	/* Errors and writes are never stored. */
	c_req(&r, "GET", NULL, "/books/999999");
	ck_assert_int_eq(r.status, 404);
	h = ts_header(&r, "Cache-Control");
	ck_assert_str_eq(h, "no-store");
	free(h);
	ts_resp_free(&r);
}
END_TEST

/* The price of book id as daemon p answers it (a malloc'd string). */
static char *price_on(const struct ts_proc *p, long long id)
{
	struct ts_resp r;
	char *price;

	ck_assert_int_eq(ts_req(&r, "GET", p->url, NULL, "/books/%lld", id), 0);
	ck_assert_int_eq(r.status, 200);
	price = strdup(ts_str(r.json, "price"));
	ts_resp_free(&r);
	return price;
}

/* CACHE_TTL_MS on two replicas of one database: a write through a replica is visible on that
 * replica at once (its entry is dropped); the other replica serves its cached answer until the
 * TTL runs out, and the new one after at most CACHE_TTL_MS (+ slack for a loaded machine). */
/* The two bounds on replicas a and b (CACHE_TTL_MS=3000) for the price of book id as read_price
 * sees it (one book, or a list page): a write through b shows on b at once; a keeps serving its
 * cached answer right after, and shows the new price within the TTL (+ slack for a loaded
 * machine). */
static void check_staleness_bounds(char *(*read_price)(const struct ts_proc *, long long),
				   const struct ts_proc *a, const struct ts_proc *b, long long id,
				   const char *new_price)
{
	struct ts_resp r;
	char body[64];
	char *price;
	long long t0;
	long long waited;

	price = read_price(a, id);
	ck_assert_str_ne(price, new_price);
	free(price);
	price = read_price(b, id);
	free(price);

	/* Own write: at once, on the replica that made it. */
	snprintf(body, sizeof body, "{\"price\": \"%s\"}", new_price);
	ck_assert_int_eq(ts_req(&r, "PATCH", b->url, body, "/books/%lld", id), 0);
	ck_assert_int_eq(r.status, 200);
	ts_resp_free(&r);
	t0 = c_now_ms();
	price = read_price(b, id);
	ck_assert_str_eq(price, new_price);
	free(price);

	/* The other replica: still the cached answer right after, the new one within the TTL. */
	price = read_price(a, id);
	ck_assert_msg(strcmp(price, new_price) != 0 || c_now_ms() - t0 > 3000,
		      "replica a did not serve its cached answer (is the cache on?)");
	free(price);
	for (;;) {
		price = read_price(a, id);
		waited = c_now_ms() - t0;
		if (strcmp(price, new_price) == 0) {
			free(price);
			break;
		}
		free(price);
		ck_assert_msg(waited <= 3000 + 1000, "stale after %lld ms (TTL 3000)", waited);
		c_sleep_ms(50);
	}
}

START_TEST(test_read_cache_staleness_bounds_on_two_replicas)
{
	const char *extra[] = { "CACHE_TTL_MS=3000", NULL };
	struct ts_proc a = { 0 };
	struct ts_proc b = { 0 };
	struct ts_resp r;

	c_start(&a, c_db, extra);
	c_start(&b, c_db, extra);
	check_staleness_bounds(price_on, &a, &b, 5, "11.11");

	/* A stock change through a replica (a reservation) is also visible there at once. */
	ck_assert_int_eq(ts_req(&r, "GET", a.url, NULL, "/books/5"), 0);
	{
		long long q = ts_int(r.json, "quantity");

		ts_resp_free(&r);
		ck_assert_int_eq(ts_req(&r, "POST", a.url,
					"{\"reservation_id\": \"cache-1\", \"book_id\": 5, \"quantity\": 1}",
					"/reservations"), 0);
		ck_assert_int_eq(r.status, 201);
		ts_resp_free(&r);
		ck_assert_int_eq(ts_req(&r, "GET", a.url, NULL, "/books/5"), 0);
		ck_assert_int_eq(ts_int(r.json, "quantity"), q - 1);
		ts_resp_free(&r);
	}
	ts_stop(&a, SIGTERM, 5000);
	ts_stop(&b, SIGTERM, 5000);
}
END_TEST

/* The price of book id as a list page shows it (GET /books?limit=100). */
static char *list_price_on(const struct ts_proc *p, long long id)
{
	struct ts_resp r;
	json_t *books, *b;
	size_t i;
	char *price = NULL;

	ck_assert_int_eq(ts_req(&r, "GET", p->url, NULL, "/books?limit=100"), 0);
	ck_assert_int_eq(r.status, 200);
	books = json_object_get(r.json, "books");
	json_array_foreach(books, i, b) {
		if (json_integer_value(json_object_get(b, "id")) == id)
			price = strdup(json_string_value(json_object_get(b, "price")));
	}
	ts_resp_free(&r);
	ck_assert_ptr_nonnull(price);
	return price;
}

/* The same bounds for list pages: a write through a replica drops every cached page there (the
 * next page shows it), the other replica's cached page shows the new value within the TTL. */
START_TEST(test_read_cache_list_pages_staleness_bounds)
{
	const char *extra[] = { "CACHE_TTL_MS=3000", NULL };
	struct ts_proc a = { 0 };
	struct ts_proc b = { 0 };
	struct ts_resp r;

	c_start(&a, c_db, extra);
	c_start(&b, c_db, extra);
	check_staleness_bounds(list_price_on, &a, &b, 6, "12.34");

	/* A new book through a replica is counted by that replica's next page at once. */
	ck_assert_int_eq(ts_req(&r, "GET", a.url, NULL, "/books?limit=1"), 0);
	{
		long long total = ts_int(r.json, "total");

		ts_resp_free(&r);
		ck_assert_int_eq(ts_req(&r, "POST", a.url,
					"{\"title\": \"Cache Counted\", \"author\": \"A\", \"price\": \"1.00\"}",
					"/books"), 0);
		ck_assert_int_eq(r.status, 201);
		ts_resp_free(&r);
		ck_assert_int_eq(ts_req(&r, "GET", a.url, NULL, "/books?limit=1"), 0);
		ck_assert_int_eq(ts_int(r.json, "total"), total + 1);
		ts_resp_free(&r);
	}
	ts_stop(&a, SIGTERM, 5000);
	ts_stop(&b, SIGTERM, 5000);
}
END_TEST

START_TEST(test_sort_orders_are_stable)
{
	struct ts_resp r;
	char ids[256];

	c_req(&r, "GET", NULL, "/books?sort=-price&limit=3");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "5,10,3");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?sort=price&limit=3");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "7,9,6");
	ts_resp_free(&r);
	/* 49.99 appears twice (2 and 8): ties break by id, both directions. */
	c_req(&r, "GET", NULL, "/books?sort=price&min_price=49.99&max_price=49.99");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "2,8");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?sort=-price&min_price=49.99&max_price=49.99");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "8,2");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?sort=title&limit=3");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "1,3,8"); /* Clean Code, Design Patterns, Head First... */
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?sort=-title&limit=2");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "2,9"); /* The Pragmatic..., The DevOps... */
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?sort=author&limit=2");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "2,7"); /* David Thomas, Douglas Crockford */
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?sort=-id&limit=2");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "10,9");
	ts_resp_free(&r);
	/* The seed shares one created_at: ties by id. */
	c_req(&r, "GET", NULL, "/books?sort=-created_at&limit=2");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "10,9");
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?sort=created_at&skip=2&limit=2");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, "3,4");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_percent_and_underscore_are_literal)
{
	struct ts_resp r;
	char ids[256];
	long long pct = c_book("100% Pure C", "A", NULL, "1.00", 1);
	long long und = c_book("snake_case style", "B", NULL, "1.00", 1);
	long long bsl = c_book("Back\\slash", "C", NULL, "1.00", 1);
	char want[64];

	c_book("snakeXcase style", "B", NULL, "1.00", 1);
	c_req(&r, "GET", NULL, "/books?search=%%25");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", pct);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?title=e_c");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", und);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=_");
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?search=k%%5Cs");
	page_ids(&r, ids, sizeof ids);
	snprintf(want, sizeof want, "%lld", bsl);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_total_counter_tracks_inserts_deletes_and_stock)
{
	struct ts_resp r;
	long long a = c_book("Count A", "A", NULL, "1.00", 0);
	long long b = c_book("Count B", "B", NULL, "1.00", 5);

	(void)b;
	c_req(&r, "GET", NULL, "/books?limit=1");
	ck_assert_int_eq(ts_int(r.json, "total"), 12);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?in_stock=false&limit=1");
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);
	c_req(&r, "PATCH", "{\"quantity\":2}", "/books/%lld", a);
	ts_resp_free(&r);
	c_req(&r, "PATCH", "{\"quantity\":0}", "/books/1");
	ts_resp_free(&r);
	c_req(&r, "DELETE", NULL, "/books/%lld", a);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?in_stock=true&limit=1");
	ck_assert_int_eq(ts_int(r.json, "total"),
			 c_sql_ll("SELECT count(*) FROM books WHERE quantity > 0"));
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?in_stock=false&limit=1");
	ck_assert_int_eq(ts_int(r.json, "total"), 1);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?limit=1");
	ck_assert_int_eq(ts_int(r.json, "total"), c_sql_ll("SELECT count(*) FROM books"));
	ck_assert_int_eq(ts_int(r.json, "total"), 11);
	ts_resp_free(&r);
}
END_TEST

/* Builds a valid POST body whose field key is pad + n copies of unit + pad (malloc'd). */
static char *repeat_body(const char *key, const char *unit, size_t n, const char *pad)
{
	size_t ul = strlen(unit);
	size_t cap = 2 * strlen(pad) + ul * n + 128;
	char *b = malloc(cap);
	size_t used;

	ck_assert_ptr_nonnull(b);
	used = (size_t)snprintf(b, cap, "{%s%s\"price\":\"1.00\",\"%s\":\"%s",
				strcmp(key, "title") != 0 ? "\"title\":\"T\"," : "",
				strcmp(key, "author") != 0 ? "\"author\":\"A\"," : "", key, pad);
	for (size_t i = 0; i < n; i++) {
		memcpy(b + used, unit, ul);
		used += ul;
	}
	snprintf(b + used, cap - used, "%s\"}", pad);
	return b;
}

START_TEST(test_text_lengths_count_characters_after_trimming)
{
	/* 2-, 3- and 4-byte characters: 255 of them are 510..1020 bytes but 255 characters. */
	static const char *const units[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x93\x9a"};
	struct ts_resp r;
	char *body;

	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		body = repeat_body("title", units[u], 255, "   ");
		c_req(&r, "POST", body, "/books");
		ck_assert_msg(r.status == 201, "255 chars of %zu bytes -> %ld %s", strlen(units[u]),
			      r.status, r.body);
		/* Trimmed before counting and before storing. */
		ck_assert_int_eq(strlen(ts_str(r.json, "title")), 255 * strlen(units[u]));
		ts_resp_free(&r);
		free(body);
		body = repeat_body("author", units[u], 256, "");
		c_req(&r, "POST", body, "/books");
		c_assert_422(&r, "string_too_long", "body", "author");
		ts_resp_free(&r);
		free(body);
	}
	/* Whitespace only is empty after trimming. */
	c_req(&r, "POST", "{\"title\":\" \\t\\n \",\"author\":\"A\",\"price\":1}", "/books");
	c_assert_422(&r, "string_too_short", "body", "title");
	ts_resp_free(&r);
	/* description: 10000 characters pass (20000 bytes), 10001 do not. */
	body = repeat_body("description", "\xc3\xa9", 10000, "");
	c_req(&r, "POST", body, "/books");
	ck_assert_int_eq(r.status, 201);
	ts_resp_free(&r);
	free(body);
	body = repeat_body("description", "d", 10001, "");
	c_req(&r, "POST", body, "/books");
	c_assert_422(&r, "string_too_long", "body", "description");
	ts_resp_free(&r);
	free(body);
}
END_TEST

START_TEST(test_price_forms_and_bounds)
{
	static const struct {
		const char *json;
		const char *want; /* stored price, or the 422 type */
		long status;
	} cases[] = {
	    {"\"12.340\"", "12.34", 201},
	    {"\"7\"", "7.00", 201},
	    {"7", "7.00", 201},
	    {"19.99", "19.99", 201},
	    {"\"0.01\"", "0.01", 201},
	    {"\"99999999.99\"", "99999999.99", 201},
	    {"\"0\"", "greater_than", 422},
	    {"0.00", "greater_than", 422},
	    {"\"-3\"", "greater_than", 422},
	    {"\"0.001\"", "decimal_max_places", 422},
	    {"1.005", "decimal_max_places", 422},
	    {"\"100000000\"", "less_than", 422},
	    {"1e8", "less_than", 422},
	    {"\"abc\"", "decimal_parsing", 422},
	    {"[1]", "decimal_type", 422},
	};
	struct ts_resp r;
	char body[160];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(body, sizeof body, "{\"title\":\"P%zu\",\"author\":\"A\",\"price\":%s}", i,
			 cases[i].json);
		c_req(&r, "POST", body, "/books");
		if (cases[i].status == 201) {
			ck_assert_msg(r.status == 201, "%s -> %ld %s", cases[i].json, r.status,
				      r.body);
			ck_assert_str_eq(ts_str(r.json, "price"), cases[i].want);
		} else {
			c_assert_422(&r, cases[i].want, "body", "price");
		}
		ts_resp_free(&r);
	}
	/* The same rules on update. */
	c_req(&r, "PATCH", "{\"price\":\"3.5\"}", "/books/1");
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(ts_str(r.json, "price"), "3.50");
	ts_resp_free(&r);
	c_req(&r, "PATCH", "{\"price\":0}", "/books/1");
	c_assert_422(&r, "greater_than", "body", "price");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_update_lists_bad_id_and_bad_fields_together)
{
	struct ts_resp r;

	c_req(&r, "PUT", "{\"title\":\"\",\"quantity\":\"5\"}", "/books/abc");
	c_assert_422(&r, "int_parsing", "path", "id");
	c_assert_422(&r, "string_too_short", "body", "title");
	c_assert_422(&r, "int_type", "body", "quantity");
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "detail")), 3);
	ts_resp_free(&r);
	/* A bad id alone with a good body. */
	c_req(&r, "PATCH", "{\"title\":\"ok\"}", "/books/1x");
	c_assert_422(&r, "int_parsing", "path", "id");
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "detail")), 1);
	ts_resp_free(&r);
	/* Unknown fields are ignored on update too; the book is untouched. */
	c_req(&r, "PATCH", "{\"id\":77,\"created_at\":\"x\",\"nope\":1}", "/books/1");
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(ts_int(r.json, "id"), 1);
	ck_assert_str_eq(ts_str(r.json, "title"), "Clean Code");
	ts_resp_free(&r);
}
END_TEST

START_TEST(test_isbn_filter_and_body_accept_any_spelling)
{
	struct ts_resp r;
	long long id = c_book("Lower X", "A", "0 8044 2957 x", "1.00", 1);
	char ids[64];
	char want[32];

	snprintf(want, sizeof want, "%lld", id);
	c_req(&r, "GET", NULL, "/books?isbn=080442957X");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	c_req(&r, "GET", NULL, "/books?isbn=978-0-8044-2957-3");
	page_ids(&r, ids, sizeof ids);
	ck_assert_str_eq(ids, want);
	ts_resp_free(&r);
	/* Entered again as its ISBN-13 via PUT on another book: 409. */
	c_req(&r, "PUT", "{\"isbn\":\"9780804429573\"}", "/books/2");
	c_assert_detail(&r, 409, "Book with ISBN 9780804429573 already exists");
	ts_resp_free(&r);
	/* The filter is an exact ISBN, not a prefix: a partial number is a bad value. */
	c_req(&r, "GET", NULL, "/books?isbn=97808044");
	ck_assert_int_eq(r.status, 422);
	ts_resp_free(&r);
}
END_TEST

#define DUP_THREADS 12

struct dup_arg {
	const char *base;
	int index;
	long status;
};

static void *dup_post(void *p)
{
	struct dup_arg *a = p;
	struct ts_resp r;
	char url[128];
	char body[160];

	snprintf(url, sizeof url, "%s/books", a->base);
	/* Alternate the two spellings of the same ISBN. */
	snprintf(body, sizeof body,
		 "{\"title\":\"Race %d\",\"author\":\"R\",\"price\":\"9.99\",\"isbn\":\"%s\"}",
		 a->index, a->index % 2 ? "0-306-40615-2" : "9780306406157");
	if (ts_http(&r, "POST", url, body, NULL) == 0)
		a->status = r.status;
	ts_resp_free(&r);
	return NULL;
}

START_TEST(test_concurrent_duplicate_isbn_one_201_rest_409)
{
	pthread_t th[DUP_THREADS];
	struct dup_arg args[DUP_THREADS];
	int created = 0;
	int conflicts = 0;
	struct ts_resp warm;

	c_req(&warm, "GET", NULL, "/health"); /* initialises libcurl before the threads */
	ts_resp_free(&warm);
	for (int i = 0; i < DUP_THREADS; i++) {
		args[i].base = c_svc.url;
		args[i].index = i;
		args[i].status = 0;
		ck_assert_int_eq(pthread_create(&th[i], NULL, dup_post, &args[i]), 0);
	}
	for (int i = 0; i < DUP_THREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < DUP_THREADS; i++) {
		if (args[i].status == 201)
			created++;
		else if (args[i].status == 409)
			conflicts++;
		else
			ck_abort_msg("thread %d got %ld", i, args[i].status);
	}
	ck_assert_int_eq(created, 1);
	ck_assert_int_eq(conflicts, DUP_THREADS - 1);
	ck_assert_int_eq(c_sql_ll("SELECT count(*) FROM books WHERE isbn = '9780306406157'"), 1);
}
END_TEST

/* PostgreSQL prints 10:00:05.1 as ".1" and a whole second with no fraction; the API always gives
 * six digits, in the jansson path (one book) and the direct list writer alike. */
START_TEST(test_timestamps_always_have_six_fractional_digits)
{
	static const char *const want[] = { "2026-01-02T03:04:05.000000Z",
					    "2026-01-02T03:04:05.100000Z" };
	struct ts_resp r;
	json_t *books;

	free(ts_sql(c_db, "UPDATE books SET created_at = '2026-01-02 03:04:05+00' WHERE id = 1"));
	free(ts_sql(c_db, "UPDATE books SET created_at = '2026-01-02 03:04:05.1+00' WHERE id = 2"));
	for (int id = 1; id <= 2; id++) {
		const char *u;

		c_req(&r, "GET", NULL, "/books/%d", id);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(ts_str(r.json, "created_at"), want[id - 1]);
		u = ts_str(r.json, "updated_at");
		ck_assert_msg(strlen(u) == 27 && u[19] == '.' && strspn(u + 20, "0123456789") == 6 &&
				      strcmp(u + 26, "Z") == 0,
			      "updated_at %s", u);
		ts_resp_free(&r);
	}
	c_req(&r, "GET", NULL, "/books?sort=id&limit=2");
	ck_assert_int_eq(r.status, 200);
	books = json_object_get(r.json, "books");
	ck_assert_str_eq(ts_str(json_array_get(books, 0), "created_at"), want[0]);
	ck_assert_str_eq(ts_str(json_array_get(books, 1), "created_at"), want[1]);
	ts_resp_free(&r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("catalog_books");
	TCase *tc = tcase_create("books");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, c_setup_seeded, c_teardown);
	tcase_set_timeout(tc, C_TIMEOUT_S);
	tcase_add_test(tc, test_list_seeded_books_default_page_and_total);
	tcase_add_test(tc, test_get_book_found_missing_and_bad_id);
	tcase_add_test(tc, test_post_book_201_location_and_roundtrip);
	tcase_add_test(tc, test_post_book_without_isbn_and_quantity_defaults);
	tcase_add_test(tc, test_isbn_normalised_and_isbn10_duplicate_of_isbn13_is_409);
	tcase_add_test(tc, test_put_and_patch_partial_update_rules);
	tcase_add_test(tc, test_delete_book_then_404_and_409_with_orders);
	tcase_add_test(tc, test_search_and_filters);
	tcase_add_test(tc, test_search_word_prefilter_is_exact);
	tcase_add_test(tc, test_search_side_table_follows_every_write);
	tcase_add_test(tc, test_etags_conditional_get_and_if_match);
	tcase_add_test(tc, test_if_match_compares_only_the_first_16_tags);
	tcase_add_test(tc, test_read_cache_staleness_bounds_on_two_replicas);
	tcase_add_test(tc, test_read_cache_list_pages_staleness_bounds);
	tcase_add_test(tc, test_sort_orders_are_stable);
	tcase_add_test(tc, test_percent_and_underscore_are_literal);
	tcase_add_test(tc, test_total_counter_tracks_inserts_deletes_and_stock);
	tcase_add_test(tc, test_concurrent_duplicate_isbn_one_201_rest_409);
	tcase_add_test(tc, test_text_lengths_count_characters_after_trimming);
	tcase_add_test(tc, test_price_forms_and_bounds);
	tcase_add_test(tc, test_update_lists_bad_id_and_bad_fields_together);
	tcase_add_test(tc, test_isbn_filter_and_body_accept_any_spelling);
	tcase_add_test(tc, test_timestamps_always_have_six_fractional_digits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
