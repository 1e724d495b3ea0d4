#!/bin/bash
# Access records: one per open, with the opener, tag, commit, blob and
# hash of what was delivered; 400 concurrent opens give 400 records.
. "$(dirname "$0")/../lib.sh"
require_fuse

repo=$T/repo
new_repo "$repo"
profile_json SCMP_ACT_ERRNO read write >"$T/p1"
commit=$(commit_profile "$repo" payments/api "$T/p1")
git -C "$repo" tag -a -m "to prod" prod/payments/api@2.0.0
start_daemon "$repo" "$T/mnt"

python3 - "$repo" "$T/mnt" "$AUDIT" "$commit" <<'PY'
import os, sys, hashlib
sys.path.insert(0, os.environ["TOP"] + "/tests")
import lib

repo, mnt, audit, commit = sys.argv[1:]
path = mnt + "/prod/payments/api@2.0.0.json"
blob = lib.subprocess.run(["git", "-C", repo, "rev-parse",
                           "prod/payments/api@2.0.0^{commit}:payments/api.json"],
                          check=True, capture_output=True, text=True).stdout.strip()
want_sha, want = lib.blob_sha256(repo, blob)

data = lib.read_file(path)
assert data == want, "content differs"
opens = lib.records(audit, "open")
assert len(opens) == 1, "expected 1 open record, got %d" % len(opens)
r = opens[0]
expect = {
    "path": path, "env": "prod", "service": "payments/api",
    "version": "2.0.0", "format": "json", "tag": "prod/payments/api@2.0.0",
    "commit": commit, "blob": blob, "sha256": want_sha, "size": len(want),
    "result": "ok", "pid": os.getpid(), "uid": os.getuid(),
    "gid": os.getgid(), "comm": open("/proc/self/comm").read().strip(),
    "exe": os.readlink("/proc/self/exe"),
}
for k, v in expect.items():
    assert r.get(k) == v, "%s: expected %r, got %r" % (k, v, r.get(k))
assert "python3" in r["cmdline"], r["cmdline"]
assert r["cgroup"].startswith("/"), r["cgroup"]
for k in ("seq", "time", "event", "host", "prev"):
    assert k in r, "missing " + k
assert r["time"].endswith("Z") and len(r["time"]) == 27, r["time"]
keys = list(r.keys())
assert keys[:4] == ["seq", "time", "event", "host"] and keys[-1] == "prev", keys

# 400 opens from 16 threads: exactly 400 more open records.
results, errors = lib.parallel_opens(path, 16, 25)
assert not errors, errors
assert len(results) == 400 and all(d == want for d in results)
opens = lib.records(audit, "open")
assert len(opens) == 401, "expected 401 open records, got %d" % len(opens)
assert all(o["result"] == "ok" and o["sha256"] == want_sha for o in opens)
seqs = [r["seq"] for r in lib.records(audit)]
assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq not dense"
print("records ok")
PY

"$SECPROF" log verify "$AUDIT" || fail "chain broken"
stop_daemon
"$SECPROF" log verify "$AUDIT" >/dev/null || fail "chain broken after stop"
python3 - "$AUDIT" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs[0]["event"] == "start" and recs[-1]["event"] == "stop"
assert recs[0]["prev"] == "0" * 64 and recs[0]["seq"] == 1
assert recs[0]["audit_sync"] == "always"
PY
