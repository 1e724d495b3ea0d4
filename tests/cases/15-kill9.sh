#!/bin/bash
# kill -9 under 8-way load: every open a client saw succeed has its record.
. "$(dirname "$0")/../lib.sh"
require_fuse

one_profile_repo
start_daemon "$repo" "$T/mnt"

python3 - "$T/mnt/prod/nginx@1.0.0.json" "$DAEMON_PID" "$AUDIT" <<'PY'
import json, os, signal, sys, threading, time
path, pid, audit = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ok = [0] * 8
def work(i):
    while True:
        try:
            with open(path, "rb") as f:
                f.read()
        except OSError:
            return
        ok[i] += 1
ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for t in ts:
    t.start()
time.sleep(1.0)
os.kill(pid, signal.SIGKILL)
for t in ts:
    t.join()
seen = sum(ok)
lines = open(audit, "rb").read().split(b"\n")
complete = [json.loads(l) for l in lines[:-1]]
recorded = sum(1 for r in complete
               if r["event"] == "open" and r["result"] == "ok")
print("clients saw %d opens succeed; %d records on disk" % (seen, recorded))
assert seen > 0
assert recorded >= seen, "an acknowledged open has no record"
PY
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
fusermount3 -u "$T/mnt" 2>/dev/null || umount -l "$T/mnt"

# A restart continues the chain over what survived (a torn tail is cut).
start_daemon "$repo" "$T/mnt"
cat "$T/mnt/prod/nginx@1.0.0.json" >/dev/null
stop_daemon
"$SECPROF" log verify "$AUDIT" || fail "chain broken after kill -9"
