#!/usr/bin/env bash
# The local S3 server: the Versity S3 Gateway (versitygw, Apache-2.0), built with
# `go install` at a pinned version on first use into .cache/bin, served on 127.0.0.1
# from .cache/run/s3/data with development credentials. Its posix backend keeps a
# bucket as a folder and an object as a file, with the object's metadata in extended
# attributes, so the data folder must be on a filesystem with xattrs (ext4, xfs and
# btrfs have them).
#
#   deploy/local/s3.sh fetch|start|stop|status|ready|logs [N]
#
#   fetch   build the pinned versitygw (once; a stamp file names the version built)
#   start   fetch if needed, start the server and wait until it is ready; exits 0 at
#           once if the server this checkout started already runs
#   stop    SIGTERM, then SIGKILL after 20 s; only the server this checkout started
#   status  exit 0 when the server this checkout started runs and is ready
#   ready   exit 0 when an S3 server (versitygw or MinIO) answers its health check on
#           the port, whoever started it
#   logs    the last N lines of its log (50)
#
# CLICKTRAIL_S3_SERVER=minio runs MinIO instead (deploy/local/minio.sh, same verbs and
# ports): MinIO's server was archived in April 2026 and gets no fixes, so it is only a
# second target to compare against.
#
# Environment: CLICKTRAIL_S3_SERVER (versitygw), CLICKTRAIL_S3_PORT (9000; the older
# CLICKTRAIL_MINIO_PORT is read when it is unset), CLICKTRAIL_S3_CONSOLE_PORT (9001,
# MinIO's console only), CLICKTRAIL_S3_ACCESS_KEY (clicktrail),
# CLICKTRAIL_S3_SECRET_KEY (clicktrail-dev-secret), CLICKTRAIL_START_TIMEOUT (180 s),
# CLICKTRAIL_CACHE (.cache), CLICKTRAIL_RUN_DIR (.cache/run).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"

PORT=${CLICKTRAIL_S3_PORT:-${CLICKTRAIL_MINIO_PORT:-9000}}

case ${CLICKTRAIL_S3_SERVER:-versitygw} in
versitygw) ;;
minio) exec "$(dirname "$0")/minio.sh" "$@" ;;
*) die "unknown CLICKTRAIL_S3_SERVER=$CLICKTRAIL_S3_SERVER: set versitygw (the default) or minio" ;;
esac

VERSION=v1.8.0
BIN=$CACHE/bin/versitygw
DIR=$RUN_DIR/s3
PIDFILE=$DIR/versitygw.pid
LOG=$DIR/versitygw.log
HEALTH=http://127.0.0.1:$PORT/health
# Our server is the process whose command line names our data folder.
MARKER="posix $DIR/data "

fetch() { go_install versitygw github.com/versity/versitygw/cmd/versitygw "$VERSION" "about 2 minutes"; }

# on_our_port PID: the server PID listens on PORT (the run folder's server may have been
# started with another CLICKTRAIL_S3_PORT).
on_our_port() { tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "--port 127.0.0.1:$PORT "; }

# ours_ready: the health path we give versitygw answers.
ours_ready() { http_ok "$HEALTH"; }

# ready: versitygw's health path or MinIO's answers, so a MinIO already serving the
# port (CLICKTRAIL_S3_SERVER=minio, or another checkout's) counts as up too.
ready() { ours_ready || http_ok "http://127.0.0.1:$PORT/minio/health/ready"; }

start_locked() {
	local pid
	if pid=$(owned_pid "$PIDFILE" "$MARKER"); then
		if ! on_our_port "$pid"; then
			die "the versitygw of $DIR already runs (pid $pid) on another port than $PORT: stop it first (deploy/local/s3.sh stop), or give this one its own CLICKTRAIL_RUN_DIR"
		fi
		running_else_wait versitygw ours_ready "$pid" "$LOG" \
			"http://127.0.0.1:$PORT" "http://127.0.0.1:$PORT" || true
		return 0
	fi
	need curl "install curl (apt-get install curl); it checks that the S3 server is ready"
	ports_free "CLICKTRAIL_S3_PORT" "$PORT"
	fetch
	mkdir -p "$DIR/data"
	say "starting versitygw on http://127.0.0.1:$PORT; log: $LOG"
	trap 'interrupted_start versitygw "$PIDFILE"' INT TERM
	echo "--- $(date -u +%FT%TZ) start" >>"$LOG"
	# Credentials through the environment, never on the command line (ps shows it).
	ROOT_ACCESS_KEY=${CLICKTRAIL_S3_ACCESS_KEY:-clicktrail} \
		ROOT_SECRET_KEY=${CLICKTRAIL_S3_SECRET_KEY:-clicktrail-dev-secret} \
		start_detached "$PIDFILE" "$DIR" "$LOG" "$BIN" --port "127.0.0.1:$PORT" \
		--health /health --quiet posix "$DIR/data"
	pid=$(<"$PIDFILE")
	local begin=$SECONDS
	wait_ready versitygw ours_ready "$pid" "$LOG"
	trap - INT TERM
	say "ready in $((SECONDS - begin))s (pid $pid): http://127.0.0.1:$PORT"
}

stop() { stop_owned versitygw versitygw "$PIDFILE" "$MARKER" 20 "$DIR"; }

status() {
	local pid
	if pid=$(owned_pid "$PIDFILE" "$MARKER") && ! on_our_port "$pid"; then
		say "running (pid $pid), but on another port than $PORT: see the --port of its command line (ps -p $pid -o args=)"
		return 1
	fi
	status_owned "$PIDFILE" "$MARKER" ours_ready "http://127.0.0.1:$PORT" "$LOG"
}

case ${1:-} in
fetch) with_lock s3 fetch ;;
start) with_lock s3 start_locked ;;
stop) stop ;;
status) status ;;
ready) ready ;;
logs) tail -n "${2:-50}" "$LOG" ;;
*)
	echo "usage: $0 fetch|start|stop|status|ready|logs [N]" >&2
	exit 2
	;;
esac
