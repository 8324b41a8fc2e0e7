#!/usr/bin/env bash
# Stops the local Pulsar and MinIO started by up.sh (by their pid files).
set -euo pipefail
here=$(dirname "$0")
"$here/minio.sh" stop
"$here/pulsar.sh" stop
