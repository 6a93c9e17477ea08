# Sourced by .ci/run: a throwaway PostgreSQL server for the tests that need one.
#
# `start_postgres` installs Debian's `postgresql` package when no server binaries are found,
# creates a cluster in a temporary folder (trust authentication, listening on 127.0.0.1 only,
# on a private port), starts it and exports DATABASE_URL_TEST. `stop_postgres` stops it at
# once and removes the folder; .ci/run calls it from its EXIT trap. A DATABASE_URL_TEST that
# is already set is used as it is, and nothing is started.
# shellcheck shell=bash

PG_TMP=""
PG_BIN=""

# Runs a command as the cluster's owner: the `postgres` user when we are root (the server
# refuses to run as root), ourselves otherwise.
as_pg_owner () {
  if [ "$(id -u)" = 0 ]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

find_pg_bin () {
  local dir
  dir=$(find /usr/lib/postgresql -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && PG_BIN=$dir
}

start_postgres () {
  if [ -n "${DATABASE_URL_TEST:-}" ]; then
    echo "PostgreSQL: using the DATABASE_URL_TEST given"
    return
  fi
  if ! find_pg_bin; then
    echo "PostgreSQL: installing Debian's postgresql package"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq </dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql </dev/null >/dev/null
    find_pg_bin
  fi
  local port="${PG_TEST_PORT:-54329}"
  PG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/bridge-pg.XXXXXX")
  if [ "$(id -u)" = 0 ]; then chown postgres "$PG_TMP"; fi
  as_pg_owner "$PG_BIN/initdb" -D "$PG_TMP/data" -A trust -U postgres --no-sync >/dev/null
  as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  export DATABASE_URL_TEST="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL: $("$PG_BIN/postgres" --version) started for the tests on 127.0.0.1:$port (DATABASE_URL_TEST set)"
}

stop_postgres () {
  [ -n "$PG_TMP" ] || return 0
  as_pg_owner "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_TMP"
  PG_TMP=""
}
