-- 0005_authz.sql - access control (issue 8, docs/auth.md): an append-only audit log of every
-- write, and Idempotency-Key scoped to the caller.
--
-- audit_log       one row per book create/update/delete and per order create/status change:
--                 who (the token's sub), what (action), which (entity, entity_id), when (at), the
--                 request id, and the changed fields as {"field": {"before": x, "after": y}}.
--                 Rows are written by the triggers below, fired by the very statement that makes
--                 the change (so in its transaction: a change without its audit row, or the
--                 reverse, cannot commit). The statement names its actor with
--                 set_config('bookstore.actor', sub, true) in a CTE it joins (book_repo.c,
--                 order_repo.c); a write without an actor (reservations taking stock, the
--                 recovery pass settling a cancel) is not a user action and is not audited.
--                 version: the entity's row version when it has one (DECISIONS.md).
--                 Append-only: UPDATE, DELETE and TRUNCATE are refused by a trigger (the
--                 database roles, later, also grant INSERT/SELECT only). Each service reads only
--                 its own entities (the catalog 'book', the order service 'order'). No token is
--                 ever stored.
-- idempotency_keys.owner  the sub of the caller who used the key: keys are unique per caller,
--                 so another caller reusing a key starts its own request and never sees
--                 someone else's order.

CREATE TABLE IF NOT EXISTS audit_log (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor      varchar(255) NOT NULL,
  action     varchar(10) NOT NULL CHECK (action IN ('create', 'update', 'delete')),
  entity     varchar(20) NOT NULL,
  entity_id  bigint NOT NULL,
  changes    jsonb NOT NULL,
  request_id varchar(64),
  -- The entity's row version after the change (before it, for a delete) when the entity has a
  -- version column (DECISIONS.md: ETags and If-Match reuse it); NULL otherwise.
  version    bigint
);
CREATE INDEX IF NOT EXISTS audit_log_entity_idx ON audit_log (entity, entity_id, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_actor_idx ON audit_log (entity, actor, id DESC);
CREATE INDEX IF NOT EXISTS audit_log_recent_idx ON audit_log (entity, id DESC);

CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = '42501';
END
$$;
DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The fields of before/after (row images as jsonb; NULL for a create's before or a delete's
-- after) that differ, minus the bookkeeping columns.
CREATE OR REPLACE FUNCTION audit_diff(before jsonb, after jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(k, jsonb_build_object('before', before -> k,
                                                         'after', after -> k)), '{}'::jsonb)
    FROM (SELECT jsonb_object_keys(coalesce(before, after)) AS k) keys
   WHERE k NOT IN ('created_at', 'updated_at', 'recovery_lease', 'stock_released',
                   'reservation_id', 'version')
     AND (before -> k) IS DISTINCT FROM (after -> k)
$$;

-- Writes the audit row of a user's change (TG_ARGV[0] is the entity name). Only when the
-- statement named an actor: current_setting(..., true) is NULL when never set and '' after the
-- transaction that set it locally ended.
CREATE OR REPLACE FUNCTION audit_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  who text := coalesce(current_setting('bookstore.actor', true), '');
  b jsonb;
  a jsonb;
  d jsonb;
BEGIN
  IF who = '' THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN b := to_jsonb(OLD); END IF;
  IF TG_OP <> 'DELETE' THEN a := to_jsonb(NEW); END IF;
  d := audit_diff(b, a);
  IF TG_OP = 'UPDATE' AND d = '{}'::jsonb THEN
    RETURN NULL;
  END IF;
  INSERT INTO audit_log (actor, action, entity, entity_id, changes, request_id, version)
  VALUES (who, CASE TG_OP WHEN 'INSERT' THEN 'create' WHEN 'UPDATE' THEN 'update'
                 ELSE 'delete' END,
          TG_ARGV[0], coalesce(a ->> 'id', b ->> 'id')::bigint, d,
          nullif(current_setting('bookstore.request_id', true), ''),
          (coalesce(a, b) ->> 'version')::bigint);
  RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS books_audit ON books;
CREATE TRIGGER books_audit AFTER INSERT OR UPDATE OR DELETE ON books
  FOR EACH ROW EXECUTE FUNCTION audit_row('book');
DROP TRIGGER IF EXISTS orders_audit ON orders;
CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE ON orders
  FOR EACH ROW EXECUTE FUNCTION audit_row('order');

-- Idempotency keys belong to a caller. Existing keys (made before authentication) get ''.
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS owner varchar(255) NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT IF EXISTS idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_pkey PRIMARY KEY (owner, key);
