#!/usr/bin/env bash
# bench/pg_catalog.sh [URL]: times catalog extraction of a PostgreSQL source
# holding 10,000 tables x 10 columns (issue 4: under 2 s, with the number of
# statements sent). URL (or $NVLUA_BENCH_PG_URL) is a postgresql:// URL whose
# role may create databases; without one a throwaway server is started with
# tests/servers/pg.sh in a temp dir (port $NVLUA_BENCH_PG_PORT, 55499) and
# removed afterwards. Creates database nvbench_catalog (or schema nvbench in
# URL's database when that is refused), fills it once (later runs reuse it),
# then, after one warm-up run, runs the extraction $NVLUA_BENCH_RUNS (3)
# times in fresh processes, each printing tables, columns, wall seconds,
# statements and peak RSS, and finally the best time and the spread.
# On a server of your own the bench database stays for the next run:
# DROP DATABASE nvbench_catalog (and nvbench_catalog_analyzed) removes it.
#   NVLUA_BENCH_TABLES  tables to create (10000)
#   NVLUA_BENCH_ANALYZE 1: ANALYZE them first, as autovacuum leaves a live
#                       database (default: never analyzed, as created)
#   NVLUA_BIN           nvlua to use (default: builds build-release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
url=${1:-${NVLUA_BENCH_PG_URL:-}}
tables=${NVLUA_BENCH_TABLES:-10000}
runs=${NVLUA_BENCH_RUNS:-3}

if [ -n "${NVLUA_BIN:-}" ]; then
  nvlua=$NVLUA_BIN
else
  cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-release" -j"$(nproc)" >/dev/null
  nvlua=$root/build-release/nvlua
fi

if [ -z "$url" ]; then
  dir=$(mktemp -d /tmp/nvlua-bench-pg.XXXXXX)
  trap 'NVLUA_PG_PORT=$port "$root/tests/servers/pg.sh" stop "$dir" || true; rm -rf "$dir"' EXIT
  port=${NVLUA_BENCH_PG_PORT:-55499}
  url=$(NVLUA_PG_PORT=$port "$root/tests/servers/pg.sh" start "$dir" | sed -n "s/^export NVLUA_TEST_PG_URL='\(.*\)'$/\1/p")
  [ -n "$url" ] || { echo "pg_catalog.sh: could not start a server" >&2; exit 1; }
fi

setup=$("$nvlua" "$root/bench/pg_catalog.lua" setup "$url" "$tables")
bench_url=${setup%%$'\t'*}
schema=${setup#*$'\t'}

# one untimed run first: the first session after creating 10,000 tables
# rebuilds the server's relation-cache init file and reads the new catalog
# pages (printed, not counted)
"$nvlua" "$root/bench/pg_catalog.lua" run "$bench_url" "$schema" | sed 's/^pg_catalog:/pg_catalog warm-up:/'
times=()
for _ in $(seq "$runs"); do
  line=$("$nvlua" "$root/bench/pg_catalog.lua" run "$bench_url" "$schema")
  echo "$line"
  times+=("$(echo "$line" | sed -n 's/.* in \([0-9.]*\) s (.*/\1/p')")
done
printf '%s\n' "${times[@]}" | sort -n | awk '
  NR == 1 { best = $1 } { last = $1; n++ }
  END { printf "pg_catalog: %d runs, best %.3f s, worst %.3f s, spread %.3f s\n", n, best, last, last - best }'
