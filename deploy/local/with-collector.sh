#!/usr/bin/env bash
# with-collector.sh CMD [ARGS...]: runs CMD with a real collector for the development
# source (write key "dev") answering at $CLICKTRAIL_COLLECTOR_URL, then stops it.
# Pulsar must be up (make test runs this inside with-services.sh). The SDK's browser
# tests use it, so that events go from Chromium through the collector into Pulsar.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PORT=${CLICKTRAIL_TEST_COLLECTOR_PORT:-8097}
port_in_use "$PORT" && die "port $PORT on 127.0.0.1 is already in use: free it or set CLICKTRAIL_TEST_COLLECTOR_PORT"
mkdir -p "$CACHE/bin" "$RUN_DIR"
go run ./deploy/provision/cmd/provision --sources deploy/local/sources.yaml 2>&1 | grep -v level=INFO || true
go build -o "$CACHE/bin/collector" ./collector/cmd/collector
"$CACHE/bin/collector" --collector.addr "127.0.0.1:$PORT" --sources deploy/local/sources.yaml --log.level warn >"$RUN_DIR/test-collector.log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 150); do http_ok "http://127.0.0.1:$PORT/readyz" && break; sleep 0.2; done
http_ok "http://127.0.0.1:$PORT/readyz" || die "the test collector did not become ready: see $RUN_DIR/test-collector.log"
export CLICKTRAIL_COLLECTOR_URL=http://127.0.0.1:$PORT
"$@"
