#!/bin/bash
# The daemon and the unit tests under valgrind's memcheck (a build without
# sanitizers, which valgrind cannot run): a mount, opens of .json and .bpf
# files, a missing version, a refresh and a clean stop, with no error and
# no definite leak.
. "$(dirname "$0")/../lib.sh"
require_fuse
command -v valgrind >/dev/null || skip "valgrind not installed"
PLAIN=${PLAIN_BUILD:-}
[ -n "$PLAIN" ] && [ -x "$PLAIN/secprofd" ] || skip "no plain build (make check sets PLAIN_BUILD)"

vg=(valgrind -q --error-exitcode=99 --leak-check=full
	--errors-for-leak-kinds=definite --show-leak-kinds=definite)

for t in test_record test_version test_opener; do
	"${vg[@]}" "$PLAIN/tests/$t" >"$T/$t.out" 2>&1 ||
		{ cat "$T/$t.out"; fail "$t under valgrind"; }
done

repo=$T/repo
new_repo "$repo"
profile_json SCMP_ACT_ERRNO read write exit_group >"$T/p1"
c1=$(commit_profile "$repo" nginx "$T/p1")
git -C "$repo" tag prod/nginx@1.0.0
mkdir "$T/mnt"
"${vg[@]}" --log-file="$T/vg.log" "$PLAIN/secprofd" -f --audit-log "$T/a.log" \
	"$repo" "$T/mnt" 2>"$T/daemon.err" &
DAEMON_PID=$!
MNT=$T/mnt
for i in $(seq 1 300); do
	mountpoint -q "$T/mnt" && break
	kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$T/vg.log"; fail "exited"; }
	sleep 0.1
done
mountpoint -q "$T/mnt" || fail "no mount under valgrind within 30 s"

cmp "$T/mnt/prod/nginx.json" "$T/p1" || fail "content"
[ -s "$T/mnt/prod/nginx@1.0.0.bpf" ] || fail "empty .bpf"
cat "$T/mnt/prod/nginx.bpf" >/dev/null
! cat "$T/mnt/prod/nginx@9.json" 2>/dev/null || fail "missing version opened"
git -C "$repo" tag prod/nginx@1.1.0 "$c1"
for i in $(seq 1 100); do
	[ -e "$T/mnt/prod/nginx@1.1.0.json" ] && break
	sleep 0.1
done
[ -e "$T/mnt/prod/nginx@1.1.0.json" ] || fail "refresh under valgrind"
ls -lR "$T/mnt" >/dev/null

kill -TERM "$DAEMON_PID"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
[ "$rc" -eq 0 ] || { cat "$T/vg.log"; fail "secprofd under valgrind: exit $rc"; }
# libseccomp probes the kernel with seccomp(2), which valgrind 3.19 does
# not know and warns about; anything else in its log is a finding.
if grep -v -e 'unhandled amd64-linux syscall: 317' -e 'write your own handler' \
	-e 'README_MISSING_SYSCALL' -e 'Nevertheless we consider' \
	-e 'valgrind.org/support/bug_reports' "$T/vg.log" | grep -q .; then
	cat "$T/vg.log"
	fail "valgrind reported errors"
fi
"$SECPROF" log verify "$T/a.log" >/dev/null || fail "chain"
note "valgrind: clean"
