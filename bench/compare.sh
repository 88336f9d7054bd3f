# bench/compare.sh: sourced by run.sh, parquet.sh and ndjson.sh (not run on
# its own). Needs $root (the repo), $work (NVLUA_BENCH_DIR, with
# node_modules/@duckdb/node-api) and a built $root/build-release/nvlua.
# nvlua_once FILE N prints "nvlua tN: <MB> MB in <s> s = <MB/s> MB/s, peak
# RSS <MiB> MiB" for one whole `nvlua run metadata_extraction` process on a
# one-file source; compare FILE FORMAT RUNS T1 T21 T22 prints every run,
# alternating nvlua t1, duckdb t1, nvlua t2, duckdb t2, then best and spread
# of each and the three ratios with their targets, MET or MISSED; with T21
# and T22 empty, only nvlua t1 vs duckdb t1.
nvlua="$root/build-release/nvlua"
cp "$root/bench/duckdb_stats.mjs" "$work/"
nv_help=$("$nvlua" --help 2>&1 || true)
nv_threads=0
case "$nv_help" in *--threads*) nv_threads=1 ;; esac

nvlua_once() { # FILE N
  local file=$1 n=$2 run="$work/.nvlua_run" t0 t1 rc=0 rss="n/a" size
  size=$(stat -L -c %s "$file")
  rm -rf "$run" && mkdir -p "$run/src"
  ln -s "$(readlink -f "$file")" "$run/src/$(basename "$file")"
  local -a cmd=("$nvlua" run metadata_extraction)
  [ "$nv_threads" = 1 ] && cmd+=(--threads "$n")
  export NUVYN_JOB_PAYLOAD="{\"workflow_id\":\"bench\",\"sources\":[{\"source_id\":\"b\",\"data_source_path\":\"$run/src\"}]}"
  t0=$(date +%s%N)
  if [ -x /usr/bin/time ]; then
    (cd "$run" && /usr/bin/time -f %M -o "$run/rss" "${cmd[@]}" >"$run/out.json" 2>"$run/err") || rc=$?
  else
    (cd "$run" && "${cmd[@]}" >"$run/out.json" 2>"$run/err") || rc=$?
  fi
  t1=$(date +%s%N)
  unset NUVYN_JOB_PAYLOAD
  if [ "$rc" != 0 ] || ! grep -q '"success":true' "$run/out.json"; then
    echo "nvlua t$n: run failed (exit $rc, result/log in $run):" >&2
    tail -c 2000 "$run/out.json" >&2; tail -n 20 "$run/err" >&2
    exit 1
  fi
  if [ -s "$run/rss" ]; then
    rss=$(awk '{ v = $0 } END { printf "%.1f", v / 1024 }' "$run/rss")
  else
    local kb; kb=$(sed -n 's/.*"\(peak\|max\)_rss_kb":\([0-9]*\).*/\2/p' "$run/out.json" | head -n1)
    [ -n "$kb" ] && rss=$(awk -v k="$kb" 'BEGIN { printf "%.1f", k / 1024 }')
  fi
  awk -v n="$n" -v size="$size" -v ns=$((t1 - t0)) -v rss="$rss" 'BEGIN {
    s = ns / 1e9; printf "nvlua t%s: %.1f MB in %.3f s = %.1f MB/s, peak RSS %s MiB\n", n, size / 1e6, s, size / 1e6 / s, rss }'
}

duckdb_once() { # FILE FORMAT N
  (cd "$work" && node duckdb_stats.mjs "$1" "$2" "$3")
}

secs() { sed -n 's/.* in \([0-9.]*\) s = .*/\1/p'; }

compare() { # FILE FORMAT RUNS T1 [T21 T22]
  local file=$1 fmt=$2 runs=$3 tg1=$4 tg21=${5:-} tg22=${6:-} out i who size
  local nv1="" dk1="" nv2="" dk2="" two=1
  [ -z "$tg21" ] && two=0
  size=$(stat -L -c %s "$file")
  cat "$file" > /dev/null # warm the page cache
  echo "== nvlua vs DuckDB (same statistics) on $(basename "$file") ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB), $runs runs, alternating"
  [ "$nv_threads" = 1 ] || { [ "$two" = 1 ] && echo "(nvlua has no --threads option yet: its t2 runs are the same single-threaded run)"; }
  for i in $(seq "$runs"); do
    out=$(nvlua_once "$file" 1); echo "$out"; nv1="$nv1 $(secs <<<"$out")"
    out=$(duckdb_once "$file" "$fmt" 1); echo "$out"; dk1="$dk1 $(secs <<<"$out")"
    [ "$two" = 1 ] || continue
    out=$(nvlua_once "$file" 2)
    if [ "$nv_threads" = 1 ]; then echo "$out"; else echo "nvlua t2: (no --threads option yet: same as t1) ${out#nvlua t2: }"; fi
    nv2="$nv2 $(secs <<<"$out")"
    out=$(duckdb_once "$file" "$fmt" 2); echo "$out"; dk2="$dk2 $(secs <<<"$out")"
  done
  local -A best
  for who in nv1 dk1 nv2 dk2; do
    [ "$two" = 1 ] || [ "$who" = nv1 ] || [ "$who" = dk1 ] || continue
    local label=${who/nv/nvlua t}; label=${label/dk/duckdb t}
    out=$(awk -v who="$label" -v size="$size" '{
      best = $1; worst = $1
      for (i = 2; i <= NF; i++) { if ($i < best) best = $i; if ($i > worst) worst = $i }
      printf "%s: best %.3f s = %.1f MB/s, spread %.0f%% (worst %.3f s) over %d runs\n", who, best, size / 1e6 / best,
        (worst - best) * 100 / best, worst, NF }' <<<"${!who}")
    echo "$out"
    best[$who]=$(sed -n 's/.*best \([0-9.]*\) s.*/\1/p' <<<"$out")
  done
  ratio() { # NAME NUM-SECS DEN-SECS TARGET (throughput ratio = DEN time / NUM time)
    awk -v name="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
      r = b / a; printf "%-28s %.2f  (target >= %s) %s\n", name, r, t, r >= t ? "MET" : "MISSED" }'
  }
  echo "-- ratios of best throughput"
  ratio "nvlua t1 / duckdb t1:" "${best[nv1]}" "${best[dk1]}" "$tg1"
  [ "$two" = 1 ] || return 0
  ratio "nvlua t2 / nvlua t1:" "${best[nv2]}" "${best[nv1]}" "$tg21"
  [ "$nv_threads" = 1 ] || echo "  (no --threads option yet: both are the same single-threaded run, so this is noise)"
  ratio "nvlua t2 / duckdb t2:" "${best[nv2]}" "${best[dk2]}" "$tg22"
}
