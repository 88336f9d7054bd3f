#!/bin/sh
# tests/servers/pg.sh - a throwaway PostgreSQL 15 on loopback for the specs.
#
#   tests/servers/pg.sh [start] [DIR]   install if missing (apt-get), initdb under
#                                       DIR/pg (default /tmp/nvlua-servers), start on
#                                       127.0.0.1:$NVLUA_PG_PORT (55432), create role nv
#                                       (password pw, scram-sha-256) and database testdb,
#                                       then print `export NVLUA_TEST_PG_URL=...`
#   tests/servers/pg.sh stop [DIR]      stop it (the data dir is left for inspection)
#   eval "$(tests/servers/pg.sh start /tmp/srv)"
# Idempotent: a server already running from DIR is reused. Runs as root (the
# server itself runs as the postgres user); progress goes to stderr.
set -eu
cmd=${1:-start}
case "$cmd" in start|stop) shift 2>/dev/null || true ;; *) cmd=start ;; esac
base=${1:-/tmp/nvlua-servers}
port=${NVLUA_PG_PORT:-55432}
D="$base/pg"
bin=/usr/lib/postgresql/15/bin

say() { echo "pg.sh: $*" >&2; }

if [ "$cmd" = stop ]; then
  if [ -f "$D/data/postmaster.pid" ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$D/data" -m fast -w stop >&2
  else
    say "not running from $D"
  fi
  exit 0
fi

if [ ! -x "$bin/initdb" ]; then
  say "installing postgresql"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2; }
fi

mkdir -p "$D"
chown postgres "$D"
chmod 755 "$base" "$D" 2>/dev/null || true
if [ ! -f "$D/data/PG_VERSION" ]; then
  say "initdb in $D/data"
  runuser -u postgres -- "$bin/initdb" -D "$D/data" --auth-local=trust \
    --auth-host=scram-sha-256 -U postgres >"$D/initdb.log" 2>&1 ||
    { cat "$D/initdb.log" >&2; exit 1; }
fi
if ! runuser -u postgres -- "$bin/pg_ctl" -D "$D/data" status >/dev/null 2>&1; then
  # a port another process holds: the next one, unless NVLUA_PG_PORT fixed it
  tries=0
  until say "starting on 127.0.0.1:$port" &&
        runuser -u postgres -- "$bin/pg_ctl" -D "$D/data" -l "$D/log" -w -t 30 \
          -o "-p $port -k $D -c listen_addresses=127.0.0.1" start >&2; do
    if [ -z "${NVLUA_PG_PORT:-}" ] && [ $tries -lt 20 ] && tail -5 "$D/log" | grep -q "already in use"; then
      tries=$((tries + 1))
      port=$((port + 1))
    else
      tail -20 "$D/log" >&2
      exit 1
    fi
  done
  echo "$port" >"$D/port"
elif [ -f "$D/port" ]; then
  port=$(cat "$D/port")
fi
url="postgresql://nv:pw@127.0.0.1:$port/testdb"
psql_su() { psql -X -q -v ON_ERROR_STOP=1 -h "$D" -p "$port" -U postgres "$@"; }
if [ "$(psql_su -d postgres -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'nv'")" != 1 ]; then
  psql_su -d postgres -c "SET password_encryption = 'scram-sha-256'; CREATE ROLE nv LOGIN CREATEDB PASSWORD 'pw'" >&2
fi
if [ "$(psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'testdb'")" != 1 ]; then
  psql_su -d postgres -c "CREATE DATABASE testdb OWNER nv" >&2
fi
echo "export NVLUA_TEST_PG_URL='$url'"
