#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL + PostGIS cluster for the cimkit PostGIS tests.
#
#   scripts/postgis-cluster.sh start DIR PORT   create DIR (initdb) if needed, start the server on
#                                               127.0.0.1:PORT with its socket in DIR, trust auth;
#                                               prints the DSN (postgresql://postgres@127.0.0.1:PORT/postgres)
#   scripts/postgis-cluster.sh stop DIR         stop the server and remove DIR
#
# PostgreSQL refuses to run as root: when run as root the cluster belongs to the user `nobody`.
# The binaries are looked up in PG_BINDIR, then /usr/lib/postgresql/<newest>/bin, then PATH.
# Exit codes: 0 ok, 3 no PostgreSQL binaries, 4 the server did not start (see DIR/server.log).
set -euo pipefail

action=${1:-}
dir=${2:-}
port=${3:-55432}
if [[ -z "$action" || -z "$dir" ]]; then
  echo "usage: $0 start DIR [PORT] | stop DIR" >&2
  exit 2
fi

bindir=${PG_BINDIR:-}
if [[ -z "$bindir" ]]; then
  newest=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$newest" ]]; then
    bindir=$newest
  elif command -v pg_ctl >/dev/null 2>&1; then
    bindir=$(dirname "$(command -v pg_ctl)")
  else
    echo "no PostgreSQL binaries (initdb, pg_ctl) found; install postgresql and postgis" >&2
    exit 3
  fi
fi

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

case "$action" in
  start)
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
      mkdir -p "$dir"
      [[ $(id -u) -eq 0 ]] && chown nobody "$dir"
      as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-sync \
        --no-locale >"$dir/initdb.log" 2>&1
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
      start >/dev/null; then
      echo "the server did not start; see $dir/server.log" >&2
      exit 4
    fi
    echo "postgresql://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "unknown action $action (start | stop)" >&2
    exit 2
    ;;
esac
