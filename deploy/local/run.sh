#!/usr/bin/env bash
# `make run`: the local Pulsar and S3 server are up and provisioned (make's prerequisites);
# this builds the browser SDK when sdk-js/dist is missing, builds and starts the
# collector, the processor, the archiver and the demo site, waits until each is ready,
# prints where everything answers, and on Ctrl-C stops the processes it started.
# `make run` and `make demo` call it through with-services.sh, which then stops Pulsar
# and the S3 server too when it started them (when they were already up, they keep running).
#
#   run.sh [--demo]
#
# --demo (`make demo`) also starts the visitor simulator (deploy/simulate) against the
# collector, CLICKTRAIL_SIMULATE_RATE new visitors a second (default 2), so the
# dashboard fills by itself.
#
# Addresses: CLICKTRAIL_COLLECTOR_ADDR (127.0.0.1:8088), CLICKTRAIL_PROCESSOR_ADDR
# (127.0.0.1:8089), CLICKTRAIL_ARCHIVER_ADDR (127.0.0.1:8090), CLICKTRAIL_DEMO_ADDR
# (127.0.0.1:8091); the services read the same variables. The demo site's origin must be
# among the dev source's origins in deploy/local/sources.yaml.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

simulate=false
case "${1:-}" in
"") ;;
--demo) simulate=true ;;
*)
	echo "usage: $0 [--demo]" >&2
	exit 2
	;;
esac

export CLICKTRAIL_COLLECTOR_ADDR=${CLICKTRAIL_COLLECTOR_ADDR:-127.0.0.1:8088}
export CLICKTRAIL_PROCESSOR_ADDR=${CLICKTRAIL_PROCESSOR_ADDR:-127.0.0.1:8089}
export CLICKTRAIL_ARCHIVER_ADDR=${CLICKTRAIL_ARCHIVER_ADDR:-127.0.0.1:8090}
export CLICKTRAIL_DEMO_ADDR=${CLICKTRAIL_DEMO_ADDR:-127.0.0.1:8091}
export CLICKTRAIL_SOURCES=${CLICKTRAIL_SOURCES:-deploy/local/sources.yaml}
# Development: the archiver closes files after 30 s instead of 5 minutes, and the
# processor closes a quiet visitor's session after 2 minutes instead of 30, so that the
# dashboard's bounce rate and visit length, and the archive's sessions table, fill soon.
export CLICKTRAIL_ARCHIVER_ROLL_AGE=${CLICKTRAIL_ARCHIVER_ROLL_AGE:-30s}
export CLICKTRAIL_PROCESSOR_IDLE_TIMEOUT=${CLICKTRAIL_PROCESSOR_IDLE_TIMEOUT:-2m}
collector=http://$CLICKTRAIL_COLLECTOR_ADDR
dashboard="http://$CLICKTRAIL_PROCESSOR_ADDR/?tenant=clicktrail&key=dev-read"
export CLICKTRAIL_DEMO_COLLECTOR_URL=${CLICKTRAIL_DEMO_COLLECTOR_URL:-$collector}
export CLICKTRAIL_DEMO_DASHBOARD_URL=${CLICKTRAIL_DEMO_DASHBOARD_URL:-$dashboard}
export CLICKTRAIL_DEMO_SDK=${CLICKTRAIL_DEMO_SDK:-sdk-js/dist/clicktrail.min.js}
SIMULATE_RATE=${CLICKTRAIL_SIMULATE_RATE:-2}

declare -A addrs=([collector]=$CLICKTRAIL_COLLECTOR_ADDR [processor]=$CLICKTRAIL_PROCESSOR_ADDR
	[archiver]=$CLICKTRAIL_ARCHIVER_ADDR [demo]=$CLICKTRAIL_DEMO_ADDR)
services=(collector processor archiver demo)
ports=()
for svc in "${services[@]}"; do ports+=("${addrs[$svc]##*:}"); done
ports_free "CLICKTRAIL_COLLECTOR_ADDR, CLICKTRAIL_PROCESSOR_ADDR, CLICKTRAIL_ARCHIVER_ADDR, CLICKTRAIL_DEMO_ADDR (is a make run already running?)" "${ports[@]}"

pids=()
names=()
# shellcheck disable=SC2317 # run by the EXIT trap
stop_services() {
	local i
	((${#pids[@]} > 0)) || return 0
	say "stopping ${names[*]}"
	# SIGTERM to each, the last started (the simulator, the demo site) first; each shuts
	# down gracefully (the collector drains and flushes, the processor writes its last
	# checkpoint, the archiver stores its open files), then all are waited for.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do wait "${pids[i]}" 2>/dev/null || true; done
	say "stopped"
}
trap stop_services EXIT
trap 'exit 0' INT TERM

# The demo site serves the SDK's script-tag build, which is not in git.
if [[ ! -s $CLICKTRAIL_DEMO_SDK ]]; then
	need npm "install Node 20 with npm (the demo site serves the browser SDK, built from sdk-js)"
	say "building the browser SDK for the demo site (first run only): cd sdk-js && npm ci && npm run build"
	(cd sdk-js && npm ci --no-audit --no-fund && npm run build) >&2 ||
		die "building the SDK failed (output above): fix it, then run again (or build it by hand: cd sdk-js && npm ci && npm run build)"
	[[ -s $CLICKTRAIL_DEMO_SDK ]] || die "the SDK build did not write $CLICKTRAIL_DEMO_SDK: run cd sdk-js && npm ci && npm run build and look at its output"
fi

mkdir -p "$CACHE/bin" "$RUN_DIR"
say "building the services into $CACHE/bin"
pkgs=(./collector/cmd/collector ./processor/cmd/processor ./archiver/cmd/archiver ./deploy/demo/cmd/demo)
$simulate && pkgs+=(./deploy/simulate/cmd/simulate)
go build -o "$CACHE/bin/" "${pkgs[@]}"

READY_URL=
# shellcheck disable=SC2317 # called by wait_ready
url_ready() { http_ok "$READY_URL"; }

# start NAME CMD...: runs CMD in the background with its output in $RUN_DIR/NAME.log,
# in a session of its own: Ctrl-C in the terminal reaches only this script, whose trap
# then stops every process in order (a service that caught the terminal's SIGINT itself
# would race the trap and look like a crash).
start() {
	local name=$1
	shift
	setsid "$@" </dev/null >"$RUN_DIR/$name.log" 2>&1 &
	pids+=($!)
	names+=("$name")
	say "$name started (pid $!), log $RUN_DIR/$name.log"
}

for svc in "${services[@]}"; do
	start "$svc" "$CACHE/bin/$svc"
done
for i in "${!services[@]}"; do
	READY_URL="http://${addrs[${services[i]}]}/readyz"
	wait_ready "${services[i]}" url_ready "${pids[i]}" "$RUN_DIR/${services[i]}.log"
done
traffic="send traffic: make demo, or go run ./deploy/simulate/cmd/simulate -rate 5"
if $simulate; then
	start simulate "$CACHE/bin/simulate" -url "$collector" -key dev -rate "$SIMULATE_RATE"
	traffic="simulated visitors, $SIMULATE_RATE new a second (log $RUN_DIR/simulate.log)"
fi

logs=$(
	IFS=,
	echo "${names[*]}"
)
cat <<MSG
Clicktrail is up:
  demo site  http://$CLICKTRAIL_DEMO_ADDR/  (click around: its pages send to the collector)
  dashboard  $dashboard
  traffic    $traffic
  collector  $collector/v1/batch (write key "dev")
  S3         http://127.0.0.1:${CLICKTRAIL_S3_PORT:-${CLICKTRAIL_MINIO_PORT:-9000}} (${CLICKTRAIL_S3_SERVER:-versitygw}; access key clicktrail, secret key clicktrail-dev-secret), bucket clicktrail
  Pulsar     pulsar://127.0.0.1:${CLICKTRAIL_PULSAR_PORT:-6650}, admin http://127.0.0.1:${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}, tenant clicktrail/dev
  metrics    collector http://$CLICKTRAIL_COLLECTOR_ADDR/metrics
             processor http://$CLICKTRAIL_PROCESSOR_ADDR/metrics
             archiver  http://$CLICKTRAIL_ARCHIVER_ADDR/metrics
             demo site http://$CLICKTRAIL_DEMO_ADDR/metrics
  logs       $RUN_DIR/{$logs}.log
Ctrl-C stops them, and Pulsar and the S3 server unless they were running before.
MSG
wait -n "${pids[@]}" || true
for i in "${!pids[@]}"; do
	kill -0 "${pids[i]}" 2>/dev/null || say "${names[i]} exited; see $RUN_DIR/${names[i]}.log"
done
exit 1
