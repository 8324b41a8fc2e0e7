#!/usr/bin/env bash
# Stops the local Pulsar and S3 server this checkout started (found by their pid files);
# says so when one is not running.
set -euo pipefail
here=$(dirname "$0")
rc=0
"$here/s3.sh" stop || rc=1
"$here/pulsar.sh" stop || rc=1
exit $rc
