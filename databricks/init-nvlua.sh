#!/bin/bash
# Databricks cluster init script: installs nvlua's runtime dependencies and
# builds + installs nvlua from a source bundle on DBFS into /databricks/nvlua.
#
#   1. Upload the bundle:  git archive --format=tar.gz -o nvlua-src.tar.gz HEAD
#                          databricks fs cp nvlua-src.tar.gz dbfs:/executor/nvlua-src.tar.gz
#   2. Upload this script and nvlua_launcher.py to dbfs:/executor/
#   3. Cluster > Advanced options > Init scripts: dbfs:/executor/init-nvlua.sh
# Then jobs use spark_python_task.python_file = dbfs:/executor/nvlua_launcher.py.
# Idempotent: an installed nvlua of the same bundle is kept.
set -euo pipefail
BUNDLE=${NVLUA_BUNDLE:-/dbfs/executor/nvlua-src.tar.gz}
PREFIX=${NVLUA_PREFIX:-/databricks/nvlua}
STAMP="$PREFIX/.bundle.sha256"

sum=$(sha256sum "$BUNDLE" | cut -d' ' -f1)
if [ -x "$PREFIX/bin/nvlua" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$sum" ]; then
  echo "nvlua already installed from this bundle"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends build-essential cmake pkg-config \
  liblua5.4-dev lua-cjson-dev lua-cjson libcurl4-openssl-dev libpq-dev libmariadb-dev \
  unixodbc-dev libsqlite3-dev libreadline-dev zlib1g-dev libzstd-dev libsnappy-dev \
  libexpat1-dev libzip-dev >/dev/null

src=$(mktemp -d)
tar -xzf "$BUNDLE" -C "$src"
cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$src/build" -j"$(nproc)" --target nvlua >/dev/null
cmake --install "$src/build" --prefix "$PREFIX" >/dev/null
mkdir -p /dbfs/executor/logs /dbfs/executor/outbox
echo "$sum" > "$STAMP"
rm -rf "$src"
"$PREFIX/bin/nvlua" --version
