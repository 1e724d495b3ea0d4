#!/bin/bash
# Every malformed profile of tests/profiles/bad: its .bpf open fails with
# EIO and an access record carrying the error (the JSON path and cause),
# its .json is still served byte for byte, and the daemon keeps serving;
# `secprof lint` and `secprof compile` report the same error.
source "$(dirname "$0")/../lib.sh"
require_fuse

bad_dir=$TOP/tests/profiles/bad
good=$TOP/tests/profiles/denylist-actions.json
new_repo "$T/repo"
names=()
for f in "$bad_dir"/*.json; do
	name=$(basename "$f" .json)
	[ -f "$bad_dir/$name.err" ] || fail "$name.json has no $name.err"
	names+=("$name")
	commit_profile "$T/repo" "bad/$name" "$f" >/dev/null
	git -C "$T/repo" tag "prod/bad/$name@1.0.0"
done
[ ${#names[@]} -gt 0 ] || fail "no profiles in $bad_dir"
commit_profile "$T/repo" good "$good" >/dev/null
git -C "$T/repo" tag prod/good@1.0.0
"$SECPROF" compile "$good" -o "$T/good.bpf" 2>/dev/null ||
	fail "secprof compile $good failed"
start_daemon "$T/repo" "$T/mnt"

# Through the mount: each .bpf open twice (a failed compile is not
# served from a cache as something else the second time), then the .json,
# then the good profile's twins.
python3 - "$MNT" "$AUDIT" "$bad_dir" "$good" "$T/good.bpf" "${names[@]}" <<'PY' ||
import errno, json, os, sys

mnt, audit, bad_dir, good, good_bpf = sys.argv[1:6]
names = sys.argv[6:]
errors = []


def read(path):
    with open(path, "rb") as f:
        return f.read()


for name in names:
    base = "%s/prod/bad/%s@1.0.0" % (mnt, name)
    for attempt in (1, 2):
        try:
            fd = os.open(base + ".bpf", os.O_RDONLY)
            os.close(fd)
            errors.append("%s.bpf: open %d succeeded" % (name, attempt))
        except OSError as e:
            if e.errno != errno.EIO:
                errors.append("%s.bpf: open %d failed with %s, want EIO"
                              % (name, attempt, errno.errorcode[e.errno]))
    want = read("%s/%s.json" % (bad_dir, name))
    try:
        if read(base + ".json") != want:
            errors.append("%s.json: served bytes differ" % name)
    except OSError as e:
        errors.append("%s.json: %s" % (name, e))

if read(mnt + "/prod/good@1.0.0.json") != read(good):
    errors.append("good.json: served bytes differ after the failures")
if read(mnt + "/prod/good@1.0.0.bpf") != read(good_bpf):
    errors.append("good.bpf: differs from secprof compile after the failures")

opens = [json.loads(l) for l in open(audit)]
opens = [r for r in opens if r["event"] == "open"]
for name in names:
    msg = open("%s/%s.err" % (bad_dir, name)).read().strip()
    mine = [r for r in opens if r["service"] == "bad/" + name]
    b = [r for r in mine if r["format"] == "bpf"]
    j = [r for r in mine if r["format"] == "json"]
    if len(b) != 2:
        errors.append("%s.bpf: %d open records, want 2" % (name, len(b)))
    for r in b:
        if r.get("result") != "EIO" or msg not in (r.get("error") or ""):
            errors.append("%s.bpf record: result %r error %r, want EIO "
                          "with %r" % (name, r.get("result"), r.get("error"),
                                       msg))
        if r.get("sha256") is not None or not r.get("compile"):
            errors.append("%s.bpf record: sha256 %r compile %r"
                          % (name, r.get("sha256"), r.get("compile")))
    if len(j) != 1 or j[0].get("result") != "ok":
        errors.append("%s.json: records %r" % (name, j))
    else:
        print("%-20s .bpf EIO: %s" % (name, b[0].get("error")))
good_recs = [r for r in opens if r["service"] == "good"]
if sorted(r["format"] for r in good_recs if r["result"] == "ok") != \
        ["bpf", "json"]:
    errors.append("good: records %r" % good_recs)
for e in errors:
    print("  " + e)
sys.exit(1 if errors else 0)
PY
	fail "malformed profiles through the mount"

stop_daemon
"$SECPROF" log verify "$AUDIT" >/dev/null || fail "access log chain broken"

# The same errors offline. compile: exit 1, one line naming the file and
# the error, no output file; lint: exit 1, the error on the file's line.
for name in "${names[@]}"; do
	f=$bad_dir/$name.json
	msg=$(cat "$bad_dir/$name.err")
	rc=0
	"$SECPROF" compile "$f" -o "$T/out.bpf" >"$T/out" 2>"$T/err" || rc=$?
	assert_eq 1 "$rc" "secprof compile $name.json exit status"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "compile $name.json: not one line"
	grep -qF -- "$msg" "$T/err" ||
		fail "compile $name.json: '$(cat "$T/err")' lacks '$msg'"
	grep -qF -- "$f" "$T/err" || fail "compile $name.json: file not named"
	[ ! -e "$T/out.bpf" ] || fail "compile $name.json left $T/out.bpf"
	rc=0
	"$SECPROF" lint "$f" >"$T/out" 2>&1 || rc=$?
	assert_eq 1 "$rc" "secprof lint $name.json exit status"
	grep -F -- "$f: error: " "$T/out" | grep -qF -- "$msg" ||
		fail "lint $name.json: '$(cat "$T/out")' lacks '$msg'"
done
# All at once, with a good profile among them: still exit 1, every error.
rc=0
"$SECPROF" lint "$good" "$bad_dir"/*.json >"$T/out" 2>&1 || rc=$?
assert_eq 1 "$rc" "secprof lint of all malformed profiles"
for name in "${names[@]}"; do
	grep -F -- "$bad_dir/$name.json: error: " "$T/out" |
		grep -qF -- "$(cat "$bad_dir/$name.err")" ||
		fail "lint of all: no error for $name.json"
done
grep -qF -- "$good: ok" "$T/out" || fail "lint of all: $good not ok"
"$SECPROF" lint "$good" >/dev/null 2>&1 || fail "lint $good failed"
note "${#names[@]} malformed profiles: EIO with the error, .json served," \
	"lint and compile exit 1 with the same error"
