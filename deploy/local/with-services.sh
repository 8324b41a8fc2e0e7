#!/usr/bin/env bash
# with-services.sh CMD [ARGS...]: runs CMD with the local Pulsar and MinIO up. Starts
# whichever is not running, and afterwards (also on failure or Ctrl-C) stops only what
# it started. Exits with CMD's status. `make test` runs through it.
set -euo pipefail
here=$(dirname "$0")
[[ $# -gt 0 ]] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }

started=()
cleanup() {
	local i
	for ((i = ${#started[@]} - 1; i >= 0; i--)); do
		"$here/${started[i]}.sh" stop || true
	done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for svc in pulsar minio; do
	if ! "$here/$svc.sh" ready; then
		started+=("$svc")
		"$here/$svc.sh" start
	fi
done
set +e
"$@"
rc=$?
set -e
exit $rc
