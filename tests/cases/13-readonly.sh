#!/bin/bash
# Nothing can be changed through the mount; a missing version is ENOENT
# and leaves an access record.
. "$(dirname "$0")/../lib.sh"
require_fuse

one_profile_repo
start_daemon "$repo" "$T/mnt"

python3 - "$T/mnt" "$AUDIT" <<'PY'
import errno, os, sys
sys.path.insert(0, os.environ["TOP"] + "/tests")
import lib
mnt, audit = sys.argv[1:]
f = mnt + "/prod/nginx@1.0.0.json"

def erofs(what, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == errno.EROFS, "%s: %s" % (what, e)
        return
    raise SystemExit("%s succeeded" % what)

erofs("open for write", os.open, f, os.O_WRONLY)
erofs("open read-write", os.open, f, os.O_RDWR)
erofs("truncate", os.truncate, f, 0)
erofs("open O_TRUNC", os.open, f, os.O_RDONLY | os.O_TRUNC)
erofs("create", os.open, mnt + "/prod/new.json", os.O_CREAT | os.O_WRONLY)
erofs("mkdir", os.mkdir, mnt + "/prod/d")
erofs("rename", os.rename, f, mnt + "/prod/x.json")
erofs("unlink", os.unlink, f)
erofs("rmdir", os.rmdir, mnt + "/prod")
erofs("chmod", os.chmod, f, 0o644)
erofs("chown", os.chown, f, 1, 1)
erofs("symlink", os.symlink, "x", mnt + "/prod/l")
erofs("link", os.link, f, mnt + "/prod/hard")
erofs("utime", os.utime, f, (1, 1))
erofs("setxattr", os.setxattr, f, "user.x", b"1")

for missing in ("prod/nginx@9.9.9.json", "prod/payments/api@1.json",
                "qa/nginx.json"):
    try:
        open(mnt + "/" + missing).close()
        raise SystemExit(missing + " opened")
    except FileNotFoundError:
        pass

recs = [r for r in lib.records(audit, "open") if r["result"] == "ENOENT"]
paths = {r["path"] for r in recs}
assert mnt + "/prod/nginx@9.9.9.json" in paths, paths
r = [r for r in recs if r["path"].endswith("nginx@9.9.9.json")][0]
assert (r["env"], r["service"], r["version"], r["format"]) == \
    ("prod", "nginx", "9.9.9", "json"), r
assert r["pid"] == os.getpid() and "error" in r, r
assert any(p.endswith("/qa") for p in paths), paths
print("read-only ok")
PY
stop_daemon
