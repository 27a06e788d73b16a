#!/usr/bin/env bash
# `make demo-stop`: end what `make demo` left running, by the pid files in its directory.
#
#   scripts/demo-stop.sh [--quiet]       (CHATSPAN_DEMO_DIR, default .demo)
#
# Each pid file holds `PID START NAME` (scripts/demo_processes.py). A process is signalled only
# while its start time still matches, so a pid the system has since given to another process is
# left alone. Each demo process leads its own process group: SIGTERM goes to the group, SIGKILL
# follows after 15 s.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${CHATSPAN_DEMO_DIR:-.demo}
quiet=${1:-}

start_time() {
  local stat rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${stat##*) }
  # Field 22 of /proc/PID/stat, counted after the command name: the 20th of what follows it.
  awk '{ print $20 }' <<<"$rest"
}

state() {
  local stat rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${stat##*) }
  echo "${rest%% *}"
}

# A signalled process that nobody has reaped yet (a zombie) counts as gone.
alive() {
  kill -0 "$1" 2>/dev/null && [ "$(state "$1" || echo ?)" != Z ]
}

stopped=0
shopt -s nullglob
for file in "$dir"/*.pid; do
  read -r pid started name <"$file" || true
  rm -f "$file"
  if ! [[ "${pid:-}" =~ ^[0-9]+$ ]] || ! alive "$pid"; then
    continue
  fi
  if [ "${started:--}" != - ] && [ "$(start_time "$pid" || true)" != "$started" ]; then
    echo "demo-stop: pid $pid is no longer the demo's ${name:-process}; left alone"
    continue
  fi
  echo "demo-stop: stopping ${name:-process} (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    alive "$pid" || break
    sleep 0.1
  done
  if alive "$pid"; then
    echo "demo-stop: ${name:-process} (pid $pid) ignored SIGTERM; killing it"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  stopped=$((stopped + 1))
done
# Written while the demo's Phoenix runs, for examples/backfill_walkthrough.py: no longer true.
rm -f "$dir/otlp-endpoint"
if [ "$stopped" = 0 ] && [ "$quiet" != --quiet ]; then
  echo "demo-stop: nothing of the demo is running"
fi
