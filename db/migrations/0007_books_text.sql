-- 0007_books_text.sql - the search indexes move to a side table, so that an update of a book's
-- price or stock no longer writes four GIN indexes (docs/performance.md, 2026-12-07 "PUT").
--
-- Why: PostgreSQL writes a new entry into EVERY index of a table whenever an UPDATE changes ANY
-- indexed column (no HOT update). books_price_id makes every price change such an update, and
-- books carried four GIN indexes (title, author and isbn trigrams, the word index of 0004):
-- measured with pgbench on 1,000,000 books, 32 clients, "UPDATE books SET price, quantity" ran
-- at 1,120 tps with them and at 8,284 tps on a copy with only the btree indexes (the same server
-- does 7,344 tps of pgbench -N). Stock-only updates stay HOT either way (no index mentions
-- quantity).
--
-- books_text holds what the substring filters read: id, title, author, isbn, one row per book,
-- written only when a book is created, deleted, or its title, author or isbn changes. The GIN
-- indexes of 0001 and 0004 move to it with the same definitions. The matching rules do not
-- change: catalog_list_books (below) applies the same LIKE conditions to the same values, read
-- from books_text instead of books.
--
-- Kept in step by triggers on books, in the writing transaction (so a reader's snapshot sees
-- both tables at the same point; catalog_list_books is STABLE and reads them in one snapshot):
--   INSERT   statement trigger with the new rows (one INSERT for a bulk load);
--   UPDATE   row trigger, only when title, author or isbn changes (price/stock: nothing);
--   DELETE   statement trigger with the old rows;
--   TRUNCATE statement trigger.
-- Not a foreign key: a TRUNCATE of books would then need CASCADE.

CREATE TABLE books_text (
	id     bigint PRIMARY KEY,
	title  varchar(255) NOT NULL,
	author varchar(255) NOT NULL,
	isbn   varchar(13)
);

INSERT INTO books_text (id, title, author, isbn) SELECT id, title, author, isbn FROM books;

SET LOCAL maintenance_work_mem = '256MB';
CREATE INDEX books_text_title_trgm ON books_text USING gin (lower(title) gin_trgm_ops)
	WITH (fastupdate = off);
CREATE INDEX books_text_author_trgm ON books_text USING gin (lower(author) gin_trgm_ops)
	WITH (fastupdate = off);
CREATE INDEX books_text_isbn_trgm ON books_text USING gin (isbn gin_trgm_ops)
	WITH (fastupdate = off);
CREATE INDEX books_text_words ON books_text USING gin (catalog_words(title, author))
	WITH (fastupdate = off);
DROP INDEX books_title_trgm, books_author_trgm, books_isbn_trgm, books_words;

CREATE FUNCTION books_text_ins() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO books_text (id, title, author, isbn)
	SELECT r.id, r.title, r.author, r.isbn FROM new_rows r;
	RETURN NULL;
END
$$;
CREATE FUNCTION books_text_upd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE books_text SET title = NEW.title, author = NEW.author, isbn = NEW.isbn
	 WHERE id = NEW.id;
	RETURN NULL;
END
$$;
CREATE FUNCTION books_text_del() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM books_text t USING old_rows o WHERE t.id = o.id;
	RETURN NULL;
END
$$;
-- DELETE rather than TRUNCATE: the catalog role may delete rows but not truncate tables.
CREATE FUNCTION books_text_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM books_text;
	RETURN NULL;
END
$$;

CREATE TRIGGER books_text_ins AFTER INSERT ON books REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION books_text_ins();
CREATE TRIGGER books_text_upd AFTER UPDATE ON books FOR EACH ROW
	WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.author IS DISTINCT FROM NEW.author
	      OR OLD.isbn IS DISTINCT FROM NEW.isbn)
	EXECUTE FUNCTION books_text_upd();
CREATE TRIGGER books_text_del AFTER DELETE ON books REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION books_text_del();
CREATE TRIGGER books_text_truncate AFTER TRUNCATE ON books
	FOR EACH STATEMENT EXECUTE FUNCTION books_text_truncate();

-- The catalog writes it through the triggers above (they run as the writing role).
INSERT INTO role_grants (table_name, role_name, privileges) VALUES
	('books_text', 'catalog', 'SELECT, INSERT, UPDATE, DELETE')
ON CONFLICT (table_name, role_name) DO UPDATE SET privileges = EXCLUDED.privileges;
SELECT apply_role_grants();

-- The audit trigger's diff (0005) in PL/pgSQL: same result, but a SQL-language function that
-- cannot be inlined is parsed and planned again on every call, and the trigger calls it for every
-- audited write (measured: the PUT statement at 2,450 tps with the SQL version, 3,063 with this
-- one, pgbench, 32 clients).
CREATE OR REPLACE FUNCTION audit_diff(before jsonb, after jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  k text;
  d jsonb := '{}';
BEGIN
  FOR k IN SELECT jsonb_object_keys(coalesce(before, after)) LOOP
    CONTINUE WHEN k IN ('created_at', 'updated_at', 'recovery_lease', 'stock_released',
                        'reservation_id', 'version');
    IF (before -> k) IS DISTINCT FROM (after -> k) THEN
      d := d || jsonb_build_object(k, jsonb_build_object('before', before -> k, 'after', after -> k));
    END IF;
  END LOOP;
  RETURN d;
END
$$;

-- The '&&' conditions of 0004, on the side table (alias t).
CREATE OR REPLACE FUNCTION catalog_word_cond(k1 text[], k2 text[], first integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN k1 IS NULL THEN '' ELSE
		' AND catalog_words(t.title, t.author) && $' || first
		|| CASE WHEN k2 IS NULL THEN '' ELSE
			' AND catalog_words(t.title, t.author) && $' || (first + 1) END END
$$;

-- The catalogue list: the same arguments, rows, rules and three ways to answer a substring
-- filter as in 0004; the candidates of a substring filter now come from books_text t (its GIN
-- indexes) joined to books b by primary key. The text conditions are written once with '@.'
-- for the table they read and placed twice: 't.' in the candidate queries, 'b.' in the dense
-- walk of the sort key's index on books. A count that needs no column of books (no isbn,
-- price or stock filter) reads books_text alone.
-- Parameters of the generated SQL: $1 search, $2 author, $3 title (LIKE patterns), $4 isbn,
-- $5/$6 price bounds, $7 skip, $8 limit, $9 total, $11/$12 search keys, $13/$14 author keys,
-- $15/$16 title keys.
CREATE OR REPLACE FUNCTION catalog_list_books(
	p_skip bigint, p_limit integer, p_search text, p_author text, p_title text, p_isbn text,
	p_min_price numeric, p_max_price numeric, p_in_stock boolean, p_sort text)
RETURNS TABLE (total bigint, id bigint, title varchar, author varchar, isbn varchar,
	       price numeric, quantity bigint, description text, created_at timestamptz,
	       updated_at timestamptz)
-- No parallel plans: starting workers costs ~15 ms, more than a keyed search takes, and under
-- load the cores are busy with other requests anyway.
LANGUAGE plpgsql STABLE SET max_parallel_workers_per_gather = 0 AS $$
DECLARE
	wt text := '';  -- text filters other than search, with the word conditions ('@.')
	wb text := '';  -- the isbn, price and stock filters (always on books b)
	wp text := '';  -- all filters, LIKE only ('@.')
	wsearch text := '';  -- the search filter, LIKE only ('@.')
	src text;       -- the candidate rows (a subquery named b)
	cnt text;       -- the same candidates, for count(*)
	ord text;
	n bigint;
	ks record;
	ka record;
	kt record;
	lw text := '';
	s text := '%' || lower(p_search) || '%';
	a text := '%' || lower(p_author) || '%';
	t text := '%' || lower(p_title) || '%';
BEGIN
	ord := CASE p_sort
		WHEN 'id' THEN 'b.id'
		WHEN '-id' THEN 'b.id DESC'
		WHEN 'title' THEN 'lower(b.title), b.id'
		WHEN '-title' THEN 'lower(b.title) DESC, b.id DESC'
		WHEN 'author' THEN 'lower(b.author), b.id'
		WHEN '-author' THEN 'lower(b.author) DESC, b.id DESC'
		WHEN 'price' THEN 'b.price, b.id'
		WHEN '-price' THEN 'b.price DESC, b.id DESC'
		WHEN 'created_at' THEN 'b.created_at, b.id'
		WHEN '-created_at' THEN 'b.created_at DESC, b.id DESC'
	END;
	IF ord IS NULL THEN
		RAISE EXCEPTION 'invalid sort %', p_sort USING ERRCODE = '22023';
	END IF;

	SELECT * INTO ks FROM catalog_word_keys(p_search, '{t:,a:}');
	SELECT * INTO ka FROM catalog_word_keys(p_author, '{a:}');
	SELECT * INTO kt FROM catalog_word_keys(p_title, '{t:}');
	IF ka.nomatch OR kt.nomatch THEN
		RETURN QUERY SELECT 0::bigint, NULL::bigint, NULL::varchar, NULL::varchar,
			NULL::varchar, NULL::numeric, NULL::bigint, NULL::text,
			NULL::timestamptz, NULL::timestamptz;
		RETURN;
	END IF;
	-- With word keys, the LIKE only checks candidates: "|| ''" keeps the planner off the
	-- trigram indexes (a lossy trigram bitmap would make it recompute the words of every
	-- candidate row).
	IF ks.k1 IS NOT NULL OR ka.k1 IS NOT NULL OR kt.k1 IS NOT NULL THEN
		lw := ' || ''''';
	END IF;

	IF ks.nomatch THEN
		-- In no title or author word: the search can still match an isbn.
		wsearch := ' AND @.isbn LIKE $1';
	ELSIF p_search IS NOT NULL THEN
		wsearch := ' AND (lower(@.title' || lw || ') LIKE $1 OR lower(@.author' || lw
			|| ') LIKE $1 OR @.isbn' || lw || ' LIKE $1)';
	END IF;
	wp := wsearch;
	IF p_author IS NOT NULL THEN
		wt := wt || catalog_word_cond(ka.k1, ka.k2, 13) || ' AND lower(@.author' || lw
			|| ') LIKE $2';
		wp := wp || ' AND lower(@.author' || lw || ') LIKE $2';
	END IF;
	IF p_title IS NOT NULL THEN
		wt := wt || catalog_word_cond(kt.k1, kt.k2, 15) || ' AND lower(@.title' || lw
			|| ') LIKE $3';
		wp := wp || ' AND lower(@.title' || lw || ') LIKE $3';
	END IF;
	IF p_isbn IS NOT NULL THEN
		wb := wb || ' AND b.isbn = $4';
	END IF;
	IF p_min_price IS NOT NULL THEN
		wb := wb || ' AND b.price >= $5';
	END IF;
	IF p_max_price IS NOT NULL THEN
		wb := wb || ' AND b.price <= $6';
	END IF;
	IF p_in_stock IS TRUE THEN
		wb := wb || ' AND b.quantity > 0';
	ELSIF p_in_stock IS FALSE THEN
		wb := wb || ' AND b.quantity = 0';
	END IF;
	wp := replace(wp, '@.', 'b.') || wb;

	IF p_search IS NULL AND p_author IS NULL AND p_title IS NULL THEN
		IF p_isbn IS NULL AND p_min_price IS NULL AND p_max_price IS NULL THEN
			SELECT CASE WHEN p_in_stock IS NULL THEN sum(c.n)
				    WHEN p_in_stock THEN sum(c.in_stock)
				    ELSE sum(c.n - c.in_stock) END
			INTO n FROM books_count c;
		ELSE
			EXECUTE 'SELECT count(*) FROM books b WHERE true' || wp
			INTO n USING s, a, t, p_isbn, p_min_price, p_max_price;
		END IF;
	ELSE
		-- The candidates. A keyed search is two disjoint arms, so that every '&&' stays an
		-- index condition (under an OR the planner would recompute the words of every row):
		-- title or author matches from the word index, and isbn matches that are not among
		-- them. sel is replaced by the select list: the book (page) or its id (count).
		IF ks.k1 IS NOT NULL AND NOT ks.nomatch THEN
			src := '(SELECT @sel WHERE true' || catalog_word_cond(ks.k1, ks.k2, 11)
				|| ' AND (lower(t.title || '''') LIKE $1 OR lower(t.author || '''') LIKE $1)'
				|| wt || wb
				|| ' UNION ALL SELECT @sel WHERE t.isbn LIKE $1 AND NOT'
				|| ' (lower(t.title || '''') LIKE $1 OR lower(t.author || '''') LIKE $1)'
				|| wt || wb || ') b';
		ELSE
			src := '(SELECT @sel WHERE true' || wsearch || wt || wb || ') b';
		END IF;
		src := replace(src, '@.', 't.');
		-- The candidates carry only what the page's sort needs; the page's books are read
		-- by primary key afterwards (20 lookups instead of one per candidate).
		IF wb = '' THEN
			cnt := replace(src, '@sel', 't.id FROM books_text t');
		ELSE
			cnt := replace(src, '@sel', 't.id FROM books_text t JOIN books b ON b.id = t.id');
		END IF;
		IF wb = '' AND p_sort NOT IN ('price', '-price', 'created_at', '-created_at') THEN
			src := replace(src, '@sel', 't.id, t.title, t.author FROM books_text t');
		ELSE
			src := replace(src, '@sel', 't.id, t.title, t.author, b.price, b.created_at'
				' FROM books_text t JOIN books b ON b.id = t.id');
		END IF;

		RETURN QUERY EXECUTE
			'WITH m AS MATERIALIZED (SELECT * FROM ' || src || ' LIMIT 5001), c AS (SELECT count(*) AS n FROM m)'
			' SELECT c.n, b.id, b.title, b.author, b.isbn, b.price, b.quantity,'
			' b.description, b.created_at, b.updated_at FROM c LEFT JOIN LATERAL'
			' (SELECT b.* FROM (SELECT b.id FROM m b ORDER BY ' || ord || ' OFFSET $7 LIMIT $8) p'
			' JOIN books b ON b.id = p.id ORDER BY ' || ord || ') b ON true'
			' WHERE c.n <= 5000'
			USING s, a, t, p_isbn, p_min_price, p_max_price, p_skip, p_limit, NULL::bigint,
			      NULL::text, ks.k1, ks.k2, ka.k1, ka.k2, kt.k1, kt.k2;
		IF FOUND THEN
			RETURN;
		END IF;
		EXECUTE 'SELECT count(*) FROM ' || cnt
		INTO n USING s, a, t, p_isbn, p_min_price, p_max_price, p_skip, p_limit, NULL::bigint,
			     NULL::text, ks.k1, ks.k2, ka.k1, ka.k2, kt.k1, kt.k2;
	END IF;

	-- The page: a walk of the sort key's index on books, filtered by the LIKE conditions alone
	-- (dense matches: a page needs few rows).
	RETURN QUERY EXECUTE
		'SELECT $9::bigint, b.id, b.title, b.author, b.isbn, b.price, b.quantity,'
		' b.description, b.created_at, b.updated_at FROM books b WHERE true' || wp
		|| ' ORDER BY ' || ord || ' OFFSET $7 LIMIT $8'
		USING s, a, t, p_isbn, p_min_price, p_max_price, p_skip, p_limit, n;
	IF NOT FOUND THEN
		RETURN QUERY SELECT n, NULL::bigint, NULL::varchar, NULL::varchar, NULL::varchar,
			NULL::numeric, NULL::bigint, NULL::text, NULL::timestamptz, NULL::timestamptz;
	END IF;
END
$$;

ANALYZE books_text;
