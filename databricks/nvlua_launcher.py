#!/usr/bin/env python3
"""Databricks `spark_python_task` launcher for nvlua.

Point a job's `python_file` at this file (e.g. dbfs:/executor/nvlua_launcher.py);
its `parameters` are the seed executor's CLI (spec 001):

    ["full_pipeline", "/Volumes/main/default/sales_data/", "parquet", "tenant", "--write-to-db"]

The launcher runs `nvlua run <parameters...>` (the job's JSON result on
stdout, logs on stderr) and exits with nvlua's status, so the Databricks run
fails exactly when the job fails. nvlua is found at $NVLUA_BIN, then
/databricks/nvlua/bin/nvlua (where the init script installs it), then PATH.
"""
import os
import shutil
import subprocess
import sys

CANDIDATES = ("/databricks/nvlua/bin/nvlua", "/usr/local/bin/nvlua")


def find_nvlua():
    explicit = os.environ.get("NVLUA_BIN")
    if explicit:
        return explicit
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("nvlua")


def main(argv):
    nvlua = find_nvlua()
    if not nvlua:
        sys.stderr.write("nvlua launcher: nvlua not found (set NVLUA_BIN or run the init script)\n")
        return 2
    if not argv:
        sys.stderr.write("nvlua launcher: no job type given in the task's parameters\n")
        return 2
    # the environment passes through: on a cluster DATABRICKS_RUNTIME_VERSION
    # puts logs and the outbox on DBFS, DATABRICKS_* select the SQL store
    proc = subprocess.run([nvlua, "run", *argv], check=False)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
