#!/usr/bin/env bash
# Starts the local Pulsar and S3 server of this checkout (fetching them on first use) and
# prints how to reach them. What this checkout already runs is left as it is.
# `make up` runs this; deploy/local/down.sh stops both.
set -euo pipefail
here=$(dirname "$0")
"$here/pulsar.sh" start
"$here/s3.sh" start
cat >&2 <<MSG
up: Pulsar  pulsar://127.0.0.1:${CLICKTRAIL_PULSAR_PORT:-6650}   admin http://127.0.0.1:${CLICKTRAIL_PULSAR_ADMIN_PORT:-8080}
up: S3      http://127.0.0.1:${CLICKTRAIL_S3_PORT:-${CLICKTRAIL_MINIO_PORT:-9000}} (${CLICKTRAIL_S3_SERVER:-versitygw})   access key ${CLICKTRAIL_S3_ACCESS_KEY:-clicktrail}, secret key ${CLICKTRAIL_S3_SECRET_KEY:-clicktrail-dev-secret}
up: logs    deploy/local/pulsar.sh logs, deploy/local/s3.sh logs; stop both with deploy/local/down.sh (make down)
MSG
