#!/bin/sh
# tests/servers/objectstores.sh - the S3 and Azure Blob emulators (s3rver and
# azurite, from npm) on loopback for the object-store specs.
#
#   tests/servers/objectstores.sh [start] [DIR]  install azurite + s3rver with npm
#                                       into DIR (default /tmp/nvlua-npm) if missing,
#                                       start both on free 127.0.0.1 ports with their
#                                       data under DIR/s3-data and DIR/azure-data, wait
#                                       until they answer, then print
#                                         export NVLUA_TEST_S3_ENDPOINT=http://127.0.0.1:P
#                                         export NVLUA_TEST_S3_BUCKET=nvlua-test
#                                         export NVLUA_TEST_AZURE_BLOB=http://127.0.0.1:Q/devstoreaccount1
#   tests/servers/objectstores.sh stop [DIR]     stop both (data dirs are removed)
#   eval "$(tests/servers/objectstores.sh start /tmp/nvlua-npm)"
# Idempotent: emulators already running from DIR are reused. s3rver gets the
# bucket nvlua-test; azurite serves the published development account
# devstoreaccount1 (containers are created by the specs). Progress goes to
# stderr; stdout carries only the export lines.
set -eu
cmd=${1:-start}
case "$cmd" in start|stop) shift 2>/dev/null || true ;; *) cmd=start ;; esac
base=${1:-/tmp/nvlua-npm}
bucket=nvlua-test

say() { echo "objectstores.sh: $*" >&2; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_one() { # stop_one PIDFILE: the process group started by this script
  if alive "$1"; then
    pid=$(cat "$1")
    kill -TERM -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  fi
  rm -f "$1"
}

if [ "$cmd" = stop ]; then
  stop_one "$base/s3rver.pid"
  stop_one "$base/azurite.pid"
  rm -rf "$base/s3-data" "$base/azure-data" "$base/s3.port" "$base/azure.port"
  exit 0
fi

mkdir -p "$base"
bin="$base/node_modules/.bin"
if [ ! -x "$bin/s3rver" ] || [ ! -x "$bin/azurite-blob" ]; then
  command -v npm >/dev/null 2>&1 || { say "npm is not installed (apt-get install nodejs npm)"; exit 1; }
  say "installing azurite and s3rver into $base (npm)"
  [ -f "$base/package.json" ] || echo '{"name":"nvlua-emulators","private":true}' >"$base/package.json"
  (cd "$base" && npm install --no-audit --no-fund azurite s3rver >&2)
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # wait_http URL NAME LOG: any HTTP answer counts
  i=0
  while [ $i -lt 200 ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null || true)
    case "$code" in 000|"") ;; *) return 0 ;; esac
    sleep 0.1
    i=$((i + 1))
  done
  say "$2 did not answer on $1"
  tail -n 20 "$3" >&2 || true
  return 1
}

if ! alive "$base/s3rver.pid"; then
  port=$(free_port)
  rm -rf "$base/s3-data"
  mkdir -p "$base/s3-data"
  say "starting s3rver on 127.0.0.1:$port"
  # s3rver's continuation tokens use DES, which Node 17+ only has in the
  # OpenSSL legacy provider (without it a truncated listing is a 500)
  NODE_OPTIONS="${NODE_OPTIONS:+$NODE_OPTIONS }--openssl-legacy-provider" \
  setsid "$bin/s3rver" -d "$base/s3-data" -a 127.0.0.1 -p "$port" --silent \
    --configure-bucket "$bucket" >"$base/s3rver.log" 2>&1 </dev/null &
  echo $! >"$base/s3rver.pid"
  echo "$port" >"$base/s3.port"
fi
if ! alive "$base/azurite.pid"; then
  port=$(free_port)
  rm -rf "$base/azure-data"
  mkdir -p "$base/azure-data"
  say "starting azurite-blob on 127.0.0.1:$port"
  setsid "$bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --location "$base/azure-data" \
    --silent --disableTelemetry >"$base/azurite.log" 2>&1 </dev/null &
  echo $! >"$base/azurite.pid"
  echo "$port" >"$base/azure.port"
fi

s3=http://127.0.0.1:$(cat "$base/s3.port")
az=http://127.0.0.1:$(cat "$base/azure.port")
wait_http "$s3/" s3rver "$base/s3rver.log"
wait_http "$az/devstoreaccount1?comp=list" azurite "$base/azurite.log"
echo "export NVLUA_TEST_S3_ENDPOINT='$s3'"
echo "export NVLUA_TEST_S3_BUCKET='$bucket'"
echo "export NVLUA_TEST_AZURE_BLOB='$az/devstoreaccount1'"
