#!/usr/bin/env bash
# Load benchmark of the collector, from a second process (loadgen) on loopback, against
# the local Pulsar. In one run, with the same batches (20 events, about 12 KB):
#   decode     the collector's handler acknowledging at once (parse, validate, enrich)
#   collector  the real collector: 200 only after Pulsar acknowledged every event
#   naive      a Gin handler calling a synchronous producer.Send per event
# then the collector at fixed request rates (BENCH_RATES) for latency, a 10× overload
# for 30 s with its memory sampled every second, and a normal run right after
# (recovery). Prints a table with the ratios against the decode baseline, each
# target's peak resident memory, and where the machine's CPU went during each run
# (in cores, 2.00 being all of a 2-core machine): the target, the broker, loadgen and
# everything else running on the machine (other tests, say).
# Environment: BENCH_DURATION (15s) of each run, BENCH_CONCURRENCY (32),
# BENCH_OVERLOAD (30s, the issue's figure), BENCH_RATES ("250 500 750 1000" requests/s),
# BENCH_ROUNDS (3) of the two baselines, the collector and each rate, alternated,
# BENCH_BIN: a folder with collector, benchtarget and loadgen binaries to measure instead
# of building this checkout's (to compare two builds in one session: build the other
# one with `go build -o DIR/ ./collector/cmd/...`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
DUR=${BENCH_DURATION:-15s}
CONC=${BENCH_CONCURRENCY:-32}
OVERLOAD=${BENCH_OVERLOAD:-30s}
RATES=${BENCH_RATES:-250 500 750 1000}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=$CACHE/bench
BIN=${BENCH_BIN:-$CACHE/bin}
mkdir -p "$OUT" "$CACHE/bin"
rm -f "$OUT"/*.json "$OUT"/*.cpu "$OUT"/*.rss_kb "$OUT"/*.times "$OUT"/overload.rss
ADMIN=http://127.0.0.1:${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}

if [[ -z ${BENCH_BIN:-} ]]; then
	go build -o "$BIN/" ./collector/cmd/collector ./collector/cmd/benchtarget ./collector/cmd/loadgen
fi
for b in collector benchtarget loadgen; do
	[[ -x $BIN/$b ]] || die "no $BIN/$b: build it with go build -o $BIN/ ./collector/cmd/$b"
done
# drop_topics: deletes the bench namespace's events topics, nothing reads them. Also a
# non-partitioned "events" that a producer created on its own after the last run
# deleted the partitioned one: provisioning does not replace it, and every run would
# then measure one partition instead of four.
drop_topics() {
	local t
	for t in events events-invalid; do
		curl -fsS -X DELETE "$ADMIN/admin/v2/persistent/clicktrail/bench/$t/partitions?force=true" >/dev/null 2>&1 || true
		curl -fsS -X DELETE "$ADMIN/admin/v2/persistent/clicktrail/bench/$t?force=true" >/dev/null 2>&1 || true
	done
}
drop_topics
go run ./deploy/provision/cmd/provision --sources deploy/local/bench-sources.yaml \
	--retention.minutes 10 --retention.size-mb 4096 --backlog-quota-mb 2048 2>&1 | grep -v level=INFO || true
partitions=$(curl -fsS "$ADMIN/admin/v2/persistent/clicktrail/bench/events/partitions" 2>/dev/null | python3 -c "import json, sys; print(json.load(sys.stdin)['partitions'])" || echo 0)
((partitions > 0)) || die "persistent://clicktrail/bench/events is not a partitioned topic after provisioning: see the provision output above"

# The broker's pid, for its CPU time: the local Pulsar's pid file, else whoever
# listens on the broker port.
BROKER_PID=$(cat "$RUN_DIR/pulsar/pulsar.pid" 2>/dev/null || true)
if [[ -z $BROKER_PID || ! -r /proc/$BROKER_PID/stat ]]; then
	BROKER_PID=$(port_owner "${CLICKTRAIL_PULSAR_PORT:-6650}" | awk '{print $2}')
fi

# ticks PID: user + system CPU time of PID in clock ticks (0 when it is gone). The
# command name in /proc/PID/stat may hold spaces, so fields count from its ')'.
ticks() {
	if [[ -n $1 && -r /proc/$1/stat ]]; then
		awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$1/stat" 2>/dev/null || echo 0
	else
		echo 0
	fi
}
# snapshot PID: "target-ticks broker-ticks machine-busy-ticks machine-all-ticks seconds".
snapshot() {
	echo "$(ticks "$1") $(ticks "$BROKER_PID") $(awk '/^cpu / {b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6}' /proc/stat) $(date +%s.%N)"
}

# loadgen NAME TARGET-PID ARGS...: runs loadgen with ARGS, its report to NAME.json, and
# records the CPU used meanwhile (NAME.cpu; loadgen's own from the subshell's times).
loadgen() {
	local name=$1 target=$2
	shift 2
	snapshot "$target" >"$OUT/$name.cpu"
	("$BIN/loadgen" "$@" -json >"$OUT/$name.json" && times >"$OUT/$name.times")
	snapshot "$target" >>"$OUT/$name.cpu"
}

pid=
stop_target() {
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}
trap stop_target EXIT

# start NAME PORT CMD...: starts CMD and waits for its /readyz.
start() {
	local name=$1 port=$2
	shift 2
	"$@" >"$OUT/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do http_ok "http://127.0.0.1:$port/readyz" && break; sleep 0.2; done
	http_ok "http://127.0.0.1:$port/readyz" || die "$name did not become ready: see $OUT/$name.log"
}

# run NAME PORT LOADGEN-ARGS -- CMD...: starts CMD, runs loadgen, records the report,
# the CPU split and the peak RSS, stops CMD.
run() {
	local name=$1 port=$2 args=$3
	shift 4
	start "$name" "$port" "$@"
	# shellcheck disable=SC2086
	loadgen "$name" "$pid" -url "http://127.0.0.1:$port" -key bench -duration "$DUR" $args
	awk '/VmHWM/ {print $2}' "/proc/$pid/status" >"$OUT/$name.rss_kb"
	stop_target
	say "$name: $(cat "$OUT/$name.json")"
}

COLLECTOR=("$BIN/collector" --collector.addr 127.0.0.1:8092 --collector.instance-id bench)
export CLICKTRAIL_SOURCES=deploy/local/bench-sources.yaml CLICKTRAIL_LOG_LEVEL=warn
# median NAME KEY: of the rounds NAME-1..NAME-$ROUNDS, the one with the median KEY
# becomes NAME (its report and CPU split), with every round's events/s and p99 in its
# report ("rounds"); NAME's peak RSS is the highest of the rounds.
median() {
	local name=$1 key=$2 pick ext
	pick=$(python3 - "$OUT" "$name" "$key" "$ROUNDS" <<'PY'
import json, sys
out, name, key, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
runs = {i: json.load(open(f"{out}/{name}-{i}.json")) for i in range(1, n + 1)}
pick = sorted(runs, key=lambda i: runs[i][key])[(n - 1) // 2]
report = dict(runs[pick], rounds={k: [runs[i][k] for i in runs] for k in ("events_per_second", "p99_ms")}, median_of=key)
json.dump(report, open(f"{out}/{name}.json", "w"))
rss = [int(open(f"{out}/{name}-{i}.rss_kb").read() or 0) for i in runs]
open(f"{out}/{name}.rss_kb", "w").write(f"{max(rss)}\n")
print(pick)
PY
	)
	for ext in cpu times; do cp "$OUT/$name-$pick.$ext" "$OUT/$name.$ext"; done
	say "$name: round $pick of $ROUNDS has the median $key"
}

# The two baselines and the collector alternate, ROUNDS times, so that noise from the rest
# of the machine falls on all of them alike; each figure is the median of its rounds.
for ((i = 1; i <= ROUNDS; i++)); do
	run "decode-$i" 8091 "-concurrency $CONC" -- "$BIN/benchtarget" -mode decode -addr 127.0.0.1:8091 -sources deploy/local/bench-sources.yaml
	run "collector-$i" 8092 "-concurrency $CONC" -- "${COLLECTOR[@]}"
	run "naive-$i" 8093 "-concurrency $CONC" -- "$BIN/benchtarget" -mode naive -addr 127.0.0.1:8093
done
median decode events_per_second
median collector events_per_second
median naive events_per_second
for ((i = 1; i <= ROUNDS; i++)); do
	for r in $RATES; do
		run "collector-${r}rps-$i" 8092 "-concurrency 256 -rate $r" -- "${COLLECTOR[@]}"
	done
done
for r in $RATES; do
	median "collector-${r}rps" p99_ms
done

# 10× overload for BENCH_OVERLOAD (30s): loadgen asks for ten times the requests/s the
# collector just sustained; the excess must be refused fast (429/503), memory must stay
# flat (sampled every second), and a normal run right after must get full throughput.
overload() {
	local rate
	rate=$(python3 -c "import json; print(int(10 * json.load(open('$OUT/collector.json'))['requests_per_second']))")
	start overload 8092 "${COLLECTOR[@]}"
	(while kill -0 "$pid" 2>/dev/null; do awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null; sleep 1; done) >"$OUT/overload.rss" &
	local sampler=$!
	loadgen overload "$pid" -url "http://127.0.0.1:8092" -key bench -duration "$OVERLOAD" -rate "$rate" -concurrency 2048
	loadgen recovery "$pid" -url "http://127.0.0.1:8092" -key bench -duration "$DUR" -concurrency "$CONC"
	awk '/VmHWM/ {print $2}' "/proc/$pid/status" >"$OUT/overload.rss_kb"
	stop_target
	wait "$sampler" 2>/dev/null || true
	say "overload at $rate requests/s for $OVERLOAD: $(cat "$OUT/overload.json")"
	say "recovery: $(cat "$OUT/recovery.json")"
}
overload

# Drop the benchmark's backlog: nothing reads the bench namespace.
drop_topics

python3 - "$OUT" "$(getconf CLK_TCK)" "$OVERLOAD" "$partitions" $RATES <<'PY'
import json, re, sys
out, clk, overload_for, partitions, rates = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
print(f"events topic: {partitions} partitions")
fixed = [f"collector-{r}rps" for r in rates]
names = ["decode", "collector", "naive"] + fixed
r = {n: json.load(open(f"{out}/{n}.json")) for n in names}
rss = {n: int(open(f"{out}/{n}.rss_kb").read() or 0) // 1024 for n in names}

def cpu(n):
    """Cores used during run n by the target, the broker, loadgen, everything else."""
    a, b = [list(map(float, l.split())) for l in open(f"{out}/{n}.cpu").read().splitlines()[:2]]
    secs = b[4] - a[4]
    target, broker = (b[0] - a[0]) / clk / secs, (b[1] - a[1]) / clk / secs
    busy = (b[2] - a[2]) / clk / secs
    lg = 0.0
    try:
        t = re.findall(r"(\d+)m([\d.]+)s", open(f"{out}/{n}.times").read().splitlines()[1])
        lg = sum(int(m) * 60 + float(s) for m, s in t) / secs
    except (OSError, IndexError):
        pass
    return target, broker, lg, max(0.0, busy - target - broker - lg)

def cpus(n):
    return "  ".join(f"{x:.2f}" for x in cpu(n))

def per_event(n):
    """CPU microseconds per accepted event of the target and of the broker: unlike
    events/s, these hardly move when other work shares the machine."""
    ev = r[n]["events_per_second"] or 1
    c = cpu(n)
    return f"{c[0] * 1e6 / ev:.0f} / {c[1] * 1e6 / ev:.0f}"

base = r["decode"]["events_per_second"] or 1
print(f"{'target':<22}{'req/s':>7}{'events/s':>10}{'vs decode':>11}{'p50 ms':>9}{'p99 ms':>9}{'peak RSS MB':>13}  {'CPU cores: target broker loadgen other':<40}{'CPU us/event: target / broker':<31}status")
for n, v in r.items():
    print(f"{n:<22}{v['requests_per_second']:>7.0f}{v['events_per_second']:>10.0f}{v['events_per_second']/base:>11.2f}{v['p50_ms']:>9.1f}{v['p99_ms']:>9.1f}{rss[n]:>13}  {cpus(n):<40}{per_event(n):<31}{v['status']}")
naive = r["naive"]["events_per_second"] or 1
print(f"collector / decode = {r['collector']['events_per_second']/base:.2f} (medians); collector / naive = {r['collector']['events_per_second']/naive:.1f}x")
rounds = {n: r[n].get("rounds", {}) for n in ["decode", "collector", "naive"] + fixed}
if rounds["decode"] and rounds["collector"]:
    pairs = zip(rounds["collector"]["events_per_second"], rounds["decode"]["events_per_second"])
    print("collector / decode round by round: " + " ".join(f"{c / max(d, 1):.2f}" for c, d in pairs))
for n, rd in rounds.items():
    if rd:
        print(f"  {n}: median of {len(rd['p99_ms'])} rounds by {r[n]['median_of']}; events/s "
              + " ".join(f"{x:.0f}" for x in rd["events_per_second"]) + "; p99 ms " + " ".join(f"{x:.1f}" for x in rd["p99_ms"]))
ok = [f for f, rate in zip(fixed, rates)
      if r[f]["p99_ms"] <= 20 and set(r[f]["status"]) == {"200"} and r[f]["requests_per_second"] >= 0.95 * float(rate)]
print("highest fixed rate with p99 <= 20 ms (all 200, rate reached): " + (ok[-1].split("-")[1] if ok else "none"))

o, rec = json.load(open(f"{out}/overload.json")), json.load(open(f"{out}/recovery.json"))
series = [int(x) // 1024 for x in open(f"{out}/overload.rss").read().split()] or [0]
every5 = " ".join(str(series[i]) for i in range(0, len(series), 5))
third = max(1, len(series) // 3)
print(f"10x overload for {overload_for} ({o['requests_per_second']:.0f} req/s offered and answered): status {o['status']}, "
      f"refused answered in p50 {o.get('refused_p50_ms', 0):.1f} / p99 {o['refused_p99_ms']:.1f} ms, accepted {o['events_per_second']:.0f} events/s; "
      f"CPU cores target/broker/loadgen/other {cpus('overload')}")
print(f"  RSS MB every 5 s: {every5}; min/median/max {min(series)}/{sorted(series)[len(series)//2]}/{max(series)}; "
      f"max of the first third {max(series[:third])}, of the last third {max(series[-third:])}")
print(f"recovery right after: {rec['events_per_second']:.0f} events/s ({rec['events_per_second']/max(1, r['collector']['events_per_second']):.2f} of before), "
      f"p99 {rec['p99_ms']:.1f} ms, status {rec['status']}")
PY
