#!/usr/bin/env bash
# The local MinIO, the second S3 server: deploy/local/s3.sh runs it instead of
# versitygw when CLICKTRAIL_S3_SERVER=minio. MinIO's server was archived in April 2026
# and gets no fixes; it stays to compare against. Built with `go install` at a pinned
# version on first use into .cache/bin, served on 127.0.0.1 from .cache/run/minio/data
# with development credentials.
#
#   deploy/local/minio.sh fetch|start|stop|status|ready|logs [N]
#
#   fetch   build the pinned MinIO (once; a stamp file names the version built)
#   start   fetch if needed, start MinIO and wait until it is ready; exits 0 at once if
#           the MinIO this checkout started already runs
#   stop    SIGTERM, then SIGKILL after 20 s; only the MinIO this checkout started
#   status  exit 0 when the MinIO this checkout started runs and is ready
#   ready   exit 0 when any MinIO answers on the port (whoever started it)
#   logs    the last N lines of its log (50)
#
# Environment: CLICKTRAIL_S3_PORT (9000), CLICKTRAIL_S3_CONSOLE_PORT (9001) (the older
# CLICKTRAIL_MINIO_PORT and CLICKTRAIL_MINIO_CONSOLE_PORT are read when they are unset),
# CLICKTRAIL_S3_ACCESS_KEY (clicktrail), CLICKTRAIL_S3_SECRET_KEY
# (clicktrail-dev-secret), CLICKTRAIL_START_TIMEOUT (180 s), CLICKTRAIL_CACHE (.cache),
# CLICKTRAIL_RUN_DIR (.cache/run).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"

# MinIO's release tags are not Go module versions; the module proxy serves each commit
# as a pseudo-version. This one (2026-02-12) builds with Go 1.26.
VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
BIN=$CACHE/bin/minio
DIR=$RUN_DIR/minio
PIDFILE=$DIR/minio.pid
LOG=$DIR/minio.log
PORT=${CLICKTRAIL_S3_PORT:-${CLICKTRAIL_MINIO_PORT:-9000}}
CONSOLE_PORT=${CLICKTRAIL_S3_CONSOLE_PORT:-${CLICKTRAIL_MINIO_CONSOLE_PORT:-9001}}
READY=http://127.0.0.1:$PORT/minio/health/ready
# Our MinIO is the process whose command line names our data folder.
MARKER="server $DIR/data "

fetch() { go_install minio github.com/minio/minio "$VERSION" "a few minutes"; }

ready() { http_ok "$READY"; }

start_locked() {
	local pid
	if pid=$(owned_pid "$PIDFILE" "$MARKER"); then
		running_else_wait minio ready "$pid" "$LOG" \
			"http://127.0.0.1:$PORT, console http://127.0.0.1:$CONSOLE_PORT" "http://127.0.0.1:$PORT" || true
		return 0
	fi
	need curl "install curl (apt-get install curl); it checks that MinIO is ready"
	ports_free "CLICKTRAIL_S3_PORT / CLICKTRAIL_S3_CONSOLE_PORT" "$PORT" "$CONSOLE_PORT"
	fetch
	mkdir -p "$DIR/data"
	say "starting MinIO on http://127.0.0.1:$PORT (console :$CONSOLE_PORT); log: $LOG"
	trap 'interrupted_start minio "$PIDFILE"' INT TERM
	echo "--- $(date -u +%FT%TZ) start" >>"$LOG"
	# Credentials through the environment, never on the command line (ps shows it).
	MINIO_ROOT_USER=${CLICKTRAIL_S3_ACCESS_KEY:-clicktrail} \
		MINIO_ROOT_PASSWORD=${CLICKTRAIL_S3_SECRET_KEY:-clicktrail-dev-secret} \
		MINIO_BROWSER_REDIRECT=off MINIO_UPDATE=off \
		start_detached "$PIDFILE" "$DIR" "$LOG" "$BIN" server "$DIR/data" --quiet \
		--address "127.0.0.1:$PORT" --console-address "127.0.0.1:$CONSOLE_PORT"
	pid=$(<"$PIDFILE")
	local begin=$SECONDS
	wait_ready minio ready "$pid" "$LOG"
	trap - INT TERM
	say "ready in $((SECONDS - begin))s (pid $pid): http://127.0.0.1:$PORT, console http://127.0.0.1:$CONSOLE_PORT"
}

stop() { stop_owned minio MinIO "$PIDFILE" "$MARKER" 20 "$DIR"; }

status() {
	status_owned "$PIDFILE" "$MARKER" ready \
		"http://127.0.0.1:$PORT, console http://127.0.0.1:$CONSOLE_PORT" "$LOG"
}

case ${1:-} in
fetch) with_lock minio fetch ;;
start) with_lock minio start_locked ;;
stop) stop ;;
status) status ;;
ready) ready ;;
logs) tail -n "${2:-50}" "$LOG" ;;
*)
	echo "usage: $0 fetch|start|stop|status|ready|logs [N]" >&2
	exit 2
	;;
esac
