#!/usr/bin/env bash
# The local Apache Pulsar standalone broker: its jars fetched with Maven on first use
# into .cache/pulsar/<version>/lib, run on Java 17 or 21, bound to 127.0.0.1.
#
#   deploy/local/pulsar.sh fetch|start|stop|status|ready|logs [N]
#
#   fetch   download the jars (once; a marker file says the cache is complete)
#   start   fetch if needed, start the broker and wait until it is ready; exits 0 at
#           once if the broker this checkout started already runs
#   stop    SIGTERM, then SIGKILL after 60 s; only the broker this checkout started
#   status  exit 0 when the broker this checkout started runs and is ready
#   ready   exit 0 when any broker answers on the admin port (whoever started it)
#   logs    the last N lines of the broker's log (50)
#
# Environment: CLICKTRAIL_PULSAR_PORT (6650), CLICKTRAIL_PULSAR_ADMIN_PORT (8080),
# CLICKTRAIL_JAVA_HOME (a JDK 17 or 21 found under /usr/lib/jvm),
# CLICKTRAIL_START_TIMEOUT (180 s), CLICKTRAIL_CACHE (.cache), CLICKTRAIL_RUN_DIR
# (.cache/run), CLICKTRAIL_PULSAR_GC (the JVM's garbage collector options; ZGC). Every
# garbage collection is logged to gc.log beside the broker's log.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=deploy/local/pulsar-lib.sh
source "$(dirname "$0")/pulsar-lib.sh"

DIR=$RUN_DIR/pulsar
CONF=$DIR/standalone.conf
PIDFILE=$DIR/pulsar.pid
LOG=$DIR/pulsar.log
OUT=$DIR/stdout.log
PORT=${CLICKTRAIL_PULSAR_PORT:-6650}
ADMIN_PORT=${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}
ADMIN=http://127.0.0.1:$ADMIN_PORT/admin/v2
# Our broker is the java process whose command line names our generated config.
MARKER="--config $CONF"

# ready: the broker answers its health check, and the standalone starter has created
# the cluster "standalone" and the namespace public/default (it does so only after the
# broker itself started, so health alone is not enough).
ready() {
	[[ $(http_body "$ADMIN/brokers/health") == ok ]] &&
		[[ $(http_body "$ADMIN/clusters") == *'"standalone"'* ]] &&
		[[ $(http_body "$ADMIN/namespaces/public") == *'"public/default"'* ]]
}

start_locked() {
	local pid java
	if pid=$(owned_pid "$PIDFILE" "$MARKER"); then
		# Already running, or started by an earlier run that gave up waiting, or just
		# restarting: wait for it.
		local urls="pulsar://127.0.0.1:$PORT, admin http://127.0.0.1:$ADMIN_PORT"
		if running_else_wait pulsar ready "$pid" "$LOG" "$urls" "$urls"; then
			# Started before the pinned version changed: say so, but keep it running.
			tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$LIB/" ||
				say "note: it runs other jars than Pulsar $VERSION; to upgrade: $0 stop && $0 start"
		fi
		return 0
	fi
	need curl "install curl (apt-get install curl); it checks that the broker is ready"
	ports_free "CLICKTRAIL_PULSAR_PORT / CLICKTRAIL_PULSAR_ADMIN_PORT" "$PORT" "$ADMIN_PORT"
	java=$(find_java)
	fetch
	java=$(find_java) # again: the jars just fetched say which Java they need

	# Data a broker of an older checkout wrote in BookKeeper's SortedLedgerStorage (entry
	# logs, no "locations" index) cannot be read by DbLedgerStorage: keep it aside and
	# start empty (`make run` and `make test` provision what they need again).
	if [[ -d $DIR/data/bookkeeper/current && ! -d $DIR/data/bookkeeper/current/locations ]]; then
		local old
		old=$DIR/data.sorted-ledger-storage.$(date -u +%Y%m%dT%H%M%SZ)
		mv "$DIR/data" "$old"
		say "the broker's data was in the storage format of an older checkout: moved to $old (delete it when not needed); starting with empty storage"
	fi
	mkdir -p "$DIR/data"
	# The effective configuration: the checked-in one with this run's ports and paths.
	sed -e "s|^brokerServicePort=.*|brokerServicePort=$PORT|" \
		-e "s|^webServicePort=.*|webServicePort=$ADMIN_PORT|" "$HERE/standalone.conf" >"$CONF"
	local opts=(
		# Heap at most 1 GiB; direct memory (Netty buffers, managed ledger cache)
		# bounded too, so the broker cannot grow past about 1.8 GiB on a shared machine.
		-Xms256m -Xmx1g -XX:MaxDirectMemorySize=768m -XX:+ExitOnOutOfMemoryError
		# Every garbage collection, in a log of its own (two files of 10 MB at most).
		"-Xlog:gc:file=$DIR/gc.log:time,uptime:filecount=2,filesize=10m"
	)
	mapfile -t -O "${#opts[@]}" opts < <(pulsar_jvm_opts "$LOG")
	opts+=(
		-cp "$LIB/*" org.apache.pulsar.PulsarStandaloneStarter
		--config "$CONF" --no-functions-worker --no-stream-storage --advertised-address 127.0.0.1
		--metadata-dir "$DIR/data/metadata" --bookkeeper-dir "$DIR/data/bookkeeper"
	)
	say "starting Pulsar $VERSION on $($java -version 2>&1 | head -n 1); log: $LOG"
	trap 'interrupted_start pulsar "$PIDFILE"' INT TERM
	echo "--- $(date -u +%FT%TZ) start" >>"$OUT"
	start_detached "$PIDFILE" "$DIR" "$OUT" "$java" "${opts[@]}"
	pid=$(<"$PIDFILE")
	local begin=$SECONDS
	wait_ready pulsar ready "$pid" "$LOG"
	trap - INT TERM
	say "ready in $((SECONDS - begin))s (pid $pid): pulsar://127.0.0.1:$PORT, admin http://127.0.0.1:$ADMIN_PORT"
}

stop() { stop_owned pulsar broker "$PIDFILE" "$MARKER" 60 "$DIR"; }

status() {
	status_owned "$PIDFILE" "$MARKER" ready \
		"pulsar://127.0.0.1:$PORT, admin http://127.0.0.1:$ADMIN_PORT" "$LOG"
}

case ${1:-} in
fetch) with_lock pulsar fetch ;;
start) with_lock pulsar start_locked ;;
stop) stop ;;
status) status ;;
ready) ready ;;
logs) tail -n "${2:-50}" "$LOG" ;;
*)
	echo "usage: $0 fetch|start|stop|status|ready|logs [N]" >&2
	exit 2
	;;
esac
