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

# 10× overload for BENCH_OVERLOAD (30s): loadgen asks for ten times the requests/s the
# collector just sustained; the excess must be refused fast (429/503), memory must stay
# flat (sampled every second), and a normal run right after must get full throughput.
overload() {
	local port=8092 rate
	rate=$(python3 -c "import json; print(int(10 * json.load(open('$OUT/collector.json'))['requests_per_second']))")
	"$CACHE/bin/collector" --collector.addr 127.0.0.1:$port --collector.instance-id bench >"$OUT/overload.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do http_ok "http://127.0.0.1:$port/readyz" && break; sleep 0.2; done
	(while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null; sleep 1; done) >"$OUT/overload.rss" &
	local sampler=$!
	"$CACHE/bin/loadgen" -url "http://127.0.0.1:$port" -key bench -duration "${BENCH_OVERLOAD:-30s}" -rate "$rate" -concurrency 2048 -json >"$OUT/overload.json"
	"$CACHE/bin/loadgen" -url "http://127.0.0.1:$port" -key bench -duration "$DUR" -concurrency "$CONC" -json >"$OUT/recovery.json"
	stop_target
	wait "$sampler" 2>/dev/null || true
	say "overload at $rate requests/s: $(cat "$OUT/overload.json")"
	say "recovery: $(cat "$OUT/recovery.json")"
}
overload

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
o, rec = json.load(open(f"{out}/overload.json")), json.load(open(f"{out}/recovery.json"))
rss = [int(x) // 1024 for x in open(f"{out}/overload.rss").read().split()] or [0]
print(f"10x overload ({o['requests_per_second']:.0f} req/s offered and answered): status {o['status']}, "
      f"refused answered in p99 {o['refused_p99_ms']:.1f} ms, accepted {o['events_per_second']:.0f} events/s; "
      f"RSS min/median/max {min(rss)}/{sorted(rss)[len(rss)//2]}/{max(rss)} MB")
print(f"recovery right after: {rec['events_per_second']:.0f} events/s ({rec['events_per_second']/max(1, r['collector']['events_per_second']):.2f} of before), status {rec['status']}")
PY
