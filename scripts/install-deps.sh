#!/usr/bin/env bash
# Installs nvlua's build and test dependencies from Debian 12 packages.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  liblua5.4-dev lua5.4 lua-cjson lua-cjson-dev lua-busted
  libcurl4-openssl-dev libpq-dev libmariadb-dev unixodbc-dev unixodbc
  libsqlite3-dev sqlite3 libreadline-dev libmicrohttpd-dev
  zlib1g-dev libzstd-dev libsnappy-dev libexpat1-dev libzip-dev
  postgresql mariadb-server python3 gzip zstd libssl-dev
  odbc-postgresql odbc-mariadb libsqliteodbc bc
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node.js and npm (the S3/Azure emulators, DuckDB fixtures): any recent node will do
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (or install sudo)" >&2; exit 1; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
