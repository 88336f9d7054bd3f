#!/usr/bin/env bash
# bench/run.sh [MB]: generates the deterministic ~1 GB 12-column CSV (or MB
# megabytes), profiles it with nvlua (release build), then runs DuckDB's
# SUMMARIZE read_csv_auto(...) with threads=1 on the same file, warm cache.
# Prints MB/s and peak RSS for both. Then (bench/compare.sh) RUNS times
# (env, default 3), alternating: a whole `nvlua run metadata_extraction`
# process at t1 and t2 and DuckDB's same-statistics query
# (bench/duckdb_stats.mjs) at threads=1 and 2; prints every run, best and
# spread of each, and the ratios of best throughput with their targets:
# nvlua t1 / duckdb t1 >= 2.5, nvlua t2 / nvlua t1 >= 1.8,
# nvlua t2 / duckdb t2 >= 1.5, each MET or MISSED.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mb=${1:-1024}
runs=${RUNS:-3}
work=${NVLUA_BENCH_DIR:-/tmp/nvlua-bench}
. "$root/bench/setup.sh"
bench_build
data="$work/bench_${mb}mb.csv"
[ -s "$data" ] || "$work/gen_csv" "$mb" > "$data"
cat "$data" > /dev/null # warm the page cache
"$root/build-release/nvlua" "$root/bench/profile_csv.lua" "$data"
bench_duckdb || echo "duckdb: npm install failed, peer skipped"
if [ -d "$work/node_modules/@duckdb/node-api" ]; then
  cp "$root/bench/duckdb_summarize.mjs" "$work/"
  (cd "$work" && node duckdb_summarize.mjs "$data")
fi
if [ ! -d "$work/node_modules/@duckdb/node-api" ]; then
  echo "duckdb: not installed, comparison skipped"; exit 1
fi
. "$root/bench/compare.sh"
compare "$data" csv "$runs" 2.5 1.8 1.5
