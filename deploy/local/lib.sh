# shellcheck shell=bash
# Shared helpers of the deploy/local scripts; sourced, not run.
#
# Every failure a user can hit ends in die: ONE line with the cause and what to do.
# Everything downloaded, built or run lives under $CACHE (git-ignored); each service
# gets a run folder $RUN_DIR/<name> with its pid file, logs and data.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${CLICKTRAIL_CACHE:-$ROOT/.cache}
RUN_DIR=${CLICKTRAIL_RUN_DIR:-$CACHE/run}
START_TIMEOUT=${CLICKTRAIL_START_TIMEOUT:-180}

# die MESSAGE: prints "script: MESSAGE" and exits 1. MESSAGE is "cause: what to do".
die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# say MESSAGE: progress for the user, on stderr so stdout stays for data.
say() { echo "$(basename "$0" .sh): $*" >&2; }

# need CMD WHAT_TO_DO: dies unless CMD is on the PATH.
need() {
	command -v "$1" >/dev/null || die "$1 is not installed (not on PATH): $2"
}

# port_in_use PORT: true when something accepts connections on 127.0.0.1:PORT.
# bash's /dev/tcp needs no extra tool; the subshell closes the connection at once.
port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_owner PORT: "pid N (name)" of the process listening on PORT, when ss can tell.
port_owner() {
	command -v ss >/dev/null || return 0
	ss -ltnpH "sport = :$1" 2>/dev/null |
		sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/pid \2 (\1)/p' | head -n 1
}

# ports_free ENV_HINT PORT...: dies naming the first PORT already in use, and the
# variables that choose other ports.
ports_free() {
	local hint=$1 p owner
	shift
	for p in "$@"; do
		if port_in_use "$p"; then
			owner=$(port_owner "$p")
			die "port $p on 127.0.0.1 is already in use${owner:+ by $owner}: stop that process, or choose other ports with $hint"
		fi
	done
}

# owned_pid PIDFILE MARKER: prints the pid from PIDFILE when that process is alive AND
# is ours, that is its command line contains MARKER (a path in our run folder). A pid
# file left by a crash may name a pid the system has since given to another program;
# such a file is removed.
owned_pid() {
	local pidfile=$1 marker=$2 pid cmdline
	[[ -s $pidfile ]] || return 1
	pid=$(<"$pidfile")
	if [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]]; then
		cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
		if [[ $cmdline == *"$marker"* ]]; then
			echo "$pid"
			return 0
		fi
	fi
	rm -f "$pidfile"
	return 1
}

# http_ok URL: true when URL answers 2xx within 3 s.
http_ok() {
	curl -fsS --max-time 3 -o /dev/null "$1" 2>/dev/null
}

# http_body URL: prints the body of a 2xx answer; false otherwise.
http_body() {
	curl -fsS --max-time 3 "$1" 2>/dev/null
}

# with_lock NAME CMD...: runs CMD holding an exclusive lock on $RUN_DIR/NAME.lock, so
# two concurrent starts (parallel test binaries, two terminals) never start two
# copies: the second waits, then finds the first one running. The lock is released
# when the script exits, even if CMD dies.
with_lock() {
	local name=$1
	shift
	mkdir -p "$RUN_DIR"
	need flock "install util-linux"
	exec {LOCK_FD}>"$RUN_DIR/$name.lock"
	if ! flock -w "$((START_TIMEOUT + 60))" "$LOCK_FD"; then
		die "another start of $name has held $RUN_DIR/$name.lock for over $((START_TIMEOUT + 60))s: wait for it, or stop it"
	fi
	"$@"
}

# start_detached PIDFILE DIR OUT CMD...: runs CMD in DIR in its own session (so a
# Ctrl-C in the terminal or the end of the calling script does not reach it), with
# stdin closed and stdout/stderr to OUT, and writes its pid to PIDFILE. The lock's
# file descriptor is closed in the child: otherwise the lock would be held for as long
# as the service runs.
start_detached() {
	local pidfile=$1 dir=$2 out=$3
	shift 3
	# The inner bash writes its own pid, then becomes CMD (exec keeps the pid).
	# shellcheck disable=SC2016 # $$ and $@ are the inner shell's
	(cd "$dir" && exec setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@") \
		{LOCK_FD}>&- </dev/null >>"$out" 2>&1 &
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -s $pidfile ]] && return 0
		sleep 0.1
	done
	die "could not start $1 (no pid after 5s): see $out"
}

# wait_ready NAME CHECK PID LOG: polls the function CHECK each second until it
# succeeds. If the process dies, or START_TIMEOUT seconds pass (the process is then
# stopped), prints the last lines of LOG and dies. Says how long it has waited.
wait_ready() {
	local name=$1 check=$2 pid=$3 log=$4 start=$SECONDS waited next=5
	while ! "$check"; do
		waited=$((SECONDS - start))
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 8 "$log" >&2 2>/dev/null || true
			die "$name exited ${waited}s into its start-up: see $log (last lines above)"
		fi
		if ((waited >= START_TIMEOUT)); then
			stop_pid "$name" "$pid" 10
			tail -n 8 "$log" >&2 2>/dev/null || true
			die "$name was not ready within ${START_TIMEOUT}s and was stopped: see $log (last lines above); raise the limit with CLICKTRAIL_START_TIMEOUT"
		fi
		if ((waited >= next)); then
			say "waiting for $name... ${waited}s"
			next=$((waited + 5))
		fi
		sleep 1
	done
}

# stop_pid NAME PID GRACE: SIGTERM, then SIGKILL after GRACE seconds; returns once
# the process is gone.
stop_pid() {
	local name=$1 pid=$2 grace=$3 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < grace * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	say "$name (pid $pid) did not stop within ${grace}s after SIGTERM; sending SIGKILL"
	kill -KILL "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

# running_else_wait NAME CHECK PID LOG URLS READY_URLS: for a start that finds its
# service PID already started. Returns 0 at once when the function CHECK succeeds,
# saying it already runs with URLS; otherwise says it is already starting, waits for it
# with wait_ready (which dies if it does not get ready), says it is ready with
# READY_URLS and returns 1.
running_else_wait() {
	local name=$1 check=$2 pid=$3 log=$4 urls=$5 ready_urls=$6
	if "$check"; then
		say "already running (pid $pid): $urls"
		return 0
	fi
	say "already starting (pid $pid)"
	wait_ready "$name" "$check" "$pid" "$log"
	say "ready (pid $pid): $ready_urls"
	return 1
}

# stop_owned NAME WHAT PIDFILE MARKER GRACE DIR: the stop verb. Stops the service of
# PIDFILE when it is ours (owned_pid) with stop_pid NAME PID GRACE and removes PIDFILE;
# otherwise says that no WHAT was started from DIR.
stop_owned() {
	local name=$1 what=$2 pidfile=$3 marker=$4 grace=$5 dir=$6 pid
	if pid=$(owned_pid "$pidfile" "$marker"); then
		say "stopping pid $pid"
		stop_pid "$name" "$pid" "$grace"
		rm -f "$pidfile"
		say "stopped"
	else
		say "not running (no $what started from $dir)"
	fi
}

# status_owned PIDFILE MARKER CHECK URLS LOG: the status verb. Exit 0 when the service
# of PIDFILE is ours (owned_pid) and the function CHECK succeeds; says so with URLS.
status_owned() {
	local pidfile=$1 marker=$2 check=$3 urls=$4 log=$5 pid
	if pid=$(owned_pid "$pidfile" "$marker") && "$check"; then
		say "running (pid $pid): $urls"
	elif [[ -n ${pid:-} ]]; then
		say "started (pid $pid) but not ready: see $log"
		return 1
	else
		say "not running"
		return 1
	fi
}

# interrupted_start NAME PIDFILE: the trap of a start that is cut short (Ctrl-C,
# SIGTERM): stops what it started, so no half-started service is left behind.
interrupted_start() {
	local pid
	if [[ -s $2 ]]; then
		pid=$(<"$2")
		stop_pid "$1" "$pid" 10
		rm -f "$2"
	fi
	die "start of $1 interrupted: stopped what it had started"
}

# go_install NAME PACKAGE VERSION WHEN: builds PACKAGE@VERSION with `go install` into
# $CACHE/bin/NAME once (a stamp file names the version built), saying what it does and,
# every 15 s, how far it got; WHEN says how long a first build takes. Built into a
# temporary GOBIN and moved into place, so an interrupted build never leaves a binary
# that looks complete.
go_install() {
	local name=$1 pkg=$2 version=$3 when=$4
	local dir=$CACHE/bin bin=$CACHE/bin/$1 stamp=$CACHE/bin/.$1-$3
	[[ -x $bin && -f $stamp ]] && return 0
	need go "install Go 1.26 and run again"
	local out=$dir/$name-build.log start=$SECONDS tmp=$dir/.$name-build
	mkdir -p "$dir"
	say "building $name $version with go install into $dir (first run only, $when; log: $out)"
	rm -rf "$tmp"
	(GOBIN=$tmp go install "$pkg@$version" >"$out" 2>&1) &
	local pid=$! next=10
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		if (((SECONDS - start) >= next)); then
			say "still building $name... $((SECONDS - start))s ($(grep -c '^go: downloading' "$out" || true) modules downloaded)"
			next=$((next + 15))
		fi
	done
	if ! wait "$pid"; then
		tail -n 5 "$out" >&2 || true
		rm -rf "$tmp"
		die "building $name $version failed: see $out; check that Go can reach its module proxy and run again"
	fi
	mv "$tmp/$(basename "$pkg")" "$bin" && rm -rf "$tmp"
	rm -f "$dir/.$name"-v* && touch "$stamp"
	say "built $name in $((SECONDS - start))s"
}
