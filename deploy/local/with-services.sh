#!/usr/bin/env bash
# with-services.sh CMD [ARGS...]: runs CMD with the local Pulsar and S3 server up. Starts
# whichever does not answer yet, runs CMD, and afterwards (also when CMD fails, or on
# Ctrl-C) stops only what it started. Exits with CMD's status.
# `make test` runs `deploy/local/with-services.sh go test ./...` this way.
set -euo pipefail
here=$(dirname "$0")
if [[ $# -eq 0 ]]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

started=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	local i
	for ((i = ${#started[@]} - 1; i >= 0; i--)); do
		"$here/${started[i]}.sh" stop || true
	done
}
trap cleanup EXIT
# exit runs the EXIT trap; 128 + signal number is what a shell reports for a signal.
trap 'exit 130' INT
trap 'exit 143' TERM

for svc in pulsar s3; do
	# A service that already answers is used as it is, whoever started it, and left
	# running afterwards.
	if ! "$here/$svc.sh" ready; then
		started+=("$svc") # before start: an interrupted start is stopped too
		"$here/$svc.sh" start
	fi
done
rc=0
"$@" || rc=$?
exit "$rc"
