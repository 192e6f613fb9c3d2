#!/bin/sh
# postgres-init.sh - first-start setup of the bundled PostgreSQL (sourced by the image's entrypoint
# from /docker-entrypoint-initdb.d, once, on an empty data volume, as the superuser).
# Creates, idempotently:
#   OWNER_ROLE                  LOGIN, owns the database and its public schema: runs the migrations
#                               (Secret bookstore-db-owner) and the backups;
#   CATALOG_GROUP, ORDERS_GROUP NOLOGIN group roles the migrations GRANT to;
#   CATALOG_LOGIN, ORDERS_LOGIN LOGIN members of those groups (Secrets bookstore-db-catalog/-orders).
# Names from postgres.env, passwords from the Secret bookstore-postgres. Later password changes:
# docs/deploy.md "Rotating database passwords".
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v db="$POSTGRES_DB" -v owner="$OWNER_ROLE" -v owner_pw="$OWNER_PASSWORD" \
  -v cgroup="$CATALOG_GROUP" -v clogin="$CATALOG_LOGIN" -v cpw="$CATALOG_PASSWORD" \
  -v ogroup="$ORDERS_GROUP" -v ologin="$ORDERS_LOGIN" -v opw="$ORDERS_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'owner', :'owner_pw')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I NOLOGIN', r) FROM unnest(ARRAY[:'cgroup', :'ogroup']) AS r
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', :'clogin', :'cpw', :'cgroup')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'clogin') \gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE %I', :'ologin', :'opw', :'ogroup')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'ologin') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'db', :'owner') \gexec
SELECT format('ALTER SCHEMA public OWNER TO %I', :'owner') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I, %I', :'db', :'cgroup', :'ogroup') \gexec
SELECT format('GRANT USAGE ON SCHEMA public TO %I, %I', :'cgroup', :'ogroup') \gexec
SQL
