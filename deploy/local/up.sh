#!/usr/bin/env bash
# Starts the local Pulsar and MinIO (fetching them on first use); what already runs is
# reused. `make up` runs this; deploy/local/down.sh stops both.
set -euo pipefail
here=$(dirname "$0")
"$here/pulsar.sh" start
"$here/minio.sh" start
cat >&2 <<MSG
up: Pulsar   pulsar://127.0.0.1:${CLICKTRAIL_PULSAR_PORT:-6650}   admin http://127.0.0.1:${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}
up: MinIO    http://127.0.0.1:${CLICKTRAIL_MINIO_PORT:-9000}   console http://127.0.0.1:${CLICKTRAIL_MINIO_CONSOLE_PORT:-9001} (user ${CLICKTRAIL_S3_ACCESS_KEY:-clicktrail})
up: stop both with: make down
MSG
