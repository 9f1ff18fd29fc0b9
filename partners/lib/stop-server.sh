#!/usr/bin/env bash
# Stops a server that start-server.sh started: SIGTERM, then waits (up to 10 s) for its graceful
# shutdown, so that its folder can go and nothing is left running.
#   usage: partners/lib/stop-server.sh PID          (a missing or empty PID does nothing)
pid="${1:-}"
[ -n "$pid" ] || exit 0
kill "$pid" 2>/dev/null || exit 0
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || exit 0
  sleep 0.1
done
