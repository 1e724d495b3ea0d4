#!/bin/bash
# The daemon's compile settings: --caps and --kernel decide includes and
# minKernel, the access record says which settings made the bytes, and the
# bytes equal an offline compile with the same settings.
. "$(dirname "$0")/../lib.sh"
require_fuse

cat >"$T/p.json" <<'JSON'
{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
     "includes": {"caps": ["CAP_SYS_ADMIN"]}},
    {"names": ["memfd_create"], "action": "SCMP_ACT_ALLOW",
     "includes": {"minKernel": "5.0"}}
  ]
}
JSON
repo=$T/repo
new_repo "$repo"
commit_profile "$repo" svc "$T/p.json" >/dev/null
git -C "$repo" tag prod/svc@1.0.0
bpf=$T/mnt/prod/svc@1.0.0.bpf

# record_of FIELD: the compile settings of the last .bpf open record.
record_of() {
	python3 - "$AUDIT" "$1" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
r = [r for r in recs if r["event"] == "open" and r["format"] == "bpf"][-1]
v = r["compile"][sys.argv[2]]
print(",".join(v) if isinstance(v, list) else v)
PY
}

for setting in default admin old; do
	case $setting in
	default) opts=() ;;
	admin) opts=(--caps +SYS_ADMIN) ;;
	old) opts=(--kernel 4.19) ;;
	esac
	AUDIT=$T/$setting.log
	start_daemon "$repo" "$T/mnt" ${opts[@]+"${opts[@]}"}
	cp "$bpf" "$T/$setting.bpf"
	"$SECPROF" compile ${opts[@]+"${opts[@]}"} "$T/p.json" \
		-o "$T/$setting.offline.bpf" 2>/dev/null
	cmp "$T/$setting.bpf" "$T/$setting.offline.bpf" ||
		fail "$setting: mount and offline compile differ"
	case $setting in
	admin) record_of caps | grep -q CAP_SYS_ADMIN || fail "caps not recorded" ;;
	*) ! record_of caps | grep -q CAP_SYS_ADMIN || fail "SYS_ADMIN in default caps" ;;
	esac
	[ "$setting" != old ] || assert_eq 4.19 "$(record_of kernel)" "kernel recorded"
	stop_daemon
done
! cmp -s "$T/default.bpf" "$T/admin.bpf" || fail "--caps changed nothing"
! cmp -s "$T/default.bpf" "$T/old.bpf" || fail "--kernel changed nothing"

# A bad setting is refused before anything is mounted.
mkdir -p "$T/mnt2"
rc=0
"$SECPROFD" -f --caps CAP_BOGUS --audit-log "$T/x.log" "$repo" "$T/mnt2" \
	2>"$T/err" || rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <"$T/err")" -eq 1 ] || fail "bad --caps accepted"
grep -q -- "--caps" "$T/err" || fail "error does not name --caps"
note "$(cat "$T/err")"
