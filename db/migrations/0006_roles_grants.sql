-- 0006_roles_grants.sql - least privilege in the database (issue 8, DECISIONS "Roles and secrets").
--
-- The migrations run as the owner role (bookstore_owner; DDL, owns every table). Each service
-- connects as a login member of its NOLOGIN group role, and this file is where those group roles
-- get their rights: catalog-service (group `catalog`) the catalogue's tables only, order-service
-- (group `orders`) the order tables only, so "the order service never touches books" is enforced
-- by PostgreSQL (42501 permission denied). The roles themselves are created by setup, not here
-- (db/setup/roles.sql: roles are cluster-wide and need CREATEROLE, which the owner does not have).
--
-- role_grants is the one map of who may do what: one row per (table, group role) with the table
-- privileges. apply_role_grants() makes the database match it exactly, and is idempotent:
--   - for every existing table/view/sequence of schema public that the current user may manage,
--     each role named in the map ends up with exactly its listed privileges (stray grants are
--     revoked; a table not in the map gets nothing: fail closed);
--   - a role listed with INSERT on a table also gets USAGE on the sequences its columns own
--     (order_intents takes its id from the orders id sequence with nextval());
--   - a role that does not exist is skipped with a NOTICE: a single user-supplied DATABASE_URL
--     (development only) runs everything as that user, who owns the tables, and needs no grant;
--     the grants are applied when the roles exist (SELECT apply_role_grants() after creating them);
--   - map rows of tables that do not exist (yet) are ignored, so a row may name a table that a
--     migration of another branch creates.
-- THE RULE for later migrations (db/README.md): a migration that creates a table inserts its
-- rows into role_grants (the group role of the service that owns the table, and only the
-- privileges that service uses) and ends with SELECT apply_role_grants(). A table without a row
-- is granted to nobody; tests/integration/test_db_roles.c fails on such a table.
--
-- Why not ALTER DEFAULT PRIVILEGES: default privileges attach to the creating role and schema,
-- not to a service. Both services' tables live in schema public and are all created by the
-- owner, so a default grant would give every future table to both groups (the order service
-- could read a future catalogue table) - the opposite of least privilege. The default stays "no
-- privileges" (fail closed), and the map above is the explicit, reviewable grant.
--
-- Functions keep PostgreSQL's default EXECUTE for PUBLIC: they are SECURITY INVOKER, so calling
-- one gives no access to a table the caller may not touch (catalog_list_books run by orders_app
-- fails on books). apply_role_grants() itself is the owner's only.

CREATE TABLE IF NOT EXISTS role_grants (
	table_name text NOT NULL,
	role_name  text NOT NULL,
	privileges text NOT NULL CHECK (privileges ~
		'^(SELECT|INSERT|UPDATE|DELETE)(, (SELECT|INSERT|UPDATE|DELETE))*$'),
	PRIMARY KEY (table_name, role_name)
);

INSERT INTO role_grants (table_name, role_name, privileges) VALUES
	-- catalog-service
	('books',              'catalog', 'SELECT, INSERT, UPDATE, DELETE'),
	('books_count',        'catalog', 'SELECT, UPDATE'),  -- fixed slots, kept by triggers
	('reservations',       'catalog', 'SELECT, INSERT, UPDATE, DELETE'),
	('catalog_words_dict', 'catalog', 'SELECT, INSERT, UPDATE, DELETE'),  -- 0004 (search words)
	('audit_log',          'catalog', 'SELECT, INSERT'),  -- 0005: append-only
	-- order-service
	('orders',             'orders',  'SELECT, INSERT, UPDATE, DELETE'),
	('order_intents',      'orders',  'SELECT, INSERT, UPDATE, DELETE'),
	('idempotency_keys',   'orders',  'SELECT, INSERT, UPDATE, DELETE'),
	('audit_log',          'orders',  'SELECT, INSERT')   -- 0005: append-only
ON CONFLICT (table_name, role_name) DO UPDATE SET privileges = EXCLUDED.privileges;

-- Returns how many (relation, role) pairs it changed. Runs as its caller (the owner).
CREATE OR REPLACE FUNCTION apply_role_grants() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
	g record;
	rel record;
	want text;
	have text;
	changed integer := 0;
BEGIN
	FOR g IN SELECT DISTINCT m.role_name, r.oid AS role_oid
		   FROM role_grants m LEFT JOIN pg_roles r ON r.rolname = m.role_name
		  ORDER BY m.role_name
	LOOP
		IF g.role_oid IS NULL THEN
			RAISE NOTICE 'role_grants: role "%" does not exist (a single-user development '
				     'database?): its grants are skipped', g.role_name;
			CONTINUE;
		END IF;
		IF NOT has_schema_privilege(g.role_name, 'public', 'USAGE') THEN
			EXECUTE format('GRANT USAGE ON SCHEMA public TO %I', g.role_name);
		END IF;
		FOR rel IN
			SELECT c.oid, c.oid::regclass AS name, c.relname, c.relkind
			  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
			   AND pg_has_role(c.relowner, 'USAGE')
			 ORDER BY c.relname
		LOOP
			IF rel.relkind = 'S' THEN
				-- USAGE on a sequence owned by a column of a table the role may INSERT into.
				SELECT CASE WHEN count(*) > 0 THEN 'USAGE' END INTO want
				  FROM pg_depend d
				  JOIN pg_class t ON t.oid = d.refobjid
				  JOIN role_grants m ON m.table_name = t.relname AND m.role_name = g.role_name
				 WHERE d.classid = 'pg_class'::regclass AND d.objid = rel.oid
				   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
				   AND m.privileges LIKE '%INSERT%';
			ELSE
				SELECT string_agg(p, ', ' ORDER BY p) INTO want
				  FROM role_grants m, unnest(string_to_array(m.privileges, ', ')) AS p
				 WHERE m.table_name = rel.relname AND m.role_name = g.role_name;
			END IF;
			SELECT string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type) INTO have
			  FROM pg_class c, aclexplode(c.relacl) AS a
			 WHERE c.oid = rel.oid AND a.grantee = g.role_oid;
			IF want IS NOT DISTINCT FROM have THEN
				CONTINUE;
			END IF;
			IF have IS NOT NULL THEN
				EXECUTE format('REVOKE ALL ON %s %s FROM %I',
					       CASE WHEN rel.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
					       rel.name, g.role_name);
			END IF;
			IF want IS NOT NULL THEN
				EXECUTE format('GRANT %s ON %s %s TO %I', want,
					       CASE WHEN rel.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
					       rel.name, g.role_name);
			END IF;
			changed := changed + 1;
		END LOOP;
	END LOOP;
	RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION apply_role_grants() FROM PUBLIC;

SELECT apply_role_grants();
