#!/usr/bin/env bash
# The collector's publishing path (BenchmarkPublish in collector/) with the patched
# Pulsar client that go.mod puts in place (internal/thirdparty/README.md) and with the
# upstream release it patches, alternately, BENCH_CLIENT_ROUNDS (3) times each, against
# the local Pulsar. The upstream build uses a copy of go.mod without the replace line
# (and go.sum with the release's two checksums), in .cache/bench: nothing in the
# checkout changes. Prints Go benchmark lines (cpu-µs/msg, msgs/s) for benchreport.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ROUNDS=${BENCH_CLIENT_ROUNDS:-3}
N=${BENCH_CLIENT_MESSAGES:-200000}
OUT=$CACHE/bench
mkdir -p "$OUT"
# The replaced module's version, from go.mod's require line.
version=$(awk '$1 == "github.com/apache/pulsar-client-go" && $2 ~ /^v/ {print $2; exit}' go.mod)
[[ $version == v0.21.0 ]] || die "go.mod requires pulsar-client-go $version, this script knows the checksums of v0.21.0 only: add the new release's two go.sum lines here (go mod download -json prints them)"
grep -v '^replace github.com/apache/pulsar-client-go ' go.mod >"$OUT/upstream-client.mod"
{
	cat go.sum
	echo "github.com/apache/pulsar-client-go v0.21.0 h1:cLIsrhXCfQ12tG/wCk0SZs3/xJluH++yMZmxBVvTnhk="
	echo "github.com/apache/pulsar-client-go v0.21.0/go.mod h1:IDGs98WESBYof6In1rFOokCBx5UvyAiqSdWogXNIEo8="
} >"$OUT/upstream-client.sum"

run() {
	go test "$@" -run '^$' -bench '^BenchmarkPublish$' -benchtime "${N}x" -count 1 ./collector/ 2>&1 | grep -v '^time='
}
for i in $(seq "$ROUNDS"); do
	say "round $i of $ROUNDS: patched client, then upstream"
	run
	run -modfile "$OUT/upstream-client.mod"
done
