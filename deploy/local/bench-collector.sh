#!/usr/bin/env bash
# Load benchmark of the collector, from a second process (loadgen) on loopback, against
# the local Pulsar. In one run, with the same batches (20 events, about 12 KB):
#   decode     the collector's handler acknowledging at once (parse, validate, enrich)
#   collector  the real collector: 200 only after Pulsar acknowledged every event
#   naive      a Gin handler calling a synchronous producer.Send per event
# then the collector at a fixed 1,000 requests/s for latency. Prints a table with the
# ratios against the decode baseline, and each collector's peak resident memory.
# Environment: BENCH_DURATION (15s), BENCH_CONCURRENCY (32).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
DUR=${BENCH_DURATION:-15s}
CONC=${BENCH_CONCURRENCY:-32}
OUT=$CACHE/bench
mkdir -p "$OUT" "$CACHE/bin"
ADMIN=http://127.0.0.1:${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}

go build -o "$CACHE/bin/" ./collector/cmd/collector ./collector/cmd/benchtarget ./collector/cmd/loadgen
go run ./deploy/provision/cmd/provision --sources deploy/local/bench-sources.yaml \
	--retention.minutes 10 --retention.size-mb 4096 --backlog-quota-mb 2048 2>&1 | grep -v level=INFO || true

pid=
stop_target() {
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}
trap stop_target EXIT

# run NAME PORT LOADGEN-ARGS -- CMD...: starts CMD, waits for /readyz, runs loadgen,
# records the report and the peak RSS, stops CMD.
run() {
	local name=$1 port=$2 args=$3
	shift 4
	"$@" >"$OUT/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do http_ok "http://127.0.0.1:$port/readyz" && break; sleep 0.2; done
	http_ok "http://127.0.0.1:$port/readyz" || die "$name did not become ready: see $OUT/$name.log"
	# shellcheck disable=SC2086
	"$CACHE/bin/loadgen" -url "http://127.0.0.1:$port" -key bench -duration "$DUR" $args -json >"$OUT/$name.json"
	awk '/VmHWM/ {print $2}' "/proc/$pid/status" >"$OUT/$name.rss_kb"
	stop_target
	say "$name: $(cat "$OUT/$name.json")"
}

export CLICKTRAIL_SOURCES=deploy/local/bench-sources.yaml CLICKTRAIL_LOG_LEVEL=warn
run decode 8091 "-concurrency $CONC" -- "$CACHE/bin/benchtarget" -mode decode -addr 127.0.0.1:8091 -sources deploy/local/bench-sources.yaml
run collector 8092 "-concurrency $CONC" -- "$CACHE/bin/collector" --collector.addr 127.0.0.1:8092 --collector.instance-id bench
run naive 8093 "-concurrency $CONC" -- "$CACHE/bin/benchtarget" -mode naive -addr 127.0.0.1:8093
run collector-1000rps 8092 "-concurrency 256 -rate 1000" -- "$CACHE/bin/collector" --collector.addr 127.0.0.1:8092 --collector.instance-id bench

# Drop the benchmark's backlog: nothing reads the bench namespace.
curl -fsS -X DELETE "$ADMIN/admin/v2/persistent/clicktrail/bench/events/partitions?force=true" >/dev/null || true

python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
r = {n: json.load(open(f"{out}/{n}.json")) for n in ["decode", "collector", "naive", "collector-1000rps"]}
rss = {n: int(open(f"{out}/{n}.rss_kb").read() or 0) // 1024 for n in r}
base = r["decode"]["events_per_second"] or 1
print(f"{'target':<20}{'events/s':>10}{'vs decode':>11}{'p50 ms':>9}{'p99 ms':>9}{'peak RSS MB':>13}  status")
for n, v in r.items():
    print(f"{n:<20}{v['events_per_second']:>10.0f}{v['events_per_second']/base:>11.2f}{v['p50_ms']:>9.1f}{v['p99_ms']:>9.1f}{rss[n]:>13}  {v['status']}")
naive = r["naive"]["events_per_second"] or 1
print(f"collector / naive = {r['collector']['events_per_second']/naive:.1f}x")
PY
