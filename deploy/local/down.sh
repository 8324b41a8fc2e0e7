#!/usr/bin/env bash
# Stops the local Pulsar and MinIO this checkout started (found by their pid files);
# says so when one is not running.
set -euo pipefail
here=$(dirname "$0")
rc=0
"$here/minio.sh" stop || rc=1
"$here/pulsar.sh" stop || rc=1
exit $rc
