#!/usr/bin/env bash
# bench/parallel.sh [MB_PER_SOURCE]: 8 independent CSV sources (default
# 32 MB each) extracted sequentially (--workers 1) and on the pool
# (--workers = cores), alternately, NVLUA_BENCH_REPEAT times (default 3);
# prints the best wall time of each and the ratio (best of each is the
# figure least disturbed by other load on the machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mb=${1:-32}
work=${NVLUA_BENCH_DIR:-/tmp/nvlua-bench}/parallel
mkdir -p "$work"
cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-release" -j"$(nproc)" --target nvlua >/dev/null
cc -O2 -o "$work/gen_csv" "$root/bench/gen_csv.c"
sources=""
for i in 1 2 3 4 5 6 7 8; do
  f="$work/src${i}_${mb}mb.csv"
  [ -s "$f" ] || "$work/gen_csv" "$mb" > "$f"
  cat "$f" > /dev/null
  sources="$sources{\"source_id\":\"s$i\",\"data_source_path\":\"$f\"},"
done
export NUVYN_JOB_PAYLOAD="{\"workflow_id\":\"bench\",\"sources\":[${sources%,}]}"
cd "$work"
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
reps=${NVLUA_BENCH_REPEAT:-3}
best() { sort -n | head -n1; }
seq_all="" par_all=""
for _ in $(seq "$reps"); do
  seq_all="$seq_all $(t "$root/build-release/nvlua" run metadata_extraction --workers 1)"
  par_all="$par_all $(t "$root/build-release/nvlua" run metadata_extraction --workers "$(nproc)")"
done
seq_t=$(tr ' ' '\n' <<<"$seq_all" | grep . | best)
par_t=$(tr ' ' '\n' <<<"$par_all" | grep . | best)
echo "8 sources x ${mb} MB, best of $reps: sequential ${seq_t} s, parallel ($(nproc) workers) ${par_t} s, ratio $(echo "scale=2; $par_t / $seq_t" | bc)"
echo "  all runs: sequential${seq_all}; parallel${par_all}"
