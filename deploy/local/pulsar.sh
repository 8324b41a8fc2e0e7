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

VERSION=4.0.7
HERE=$ROOT/deploy/local/pulsar
LIB=$CACHE/pulsar/$VERSION/lib
COMPLETE=$LIB/.complete
DIR=$RUN_DIR/pulsar
CONF=$DIR/standalone.conf
PIDFILE=$DIR/pulsar.pid
LOG=$DIR/pulsar.log
OUT=$DIR/stdout.log
PORT=${CLICKTRAIL_PULSAR_PORT:-6650}
ADMIN_PORT=${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}
ADMIN=http://127.0.0.1:$ADMIN_PORT/admin/v2
# The garbage collector: Pulsar's own default on Java 17 (its conf/pulsar_env.sh). ZGC
# does its work while the broker runs; G1 here paused the broker for 7.5 ms at the
# median and up to 65 ms, twice every three seconds under load, and every request in
# flight waited it out.
read -ra GC_OPTS <<<"${CLICKTRAIL_PULSAR_GC:--XX:+UseZGC -XX:+PerfDisableSharedMem -XX:+AlwaysPreTouch}"
# Our broker is the java process whose command line names our generated config.
MARKER="--config $CONF"

fetch() {
	[[ -f $COMPLETE ]] && return 0
	need mvn "install Maven (apt-get install maven) and run again"
	local out=$CACHE/pulsar/fetch-$VERSION.log start=$SECONDS
	mkdir -p "$CACHE/pulsar"
	rm -rf "$LIB.tmp"
	say "fetching Apache Pulsar $VERSION with Maven into $LIB (first run only, about 240 MB; log: $out)"
	# No -q: Maven's "Downloaded from" lines become one progress line per 50 files
	# (about 1,450 files on a first run). Maven keeps its own repository (~/.m2), so a
	# second checkout on this machine only copies.
	if ! mvn -B -f "$HERE/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$LIB.tmp" 2>&1 | tee "$out" | awk '
			/^\[INFO\] Downloaded from/ { n++; if (n % 50 == 0) progress() }
			function progress() { printf "pulsar: downloaded %d files...\n", n > "/dev/stderr"; fflush("/dev/stderr") }
			END { if (n % 50) progress() }'; then
		rm -rf "$LIB.tmp"
		grep -m 1 '^\[ERROR\]' "$out" | cut -c1-300 >&2 || true
		die "fetching Pulsar $VERSION with Maven failed: see $out; check that Maven can reach its repository and run again"
	fi
	rm -rf "$LIB" && mv "$LIB.tmp" "$LIB"
	# The class-file version of the broker says which Java it needs (61 = Java 17).
	local major=61
	if command -v unzip >/dev/null; then
		major=$(unzip -p "$LIB/pulsar-broker-$VERSION.jar" org/apache/pulsar/PulsarStandaloneStarter.class |
			od -An -j6 -N2 -tu1 | awk '{ print $1 * 256 + $2 }')
	fi
	echo "class_major=$major" >"$COMPLETE" # written last: the cache is complete
	say "fetched $(find "$LIB" -name '*.jar' | wc -l) jars in $((SECONDS - start))s (they need Java $((major - 44)) or later)"
}

# java_major JAVA: the feature version of a java binary (17, 21, ...).
java_major() {
	"$1" -version 2>&1 | awk -F'"' '/version/ { split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit }'
}

# find_java prints the java binary to run the broker with. Pulsar 4.0 supports Java 17
# and 21 (its own images use 21), so one of those is chosen, 21 first, unless
# CLICKTRAIL_JAVA_HOME names another one, which must still be new enough for the jars.
find_java() {
	local need_major=17 home v
	if [[ -f $COMPLETE ]]; then
		v=$(sed -n 's/^class_major=//p' "$COMPLETE")
		[[ $v =~ ^[0-9]+$ ]] && need_major=$((v - 44))
	fi
	if [[ -n ${CLICKTRAIL_JAVA_HOME:-} ]]; then
		[[ -x $CLICKTRAIL_JAVA_HOME/bin/java ]] ||
			die "no Java at CLICKTRAIL_JAVA_HOME=$CLICKTRAIL_JAVA_HOME (no executable bin/java): point it at a JDK 17 or 21, or unset it"
		v=$(java_major "$CLICKTRAIL_JAVA_HOME/bin/java")
		[[ $v =~ ^[0-9]+$ ]] || v=0
		((v >= need_major)) ||
			die "the Java at CLICKTRAIL_JAVA_HOME=$CLICKTRAIL_JAVA_HOME is version ${v:-unknown}, the broker needs $need_major or later: point it at a JDK 17 or 21"
		echo "$CLICKTRAIL_JAVA_HOME/bin/java"
		return 0
	fi
	local want
	for want in 21 17; do
		for home in ${JAVA_HOME:-} /usr/lib/jvm/*; do
			[[ -x $home/bin/java && ! -L $home ]] || continue
			if [[ $(java_major "$home/bin/java") == "$want" ]] && ((want >= need_major)); then
				echo "$home/bin/java"
				return 0
			fi
		done
	done
	die "no Java 17 or 21 found in JAVA_HOME or /usr/lib/jvm: install openjdk-17-jre-headless, or set CLICKTRAIL_JAVA_HOME to a JDK 17 or 21"
}

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
		"${GC_OPTS[@]}"
		# Every garbage collection, in a log of its own (two files of 10 MB at most).
		"-Xlog:gc:file=$DIR/gc.log:time,uptime:filecount=2,filesize=10m"
		# What Pulsar's own bin/pulsar passes on Java 17 and later: module openings for
		# BookKeeper (java.io, zip), Netty (nio, misc, sun.net) and GC metrics.
		--add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/java.util.zip=ALL-UNNAMED
		--add-opens java.base/java.nio=ALL-UNNAMED --add-opens java.base/jdk.internal.misc=ALL-UNNAMED
		--add-opens java.base/sun.net=ALL-UNNAMED --add-opens java.management/sun.management=ALL-UNNAMED
		--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
		# The load manager reads the container's CPU limit (LinuxInfoUtils).
		--add-opens java.base/jdk.internal.platform=ALL-UNNAMED
		-Dio.netty.tryReflectionSetAccessible=true -Djava.net.preferIPv4Stack=true
		-Dpulsar.allocator.exit_on_oom=true -Djute.maxbuffer=10485760
		-Dbookkeeper.metadata.bookie.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataBookieDriver
		-Dbookkeeper.metadata.client.drivers=org.apache.pulsar.metadata.bookkeeper.PulsarMetadataClientDriver
		# The starter's own shutdown hook flushes the log last; log4j's would close it first.
		-Dlog4j.shutdownHookEnabled=false -Dlog4j2.is.webapp=false
		-Dlog4j.configurationFile="$HERE/log4j2.xml" -Dpulsar.log.file="$LOG"
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
