#!/usr/bin/env bash
# The local Apache Pulsar standalone broker: fetched from the Maven repository with
# `mvn` on first use, run on Java 17 from .cache/, bound to 127.0.0.1.
#
#   deploy/local/pulsar.sh fetch|start|stop|status|ready|logs
#
# Environment: CLICKTRAIL_PULSAR_PORT (6650), CLICKTRAIL_PULSAR_ADMIN_PORT (8080),
# CLICKTRAIL_PULSAR_BOOKIE_PORT (3181), CLICKTRAIL_JAVA_HOME (a JDK 17 or 21 found under
# /usr/lib/jvm), CLICKTRAIL_START_TIMEOUT (180 s), CLICKTRAIL_CACHE (.cache).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

VERSION=4.0.7
HERE=$ROOT/deploy/local/pulsar
LIB=$CACHE/pulsar/$VERSION/lib
DIR=$RUN_DIR/pulsar
PIDFILE=$DIR/pulsar.pid
LOG=$DIR/pulsar.log
PORT=${CLICKTRAIL_PULSAR_PORT:-6650}
ADMIN_PORT=${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}
BOOKIE_PORT=${CLICKTRAIL_PULSAR_BOOKIE_PORT:-3181}
TIMEOUT=${CLICKTRAIL_START_TIMEOUT:-180}
HEALTH=http://127.0.0.1:$ADMIN_PORT/admin/v2/brokers/health

fetch() {
	[[ -f $LIB/.complete ]] && return 0
	command -v mvn >/dev/null || die "Maven (mvn) is not installed: install it (apt-get install maven) and run again"
	say "fetching Apache Pulsar $VERSION with Maven into $LIB (first run only, about 240 MB)..."
	rm -rf "$LIB.tmp"
	local out=$CACHE/pulsar/fetch.log
	mkdir -p "$CACHE/pulsar"
	# Show progress: one line per 25 artifacts downloaded.
	if ! mvn -B -f "$HERE/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory="$LIB.tmp" 2>&1 | tee "$out" |
		awk '/Downloaded from/ { n++; if (n % 25 == 0) { printf "pulsar.sh: downloaded %d artifacts...\n", n > "/dev/stderr" } }'; then
		rm -rf "$LIB.tmp"
		grep -m 3 ERROR "$out" >&2 || true
		die "fetching Pulsar $VERSION with Maven failed: see $out; check that the Maven repository is reachable and run again"
	fi
	grep -q "BUILD SUCCESS" "$out" || { rm -rf "$LIB.tmp"; die "fetching Pulsar $VERSION failed: see $out"; }
	rm -rf "$LIB" && mv "$LIB.tmp" "$LIB" && touch "$LIB/.complete"
	say "fetched $(find "$LIB" -name '*.jar' | wc -l) jars"
}

# find_java prints a java binary of version 17 or later: the broker's jars are Java 17
# class files (major version 61), and Pulsar 4.0 supports Java 17 and 21.
find_java() {
	local home candidates=()
	if [[ -n ${CLICKTRAIL_JAVA_HOME:-} ]]; then
		candidates=("$CLICKTRAIL_JAVA_HOME")
	else
		candidates=(/usr/lib/jvm/java-17-openjdk-* /usr/lib/jvm/java-21-openjdk-* /usr/lib/jvm/temurin-17-* /usr/lib/jvm/temurin-21-* ${JAVA_HOME:-})
	fi
	for home in "${candidates[@]}"; do
		if [[ -x $home/bin/java ]]; then
			echo "$home/bin/java"
			return 0
		fi
	done
	if [[ -z ${CLICKTRAIL_JAVA_HOME:-} ]] && command -v java >/dev/null; then
		local v
		v=$(java -version 2>&1 | awk -F'"' '/version/ {split($2, a, "."); print a[1]; exit}')
		if [[ $v =~ ^[0-9]+$ ]] && ((v >= 17)); then
			command -v java
			return 0
		fi
	fi
	die "no Java 17 or 21 found${CLICKTRAIL_JAVA_HOME:+ at CLICKTRAIL_JAVA_HOME=$CLICKTRAIL_JAVA_HOME}: install openjdk-17-jre-headless or set CLICKTRAIL_JAVA_HOME to a JDK 17 or 21"
}

start_locked() {
	if pid_alive "$PIDFILE"; then
		if http_ok "$HEALTH"; then
			say "already running (pid $(<"$PIDFILE")) on 127.0.0.1:$PORT, admin http://127.0.0.1:$ADMIN_PORT"
			return 0
		fi
		wait_ready pulsar "$HEALTH" "$PIDFILE" "$LOG" "$TIMEOUT"
		return 0
	fi
	local java
	java=$(find_java)
	if http_ok "$HEALTH"; then
		say "already running on 127.0.0.1:$PORT (not started by this checkout: reused as it is)"
		return 0
	fi
	for p in "$PORT" "$ADMIN_PORT" "$BOOKIE_PORT"; do
		port_in_use "$p" && die "port $p on 127.0.0.1 is already in use by another process: stop it, or choose other ports with CLICKTRAIL_PULSAR_PORT / CLICKTRAIL_PULSAR_ADMIN_PORT / CLICKTRAIL_PULSAR_BOOKIE_PORT"
	done
	fetch
	mkdir -p "$DIR/data"
	sed -e "s/^brokerServicePort=.*/brokerServicePort=$PORT/" -e "s/^webServicePort=.*/webServicePort=$ADMIN_PORT/" \
		"$HERE/standalone.conf" >"$DIR/standalone.conf"
	local opts=(
		-Xms256m -Xmx1g -XX:MaxDirectMemorySize=512m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError
		# The module openings Pulsar's own launcher passes on Java 17.
		--add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/java.util.zip=ALL-UNNAMED
		--add-opens java.base/sun.net=ALL-UNNAMED --add-opens java.management/sun.management=ALL-UNNAMED
		--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
		--add-opens java.base/jdk.internal.misc=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED
		-Dio.netty.tryReflectionSetAccessible=true -Dpulsar.allocator.exit_on_oom=true
		-Dlog4j.configurationFile="$HERE/log4j2.xml" -Dpulsar.log.file="$LOG"
		-cp "$LIB/*" org.apache.pulsar.PulsarStandaloneStarter
		--config "$DIR/standalone.conf" --no-functions-worker --no-stream-storage
		--advertised-address 127.0.0.1 --bookkeeper-port "$BOOKIE_PORT"
		--metadata-dir "$DIR/data/metadata" --bookkeeper-dir "$DIR/data/bookkeeper"
	)
	say "starting Pulsar $VERSION ($java) on 127.0.0.1:$PORT; log: $LOG"
	# In its own session, without the lock (which would otherwise be held for as long as
	# the broker runs); the process writes its own pid before it becomes the JVM.
	(cd "$DIR" && exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PIDFILE" "$java" "${opts[@]}") \
		{lockfd}>&- </dev/null >"$DIR/stdout.log" 2>&1 &
	for _ in 1 2 3 4 5 6 7 8 9 10; do [[ -s $PIDFILE ]] && break; sleep 0.1; done
	wait_ready pulsar "$HEALTH" "$PIDFILE" "$LOG" "$TIMEOUT"
	say "ready: pulsar://127.0.0.1:$PORT, admin http://127.0.0.1:$ADMIN_PORT (pid $(<"$PIDFILE"), started in ${SECONDS}s)"
}

case ${1:-} in
fetch) with_lock pulsar fetch ;;
start) with_lock pulsar start_locked ;;
stop)
	if pid_alive "$PIDFILE"; then
		say "stopping pid $(<"$PIDFILE")"
		stop_pid pulsar "$PIDFILE" 60
	else
		say "not running"
	fi
	;;
status)
	if pid_alive "$PIDFILE" && http_ok "$HEALTH"; then
		say "running (pid $(<"$PIDFILE")) on 127.0.0.1:$PORT, admin http://127.0.0.1:$ADMIN_PORT"
	else
		say "not running"
		exit 1
	fi
	;;
ready) http_ok "$HEALTH" ;; # answers, whoever started it
logs) tail -n "${2:-50}" "$LOG" ;;
*)
	echo "usage: $0 fetch|start|stop|status|ready|logs" >&2
	exit 2
	;;
esac
