-- 0002_orders_saga.sql - what the order saga needs (docs/consistency.md).
--
-- order_intents         a POST /orders in flight: recorded before the catalog reservation, turned
--                       into an orders row by ONE statement (delete intent + insert order) after
--                       it, or undone by the request / the recovery pass. Small and short-lived.
-- orders                only real orders, all visible through the API (no internal statuses).
-- orders.reservation_id the catalog reservation this order holds: 'o' || id || '-' || 32 random
--                       hex digits, unique by construction (the id is unique: intents and orders
--                       share the orders id sequence, and an id moves from one table to the other);
-- orders.stock_released for cancelled orders: whether the catalog got the stock back;
-- orders.recovery_lease a recovery pass holds the row until then (several replicas may recover).

ALTER TABLE orders ADD COLUMN IF NOT EXISTS reservation_id varchar(64);
ALTER TABLE orders ADD COLUMN IF NOT EXISTS stock_released boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS recovery_lease timestamptz;

-- Replace whatever status check 0001 may have declared with the public statuses.
DO $$
DECLARE
  c record;
BEGIN
  FOR c IN
    SELECT conname FROM pg_constraint
     WHERE conrelid = 'orders'::regclass AND contype = 'c'
       AND pg_get_constraintdef(oid) ILIKE '%status%'
  LOOP
    EXECUTE format('ALTER TABLE orders DROP CONSTRAINT %I', c.conname);
  END LOOP;
END
$$;

ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN
  ('pending', 'processing', 'confirmed', 'shipped', 'delivered', 'cancelled'));

-- Intents of POST /orders. id is taken from the orders id sequence and becomes the order's id.
-- No foreign key to books: an unknown book is reported by the catalog (404 -> 422), and the
-- orders row's foreign key is checked when the intent is finalized. Only the primary key is
-- indexed: recovery scans this table sequentially (it holds only the requests in flight).
-- state: 'reserving' (reservation may or may not exist in the catalog), 'failed' (being undone:
-- its reservation is released, then the row deleted).
CREATE TABLE IF NOT EXISTS order_intents (
  id             bigint PRIMARY KEY,
  reservation_id varchar(64) NOT NULL,
  book_id        bigint NOT NULL,
  customer_name  varchar(255) NOT NULL,
  customer_email varchar(254) NOT NULL,
  quantity       integer NOT NULL CHECK (quantity > 0),
  state          varchar(10) NOT NULL DEFAULT 'reserving' CHECK (state IN ('reserving', 'failed')),
  recovery_lease timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now()
);


-- GET /orders: newest first, optionally filtered by status, e-mail (case-insensitive) or book.
CREATE INDEX IF NOT EXISTS orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS orders_email_created_idx
  ON orders (lower(customer_email), created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS orders_status_created_idx ON orders (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS orders_book_created_idx ON orders (book_id, created_at DESC, id DESC);

-- Recovery looks only at cancels whose stock is not back yet: a small partial index.
CREATE INDEX IF NOT EXISTS orders_unsettled_idx ON orders (id)
  WHERE status = 'cancelled' AND NOT stock_released;

-- Idempotency-Key of POST /orders. request_hash is md5 of the canonical JSON body (sorted keys,
-- compact), so bodies are compared as JSON, not bytes. 'in_progress' rows of failed requests are
-- deleted by the request itself, or by recovery when stale; 'done' rows are kept >= 24 h.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  key          varchar(255) PRIMARY KEY,
  request_hash char(32) NOT NULL,
  order_id     bigint REFERENCES orders (id) ON DELETE CASCADE,
  state        varchar(12) NOT NULL DEFAULT 'in_progress'
               CHECK (state IN ('in_progress', 'done')),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Orders created before this migration hold no reservation: mark their stock as settled.
UPDATE orders SET stock_released = true WHERE status = 'cancelled' AND reservation_id IS NULL;

-- 0001's orders_book_id (book_id) duplicates the leading column of orders_book_created_idx, which
-- serves the foreign-key check on DELETE FROM books as well: one index less to maintain per order.
DROP INDEX IF EXISTS orders_book_id;
