#!/usr/bin/env bash
# `make run`: the local Pulsar and MinIO are up and provisioned (make's prerequisites);
# this builds and starts each Clicktrail service that exists in the tree, prints where
# everything answers, and on Ctrl-C stops the services it started. Pulsar and MinIO
# keep running (make down stops them).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

declare -A ports=([collector]=8088 [processor]=8089 [archiver]=8090)
pids=()
stop_services() {
	local pid
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop_services EXIT
trap 'exit 0' INT TERM

# Development: the archiver closes files after 30 s instead of 5 minutes.
export CLICKTRAIL_ARCHIVER_ROLL_AGE=${CLICKTRAIL_ARCHIVER_ROLL_AGE:-30s}
mkdir -p "$CACHE/bin" "$RUN_DIR"
for svc in collector processor archiver; do
	[[ -d $svc/cmd/$svc ]] || continue
	go build -o "$CACHE/bin/$svc" "./$svc/cmd/$svc"
	CLICKTRAIL_SOURCES=${CLICKTRAIL_SOURCES:-deploy/local/sources.yaml} "$CACHE/bin/$svc" >"$RUN_DIR/$svc.log" 2>&1 &
	pids+=($!)
	say "$svc started (pid $!), log $RUN_DIR/$svc.log, http://127.0.0.1:${ports[$svc]}"
done

cat <<MSG
Clicktrail is up:
  Pulsar     pulsar://127.0.0.1:${CLICKTRAIL_PULSAR_PORT:-6650}, admin http://127.0.0.1:${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}
  MinIO      http://127.0.0.1:${CLICKTRAIL_MINIO_PORT:-9000}, console http://127.0.0.1:${CLICKTRAIL_MINIO_CONSOLE_PORT:-9001} (user clicktrail, password clicktrail-dev-secret)
  tenant     clicktrail/dev (write key "dev", read key "dev-read"), bucket clicktrail
  dashboard  http://127.0.0.1:8089/?tenant=clicktrail&key=dev-read (when the processor runs)
  traffic    go run ./deploy/simulate/cmd/simulate -rate 5
MSG
if ((${#pids[@]} == 0)); then
	echo "No service is built yet; Pulsar and MinIO keep running. Stop them with: make down"
	exit 0
fi
echo "Ctrl-C stops the services; make down stops Pulsar and MinIO."
wait -n "${pids[@]}" || true
say "a service exited; see its log in $RUN_DIR"
