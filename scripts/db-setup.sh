#!/usr/bin/env bash
# db-setup.sh - the database setup that comes before the migrations (DECISIONS "Roles and secrets"):
#
#   scripts/db-setup.sh roles ADMIN_URL         the roles, once per server (db/setup/roles.sql):
#                                               owner bookstore_owner, NOLOGIN groups catalog and
#                                               orders, login members catalog_app and orders_app
#   scripts/db-setup.sh database ADMIN_URL DB   roles + database DB (created when missing, owned by
#                                               bookstore_owner, CONNECT for the groups only;
#                                               db/setup/database.sql), then prints the URLs below
#   scripts/db-setup.sh urls ADMIN_URL DB       prints, without touching the server:
#                                                 DATABASE_URL_OWNER=...    migrations, seed, backups
#                                                 DATABASE_URL_CATALOG=...  catalog-service
#                                                 DATABASE_URL_ORDERS=...   order-service
#                                               (shell-quoted: eval "$(scripts/db-setup.sh urls ...)")
#
# ADMIN_URL: a superuser's URL on the server's maintenance database, e.g. the one scripts/pg.sh
# start prints (postgresql://bookstore@127.0.0.1:PORT/postgres). The role URLs are ADMIN_URL with
# its user (and password) replaced by the role and its database by DB, query string kept: they carry
# no password, which suits the local servers of scripts/pg.sh (trust on loopback). Used by
# scripts/run.sh (make run), scripts/cluster.sh (make up) and tests/checks. Idempotent, and safe
# when several setups of one server or one database run at once (see the two SQL files). Roles are
# cluster-wide: the roles step is a no-op on a server that has them.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
setup_dir=${DB_SETUP_DIR:-$here/db/setup}

usage() { echo "usage: db-setup.sh roles ADMIN_URL | database ADMIN_URL DB | urls ADMIN_URL DB" >&2; exit 2; }
die() { echo "db-setup: $*" >&2; exit 1; }

# role_url URL ROLE DB: URL with user ROLE (no password) and database DB.
role_url() {
  local url=$1 role=$2 db=$3 scheme rest auth path query
  case $url in *://*) scheme=${url%%://*}://; rest=${url#*://} ;; *) die "not a URL: $url" ;; esac
  auth=${rest%%[/?]*}
  path=${rest#"$auth"}
  query=
  case $path in *\?*) query="?${path#*\?}" ;; esac
  auth=${auth##*@}
  printf '%s%s@%s/%s%s\n' "$scheme" "$role" "$auth" "$db" "$query"
}

print_urls() { # ADMIN_URL DB
  printf 'DATABASE_URL_OWNER=%q\n' "$(role_url "$1" bookstore_owner "$2")"
  printf 'DATABASE_URL_CATALOG=%q\n' "$(role_url "$1" catalog_app "$2")"
  printf 'DATABASE_URL_ORDERS=%q\n' "$(role_url "$1" orders_app "$2")"
}

# db_url ADMIN_URL DB: the admin URL on database DB (same user).
db_url() {
  local url=$1 db=$2 scheme rest auth path query=
  scheme=${url%%://*}://; rest=${url#*://}
  auth=${rest%%[/?]*}
  path=${rest#"$auth"}
  case $path in *\?*) query="?${path#*\?}" ;; esac
  printf '%s%s/%s%s\n' "$scheme" "$auth" "$2" "$query"
}

setup_roles() {
  psql "$1" -q -X -v ON_ERROR_STOP=1 -f "$setup_dir/roles.sql" >/dev/null \
    || die "creating the roles failed on ${1%%\?*}"
}

setup_database() { # ADMIN_URL DB
  local admin=$1 db=$2
  [[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name must match [a-z_][a-z0-9_]*: $db"
  setup_roles "$admin"
  if [ "$(psql "$admin" -X -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]; then
    # A concurrent setup may create it between the check and here: then it exists, which is fine.
    psql "$admin" -q -X -c "CREATE DATABASE $db OWNER bookstore_owner" >/dev/null 2>&1 ||
      [ "$(psql "$admin" -X -Atc "SELECT 1 FROM pg_database WHERE datname = '$db'")" = 1 ] ||
      die "CREATE DATABASE $db failed"
  fi
  psql "$(db_url "$admin" "$db")" -q -X -v ON_ERROR_STOP=1 -f "$setup_dir/database.sql" >/dev/null \
    || die "setting up database $db failed"
}

case ${2:-} in *://*) ;; *) usage ;; esac
case ${1:-} in
roles) [ $# = 2 ] || usage; setup_roles "$2" ;;
database) [ $# = 3 ] || usage; setup_database "$2" "$3"; print_urls "$2" "$3" ;;
urls) [ $# = 3 ] || usage; print_urls "$2" "$3" ;;
*) usage ;;
esac
