#!/bin/bash
# The chain continues across a restart and across a SIGHUP log rotation,
# and the daemon exits cleanly when unmounted from outside.
. "$(dirname "$0")/../lib.sh"
require_fuse

one_profile_repo
f=$T/mnt/prod/nginx@1.0.0.json

start_daemon "$repo" "$T/mnt"
cat "$f" >/dev/null
stop_daemon
n1=$(wc -l <"$AUDIT")

start_daemon "$repo" "$T/mnt"
cat "$f" >/dev/null
# logrotate: move the file away, then SIGHUP.
mv "$AUDIT" "$AUDIT.1"
kill -HUP "$DAEMON_PID"
wait_for test -e "$AUDIT" || true
cat "$f" >/dev/null
cat "$f" >/dev/null
stop_daemon
[ -s "$AUDIT" ] || fail "no new log after SIGHUP"
[ "$(wc -l <"$AUDIT.1")" -gt "$n1" ] || fail "restart did not append"

"$SECPROF" log verify "$AUDIT.1" "$AUDIT" || fail "chain across rotation"
python3 - "$AUDIT.1" "$AUDIT" <<'PY'
import json, sys
old = [json.loads(l) for l in open(sys.argv[1])]
new = [json.loads(l) for l in open(sys.argv[2])]
starts = [r for r in old if r["event"] == "start"]
assert len(starts) == 2 and starts[1]["seq"] > 1, "restart restarted seq"
assert new[0]["seq"] == old[-1]["seq"] + 1, "seq did not continue"
PY
# The new file alone is a continued log; reversed order is broken.
"$SECPROF" log verify "$AUDIT" >/dev/null || fail "rotated file alone"
if "$SECPROF" log verify "$AUDIT" "$AUDIT.1" >/dev/null 2>&1; then
	fail "files in the wrong order verified"
fi

# fusermount3 -u from outside: a stop record and exit status 0.
start_daemon "$repo" "$T/mnt"
fusermount3 -u "$T/mnt"
rc=0
wait "$DAEMON_PID" || rc=$?
DAEMON_PID=
assert_eq 0 "$rc" "exit status after external unmount"
tail -n1 "$AUDIT" | grep -q '"event":"stop"' || fail "no stop record"
