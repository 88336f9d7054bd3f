#!/bin/sh
# tests/servers/mariadb.sh - a throwaway MariaDB 10.11 on loopback for the specs.
#
#   tests/servers/mariadb.sh [start] [DIR]   install if missing (apt-get), initialise
#                                            DIR/mariadb (default /tmp/nvlua-servers), start
#                                            on 127.0.0.1:$NVLUA_MYSQL_PORT (53306), create
#                                            user nv (password pw) and database testdb,
#                                            then print `export NVLUA_TEST_MYSQL_URL=...`
#   tests/servers/mariadb.sh stop [DIR]      stop it
#   eval "$(tests/servers/mariadb.sh start /tmp/srv)"
# Idempotent: a server already running from DIR is reused. Runs as root;
# progress goes to stderr.
set -eu
cmd=${1:-start}
case "$cmd" in start|stop) shift 2>/dev/null || true ;; *) cmd=start ;; esac
base=${1:-/tmp/nvlua-servers}
port=${NVLUA_MYSQL_PORT:-53306}
D="$base/mariadb"

say() { echo "mariadb.sh: $*" >&2; }
alive() { [ -f "$D/pid" ] && kill -0 "$(cat "$D/pid")" 2>/dev/null; }

if [ "$cmd" = stop ]; then
  if alive; then
    pid=$(cat "$D/pid")
    kill "$pid"
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    rm -f "$D/pid"
  else
    say "not running from $D"
  fi
  exit 0
fi

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  say "installing mariadb-server"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >&2 ||
    { apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-server >&2; }
fi
PATH="$PATH:/usr/sbin"

mkdir -p "$D"
if [ ! -d "$D/data/mysql" ]; then
  say "initialising $D/data"
  mariadb-install-db --datadir="$D/data" --user=root --auth-root-authentication-method=normal \
    >"$D/install.log" 2>&1 || { cat "$D/install.log" >&2; exit 1; }
fi
if ! alive; then
  tries=0
  while :; do
    say "starting on 127.0.0.1:$port"
    rm -f "$D/sock"
    : >"$D/error.log"
    nohup mariadbd --no-defaults --datadir="$D/data" --port="$port" --bind-address=127.0.0.1 \
      --socket="$D/sock" --pid-file="$D/mariadbd.pid" --user=root --log-error="$D/error.log" \
      >/dev/null 2>&1 </dev/null &
    echo $! >"$D/pid"
    i=0
    while [ ! -S "$D/sock" ] && [ $i -le 300 ] && alive; do
      i=$((i + 1))
      sleep 0.1
    done
    [ -S "$D/sock" ] && alive && break
    # a port another process holds: the next one, unless NVLUA_MYSQL_PORT fixed it
    if [ -z "${NVLUA_MYSQL_PORT:-}" ] && [ $tries -lt 20 ] && ! alive && grep -qi "in use" "$D/error.log"; then
      tries=$((tries + 1))
      port=$((port + 1))
    else
      say "did not start"
      tail -20 "$D/error.log" >&2
      exit 1
    fi
  done
  echo "$port" >"$D/port"
elif [ -f "$D/port" ]; then
  port=$(cat "$D/port")
fi
url="mysql://nv:pw@127.0.0.1:$port/testdb"
mariadb --no-defaults -S "$D/sock" -uroot -e "
  CREATE USER IF NOT EXISTS 'nv'@'127.0.0.1' IDENTIFIED BY 'pw';
  CREATE USER IF NOT EXISTS 'nv'@'localhost' IDENTIFIED BY 'pw';
  GRANT ALL ON *.* TO 'nv'@'127.0.0.1';
  GRANT ALL ON *.* TO 'nv'@'localhost';
  CREATE DATABASE IF NOT EXISTS testdb;" >&2
echo "export NVLUA_TEST_MYSQL_URL='$url'"
