#!/bin/bash
# Every bad input: one line on stderr naming the thing and the cause, a
# non-zero exit, and nothing mounted.
. "$(dirname "$0")/../lib.sh"
require_fuse

one_profile_repo
mkdir "$T/mnt" "$T/plain"
touch "$T/file"

expect_error() { # PATTERN ARGS...
	local pattern=$1 rc=0
	shift
	"$SECPROFD" -f "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ "$rc" -ne 0 ] || fail "secprofd $* succeeded"
	[ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err"; fail "not one line: $*"; }
	grep -q -- "$pattern" "$T/err" || fail "$*: '$(cat "$T/err")' lacks '$pattern'"
	! mountpoint -q "$T/mnt" || fail "left mounted: $*"
	note "$(cat "$T/err")"
}

log=(--audit-log "$T/access.log")
expect_error "$T/missing" "${log[@]}" "$T/missing" "$T/mnt"
expect_error "$T/plain" "${log[@]}" "$T/plain" "$T/mnt"
expect_error "$T/nomnt.*No such file" "${log[@]}" "$repo" "$T/nomnt"
expect_error "$T/file.*not a directory" "${log[@]}" "$repo" "$T/file"
expect_error "$T/file/access.log" --audit-log "$T/file/access.log" "$repo" "$T/mnt"
expect_error "unknown option '--bogus'" --bogus "$repo" "$T/mnt"
expect_error "audit-sync" --audit-sync=sometimes "$repo" "$T/mnt"
expect_error "REPO and MOUNTPOINT" "$repo"
expect_error "too many" "$repo" "$T/mnt" extra
expect_error "needs an argument" "$repo" "$T/mnt" --audit-log
expect_error "invalid environment name" --envs "prod,../x" "$repo" "$T/mnt"

# No /dev/fuse: hide it in a private mount namespace.
unshare -m bash -c "mount --bind '$T/file' /dev/fuse && \
	'$SECPROFD' -f ${log[*]} '$repo' '$T/mnt'" 2>"$T/err" && fail "no fuse ok"
grep -q "/dev/fuse" "$T/err" || fail "no /dev/fuse: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "no /dev/fuse: not one line"

# Background mode reports failure through its exit status too.
rc=0
"$SECPROFD" --audit-log "$T/file/x.log" "$repo" "$T/mnt" 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] || fail "background start with a bad log succeeded"
! mountpoint -q "$T/mnt" || fail "left mounted"

"$SECPROFD" --help | grep -q "usage: secprofd" || fail "--help"
"$SECPROFD" --version | grep -q "^secprofd " || fail "--version"
[ ! -e "$T/access.log" ] || [ ! -s "$T/access.log" ] || \
	fail "a failed start wrote records"
