#!/bin/bash
# bubblewrap enforces the raw filter it reads from the mount's .bpf twin,
# and the access record of that read names its opener: the shell that
# opens the file for bwrap's `3<` in the child that becomes bwrap.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/consumers.sh"

require_fuse
command -v bwrap >/dev/null || skip "bubblewrap not installed"

new_repo "$T/repo"
deny_mkdir_profile "$T/deny-mkdir.json"
commit=$(commit_profile "$T/repo" svc "$T/deny-mkdir.json")
git -C "$T/repo" tag prod/svc@1.0.0
start_daemon "$T/repo" "$T/mnt"
bpf=$MNT/prod/svc@1.0.0.bpf
[ -f "$MNT/prod/svc@1.0.0.json" ] || fail "prod/svc@1.0.0.json not mounted"
[ -f "$bpf" ] || fail "$bpf: no .bpf twin in the mount"
size=$(stat -c %s "$bpf")
if [ "$size" -eq 0 ] || [ $((size % 8)) -ne 0 ]; then
	fail "$bpf: size $size is not a whole number of sock_filter"
fi
bpf_sha=$(sha256 "$bpf")

# Control: the same sandbox without a filter may mkdir.
out=$(bwrap_run "" /bin/sh -c "$MKDIR_PROBE") ||
	fail "bwrap without a filter failed: $out"
assert_eq "mkdir=ok" "$out" "mkdir in bwrap without a filter"

out=$(bwrap_run "$bpf" /bin/sh -c "$MKDIR_PROBE") ||
	fail "bwrap with $bpf failed: $out"
case $out in
"mkdir=denied: "*"Operation not permitted"*) note "$out" ;;
*) fail "mkdir under the mounted filter: want EPERM, got '$out'" ;;
esac

# Other syscalls still work under the filter.
out=$(bwrap_run "$bpf" /bin/sh -c 'echo hi >/tmp/f && cat /tmp/f') ||
	fail "bwrap with $bpf: a plain write failed: $out"
assert_eq hi "$out" "write and read under the filter"

stop_daemon
rows=$(openers "$AUDIT" prod svc 1.0.0 bpf)
[ -n "$rows" ] || fail "no open record of prod/svc@1.0.0.bpf"
note "open records (result comm exe pid sha256 commit):"
sed "s/^/# /" <<<"$rows"
by_shell=0 n=0
while read -r result comm exe _ sha commit_id; do
	assert_eq ok "$result" "result of a .bpf open"
	assert_eq "$commit" "$commit_id" "commit in the .bpf record"
	assert_eq "$bpf_sha" "$sha" "sha256 of the filter bytes in the record"
	case $comm in
	bash | bwrap) by_shell=$((by_shell + 1)) ;;
	sha256sum) ;;
	*) fail "unexpected opener of the .bpf: '$comm' ($exe)" ;;
	esac
	n=$((n + 1))
done <<<"$rows"
# sha256sum read it once and each of the two sandboxed runs once.
assert_eq 3 "$n" "open records of the .bpf"
assert_eq 2 "$by_shell" "open records of the .bpf made for bwrap"
