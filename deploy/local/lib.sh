# Shared helpers of the deploy/local scripts; sourced, not run.
# Every failure a user can hit ends in die: one line with the cause and what to do.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${CLICKTRAIL_CACHE:-$ROOT/.cache}
RUN_DIR=${CLICKTRAIL_RUN_DIR:-$CACHE/run}

die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

say() { echo "$(basename "$0" .sh): $*" >&2; }

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE: true when the file names a live process.
pid_alive() {
	local pid
	[[ -s $1 ]] || return 1
	pid=$(<"$1")
	[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# http_ok URL: true when URL answers 2xx.
http_ok() {
	curl -fsS --max-time 3 -o /dev/null "$1" 2>/dev/null
}

# with_lock NAME CMD...: runs CMD holding an exclusive lock, so concurrent starts
# (parallel test binaries, two terminals) never start two copies.
with_lock() {
	local name=$1
	shift
	mkdir -p "$RUN_DIR"
	exec {lockfd}>"$RUN_DIR/$name.lock"
	flock "$lockfd"
	"$@"
	local rc=$?
	exec {lockfd}>&-
	return $rc
}

# wait_ready NAME URL PIDFILE LOG TIMEOUT: waits until URL answers, the process dies,
# or TIMEOUT seconds pass; prints progress every 10 s.
wait_ready() {
	local name=$1 url=$2 pidfile=$3 log=$4 timeout=$5 start=$SECONDS
	while ! http_ok "$url"; do
		if ! pid_alive "$pidfile"; then
			rm -f "$pidfile"
			tail -n 5 "$log" >&2 || true
			die "$name exited during start-up: see $log (last lines above)"
		fi
		local waited=$((SECONDS - start))
		if ((waited >= timeout)); then
			stop_pid "$name" "$pidfile" 10
			tail -n 5 "$log" >&2 || true
			die "$name did not become ready within ${timeout}s and was stopped: see $log; raise the limit with CLICKTRAIL_START_TIMEOUT"
		fi
		if ((waited > 0 && waited % 10 == 0)); then
			say "waiting for $name to be ready... ${waited}s"
		fi
		sleep 1
	done
}

# stop_pid NAME PIDFILE GRACE: SIGTERM, then SIGKILL after GRACE seconds.
stop_pid() {
	local name=$1 pidfile=$2 grace=$3 pid
	if ! pid_alive "$pidfile"; then
		rm -f "$pidfile"
		return 0
	fi
	pid=$(<"$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "$name (pid $pid) did not stop within ${grace}s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
		while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$pidfile"
}
