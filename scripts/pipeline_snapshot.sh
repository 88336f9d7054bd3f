#!/bin/sh
# pipeline_snapshot.sh NVLUA OUTDIR CORPUS - runs full_pipeline (and an
# extract.source call with parquet_footer_only) over every case below with
# the nvlua binary NVLUA and writes each result to OUTDIR/<case>.json,
# normalised: keys sorted, run-specific values (ids, timestamps, durations,
# temp paths) replaced. Two snapshots of the same corpus taken by two
# builds diff clean when the refactor kept the output identical:
#   scripts/pipeline_snapshot.sh build-before/nvlua /tmp/a /tmp/corpus
#   scripts/pipeline_snapshot.sh build/nvlua /tmp/b /tmp/corpus && diff -r /tmp/a /tmp/b
# CORPUS holds what the cases name (see the case list); examples/data and
# tests/fixtures/real come from the repository.
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
out=$2
corpus=$3
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

normalise() { # stdin JSON -> stdout JSON, stable
  python3 -c '
import json, re, sys
VOLATILE = {"job_id", "run_id", "workflow_id", "execution_time", "elapsed", "extraction_timestamp",
            "started_at", "finished_at", "timestamp", "created_at", "completed_at", "log_path", "run_record"}
def walk(v):
    if isinstance(v, dict):
        return {k: ("<volatile>" if k in VOLATILE else walk(x)) for k, x in v.items()}
    if isinstance(v, list):
        return [walk(x) for x in v]
    if isinstance(v, str):
        v = re.sub(r"job_[0-9a-f]{16}", "job_<id>", v)
        v = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "<time>", v) if "run" in v else v
    return v
doc = json.loads(sys.stdin.read())
print(json.dumps(walk(doc), indent=1, sort_keys=True, ensure_ascii=False))
'
}

run_case() { # name path source_type [config json]
  name=$1 path=$2 st=$3 cfg=${4:-}
  d=$work/$name
  mkdir -p "$d"
  set -- run full_pipeline "$path" "$st" --store "sqlite:$d/store.db" --log-dir "$d/logs" --fail-on never
  if [ -n "$cfg" ]; then
    printf '%s' "$cfg" > "$d/config.json"
    set -- "$@" --config "$d/config.json"
  fi
  (cd "$d" && "$bin" "$@" > "$d/out.json" 2> "$d/err.txt") || true
  normalise < "$d/out.json" > "$out/$name.json" || cp "$d/out.json" "$out/$name.raw"
}

run_case examples examples/data auto
run_case real "$root/tests/fixtures/real" auto
run_case real_json "$root/tests/fixtures/real" json
run_case xlsx "$corpus/xlsx" auto
run_case parquet "$corpus/parquet" auto
run_case parquet_forced "$corpus/parquet" parquet
run_case pqtest "$corpus/pqtest" auto
run_case mixed "$corpus/mixed" auto
run_case mixed_csv "$corpus/mixed" csv
run_case mixed_json "$corpus/mixed" json
run_case mixed_budget "$corpus/mixed" auto '{"max_rows": 1, "max_bytes": 40}'
run_case real_budget "$root/tests/fixtures/real" auto '{"max_rows": 5}'
run_case parquet_budget "$corpus/parquet" auto '{"max_rows": 100, "max_bytes": 5000}'

# the footer-only path (a library option, no CLI key): extract.source directly
for c in parquet mixed; do
  P="$corpus/$c" NVLUA_ROOT=$root "$bin" -e '
    local json = require "nv.json"
    local ctx = { log = { info = function() end, warning = function() end, error = function() end } }
    local m = require("nv.extract").source(ctx, { source_id = "s", data_source_path = os.getenv("P") },
      { parquet_footer_only = true, previews = { rows = 3, bytes = 256 } })
    io.write(json.encode(m))' < /dev/null > "$work/footer_$c.json" 2>"$work/footer_$c.err" || true
  normalise < "$work/footer_$c.json" > "$out/footer_$c.json" || cp "$work/footer_$c.err" "$out/footer_$c.err"
done
