-- 0004_search_words_version.sql - fast substring search for common words (a word dictionary in
-- front of the books), and a row version for ETags and If-Match (docs/performance.md,
-- docs/consistency.md "HTTP caching").
--
-- Why: a term made of common words ("mutable mountain", "sophie lindqvist") has only common
-- trigrams, so the trigram indexes of 0001 read long posting lists (6-20 ms per query on
-- 1,000,000 books, 0.3-1.3 s p99 at 32 connections). Whole words are far more selective than
-- trigrams: the index below maps each word of a book's title and author to the book, and a small
-- dictionary of distinct words (a few hundred thousand short rows, trigram-indexed) turns a
-- search term into the words that contain it.
--
-- Exactness (the matching rules do not change, the dictionary is only a prefilter):
--   * Title and author are lower-cased and cut at spaces into words; so is the term. Every token
--     of the term (a maximal run without spaces) lies inside ONE word of any text that contains
--     the term. Hence "contains the term" implies "has, for every token, a word containing that
--     token". The list function uses that as a necessary condition (the word index) and then
--     applies the original LIKE to every candidate: no false positive survives, and no match is
--     lost as long as the dictionary holds every word of every book.
--   * The dictionary is complete: the migration fills it from the books in the same transaction
--     that creates the triggers; every INSERT (statement trigger) and every UPDATE that changes a
--     title or author (row trigger) adds the new words in the writing transaction. Words are
--     never removed (a stale word matches no book: harmless; the vocabulary bounds its size).
--   * catalog_list_books is STABLE, so its dictionary lookup and its books query read one snapshot:
--     a book it sees has its words in the dictionary it sees.

-- The words of a book, 't:' + title word, 'a:' + author word, lower-case, distinct.
CREATE OR REPLACE FUNCTION catalog_words(p_title text, p_author text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT array(SELECT DISTINCT w FROM (
		SELECT 't:' || x AS w FROM unnest(string_to_array(lower(p_title), ' ')) x WHERE x <> ''
		UNION ALL
		SELECT 'a:' || x FROM unnest(string_to_array(lower(p_author), ' ')) x WHERE x <> '') s)
$$;

-- Written by the catalog's triggers, so the catalog group role needs SELECT and INSERT on it:
-- its row is in 0006's role map (role_grants), applied when 0006 runs.
CREATE TABLE catalog_words_dict (word text PRIMARY KEY);
CREATE INDEX catalog_words_dict_trgm ON catalog_words_dict USING gin (word gin_trgm_ops)
	WITH (fastupdate = off);

INSERT INTO catalog_words_dict (word)
SELECT DISTINCT substr(w, 3) FROM books b, unnest(catalog_words(b.title, b.author)) w
ON CONFLICT DO NOTHING;

-- Exact for '&&' (no recheck), so a bitmap of candidates costs one posting list per word.
CREATE INDEX books_words ON books USING gin (catalog_words(title, author)) WITH (fastupdate = off);

-- Sorted, so two transactions adding the same new words take them in one order (no deadlock).
CREATE OR REPLACE FUNCTION catalog_words_ins() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO catalog_words_dict (word)
	SELECT DISTINCT substr(w, 3) FROM new_rows r, unnest(catalog_words(r.title, r.author)) w
	ORDER BY 1
	ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION catalog_words_upd() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO catalog_words_dict (word)
	SELECT DISTINCT substr(w, 3) FROM unnest(catalog_words(NEW.title, NEW.author)) w
	ORDER BY 1
	ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;

CREATE TRIGGER catalog_words_ins AFTER INSERT ON books REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION catalog_words_ins();
-- The WHEN clause is evaluated by the executor: stock updates run no trigger.
CREATE TRIGGER catalog_words_upd AFTER UPDATE ON books FOR EACH ROW
	WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.author IS DISTINCT FROM NEW.author)
	EXECUTE FUNCTION catalog_words_upd();

-- Row version: 1 on insert, +1 on every UPDATE (stock changes included: quantity is part of the
-- representation). ETag of GET /books/{id} and the If-Match precondition of PUT/PATCH. Not
-- indexed, so stock updates stay HOT. One BEFORE trigger sets updated_at and version together.
ALTER TABLE books ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1;

CREATE OR REPLACE FUNCTION books_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	NEW.version := OLD.version + 1;
	RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS books_set_updated_at ON books;
CREATE TRIGGER books_touch BEFORE UPDATE ON books FOR EACH ROW EXECUTE FUNCTION books_touch();

-- Up to two groups of dictionary keys for one substring filter: for every token of the pattern
-- of at least 3 characters, the words that contain it (prefixed 't:'/'a:' for the fields the
-- filter reads), keeping the two tokens with the fewest words. A token contained in no word at
-- all means no book can match: nomatch is true. Tokens shorter than 3 characters, or contained in
-- more than 500 words, are left to the LIKE (their word lists would cost more than they save).
-- k1 NULL: no usable token.
CREATE OR REPLACE FUNCTION catalog_word_keys(p_pattern text, p_prefixes text[],
	OUT k1 text[], OUT k2 text[], OUT nomatch boolean)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	tok text;
	ws text[];
	keys text[];
BEGIN
	nomatch := false;
	IF p_pattern IS NULL THEN
		RETURN;
	END IF;
	FOREACH tok IN ARRAY string_to_array(lower(p_pattern), ' ') LOOP
		CONTINUE WHEN length(replace(tok, '\', '')) < 3;
		-- EXECUTE: planned for this token (a generic plan could scan the dictionary).
		EXECUTE 'SELECT array_agg(d.word) FROM (SELECT word FROM catalog_words_dict'
			' WHERE word LIKE $1 LIMIT 501) d' INTO ws USING '%' || tok || '%';
		IF ws IS NULL THEN
			nomatch := true;
			RETURN;
		END IF;
		CONTINUE WHEN cardinality(ws) > 500;
		SELECT array_agg(p || w) INTO keys FROM unnest(p_prefixes) p, unnest(ws) w;
		IF k1 IS NULL OR cardinality(keys) < cardinality(k1) THEN
			k2 := k1;
			k1 := keys;
		ELSIF k2 IS NULL OR cardinality(keys) < cardinality(k2) THEN
			k2 := keys;
		END IF;
	END LOOP;
END
$$;

-- The '&&' conditions for the key groups in parameters $<first> and $<first + 1>.
CREATE OR REPLACE FUNCTION catalog_word_cond(k1 text[], k2 text[], first integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN k1 IS NULL THEN '' ELSE
		' AND catalog_words(b.title, b.author) && $' || first
		|| CASE WHEN k2 IS NULL THEN '' ELSE
			' AND catalog_words(b.title, b.author) && $' || (first + 1) END END
$$;

-- The catalogue list, as in 0003 (same arguments, rows and rules), with the word prefilter for
-- the substring filters. Three ways to answer a substring filter:
--   1. a token is in no dictionary word: total 0, no books query at all;
--   2. otherwise the candidates come from the word index ('&&' conditions) when a token has
--      usable keys, else from the trigram indexes of 0001 (all tokens shorter than 3 characters
--      or very common), and each is checked with the original LIKE. Up to 5,000 matches are
--      collected once, counted and sorted in one query; above that the total is an exact count
--      over the same candidates and the page a walk of the sort key's index filtered by the LIKE
--      alone (dense matches: a page needs few rows; 0001 materialised and sorted every match).
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
	w text := '';   -- the filters other than search, with the word conditions
	wp text := '';  -- all filters, LIKE only
	wsearch text := '';  -- the search filter, LIKE only
	src text;       -- with word keys: the candidate rows (a subquery named b)
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
		wsearch := ' AND b.isbn LIKE $1';
	ELSIF p_search IS NOT NULL THEN
		wsearch := ' AND (lower(b.title' || lw || ') LIKE $1 OR lower(b.author' || lw
			|| ') LIKE $1 OR b.isbn' || lw || ' LIKE $1)';
	END IF;
	wp := wsearch;
	IF p_author IS NOT NULL THEN
		w := w || catalog_word_cond(ka.k1, ka.k2, 13) || ' AND lower(b.author' || lw
			|| ') LIKE $2';
		wp := wp || ' AND lower(b.author' || lw || ') LIKE $2';
	END IF;
	IF p_title IS NOT NULL THEN
		w := w || catalog_word_cond(kt.k1, kt.k2, 15) || ' AND lower(b.title' || lw
			|| ') LIKE $3';
		wp := wp || ' AND lower(b.title' || lw || ') LIKE $3';
	END IF;
	IF p_isbn IS NOT NULL THEN
		w := w || ' AND b.isbn = $4';
		wp := wp || ' AND b.isbn = $4';
	END IF;
	IF p_min_price IS NOT NULL THEN
		w := w || ' AND b.price >= $5';
		wp := wp || ' AND b.price >= $5';
	END IF;
	IF p_max_price IS NOT NULL THEN
		w := w || ' AND b.price <= $6';
		wp := wp || ' AND b.price <= $6';
	END IF;
	IF p_in_stock IS TRUE THEN
		w := w || ' AND b.quantity > 0';
		wp := wp || ' AND b.quantity > 0';
	ELSIF p_in_stock IS FALSE THEN
		w := w || ' AND b.quantity = 0';
		wp := wp || ' AND b.quantity = 0';
	END IF;

	-- The candidates. A keyed search is two disjoint arms, so that every '&&' stays an index
	-- condition (under an OR the planner would recompute the words of every row): title or
	-- author matches from the word index, and isbn matches that are not among them.
	IF ks.k1 IS NOT NULL AND NOT ks.nomatch THEN
		src := '(SELECT * FROM books b WHERE true' || catalog_word_cond(ks.k1, ks.k2, 11)
			|| ' AND (lower(b.title || '''') LIKE $1 OR lower(b.author || '''') LIKE $1)' || w
			|| ' UNION ALL SELECT * FROM books b WHERE b.isbn LIKE $1 AND NOT'
			|| ' (lower(b.title || '''') LIKE $1 OR lower(b.author || '''') LIKE $1)' || w
			|| ') b';
	ELSE
		src := '(SELECT * FROM books b WHERE true' || wsearch
			|| w || ') b';
	END IF;

	IF p_search IS NOT NULL OR p_author IS NOT NULL OR p_title IS NOT NULL THEN
		RETURN QUERY EXECUTE
			'WITH m AS MATERIALIZED (SELECT * FROM ' || src || ' LIMIT 5001), c AS (SELECT count(*) AS n FROM m)'
			' SELECT c.n, b.id, b.title, b.author, b.isbn, b.price, b.quantity,'
			' b.description, b.created_at, b.updated_at FROM c LEFT JOIN LATERAL'
			' (SELECT * FROM m b ORDER BY ' || ord || ' OFFSET $7 LIMIT $8) b ON true'
			' WHERE c.n <= 5000'
			USING s, a, t, p_isbn, p_min_price, p_max_price, p_skip, p_limit, NULL::bigint,
			      NULL::text, ks.k1, ks.k2, ka.k1, ka.k2, kt.k1, kt.k2;
		IF FOUND THEN
			RETURN;
		END IF;
		EXECUTE 'SELECT count(*) FROM ' || src
		INTO n USING s, a, t, p_isbn, p_min_price, p_max_price, p_skip, p_limit, NULL::bigint,
			     NULL::text, ks.k1, ks.k2, ka.k1, ka.k2, kt.k1, kt.k2;
		-- Dense matches: the page walks the sort key's index with the LIKE as a filter.
		RETURN QUERY EXECUTE
			'SELECT $9::bigint, b.id, b.title, b.author, b.isbn, b.price, b.quantity,'
			' b.description, b.created_at, b.updated_at FROM books b WHERE true' || wp
			|| ' ORDER BY ' || ord || ' OFFSET $7 LIMIT $8'
			USING s, a, t, p_isbn, p_min_price, p_max_price, p_skip, p_limit, n;
		IF NOT FOUND THEN
			RETURN QUERY SELECT n, NULL::bigint, NULL::varchar, NULL::varchar,
				NULL::varchar, NULL::numeric, NULL::bigint, NULL::text,
				NULL::timestamptz, NULL::timestamptz;
		END IF;
		RETURN;
	END IF;

	IF p_isbn IS NULL AND p_min_price IS NULL AND p_max_price IS NULL THEN
		SELECT CASE WHEN p_in_stock IS NULL THEN sum(c.n)
			    WHEN p_in_stock THEN sum(c.in_stock)
			    ELSE sum(c.n - c.in_stock) END
		INTO n FROM books_count c;
	ELSE
		EXECUTE 'SELECT count(*) FROM books b WHERE true' || wp
		INTO n USING s, a, t, p_isbn, p_min_price, p_max_price;
	END IF;

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
