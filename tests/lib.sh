# Shared helpers for secprof's test cases; sourced by tests/cases/*.sh.
#
# Every case runs in its own temporary directory ($T), mounts the real
# daemon when it needs one, and exits 0 (pass), 77 (skip) or anything else
# (fail). BUILD is the build directory (tests/run.sh exports it).

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
SECPROFD=$BUILD/secprofd
SECPROF=$BUILD/secprof
export TOP
T=$(mktemp -d /tmp/secprof-test.XXXXXX)
DAEMON_PID=
MNT=
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$TOP/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export GIT_AUTHOR_NAME=secprof-test GIT_AUTHOR_EMAIL=test@example.invalid
export GIT_COMMITTER_NAME=secprof-test GIT_COMMITTER_EMAIL=test@example.invalid
export GIT_CONFIG_NOSYSTEM=1 HOME=$T

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "skipped: $*"
	exit 77
}

note() {
	echo "# $*"
}

assert_eq() { # expected actual what
	[ "$1" == "$2" ] || fail "$3: expected '$1', got '$2'"
}

cleanup() {
	local rc=$?
	if [ -n "$MNT" ] && mountpoint -q "$MNT" 2>/dev/null; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" || true
	fi
	if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
		kill -KILL "$DAEMON_PID" 2>/dev/null || true
	fi
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT

require_fuse() {
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# new_repo DIR: an empty git repository with a work tree.
new_repo() {
	git init -q -b main "$1"
}

# commit_profile REPO SERVICE FILE [MESSAGE]: copy FILE to SERVICE.json
# and commit it; prints the commit id.
commit_profile() {
	local repo=$1 service=$2 file=$3 msg=${4:-"update $2"}
	mkdir -p "$repo/$(dirname "$service")"
	cp "$file" "$repo/$service.json"
	git -C "$repo" add "$service.json"
	git -C "$repo" commit -q -m "$msg"
	git -C "$repo" rev-parse HEAD
}

# one_profile_repo: $T/repo with one commit whose nginx.json ($T/p1) denies
# everything but read, promoted as prod/nginx@1.0.0. Sets repo.
one_profile_repo() {
	repo=$T/repo
	new_repo "$repo"
	profile_json SCMP_ACT_ERRNO read >"$T/p1"
	commit_profile "$repo" nginx "$T/p1" >/dev/null
	git -C "$repo" tag prod/nginx@1.0.0
}

# profile_json ACTION [SYSCALL...]: a small Docker-format profile whose
# default is ACTION and which allows the listed syscalls.
profile_json() {
	local action=$1
	shift
	local names=""
	for s in "$@"; do
		names+="${names:+, }\"$s\""
	done
	printf '{\n  "defaultAction": "%s",\n  "syscalls": [\n' "$action"
	printf '    {"names": [%s], "action": "SCMP_ACT_ALLOW"}\n  ]\n}\n' \
		"$names"
}

# start_daemon REPO MNT [secprofd options...]: mount in the foreground in
# the background, wait until the mount is live. Sets DAEMON_PID, MNT, and
# AUDIT (the access log) unless --audit-log is given.
start_daemon() {
	local repo=$1 mnt=$2
	shift 2
	MNT=$mnt
	mkdir -p "$mnt"
	AUDIT=${AUDIT:-$T/access.log}
	local args=("$@")
	case " ${args[*]-} " in
	*" --audit-log "*) ;;
	*) args+=(--audit-log "$AUDIT") ;;
	esac
	"$SECPROFD" -f "${args[@]}" "$repo" "$mnt" 2>>"$T/daemon.err" &
	DAEMON_PID=$!
	local i
	for i in $(seq 1 100); do
		if mountpoint -q "$mnt"; then
			return 0
		fi
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			cat "$T/daemon.err" >&2
			fail "secprofd exited before mounting"
		fi
		sleep 0.05
	done
	cat "$T/daemon.err" >&2
	fail "mount did not come up within 5 s"
}

# stop_daemon: SIGTERM, require a clean unmount and exit status 0.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID"
	local rc=0
	wait "$DAEMON_PID" || rc=$?
	DAEMON_PID=
	if mountpoint -q "$MNT"; then
		fail "mount still present after SIGTERM"
	fi
	if grep -q 'ERROR: \(Address\|Leak\|Undefined\)Sanitizer\|runtime error:' \
		"$T/daemon.err"; then
		cat "$T/daemon.err" >&2
		fail "sanitizer report from secprofd"
	fi
	[ "$rc" -eq 0 ] || { cat "$T/daemon.err" >&2; fail "secprofd exit $rc"; }
}

# wait_for CMD...: poll up to 3 s for CMD to succeed.
wait_for() {
	local i
	for i in $(seq 1 60); do
		if "$@" 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

sha256() {
	sha256sum "$1" | cut -d' ' -f1
}

# jq-free JSON field access for the access log, with python3.
records() { # FILE EVENT -> JSON lines of that event
	python3 - "$1" "$2" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("event") == sys.argv[2]:
        print(json.dumps(r))
PY
}
