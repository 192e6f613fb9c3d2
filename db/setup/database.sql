-- database.sql - makes the current database a bookstore database: run as a superuser CONNECTED TO
-- THAT DATABASE, after roles.sql, before the migrations (scripts/db-setup.sh, tests/support/ts.c).
--   - the database, its schema public and every object in it belong to bookstore_owner (a
--     database migrated before the roles existed, e.g. an older .run/pg, is adopted: its tables,
--     sequences, views and functions change owner; extensions' members are left alone);
--   - only the group roles catalog and orders (and the owner) may connect; PUBLIC may not.
-- What the services may do inside is granted by the migrations (0006_roles_grants.sql), not here.
-- Idempotent (changes only what differs) and serialised per database by an advisory lock, so
-- parallel setups of one database do not collide on its catalog rows.
DO $db$
DECLARE
	o record;
	owner_oid oid;
BEGIN
	SELECT oid INTO owner_oid FROM pg_roles WHERE rolname = 'bookstore_owner';
	IF owner_oid IS NULL THEN
		RAISE EXCEPTION 'role bookstore_owner does not exist: run db/setup/roles.sql first'
			USING ERRCODE = '42704';
	END IF;
	PERFORM pg_advisory_xact_lock(7424935611720184003);

	IF (SELECT datdba FROM pg_database WHERE datname = current_database()) <> owner_oid THEN
		EXECUTE format('ALTER DATABASE %I OWNER TO bookstore_owner', current_database());
	END IF;
	-- PostgreSQL 15 gives a new database's schema public to pg_database_owner (the owner above);
	-- a database from an older template may have another owner.
	IF (SELECT nspowner FROM pg_namespace WHERE nspname = 'public')
	   NOT IN (owner_oid, 'pg_database_owner'::regrole) THEN
		ALTER SCHEMA public OWNER TO bookstore_owner;
	END IF;

	-- Adoption. Tables, views and standalone sequences (a sequence owned by a column moves with
	-- its table; ALTER TABLE works on every one of these relation kinds)...
	FOR o IN
		SELECT c.oid::regclass AS name
		  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		 WHERE n.nspname = 'public' AND c.relowner <> owner_oid
		   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
		   AND NOT EXISTS (SELECT 1 FROM pg_depend d
				    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
				      AND d.deptype IN ('e', 'a', 'i'))
	LOOP
		EXECUTE format('ALTER TABLE %s OWNER TO bookstore_owner', o.name);
	END LOOP;
	-- ...and functions and procedures.
	FOR o IN
		SELECT p.oid::regprocedure AS name
		  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		 WHERE n.nspname = 'public' AND p.proowner <> owner_oid
		   AND NOT EXISTS (SELECT 1 FROM pg_depend d
				    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
				      AND d.deptype = 'e')
	LOOP
		EXECUTE format('ALTER ROUTINE %s OWNER TO bookstore_owner', o.name);
	END LOOP;

	IF EXISTS (SELECT 1 FROM pg_database d, aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
		    WHERE d.datname = current_database() AND a.grantee = 0) THEN
		EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
	END IF;
	IF NOT has_database_privilege('catalog', current_database(), 'CONNECT')
	   OR NOT has_database_privilege('orders', current_database(), 'CONNECT') THEN
		EXECUTE format('GRANT CONNECT ON DATABASE %I TO catalog, orders', current_database());
	END IF;
END
$db$;
