#!/usr/bin/env bash
# The local MinIO: built with `go install` at a pinned version on first use, served on
# 127.0.0.1 from a data folder in .cache/, with development credentials.
#
#   deploy/local/minio.sh fetch|start|stop|status|ready|logs
#
# Environment: CLICKTRAIL_MINIO_PORT (9000), CLICKTRAIL_MINIO_CONSOLE_PORT (9001),
# CLICKTRAIL_S3_ACCESS_KEY (clicktrail), CLICKTRAIL_S3_SECRET_KEY (clicktrail-dev-secret),
# CLICKTRAIL_START_TIMEOUT (180 s), CLICKTRAIL_CACHE (.cache).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# MinIO's release tags are not Go module versions; the module proxy serves each commit
# as a pseudo-version. This one is the newest it lists.
VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
BIN_DIR=$CACHE/bin
BIN=$BIN_DIR/minio
STAMP=$BIN_DIR/.minio-$VERSION
DIR=$RUN_DIR/minio
PIDFILE=$DIR/minio.pid
LOG=$DIR/minio.log
PORT=${CLICKTRAIL_MINIO_PORT:-9000}
CONSOLE_PORT=${CLICKTRAIL_MINIO_CONSOLE_PORT:-9001}
TIMEOUT=${CLICKTRAIL_START_TIMEOUT:-180}
READY=http://127.0.0.1:$PORT/minio/health/ready

fetch() {
	[[ -x $BIN && -f $STAMP ]] && return 0
	command -v go >/dev/null || die "Go is not installed: install Go 1.26 and run again"
	say "building MinIO $VERSION with go install into $BIN_DIR (first run only, a few minutes)..."
	mkdir -p "$BIN_DIR"
	local out=$BIN_DIR/minio-build.log start=$SECONDS
	(GOBIN=$BIN_DIR go install "github.com/minio/minio@$VERSION" >"$out" 2>&1) &
	local pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		if (((SECONDS - start) % 10 == 0)) && kill -0 "$pid" 2>/dev/null; then
			say "still building MinIO... $((SECONDS - start))s ($(grep -c downloading "$out" || true) modules downloaded)"
		fi
	done
	if ! wait "$pid"; then
		tail -n 5 "$out" >&2 || true
		die "building MinIO failed: see $out; check that the Go module proxy is reachable and run again"
	fi
	touch "$STAMP"
	say "built MinIO in $((SECONDS - start))s"
}

start_locked() {
	if pid_alive "$PIDFILE"; then
		if http_ok "$READY"; then
			say "already running (pid $(<"$PIDFILE")) on http://127.0.0.1:$PORT"
			return 0
		fi
		wait_ready minio "$READY" "$PIDFILE" "$LOG" "$TIMEOUT"
		return 0
	fi
	if http_ok "$READY"; then
		say "already running on 127.0.0.1:$PORT (not started by this checkout: reused as it is)"
		return 0
	fi
	for p in "$PORT" "$CONSOLE_PORT"; do
		port_in_use "$p" && die "port $p on 127.0.0.1 is already in use by another process: stop it, or choose other ports with CLICKTRAIL_MINIO_PORT / CLICKTRAIL_MINIO_CONSOLE_PORT"
	done
	fetch
	mkdir -p "$DIR/data"
	say "starting MinIO on http://127.0.0.1:$PORT (console :$CONSOLE_PORT); log: $LOG"
	(cd "$DIR" && MINIO_ROOT_USER=${CLICKTRAIL_S3_ACCESS_KEY:-clicktrail} \
		MINIO_ROOT_PASSWORD=${CLICKTRAIL_S3_SECRET_KEY:-clicktrail-dev-secret} \
		MINIO_BROWSER_REDIRECT=off MINIO_UPDATE=off \
		exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" "$BIN" server "$DIR/data" --quiet \
		--address "127.0.0.1:$PORT" --console-address "127.0.0.1:$CONSOLE_PORT") \
		{lockfd}>&- </dev/null >"$LOG" 2>&1 &
	for _ in 1 2 3 4 5 6 7 8 9 10; do [[ -s $PIDFILE ]] && break; sleep 0.1; done
	wait_ready minio "$READY" "$PIDFILE" "$LOG" "$TIMEOUT"
	say "ready: http://127.0.0.1:$PORT, console http://127.0.0.1:$CONSOLE_PORT (pid $(<"$PIDFILE"))"
}

case ${1:-} in
fetch) with_lock minio fetch ;;
start) with_lock minio start_locked ;;
stop)
	if pid_alive "$PIDFILE"; then
		say "stopping pid $(<"$PIDFILE")"
		stop_pid minio "$PIDFILE" 20
	else
		say "not running"
	fi
	;;
status)
	if pid_alive "$PIDFILE" && http_ok "$READY"; then
		say "running (pid $(<"$PIDFILE")) on http://127.0.0.1:$PORT"
	else
		say "not running"
		exit 1
	fi
	;;
ready) http_ok "$READY" ;; # answers, whoever started it
logs) tail -n "${2:-50}" "$LOG" ;;
*)
	echo "usage: $0 fetch|start|stop|status|ready|logs" >&2
	exit 2
	;;
esac
