# bench/setup.sh: sourced by the benchmarks (not run on its own). Needs
# $root (the repo) and $work (NVLUA_BENCH_DIR).
# bench_build: the release nvlua ($root/build-release) and $work/gen_csv.
# bench_duckdb: @duckdb/node-api in $work (installed once); status 1 when
# the install failed.
bench_build() {
  mkdir -p "$work"
  cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-release" -j"$(nproc)" >/dev/null
  cc -O2 -o "$work/gen_csv" "$root/bench/gen_csv.c"
}

bench_duckdb() {
  [ -d "$work/node_modules/@duckdb/node-api" ] && return 0
  (cd "$work" && { [ -f package.json ] || echo '{"private":true,"type":"module"}' > package.json; } &&
   npm install --no-audit --no-fund @duckdb/node-api >/dev/null 2>&1)
}
