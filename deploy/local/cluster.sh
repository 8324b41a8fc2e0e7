#!/usr/bin/env bash
# A Pulsar cluster on this machine, as local processes from the same Maven-fetched jars
# as the standalone broker (pulsar.sh): one ZooKeeper, three bookies and two brokers,
# bound to 127.0.0.1, each with its log, pid file and data under
# .cache/run/cluster/<node>.
#
#   deploy/local/cluster.sh start [NODE]|stop [NODE]|kill NODE|status|ready|env|logs [NODE] [N]
#
#   start   fetch the jars if needed, then start every node that does not run (ZooKeeper,
#           the cluster's metadata on first start, the bookies, the brokers) and wait
#           until each is ready; with NODE, start only that one (of a cluster whose
#           metadata exists). Exits 0 at once when everything already runs.
#   stop    SIGTERM (a broker first hands its topics to the other one), then SIGKILL
#           after 60 s: every node, brokers first, or only NODE
#   kill    SIGKILL NODE (what the fault suite does to a broker or a bookie)
#   status  each node's state; exit 0 when every node runs and is ready
#   ready   exit 0 when every node answers (whoever started it)
#   logs    the last N lines (50) of NODE's log (broker-1 by default)
#   env     the settings that point the services and provisioning at the cluster
#           (CLICKTRAIL_PULSAR_URL=..., one a line)
#
# Nodes: zk, bookie-1, bookie-2, bookie-3, broker-1, broker-2. Clients take both
# brokers: pulsar://127.0.0.1:6660,127.0.0.1:6661, admin http://127.0.0.1:8180 (or :8181).
#
# Environment: CLICKTRAIL_CLUSTER_ZK_PORT (2191), CLICKTRAIL_CLUSTER_BOOKIE_PORTS
# ("3191 3192 3193"), CLICKTRAIL_CLUSTER_BOOKIE_HTTP_PORTS ("3291 3292 3293"),
# CLICKTRAIL_CLUSTER_BROKER_PORTS ("6660 6661"), CLICKTRAIL_CLUSTER_ADMIN_PORTS
# ("8180 8181"), and pulsar.sh's CLICKTRAIL_JAVA_HOME, CLICKTRAIL_START_TIMEOUT,
# CLICKTRAIL_CACHE, CLICKTRAIL_RUN_DIR, CLICKTRAIL_PULSAR_GC.
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=deploy/local/pulsar-lib.sh
source "$(dirname "$0")/pulsar-lib.sh"

CONF_DIR=$HERE/cluster
DIR=$RUN_DIR/cluster
CLUSTER=clicktrail-local
ZK_PORT=${CLICKTRAIL_CLUSTER_ZK_PORT:-2191}
read -ra BOOKIE_PORTS <<<"${CLICKTRAIL_CLUSTER_BOOKIE_PORTS:-3191 3192 3193}"
read -ra BOOKIE_HTTP_PORTS <<<"${CLICKTRAIL_CLUSTER_BOOKIE_HTTP_PORTS:-3291 3292 3293}"
read -ra BROKER_PORTS <<<"${CLICKTRAIL_CLUSTER_BROKER_PORTS:-6660 6661}"
read -ra ADMIN_PORTS <<<"${CLICKTRAIL_CLUSTER_ADMIN_PORTS:-8180 8181}"
((${#BOOKIE_PORTS[@]} == 3 && ${#BOOKIE_HTTP_PORTS[@]} == 3)) ||
	die "CLICKTRAIL_CLUSTER_BOOKIE_PORTS and CLICKTRAIL_CLUSTER_BOOKIE_HTTP_PORTS need three ports each"
((${#BROKER_PORTS[@]} == 2 && ${#ADMIN_PORTS[@]} == 2)) ||
	die "CLICKTRAIL_CLUSTER_BROKER_PORTS and CLICKTRAIL_CLUSTER_ADMIN_PORTS need two ports each"
METADATA=zk:127.0.0.1:$ZK_PORT
SERVICE_URL=pulsar://127.0.0.1:${BROKER_PORTS[0]},127.0.0.1:${BROKER_PORTS[1]}
WEB_URL=http://127.0.0.1:${ADMIN_PORTS[0]},127.0.0.1:${ADMIN_PORTS[1]}
NODES=(zk bookie-1 bookie-2 bookie-3 broker-1 broker-2)

# node_index NODE: 0, 1 or 2 for bookie-1.., broker-1..
node_index() { echo $((${1##*-} - 1)); }

valid_node() {
	local n
	for n in "${NODES[@]}"; do [[ $n == "$1" ]] && return 0; done
	die "unknown node '$1': one of ${NODES[*]}"
}

# conf NODE: the node's generated configuration; its path on the command line is how a
# node is known to be ours (owned_pid).
conf() {
	case $1 in
	zk) echo "$DIR/zk/zookeeper.conf" ;;
	bookie-*) echo "$DIR/$1/bookkeeper.conf" ;;
	broker-*) echo "$DIR/$1/broker.conf" ;;
	esac
}
pidfile() { echo "$DIR/$1/$1.pid"; }
logfile() { echo "$DIR/$1/$1.log"; }

# ports NODE: the ports the node listens on.
ports() {
	local i
	case $1 in
	zk) echo "$ZK_PORT" ;;
	bookie-*) i=$(node_index "$1") && echo "${BOOKIE_PORTS[$i]} ${BOOKIE_HTTP_PORTS[$i]}" ;;
	broker-*) i=$(node_index "$1") && echo "${BROKER_PORTS[$i]} ${ADMIN_PORTS[$i]}" ;;
	esac
}

# urls NODE: where the node answers, for the messages.
urls() {
	local i
	case $1 in
	zk) echo "zk at 127.0.0.1:$ZK_PORT" ;;
	bookie-*) i=$(node_index "$1") && echo "$1 at 127.0.0.1:${BOOKIE_PORTS[$i]}" ;;
	broker-*) i=$(node_index "$1") && echo "$1 at pulsar://127.0.0.1:${BROKER_PORTS[$i]}, admin http://127.0.0.1:${ADMIN_PORTS[$i]}" ;;
	esac
}

# node_ready NODE: ZooKeeper answers imok; a bookie says it is ready (registered and
# writable); a broker answers its health check, which writes and reads a message
# through the bookies.
node_ready() {
	local i
	case $1 in
	zk) [[ $( (exec 3<>"/dev/tcp/127.0.0.1/$ZK_PORT" && echo ruok >&3 && timeout 3 cat <&3) 2>/dev/null) == imok ]] ;;
	bookie-*) i=$(node_index "$1") && http_ok "http://127.0.0.1:${BOOKIE_HTTP_PORTS[$i]}/api/v1/bookie/is_ready" ;;
	broker-*) i=$(node_index "$1") && [[ $(http_body "http://127.0.0.1:${ADMIN_PORTS[$i]}/admin/v2/brokers/health") == ok ]] ;;
	esac
}

# The ready checks wait_ready polls (it takes a function without arguments).
ready_node=
ready_this() { node_ready "$ready_node"; }

# write_conf NODE: the checked-in configuration with this run's ports and folders.
write_conf() {
	local node=$1 i out
	out=$(conf "$node")
	mkdir -p "$DIR/$node/data"
	case $node in
	zk)
		sed -e "s|^dataDir=.*|dataDir=$DIR/zk/data|" -e "s|^clientPort=.*|clientPort=$ZK_PORT|" \
			"$CONF_DIR/zookeeper.conf" >"$out"
		;;
	bookie-*)
		i=$(node_index "$node")
		sed -e "s|^bookiePort=.*|bookiePort=${BOOKIE_PORTS[$i]}|" \
			-e "s|^httpServerPort=.*|httpServerPort=${BOOKIE_HTTP_PORTS[$i]}|" \
			-e "s|^metadataServiceUri=.*|metadataServiceUri=metadata-store:$METADATA|" \
			-e "s|DATA_DIR|$DIR/$node/data|g" "$CONF_DIR/bookkeeper.conf" >"$out"
		;;
	broker-*)
		i=$(node_index "$node")
		sed -e "s|^brokerServicePort=.*|brokerServicePort=${BROKER_PORTS[$i]}|" \
			-e "s|^webServicePort=.*|webServicePort=${ADMIN_PORTS[$i]}|" \
			-e "s|^metadataStoreUrl=.*|metadataStoreUrl=$METADATA|" \
			-e "s|^configurationMetadataStoreUrl=.*|configurationMetadataStoreUrl=$METADATA|" \
			-e "s|^clusterName=.*|clusterName=$CLUSTER|" "$CONF_DIR/broker.conf" >"$out"
		;;
	esac
}

# start_node NODE JAVA: starts NODE unless it runs, and waits until it is ready.
start_node() {
	local node=$1 java=$2 pid log heap main
	log=$(logfile "$node")
	if pid=$(owned_pid "$(pidfile "$node")" "$(conf "$node")"); then
		ready_node=$node
		running_else_wait "$node" ready_this "$pid" "$log" "$(urls "$node")" "$(urls "$node")" || true
		return 0
	fi
	# shellcheck disable=SC2046 # one word per port
	ports_free "CLICKTRAIL_CLUSTER_*_PORT(S)" $(ports "$node")
	write_conf "$node"
	case $node in
	# Heaps for six JVMs on one small machine: about 3.5 GiB at most in all.
	zk) heap=(-Xms64m -Xmx256m) main=(org.apache.zookeeper.server.quorum.QuorumPeerMain "$(conf zk)") ;;
	bookie-*) heap=(-Xms128m -Xmx384m -XX:MaxDirectMemorySize=256m) main=(org.apache.bookkeeper.server.Main --conf "$(conf "$node")") ;;
	broker-*) heap=(-Xms256m -Xmx768m -XX:MaxDirectMemorySize=512m) main=(org.apache.pulsar.PulsarBrokerStarter --broker-conf "$(conf "$node")") ;;
	esac
	local opts=("${heap[@]}" -XX:+ExitOnOutOfMemoryError "-Xlog:gc:file=$DIR/$node/gc.log:time,uptime:filecount=2,filesize=10m")
	mapfile -t -O "${#opts[@]}" opts < <(pulsar_jvm_opts "$log")
	opts+=(-cp "$LIB/*" "${main[@]}")
	echo "--- $(date -u +%FT%TZ) start" >>"$DIR/$node/stdout.log"
	start_detached "$(pidfile "$node")" "$DIR/$node" "$DIR/$node/stdout.log" "$java" "${opts[@]}"
	pid=$(<"$(pidfile "$node")")
	local begin=$SECONDS
	ready_node=$node
	wait_ready "$node" ready_this "$pid" "$log"
	say "ready in $((SECONDS - begin))s (pid $pid): $(urls "$node")"
}

# init_metadata JAVA: the cluster, its tenants and BookKeeper's ledger layout in
# ZooKeeper, once (a marker in ZooKeeper's data folder says it was done).
init_metadata() {
	local java=$1 marker=$DIR/zk/data/.clicktrail-initialized out=$DIR/zk/initialize.log
	[[ -f $marker ]] && return 0
	say "initializing the metadata of cluster $CLUSTER (log: $out)"
	local opts=(-Xmx256m)
	mapfile -t -O "${#opts[@]}" opts < <(pulsar_jvm_opts "$out")
	if ! "$java" "${opts[@]}" -cp "$LIB/*" org.apache.pulsar.PulsarClusterMetadataSetup \
		--cluster "$CLUSTER" --metadata-store "$METADATA" --configuration-metadata-store "$METADATA" \
		--web-service-url "$WEB_URL" --broker-service-url "$SERVICE_URL" \
		--zookeeper-session-timeout-ms 30000 >>"$out" 2>&1; then
		tail -n 8 "$out" >&2 || true
		die "initializing the cluster's metadata failed: see $out"
	fi
	touch "$marker"
}

start_locked() {
	local java node targets=("${NODES[@]}")
	if [[ -n ${1:-} ]]; then
		valid_node "$1"
		[[ $1 == zk || -f $DIR/zk/data/.clicktrail-initialized ]] ||
			die "the cluster was never started from $DIR: run $0 start first"
		targets=("$1")
	fi
	# Ports first: a taken one is found before a first run's download.
	for node in "${targets[@]}"; do
		# shellcheck disable=SC2046 # one word per port
		owned_pid "$(pidfile "$node")" "$(conf "$node")" >/dev/null ||
			ports_free "CLICKTRAIL_CLUSTER_*_PORT(S)" $(ports "$node")
	done
	need curl "install curl (apt-get install curl); it checks that the nodes are ready"
	java=$(find_java)
	fetch
	java=$(find_java) # again: the jars just fetched say which Java they need
	if [[ -n ${1:-} ]]; then
		start_node "$1" "$java"
		return 0
	fi
	say "starting the cluster from Pulsar $VERSION on $($java -version 2>&1 | head -n 1); logs under $DIR"
	trap 'stop_all; die "start interrupted: stopped the nodes"' INT TERM
	start_node zk "$java"
	init_metadata "$java"
	for node in bookie-1 bookie-2 bookie-3 broker-1 broker-2; do
		start_node "$node" "$java"
	done
	trap - INT TERM
	say "ready: $SERVICE_URL, admin http://127.0.0.1:${ADMIN_PORTS[0]} (or :${ADMIN_PORTS[1]})"
}

stop_node() {
	local grace=60
	[[ $1 == zk ]] && grace=20
	stop_owned "$1" "$1" "$(pidfile "$1")" "$(conf "$1")" "$grace" "$DIR"
}

# stop_all stops the brokers first (each hands its topics over, then closes its
# ledgers), then the bookies, then ZooKeeper.
stop_all() {
	local node
	for node in broker-1 broker-2 bookie-1 bookie-2 bookie-3 zk; do
		stop_node "$node"
	done
}

stop() {
	if [[ -n ${1:-} ]]; then
		valid_node "$1"
		stop_node "$1"
	else
		stop_all
	fi
}

kill_node() {
	local node=${1:-} pid
	[[ -n $node ]] || die "kill needs a node: one of ${NODES[*]}"
	valid_node "$node"
	pid=$(owned_pid "$(pidfile "$node")" "$(conf "$node")") || die "$node does not run (not started from $DIR)"
	kill -KILL "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	rm -f "$(pidfile "$node")"
	say "$node (pid $pid) killed"
}

status() {
	local node rc=0 pid
	for node in "${NODES[@]}"; do
		if pid=$(owned_pid "$(pidfile "$node")" "$(conf "$node")") && node_ready "$node"; then
			say "running (pid $pid): $(urls "$node")"
		elif [[ -n ${pid:-} ]]; then
			say "$node started (pid $pid) but not ready: see $(logfile "$node")"
			rc=1
		else
			say "$node not running"
			rc=1
		fi
		pid=
	done
	((rc == 0)) && say "clients: $SERVICE_URL"
	return "$rc"
}

env_settings() {
	echo "CLICKTRAIL_PULSAR_URL=$SERVICE_URL"
	echo "CLICKTRAIL_PULSAR_ADMIN_URL=http://127.0.0.1:${ADMIN_PORTS[0]}"
	echo "CLICKTRAIL_PULSAR_CLUSTER=$CLUSTER"
}

ready() {
	local node
	for node in "${NODES[@]}"; do node_ready "$node" || return 1; done
}

case ${1:-} in
start) with_lock cluster start_locked "${2:-}" ;;
stop) with_lock cluster stop "${2:-}" ;;
kill) kill_node "${2:-}" ;;
status) status ;;
ready) ready ;;
env) env_settings ;;
logs)
	valid_node "${2:-broker-1}"
	tail -n "${3:-50}" "$(logfile "${2:-broker-1}")"
	;;
*)
	echo "usage: $0 start [NODE]|stop [NODE]|kill NODE|status|ready|env|logs [NODE] [N]" >&2
	exit 2
	;;
esac
