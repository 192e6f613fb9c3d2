-- 0003_fault_isolation.sql - stock that cannot overflow, and a retry schedule per recovery item
-- (docs/consistency.md "Recovery pass").
--
-- 1. Stock is bigint. books.quantity is set through the API within 0..2147483647 and each
--    reservation takes at most 1,000,000, but a release adds a reservation's quantity back to
--    whatever the stock is at that moment: quantity 1, reserve 1, PUT 2147483647, release ->
--    2147483648, which overflowed the integer column (the release answered 409 and recovery
--    stalled on it). As bigint the sum of a book's quantity and all its reservations fits by
--    construction: reaching 2^63 would need ~4 billion PUT-to-the-maximum cycles, each followed by
--    reserving all of it. The API's input bounds are unchanged; a read may show a stock above
--    2147483647 after such a release (documented in the catalog's OpenAPI document).
-- 2. Every half-done item of the order saga (a failed/abandoned intent, a cancelled order whose
--    stock is not back) carries its own schedule:
--      recovery_attempts  releases tried so far;
--      next_attempt_at    not claimed before this (NULL: due now); after a transient failure
--                         now() + capped exponential backoff with jitter, after a permanent one
--                         now() + the parked cadence;
--      parked_at          set at the first permanent failure (4xx from the catalog); counted
--                         and aged in /metrics; cleared never (the row goes away when settled).
--    Claims are ordered by next_attempt_at, so a row that keeps failing is not first every pass.

-- The zero-crossing trigger's WHEN clause names the column: drop it around the change.
DROP TRIGGER books_count_upd ON books;
ALTER TABLE books ALTER COLUMN quantity TYPE bigint;
CREATE TRIGGER books_count_upd AFTER UPDATE ON books FOR EACH ROW
	WHEN ((OLD.quantity > 0) IS DISTINCT FROM (NEW.quantity > 0))
	EXECUTE FUNCTION books_count_upd();
ALTER TABLE reservations ALTER COLUMN quantity TYPE bigint;

-- The list function returns the book columns: its result type follows the column. A function's
-- result type cannot be changed in place, hence DROP + CREATE (same body as 0001 otherwise).
DROP FUNCTION IF EXISTS catalog_list_books(bigint, integer, text, text, text, text, numeric,
	numeric, boolean, text);
CREATE FUNCTION catalog_list_books(
	p_skip bigint, p_limit integer, p_search text, p_author text, p_title text, p_isbn text,
	p_min_price numeric, p_max_price numeric, p_in_stock boolean, p_sort text)
RETURNS TABLE (total bigint, id bigint, title varchar, author varchar, isbn varchar,
	       price numeric, quantity bigint, description text, created_at timestamptz,
	       updated_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
	w text := '';
	ord text;
	n bigint;
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
	IF p_search IS NOT NULL THEN
		w := w || ' AND (lower(b.title) LIKE $1 OR lower(b.author) LIKE $1 OR b.isbn LIKE $1)';
	END IF;
	IF p_author IS NOT NULL THEN
		w := w || ' AND lower(b.author) LIKE $2';
	END IF;
	IF p_title IS NOT NULL THEN
		w := w || ' AND lower(b.title) LIKE $3';
	END IF;
	IF p_isbn IS NOT NULL THEN
		w := w || ' AND b.isbn = $4';
	END IF;
	IF p_min_price IS NOT NULL THEN
		w := w || ' AND b.price >= $5';
	END IF;
	IF p_max_price IS NOT NULL THEN
		w := w || ' AND b.price <= $6';
	END IF;
	IF p_in_stock IS TRUE THEN
		w := w || ' AND b.quantity > 0';
	ELSIF p_in_stock IS FALSE THEN
		w := w || ' AND b.quantity = 0';
	END IF;

	IF p_search IS NOT NULL OR p_author IS NOT NULL OR p_title IS NOT NULL THEN
		-- Substring filters: the trigram index scans are the expensive part, so run them
		-- once, keep the matches, and both count and sort those. (MATERIALIZED matters: a
		-- plain count(*) OVER () with ORDER BY ... LIMIT can make the planner walk a sort
		-- index through every book.)
		RETURN QUERY EXECUTE
			'WITH m AS MATERIALIZED (SELECT * FROM books b WHERE true' || w || ')'
			' SELECT count(*) OVER (), b.id, b.title, b.author, b.isbn, b.price,'
			' b.quantity, b.description, b.created_at, b.updated_at FROM m b'
			' ORDER BY ' || ord || ' OFFSET $7 LIMIT $8'
			USING s, a, t, p_isbn, p_min_price, p_max_price, p_skip, p_limit;
		IF NOT FOUND THEN
			EXECUTE 'SELECT count(*) FROM books b WHERE true' || w
			INTO n USING s, a, t, p_isbn, p_min_price, p_max_price;
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
		EXECUTE 'SELECT count(*) FROM books b WHERE true' || w
		INTO n USING s, a, t, p_isbn, p_min_price, p_max_price;
	END IF;

	RETURN QUERY EXECUTE
		'SELECT $9::bigint, b.id, b.title, b.author, b.isbn, b.price, b.quantity,'
		' b.description, b.created_at, b.updated_at FROM books b WHERE true' || w
		|| ' ORDER BY ' || ord || ' OFFSET $7 LIMIT $8'
		USING s, a, t, p_isbn, p_min_price, p_max_price, p_skip, p_limit, n;
	IF NOT FOUND THEN
		RETURN QUERY SELECT n, NULL::bigint, NULL::varchar, NULL::varchar, NULL::varchar,
			NULL::numeric, NULL::bigint, NULL::text, NULL::timestamptz, NULL::timestamptz;
	END IF;
END
$$;

ALTER TABLE order_intents ADD COLUMN IF NOT EXISTS recovery_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE order_intents ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz;
ALTER TABLE order_intents ADD COLUMN IF NOT EXISTS parked_at timestamptz;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS recovery_attempts integer NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS parked_at timestamptz;

-- Recovery claims unsettled cancels by due time: the partial index now carries it.
DROP INDEX IF EXISTS orders_unsettled_idx;
CREATE INDEX IF NOT EXISTS orders_unsettled_idx ON orders (next_attempt_at NULLS FIRST, id)
  WHERE status = 'cancelled' AND NOT stock_released;

-- updated_at is public (GET /orders/{id}) and is the cancel time of an unsettled cancel (its
-- age in /metrics): recovery's bookkeeping columns must not move it. Fire only on the columns
-- the API shows.
DROP TRIGGER IF EXISTS orders_set_updated_at ON orders;
CREATE TRIGGER orders_set_updated_at BEFORE UPDATE OF status, book_id, book_title, customer_name,
  customer_email, quantity, unit_price, total_price ON orders
  FOR EACH ROW EXECUTE FUNCTION set_updated_at();
