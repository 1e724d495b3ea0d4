#!/bin/bash
# A full disk under the access log: opens fail with EIO, no partial line is
# left, the daemon says why, and opens succeed again once space is freed.
. "$(dirname "$0")/../lib.sh"
require_fuse

one_profile_repo
mkdir "$T/logfs"
mount -t tmpfs -o size=64k tmpfs "$T/logfs"
trap 'umount -l "$T/logfs" 2>/dev/null; cleanup' EXIT
AUDIT=$T/logfs/access.log
start_daemon "$repo" "$T/mnt"
f=$T/mnt/prod/nginx@1.0.0.json

cat "$f" >/dev/null || fail "first open"
dd if=/dev/zero of="$T/logfs/fill" bs=4k 2>/dev/null || true

python3 - "$f" "$AUDIT" <<'PY'
import errno, os, sys
f, audit = sys.argv[1:]
# The log's last page may still hold a record or two.
for i in range(200):
    try:
        open(f, "rb").read()
    except OSError as e:
        assert e.errno == errno.EIO, e
        break
else:
    raise SystemExit("opens kept succeeding on a full disk")
for i in range(20):
    try:
        open(f, "rb").read()
        raise SystemExit("open succeeded while the disk is full")
    except OSError as e:
        assert e.errno == errno.EIO, e
data = open(audit, "rb").read()
assert data.endswith(b"\n"), "partial line at the end of the log"
print("full disk: EIO as expected")
PY
grep -q "No space left on device" "$T/daemon.err" || fail "daemon did not say why"
"$SECPROF" log verify "$AUDIT" >/dev/null || fail "chain broken while full"

rm -f "$T/logfs/fill"
cmp "$f" "$T/p1" || fail "open after space was freed"
stop_daemon
"$SECPROF" log verify "$AUDIT" || fail "chain broken after recovery"
