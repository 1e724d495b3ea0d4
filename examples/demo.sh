#!/bin/bash
# Mount the example repository with secprofd and show what it serves and
# what it records.
#
# usage: examples/demo.sh BUILD     (the directory holding secprofd)
#
# Everything lives in a temporary directory that is removed at the end,
# also when a step fails or the demo is interrupted.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$(cd "${1:?usage: examples/demo.sh BUILD}" && pwd)
SECPROFD=$BUILD/secprofd
SECPROF=$BUILD/secprof

D=$(mktemp -d /tmp/secprof-demo.XXXXXX)
REPO=$D/profiles
MNT=$D/mnt
LOG=$D/access.log
PID=

cleanup() {
	local rc=$?
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	if mountpoint -q "$MNT" 2>/dev/null; then
		fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" || true
	fi
	rm -rf "$D"
	[ "$rc" -eq 0 ] || echo "demo failed (exit $rc)" >&2
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

heading() {
	printf '\n\033[1m== %s\033[0m\n' "$*"
}

[ -x "$SECPROFD" ] || { echo "demo: $SECPROFD not built" >&2; exit 1; }

heading "The example repository: profiles as code"
"$HERE/mkrepo.sh" "$REPO"
git -C "$REPO" log --format='%h %ad %s' --date=short
echo
echo "promotions (<env>/<service>@<version>), oldest environment first:"
for env in dev staging prod; do
	printf '  %-8s %s\n' "$env" \
		"$(git -C "$REPO" tag -l "$env/*" | sed "s|^$env/||" |
			tr '\n' ' ')"
done

heading "Mounting: secprofd -f --audit-log $LOG $REPO $MNT"
mkdir -p "$MNT"
"$SECPROFD" -f --audit-log "$LOG" "$REPO" "$MNT" 2>"$D/secprofd.err" &
PID=$!
for _ in $(seq 1 200); do
	mountpoint -q "$MNT" && break
	if ! kill -0 "$PID" 2>/dev/null; then
		cat "$D/secprofd.err" >&2
		echo "demo: secprofd exited before mounting" >&2
		exit 1
	fi
	sleep 0.05
done
mountpoint -q "$MNT" || { echo "demo: mount did not come up" >&2; exit 1; }
sed 's/^/  secprofd: /' "$D/secprofd.err"

heading "The mounted tree (ls -lR)"
(cd "$MNT" && ls -lR)

target=$(readlink "$MNT/prod/nginx.json")
version=${target#nginx@}
version=${version%.json}
heading "prod/nginx.json -> $target (the newest nginx in prod)"
head -n 24 "$MNT/prod/nginx.json"
echo "  ... $(wc -c <"$MNT/prod/nginx.json") bytes;" \
	"git cat-file blob prod/nginx@$version:nginx.json is" \
	"$(git -C "$REPO" cat-file blob "prod/nginx@$version:nginx.json" |
		cmp -s - "$MNT/prod/nginx.json" && echo the same ||
		echo DIFFERENT)"

heading "prod/nginx.bpf: the compiled filter bwrap --seccomp loads"
if [ -e "$MNT/prod/nginx.bpf" ]; then
	size=$(stat -L -c %s "$MNT/prod/nginx.bpf")
	echo "prod/nginx.bpf -> $(readlink "$MNT/prod/nginx.bpf"):" \
		"$size bytes = $((size / 8)) instructions of struct sock_filter" \
		"(8 bytes each: code u16, jt u8, jf u8, k u32)"
	od -A d -t x1 -N 128 "$MNT/prod/nginx.bpf"
	echo "  ..."
	if command -v bwrap >/dev/null; then
		echo
		echo "enforced by bwrap --seccomp 3 3<$MNT/prod/nginx.bpf" \
			"(nginx may mkdir, not rmdir):"
		bwrap --seccomp 3 --ro-bind / / --tmpfs /tmp --dev /dev \
			--proc /proc --die-with-parent /bin/sh -c \
			'mkdir /tmp/cache && echo "  mkdir /tmp/cache: ok";
			rmdir /tmp/cache 2>&1 | sed "s/^/  /"' \
			3<"$MNT/prod/nginx.bpf" </dev/null || true
	fi
else
	echo "(no .bpf twins in this build: the mount serves .json only)"
fi

heading "The access records those reads produced ($LOG)"
python3 - "$LOG" "$MNT" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
mnt = sys.argv[2].rstrip("/") + "/"
print("%4s  %-7s %-26s %-6s %-10s %-12s %s" %
      ("seq", "event", "path (in the mount)", "result", "comm", "sha256",
       "tag"))
for r in recs:
    path = r.get("path", "")
    if path.startswith(mnt):
        path = path[len(mnt):]
    print("%4s  %-7s %-26s %-6s %-10s %-12s %s" % (
        r.get("seq"), r.get("event"), path,
        r.get("result", ""), r.get("comm", ""),
        (r.get("sha256") or "")[:12], r.get("tag", "")))
for fmt in ("json", "bpf"):
    opens = [r for r in recs
             if r.get("event") == "open" and r.get("format") == fmt]
    if opens:
        print("\nthe first open record of a .%s in full:" % fmt)
        print(json.dumps(opens[0], indent=2))
PY

heading "secprof log verify $LOG"
if [ -x "$SECPROF" ]; then
	"$SECPROF" log verify "$LOG"
else
	echo "(secprof not built)"
fi

heading "Unmounting (SIGTERM)"
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
PID=
echo "secprofd exited with status $rc; mount gone:" \
	"$(mountpoint -q "$MNT" && echo no || echo yes)"
echo "last record: $(tail -n 1 "$LOG")"
[ "$rc" -eq 0 ]
