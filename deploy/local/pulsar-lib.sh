# shellcheck shell=bash
# What the local Pulsar scripts share (pulsar.sh, the standalone broker; cluster.sh, the
# cluster): the pinned version, its jars fetched with Maven, the Java to run them on and
# the JVM options every Pulsar process needs. Sourced after lib.sh, not run.

VERSION=4.0.7
HERE=$ROOT/deploy/local/pulsar
LIB=$CACHE/pulsar/$VERSION/lib
COMPLETE=$LIB/.complete
# The garbage collector: Pulsar's own default on Java 17 (its conf/pulsar_env.sh). ZGC
# does its work while the broker runs; G1 here paused the broker for 7.5 ms at the
# median and up to 65 ms, twice every three seconds under load, and every request in
# flight waited it out.
read -ra GC_OPTS <<<"${CLICKTRAIL_PULSAR_GC:--XX:+UseZGC -XX:+PerfDisableSharedMem -XX:+AlwaysPreTouch}"

# fetch downloads the jars once (a marker file says the cache is complete).
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

# pulsar_jvm_opts LOG: prints, one a line, the JVM options of every Pulsar process
# (broker, bookie, ZooKeeper) whose log goes to LOG; heap, class and arguments are the
# caller's.
pulsar_jvm_opts() {
	local log=$1
	local opts=(
		"${GC_OPTS[@]}"
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
		-Dlog4j.configurationFile="$HERE/log4j2.xml" -Dpulsar.log.file="$log"
	)
	printf '%s\n' "${opts[@]}"
}
