-- 0002_orders_saga.sql - what the order saga needs (docs/consistency.md).
--
-- orders.reservation_id  the catalog reservation this order holds (random, fresh per attempt);
-- orders.stock_released  for cancelled/failed orders: whether the catalog got the stock back;
-- orders.recovery_lease  a recovery pass holds the row until then (several replicas may recover);
-- statuses 'reserving' (intent recorded, reservation in flight) and 'failed' (intent being
-- undone) are internal: the API never shows them.

ALTER TABLE orders ADD COLUMN IF NOT EXISTS reservation_id varchar(64);
ALTER TABLE orders ADD COLUMN IF NOT EXISTS stock_released boolean NOT NULL DEFAULT false;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS recovery_lease timestamptz;

CREATE UNIQUE INDEX IF NOT EXISTS orders_reservation_id_key ON orders (reservation_id);

-- Replace whatever status check 0001 may have declared with the full list of saga states.
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
  ('reserving', 'pending', 'processing', 'confirmed', 'shipped', 'delivered', 'cancelled',
   'failed'));

-- GET /orders: newest first, optionally filtered by status, e-mail (case-insensitive) or book.
CREATE INDEX IF NOT EXISTS orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS orders_email_created_idx
  ON orders (lower(customer_email), created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS orders_status_created_idx ON orders (status, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS orders_book_created_idx ON orders (book_id, created_at DESC, id DESC);

-- Recovery looks only at unfinished rows: a small partial index keeps its scan cheap.
CREATE INDEX IF NOT EXISTS orders_unsettled_idx ON orders (id)
  WHERE status IN ('reserving', 'failed') OR (status = 'cancelled' AND NOT stock_released);

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
