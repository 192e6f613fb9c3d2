-- roles.sql - the bookstore's database roles, created ONCE PER POSTGRESQL SERVER (roles are
-- cluster-wide, shared by every database of the server). This is setup, not a migration: it needs
-- a superuser (or CREATEROLE) and runs before the migrations, from scripts/db-setup.sh (make run,
-- make up, the checks) and tests/support/ts.c (throwaway test databases). On Kubernetes the bundled
-- server's first start does the same (k8s/base/postgres-init.sh, with passwords); with an external
-- server your DBA runs the equivalent (docs/deploy.md "Secrets").
--
--   bookstore_owner  LOGIN    owns the databases and every object in them: runs the migrations
--                             (DDL) and the backups. Not a superuser.
--   catalog          NOLOGIN  group role of catalog-service: the migrations grant it DML on the
--                             catalogue's tables only (db/migrations/0006_roles_grants.sql)
--   orders           NOLOGIN  group role of order-service: DML on the order tables only
--   catalog_app      LOGIN    member of catalog: the catalog-service's connections
--   orders_app       LOGIN    member of orders: the order-service's connections
--
-- The names are those of k8s/base/postgres.env. No password is set: the local servers of
-- scripts/pg.sh trust loopback connections (a server that checks passwords gets them from its
-- administrator, e.g. ALTER ROLE catalog_app PASSWORD ...).
--
-- Idempotent, and safe when several setups run at once (parallel test processes creating their
-- databases on one server): nothing is done when every role and membership is already there;
-- otherwise a transaction-level advisory lock serialises the setups connected to the same database
-- (advisory locks are per database: every caller here connects to the server's maintenance database
-- `postgres`), and each CREATE/GRANT also tolerates losing a race to a setup connected elsewhere
-- (42710 duplicate_object, or 23505 when the other transaction committed the same name first).
-- Plain SQL, one statement, no psql meta-command: ts.c sends it with PQexec.
DO $roles$
DECLARE
	r record;
	ok boolean;
BEGIN
	SELECT count(*) = 5
	       AND pg_has_role('catalog_app', 'catalog', 'MEMBER')
	       AND pg_has_role('orders_app', 'orders', 'MEMBER')
	       AND bool_and(rolcanlogin = (rolname NOT IN ('catalog', 'orders')) AND NOT rolsuper)
	  INTO ok
	  FROM pg_roles
	 WHERE rolname IN ('bookstore_owner', 'catalog', 'orders', 'catalog_app', 'orders_app');
	IF ok THEN
		RETURN;
	END IF;

	PERFORM pg_advisory_xact_lock(7424935611720184002);
	FOR r IN
		SELECT * FROM (VALUES ('bookstore_owner', true, NULL),
				      ('catalog', false, NULL),
				      ('orders', false, NULL),
				      ('catalog_app', true, 'catalog'),
				      ('orders_app', true, 'orders')) AS v(name, login, member_of)
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r.name) THEN
			BEGIN
				EXECUTE format('CREATE ROLE %I %s NOSUPERUSER NOCREATEDB NOCREATEROLE',
					       r.name, CASE WHEN r.login THEN 'LOGIN' ELSE 'NOLOGIN' END);
			EXCEPTION WHEN duplicate_object OR unique_violation THEN
				NULL; -- created meanwhile by a setup connected to another database
			END;
		END IF;
		IF (SELECT rolcanlogin IS DISTINCT FROM r.login OR rolsuper
		      FROM pg_roles WHERE rolname = r.name) THEN
			EXECUTE format('ALTER ROLE %I %s NOSUPERUSER', r.name,
				       CASE WHEN r.login THEN 'LOGIN' ELSE 'NOLOGIN' END);
		END IF;
		IF r.member_of IS NOT NULL AND NOT pg_has_role(r.name, r.member_of, 'MEMBER') THEN
			BEGIN
				EXECUTE format('GRANT %I TO %I', r.member_of, r.name);
			EXCEPTION WHEN duplicate_object OR unique_violation THEN
				NULL;
			END;
		END IF;
	END LOOP;
END
$roles$;
