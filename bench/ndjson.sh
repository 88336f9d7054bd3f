#!/usr/bin/env bash
# bench/ndjson.sh [MB]: the NDJSON benchmark. Makes (once, kept in
# $NVLUA_BENCH_DIR, default /tmp/nvlua-bench) bench_<MB>mb.ndjson, about MB
# megabytes (default 1024) of the CSV benchmark's data (bench/gen_csv.c,
# deterministic) rewritten by DuckDB as NDJSON (bench/csv_to_ndjson.mjs; the
# CSV size is scaled by the NDJSON/CSV size ratio of a 1 MB probe). Then
# (bench/compare.sh) RUNS times (env, default 3), alternating: a whole
# `nvlua run metadata_extraction` process on it and DuckDB's same-statistics
# query over read_json_auto (bench/duckdb_stats.mjs) with threads=1. Prints
# every run, best and spread of each, and the ratio of best throughput
# nvlua t1 / duckdb t1 with its target (>= 2), MET or MISSED.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mb=${1:-1024}
runs=${RUNS:-3}
work=${NVLUA_BENCH_DIR:-/tmp/nvlua-bench}
. "$root/bench/setup.sh"
bench_build
bench_duckdb || { echo "duckdb: npm install failed"; exit 1; }
cp "$root/bench/csv_to_ndjson.mjs" "$work/"
data="$work/bench_${mb}mb.ndjson"
if [ ! -s "$data" ]; then
  tmp="$work/.ndjson_src_$$.csv"
  trap 'rm -f "$tmp" "$tmp.ndjson"' EXIT
  "$work/gen_csv" 1 > "$tmp"
  (cd "$work" && node csv_to_ndjson.mjs "$tmp" "$tmp.ndjson")
  csv_mb=$(awk -v mb="$mb" -v c="$(stat -c %s "$tmp")" -v j="$(stat -c %s "$tmp.ndjson")" \
    'BEGIN { printf "%.3f", mb * c / j }')
  "$work/gen_csv" "$csv_mb" > "$tmp"
  (cd "$work" && node csv_to_ndjson.mjs "$tmp" "$data.part") && mv "$data.part" "$data"
  rm -f "$tmp" "$tmp.ndjson"
fi
. "$root/bench/compare.sh"
compare "$data" json "$runs" 2
