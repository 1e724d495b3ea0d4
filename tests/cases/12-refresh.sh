#!/bin/bash
# Refresh: new, deleted and moved tags show within 2 s without a remount,
# with refresh records; readers during 200 refreshes never see torn bytes.
. "$(dirname "$0")/../lib.sh"
require_fuse

repo=$T/repo
new_repo "$repo"
profile_json SCMP_ACT_ERRNO read >"$T/p1"
profile_json SCMP_ACT_KILL read write futex >"$T/p2"
c1=$(commit_profile "$repo" nginx "$T/p1")
c2=$(commit_profile "$repo" nginx "$T/p2")
git -C "$repo" tag prod/nginx@1.0.0 "$c1"
start_daemon "$repo" "$T/mnt"
m=$T/mnt/prod

appears() { [ -e "$1" ]; }
gone() { [ ! -e "$1" ]; }
links_to() { [ "$(readlink "$1")" = "$2" ]; }

# A new tag appears, and the floating link follows it.
git -C "$repo" tag prod/nginx@1.1.0 "$c2"
wait_for appears "$m/nginx@1.1.0.json" || fail "new tag not visible in time"
wait_for links_to "$m/nginx.json" nginx@1.1.0.json || fail "link did not move"
cmp "$m/nginx@1.1.0.json" "$T/p2" || fail "new version content"

# A deleted tag vanishes, and the link falls back.
git -C "$repo" tag -d prod/nginx@1.1.0 >/dev/null
wait_for gone "$m/nginx@1.1.0.json" || fail "deleted tag still visible"
wait_for links_to "$m/nginx.json" nginx@1.0.0.json || fail "link not back"

# A new environment directory appears.
git -C "$repo" tag dev/nginx@2.0.0 "$c2"
wait_for appears "$T/mnt/dev/nginx@2.0.0.json" || fail "dev not visible"

# A moved tag serves its new content under a new inode.
ino=$(stat -c %i "$m/nginx@1.0.0.json")
git -C "$repo" tag -f prod/nginx@1.0.0 "$c2" >/dev/null
wait_for cmp -s "$m/nginx@1.0.0.json" "$T/p2" || fail "moved tag content"
[ "$ino" != "$(stat -c %i "$m/nginx@1.0.0.json")" ] || fail "same inode"

# packed-refs: git pack-refs rewrites where tags live; nothing changes, and
# a tag created then is still seen.
git -C "$repo" pack-refs --all
git -C "$repo" tag prod/nginx@1.2.0 "$c1"
wait_for appears "$m/nginx@1.2.0.json" || fail "tag after pack-refs"

python3 - "$AUDIT" <<'PY'
import os, sys
sys.path.insert(0, os.environ["TOP"] + "/tests")
import lib
refresh = lib.records(sys.argv[1], "refresh")
tags = lambda kind: {t["tag"] for r in refresh for t in r[kind]}
assert "prod/nginx@1.1.0" in tags("appeared"), refresh
assert "prod/nginx@1.1.0" in tags("vanished"), refresh
assert "prod/nginx@1.0.0" in tags("moved"), refresh
moved = [t for r in refresh for t in r["moved"]][0]
assert moved["old_blob"] != moved["new_blob"]
PY
grep -q "moved to different content" "$T/daemon.err" || fail "no warning"

# 200 refreshes under concurrent readers: every read is a whole version.
python3 - "$repo" "$m" "$T/p1" "$T/p2" "$c1" "$c2" <<'PY'
import os, subprocess, sys, threading, time
repo, m, p1, p2, c1, c2 = sys.argv[1:]
versions = {open(p1, "rb").read(), open(p2, "rb").read()}
stop = False
bad, reads = [], [0]

def reader(path):
    while not stop:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        reads[0] += 1
        if data not in versions:
            bad.append(data)

threads = [threading.Thread(target=reader, args=(m + "/" + n,))
           for n in ("nginx@1.0.0.json", "nginx.json", "nginx@1.0.0.json")]
for t in threads:
    t.start()
worst = 0.0
target = {c1: open(p1, "rb").read(), c2: open(p2, "rb").read()}
for i in range(200):
    c = c1 if i % 2 == 0 else c2
    start = time.monotonic()
    subprocess.run(["git", "-C", repo, "update-ref",
                    "refs/tags/prod/nginx@1.0.0", c], check=True)
    while open(m + "/nginx@1.0.0.json", "rb").read() != target[c]:
        if time.monotonic() - start > 2:
            raise SystemExit("refresh %d not visible within 2 s" % i)
        time.sleep(0.005)
    worst = max(worst, time.monotonic() - start)
stop = True
for t in threads:
    t.join()
assert not bad, "torn or foreign content read: %r" % bad[:1]
print("200 refreshes, %d concurrent reads, slowest refresh %.3f s"
      % (reads[0], worst))
PY
stop_daemon
"$SECPROF" log verify "$AUDIT" >/dev/null || fail "chain broken"
