#!/bin/sh
# Run a command now and then every SECONDS seconds, until SIGTERM or SIGINT: the compose file's scheduled ingest.
# Usage: every.sh SECONDS COMMAND [ARG...]. A failing run is reported on stderr and the schedule goes on. A stop
# request is passed to the run in progress (the watcher finishes the file in hand, then exits) and ends the loop.
set -u

if [ "$#" -lt 2 ]; then
    echo "usage: every.sh SECONDS COMMAND [ARG...]" >&2
    exit 2
fi
period="$1"
shift
case "$period" in
    '' | *[!0-9]*) echo "every.sh: SECONDS must be a whole number, not '$period'" >&2; exit 2 ;;
esac

child=""
stopping=0
stop() {
    stopping=1
    if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; fi
}
trap stop TERM INT

while [ "$stopping" -eq 0 ]; do
    "$@" &
    child=$!
    wait "$child"
    status=$?
    if [ "$stopping" -eq 1 ]; then
        wait "$child" 2>/dev/null  # `wait` returned early for the signal: let the run finish its file
        break
    fi
    child=""
    if [ "$status" -ne 0 ]; then
        echo "every.sh: '$*' exited with status $status; next run in ${period}s" >&2
    fi
    sleep "$period" &
    child=$!
    wait "$child" 2>/dev/null
    child=""
done
