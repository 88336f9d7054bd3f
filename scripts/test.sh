#!/usr/bin/env bash
# Installs dependencies, builds nvlua twice (plain, and with ASan+UBSan),
# runs the whole suite (ctest + busted) on each build, runs each fuzz
# target briefly, and ends with one line: "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/scripts/install-deps.sh" || { echo "0 passed, 1 failed"; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
logdir=$(mktemp -d)

count_ctest() { # parses "N% tests passed, F tests failed out of T"
  local line t f
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$1" | tail -n1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  f=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  t=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + t - f))
  failed=$((failed + f))
}

count_busted() { # parses "S successes / F failures / E errors / P pending"
  local line s f e
  line=$(grep -E "^[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors?" "$1" | tail -n1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  read -r s f e <<<"$(sed -E 's/^([0-9]+) successe?s? \/ ([0-9]+) failures? \/ ([0-9]+) errors?.*/\1 \2 \3/' <<<"$line")"
  passed=$((passed + s))
  failed=$((failed + f + e))
}

suite() { # suite NAME BUILD_DIR [cmake args...]
  local name=$1 dir=$2
  shift 2
  echo "=== $name: build ($dir)"
  if ! { cmake -S "$root" -B "$dir" "$@" >/dev/null && cmake --build "$dir" -j"$jobs" >/dev/null; }; then
    cmake --build "$dir" 2>&1 | tail -n 40
    echo "=== $name: BUILD FAILED"
    failed=$((failed + 1))
    return
  fi
  echo "=== $name: ctest"
  (cd "$dir" && ctest --output-on-failure) 2>&1 | tee "$logdir/$name.ctest"
  count_ctest "$logdir/$name.ctest"
  echo "=== $name: busted"
  NVLUA_ROOT="$root" NVLUA_BIN="$dir/nvlua" NVLUA_BUILD_DIR="$dir" \
    "$dir/nvlua" "$(command -v busted)" -o utfTerminal 2>&1 | tee "$logdir/$name.busted"
  local status=${PIPESTATUS[0]}
  count_busted "$logdir/$name.busted"
  if [ "$status" -ne 0 ] && ! grep -qE " [1-9][0-9]* (failures?|errors?)" "$logdir/$name.busted"; then
    echo "=== $name: busted exited with status $status (sanitizer report?)"
    failed=$((failed + 1))
  fi
}

# real database servers on loopback for the store and source specs
servers=$(mktemp -d /tmp/nvlua-servers.XXXXXX)
npmdir=${NVLUA_NPM_DIR:-/tmp/nvlua-npm}
stop_servers() {
  "$root/tests/servers/pg.sh" stop "$servers" >/dev/null 2>&1 || true
  "$root/tests/servers/mariadb.sh" stop "$servers" >/dev/null 2>&1 || true
  "$root/tests/servers/objectstores.sh" stop "$npmdir" >/dev/null 2>&1 || true
}
trap stop_servers EXIT
for srv in pg mariadb objectstores; do
  dir=$servers
  [ "$srv" = objectstores ] && dir=$npmdir
  if exports=$("$root/tests/servers/$srv.sh" start "$dir" 2>"$logdir/$srv.log"); then
    eval "$exports"
  else
    tail -n 30 "$logdir/$srv.log"
    echo "=== $srv: SERVER FAILED TO START"
    failed=$((failed + 1))
  fi
done

# DuckDB (npm) for the Parquet comparisons, installed once into a cache dir
export NVLUA_TEST_DUCKDB=1

suite plain "$root/build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  suite sanitized "$root/build-asan" -DNVLUA_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug

# libFuzzer targets: a short run each from the seed corpus (clang only)
echo "=== fuzz"
if CC=clang cmake -S "$root" -B "$root/build-fuzz" -DNVLUA_FUZZ=ON -DCMAKE_C_COMPILER=clang >/dev/null &&
   cmake --build "$root/build-fuzz" -j"$jobs" >/dev/null; then
  for target in "$root"/build-fuzz/tests/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    corpus=$(mktemp -d)
    cp -r "$root/tests/fuzz/corpus/${name#fuzz_}/." "$corpus/" 2>/dev/null || true
    if "$target" -max_total_time="${NVLUA_FUZZ_SECONDS:-15}" "$corpus" >"$logdir/$name.log" 2>&1; then
      echo "fuzz $name: ok"; passed=$((passed + 1))
    else
      tail -n 30 "$logdir/$name.log"; echo "fuzz $name: FAILED"; failed=$((failed + 1))
    fi
    rm -rf "$corpus"
  done
else
  echo "fuzz: build failed"; failed=$((failed + 1))
fi

rm -rf "$logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
