#!/bin/sh
# Entry point of the image. `serve` (the default command) brings the schema up to date, then replaces this shell
# with Gunicorn (gunicorn.conf.py: workers, bind address, logs), so Gunicorn is PID 1's child of `init` and gets the
# container's SIGTERM itself. Any other command runs as given: `studentperf ingest --watch /data/inbox`,
# `studentperf users add ...`, `sh`. Migrations are safe to run from several replicas at once (an advisory lock).
set -eu

APP_DIR="${APP_DIR:-/app}"

if [ "$#" -eq 0 ] || [ "$1" = "serve" ]; then
    if [ -z "${SECRET_KEY:-}" ]; then
        echo "error: SECRET_KEY is not set: set it to a long random string (it signs the session cookies)." >&2
        exit 1
    fi
    studentperf db upgrade
    exec gunicorn -c "$APP_DIR/gunicorn.conf.py" dashboard.wsgi:app
fi

exec "$@"
