#!/usr/bin/env bash
# Stops the oidc-provider that start_provider.sh started on OIDC_PORT, by its pidfile; with
# --all, every instance it started. A PID is signalled only while /proc/PID/cmdline still
# names provider.mjs (guards against a recycled PID).
set -uo pipefail
DIR="${OIDC_DIR:-/tmp/tl-rbac-oidc}"

stop_pidfile() {
  local pidfile="$1" pid i
  [ -f "$pidfile" ] || return 0
  pid="$(cat "$pidfile")"
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q provider.mjs; then
    kill -TERM "$pid"
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
}

if [ "${1:-}" = "--all" ]; then
  for pidfile in "$DIR"/run-*/provider.pid; do stop_pidfile "$pidfile"; done
else
  stop_pidfile "${OIDC_RUN_DIR:-$DIR/run-${OIDC_PORT:-5301}}/provider.pid"
fi
