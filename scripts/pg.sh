#!/usr/bin/env bash
# pg.sh start|stop|url DIR [PORT] - a private PostgreSQL server kept under DIR (data, socket, log).
# As root it runs the server as the `postgres` user (PostgreSQL refuses root). `start` and `url`
# print the superuser's URL (also written to DIR/url); `stop` prints nothing. Picks a free port
# when none given. Loopback connections are trusted (no passwords). On the first start (a fresh
# data folder) it creates the bookstore's roles once for the server (scripts/db-setup.sh roles:
# bookstore_owner, groups catalog/orders, logins catalog_app/orders_app); PG_SETUP_ROLES=0 leaves
# the server bare. Databases: scripts/db-setup.sh database URL NAME.
set -euo pipefail
cmd=${1:?usage: pg.sh start|stop|url DIR [PORT]}
dir=${2:?usage: pg.sh start|stop|url DIR [PORT]}
mkdir -p "$(dirname "$dir")"
dir=$(cd "$(dirname "$dir")" && pwd)/$(basename "$dir")

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
  for v in 17 16 15; do
    [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ] && { bindir=/usr/lib/postgresql/$v/bin; break; }
  done
fi
[ -n "$bindir" ] || { echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((15000 + RANDOM % 17000))  # below the ephemeral range (32768+)
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "pg.sh: no free port" >&2; exit 1
}

case "$cmd" in
start)
  if [ -f "$dir/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    cat "$dir/url"; exit 0
  fi
  port=${3:-$(free_port)}
  if [ "$(id -u)" = 0 ]; then
    install -d -o postgres -g postgres "$dir"
  else
    mkdir -p "$dir"
  fi
  fresh=0
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    fresh=1
    as_pg "$bindir/initdb" -D "$dir/data" -U bookstore --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  # The free-port probe can race with other listeners: when the port was not given, retry the
  # start on another port a few times.
  attempt=1
  until as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c shared_buffers=256MB -c fsync=${PG_FSYNC:-on} -c synchronous_commit=${PG_SYNC_COMMIT:-on}" start >/dev/null; do
    if [ -n "${3:-}" ] || [ "$attempt" -ge 5 ]; then
      echo "pg.sh: PostgreSQL did not start on port $port; last lines of $dir/log:" >&2
      tail -20 "$dir/log" >&2; exit 1
    fi
    attempt=$((attempt + 1)); port=$(free_port)
  done
  echo "postgresql://bookstore@127.0.0.1:$port/postgres" > "$dir/url.tmp"
  if [ "$fresh" = 1 ] && [ "${PG_SETUP_ROLES:-1}" != 0 ]; then
    "$(dirname "${BASH_SOURCE[0]}")/db-setup.sh" roles "$(cat "$dir/url.tmp")" \
      || { echo "pg.sh: creating the roles failed" >&2; exit 1; }
  fi
  mv "$dir/url.tmp" "$dir/url"
  echo "$port" > "$dir/port"
  cat "$dir/url"
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  ;;
url)
  cat "$dir/url"
  ;;
*)
  echo "usage: pg.sh start|stop|url DIR [PORT]" >&2; exit 2 ;;
esac
