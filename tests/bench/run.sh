#!/bin/bash
# secprof benchmark: figures and ratios against baselines measured in the
# same run (not a pass/fail test).
#
# usage: tests/bench/run.sh BUILD
#
# Each figure is the median of BENCH_REPEAT (default 3) runs of
# BENCH_SECONDS (default 1) each. BENCH_DIR (default /var/tmp) is where the
# repositories, the access logs and the fdatasync baseline live: all on one
# filesystem, so the durable figures and the fdatasync loop pay for the
# same disk. The whole run takes about a minute and a half.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:?usage: tests/bench/run.sh BUILD}" && pwd)
SECONDS_PER_RUN=${BENCH_SECONDS:-1}
REPEAT=${BENCH_REPEAT:-3}
SIZE=20480
THREADS=(1 16 64)
BIG_TAGS=100000
SECPROFD=$BUILD/secprofd
SECPROF=$BUILD/secprof
BIN=$BUILD/bench
PKGS="libgit2 libseccomp jansson libcrypto"


die() {
	echo "bench: $*" >&2
	exit 1
}

[ -x "$SECPROFD" ] || die "$SECPROFD not built (run make first)"
[ -c /dev/fuse ] || die "no /dev/fuse"
[ "$(id -u)" = 0 ] || die "needs root (FUSE mounts with allow_other)"

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/secprof-bench.XXXXXX")
# No user or system git configuration; the global file never exists.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$W/no-global-config
export GIT_AUTHOR_NAME=secprof-bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=secprof-bench
export GIT_COMMITTER_EMAIL=bench@example.invalid
DAEMON_PID=
DAEMON_MNT=
TMPFS=
TMPFS_FILE=
LS_BASE=

stop_fs() { # stop what start_fs started: SIGTERM, wait, unmount if left
	if [ -n "$DAEMON_PID" ]; then
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
		DAEMON_PID=
	fi
	if [ -n "$DAEMON_MNT" ] && mountpoint -q "$DAEMON_MNT"; then
		fusermount3 -u "$DAEMON_MNT" 2>/dev/null ||
			umount -l "$DAEMON_MNT" || true
	fi
	DAEMON_MNT=
}

cleanup() {
	stop_fs
	if [ -n "$TMPFS" ] && mountpoint -q "$TMPFS"; then
		umount "$TMPFS" || true
	fi
	case $TMPFS_FILE in /dev/shm/*) rm -f "$TMPFS_FILE" ;; esac
	[ -z "$LS_BASE" ] || rm -rf "$LS_BASE"
	rm -rf "$W"
}
trap cleanup EXIT

now_ms() {
	date +%s%3N
}

# start_fs MNT CMD...: run a FUSE server in the background and wait for
# its mount (60 s at most); sets MOUNT_MS to the time that took.
start_fs() {
	local mnt=$1 t0
	shift
	mkdir -p "$mnt"
	t0=$(date +%s%N)
	"$@" 2>>"$W/fs.err" &
	DAEMON_PID=$! DAEMON_MNT=$mnt
	for _ in $(seq 1 60000); do
		mountpoint -q "$mnt" && break
		kill -0 "$DAEMON_PID" 2>/dev/null || {
			cat "$W/fs.err" >&2
			die "'$1' exited before mounting"
		}
	done
	mountpoint -q "$mnt" || die "'$1' did not mount within 60 s"
	MOUNT_MS=$((($(date +%s%N) - t0) / 1000000))
}

# field LINE NAME: the value of NAME=... in a stats line.
field() {
	local kv
	for kv in $1; do
		[ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return; }
	done
	echo 0
}

declare -A OPS LAT
row() { # LABEL LINE: remember and print one measurement
	local label=$1 line=$2 t
	t=$(field "$line" threads)
	OPS[$label@$t]=$(field "$line" ops_per_s)
	LAT[$label@$t]=$(field "$line" mean_us)
	printf '%-22s %7s %10s %10s %10s %10s\n' "$label" "$t" \
		"$(field "$line" ops_per_s)" "$(field "$line" mean_us)" \
		"$(field "$line" p50_us)" "$(field "$line" p99_us)"
}

header() {
	printf '%-22s %7s %10s %10s %10s %10s\n' what threads ops/s \
		mean_us p50_us p99_us
}

# median_run CMD...: run CMD (a clients or fsyncloop command) REPEAT times
# and print the line of the run with the median ops/s, so that a moment of
# interference from the rest of the machine does not make the figure.
median_run() {
	local i line lines=()
	for ((i = 0; i < REPEAT; i++)); do
		line=$("$@") || return 1
		lines+=("$(field "$line" ops_per_s) $line")
	done
	printf '%s\n' "${lines[@]}" | sort -n | sed -n "$(((REPEAT + 1) / 2))p" |
		cut -d' ' -f2-
}

measure() { # LABEL THREADS FILE: open+read+close runs, one row
	local line
	line=$(median_run "$BIN/clients" -l "$1" -t "$2" \
		-d "$SECONDS_PER_RUN" -s "$SIZE" "$3") ||
		die "$1: reading '$3' failed"
	row "$1" "$line"
}

clients() { # LABEL FILE: the runs at every thread count
	local t
	# Unmeasured warm-up: page cache, FUSE worker threads, caches.
	"$BIN/clients" -t 4 -d 0.5 -s "$SIZE" "$2" >/dev/null ||
		die "$1: reading '$2' failed"
	for t in "${THREADS[@]}"; do
		measure "$1" "$t" "$2"
	done
}

ratio() { # NUM DEN: NUM/DEN to two places
	python3 -c "import sys; d=float(sys.argv[2]); \
print('%.2f' % (float(sys.argv[1]) / d) if d else 'n/a')" "$1" "$2"
}

verdict() { # VALUE OP TARGET
	python3 -c "import sys; v,op,t=sys.argv[1:]; \
print('n/a' if v=='n/a' else ('meets' if (float(v)<=float(t) if op=='<=' \
else float(v)>=float(t)) else 'misses'))" "$1" "$2" "$3"
}

# shellcheck disable=SC2086,SC2046
build_tools() {
	local cflags="-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
-Wmissing-prototypes -Wshadow -Wno-unused-parameter -pthread"
	local s=$TOP/tests/bench
	mkdir -p "$BIN"
	{
		cc $cflags -o "$BIN/clients" "$s/clients.c" "$s/stats.c" &&
			cc $cflags -o "$BIN/fsyncloop" "$s/fsyncloop.c" \
				"$s/stats.c" &&
			cc $cflags $(pkg-config --cflags fuse3) \
				-o "$BIN/minfs" "$s/minfs.c" \
				$(pkg-config --libs fuse3)
	} || die "cannot build the benchmark tools"
	# The in-process compile timer links the store library; without it
	# (or with an older one) that figure is skipped.
	cc $cflags -I"$TOP/store" $(pkg-config --cflags $PKGS) \
		-o "$BIN/compile" "$s/compile.c" "$s/stats.c" \
		"$BUILD/libstore.a" $(pkg-config --libs $PKGS) \
		2>"$W/compile-build.err" || rm -f "$BIN/compile"
}

# A Docker-format profile of exactly SIZE bytes: real rules, padded with
# a comment.
make_profile() {
	python3 - "$1" "$SIZE" <<'PY'
import json, sys
path, size = sys.argv[1], int(sys.argv[2])
names = ["read", "write", "openat", "close", "fstat", "mmap", "munmap",
         "brk", "futex", "epoll_wait", "accept4", "sendfile", "exit_group"]
rules = [{"names": [n], "action": "SCMP_ACT_ALLOW", "comment": ""}
         for n in names]
p = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
     "syscalls": rules}
text = json.dumps(p, indent="\t") + "\n"
pad = size - len(text)
if pad < 0:
    sys.exit("profile too large")
rules[0]["comment"] = "x" * pad
text = json.dumps(p, indent="\t") + "\n"
assert len(text) == size
open(path, "w").write(text)
PY
}

make_repo() { # DIR PROFILE: one commit, tagged prod/bench@1.0.0
	git init -q -b main "$1"
	cp "$2" "$1/bench.json"
	git -C "$1" add bench.json
	git -C "$1" commit -q -m bench
	git -C "$1" tag prod/bench@1.0.0
}

echo "== secprof benchmark $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host: $(nproc) cores, $(uname -r); median of $REPEAT runs of" \
	"${SECONDS_PER_RUN} s each"
echo "access logs and the fdatasync loop: $W ($(df --output=fstype "$W" |
	tail -n1) on $(df --output=source "$W" | tail -n1))"
build_tools
make_profile "$W/profile.json"
make_repo "$W/repo" "$W/profile.json"

echo
echo "== open + read + close of a $SIZE-byte profile"
header

if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	TMPFS_FILE=$(mktemp /dev/shm/secprof-bench.XXXXXX)
	cp "$W/profile.json" "$TMPFS_FILE"
else
	TMPFS=$W/tmpfs
	mkdir -p "$TMPFS"
	mount -t tmpfs -o size=1m tmpfs "$TMPFS"
	TMPFS_FILE=$TMPFS/profile.json
	cp "$W/profile.json" "$TMPFS_FILE"
fi
clients tmpfs "$TMPFS_FILE"
case $TMPFS_FILE in /dev/shm/*) rm -f "$TMPFS_FILE" ;; esac

start_fs "$W/minfs" "$BIN/minfs" "$W/profile.json" "$W/minfs"
clients minfs "$W/minfs/profile.json"
stop_fs

start_fs "$W/mnt" "$SECPROFD" -f --audit-log "$W/durable.log" \
	"$W/repo" "$W/mnt"
cmp -s "$W/profile.json" "$W/mnt/prod/bench@1.0.0.json" ||
	die "the mount does not serve the profile's bytes"
clients durable "$W/mnt/prod/bench@1.0.0.json"
stop_fs

start_fs "$W/mnt" "$SECPROFD" -f --audit-sync=none \
	--audit-log "$W/none.log" "$W/repo" "$W/mnt"
clients sync=none "$W/mnt/prod/bench@1.0.0.json"
stop_fs

for t in 1 64; do
	rm -f "$W/fsync.dat"
	line=$(median_run "$BIN/fsyncloop" -l fdatasync-loop -t "$t" \
		-d "$SECONDS_PER_RUN" "$W/fsync.dat") ||
		die "fdatasync loop failed"
	row fdatasync-loop "$line"
done
rm -f "$W/fsync.dat"
echo "access records written: durable $(wc -l <"$W/durable.log")," \
	"sync=none $(wc -l <"$W/none.log")"

echo
echo "== targets (issue figures on a 2-core machine)"
r1=$(ratio "${LAT[durable@1]}" "${LAT[fdatasync-loop@1]}")
r2=$(ratio "${OPS[durable@64]}" "${OPS[fdatasync-loop@64]}")
r3=$(ratio "${OPS[sync=none@1]}" "${OPS[minfs@1]}")
printf '%-58s %6s  %s\n' \
	"durable@1 latency / fdatasync-loop@1 latency (<= 1.15)" "$r1" \
	"$(verdict "$r1" '<=' 1.15)" \
	"durable@64 ops/s / fdatasync-loop@64 ops/s (>= 4)" "$r2" \
	"$(verdict "$r2" '>=' 4)" \
	"sync=none@1 ops/s / minfs@1 ops/s (>= 0.85)" "$r3" \
	"$(verdict "$r3" '>=' 0.85)"
printf '%-58s %6s\n' \
	"durable@64 ops/s / durable@1 ops/s (group commit scaling)" \
	"$(ratio "${OPS[durable@64]}" "${OPS[durable@1]}")" \
	"minfs@1 ops/s / tmpfs@1 ops/s (cost of FUSE itself)" \
	"$(ratio "${OPS[minfs@1]}" "${OPS[tmpfs@1]}")"

echo
echo "== .bpf filters"
cp /usr/share/containers/seccomp.json "$W/repo/containers.json" 2>/dev/null ||
	make_profile "$W/repo/containers.json"
git -C "$W/repo" add containers.json
git -C "$W/repo" commit -q -m containers
git -C "$W/repo" tag prod/containers@1.0.0
start_fs "$W/mnt" "$SECPROFD" -f --audit-log "$W/bpf.log" \
	"$W/repo" "$W/mnt"
bpf=$W/mnt/prod/containers@1.0.0.bpf
t0=$(date +%s%N)
if size=$(stat -c %s "$bpf" 2>/dev/null); then
	t1=$(date +%s%N)
	echo "first lookup of containers@1.0.0.bpf (compiles" \
		"$(stat -c %s "$W/repo/containers.json") bytes of JSON):" \
		"$(((t1 - t0) / 1000)) us including stat(1)"
	echo "filter size: $size bytes, $((size / 8)) instructions"
	t0=$(date +%s%N)
	stat -c %s "$W/mnt/prod/containers@1.0.0.json" >/dev/null
	t1=$(date +%s%N)
	echo "first lookup of containers@1.0.0.json for comparison:" \
		"$(((t1 - t0) / 1000)) us"
	if [ -x "$BIN/compile" ]; then
		"$BIN/compile" "$W/repo/containers.json" ||
			echo "in-process compile failed"
	fi
	if [ -x "$SECPROF" ] &&
		"$SECPROF" compile "$W/repo/containers.json" -o "$W/c.bpf" \
			2>/dev/null; then
		t0=$(date +%s%N)
		"$SECPROF" compile "$W/repo/containers.json" -o "$W/c.bpf" \
			2>/dev/null
		t1=$(date +%s%N)
		echo "secprof compile (whole process): $(((t1 - t0) / 1000)) us"
	fi
	header
	SIZE=$size
	for t in 1 16; do
		measure ".bpf warm" "$t" "$bpf"
	done
	SIZE=$(stat -c %s "$W/repo/containers.json")
	for t in 1 16; do
		measure ".json warm" "$t" "$W/mnt/prod/containers@1.0.0.json"
	done
else
	echo "no .bpf twin in the mount: skipped"
fi
stop_fs

echo
echo "== scale: $BIG_TAGS promotion tags"
if [ -x "$TOP/tests/bench/mkrepo_big.sh" ]; then
	t0=$(now_ms)
	# 300 services over 5 commits, every 10th tag annotated, and 16362
	# tags in prod: prod holds 30,000 entries (the listing target), dev
	# and staging hold the rest.
	"$TOP/tests/bench/mkrepo_big.sh" "$W/big" "$BIG_TAGS" 300 5 10 16362 \
		>/dev/null || die "mkrepo_big.sh failed"
	tags=$(git -C "$W/big" for-each-ref refs/tags | wc -l) ||
		die "cannot list the tags of $W/big"
	echo "generated in $(($(now_ms) - t0)) ms: $tags tags"
	start_fs "$W/bigmnt" "$SECPROFD" -f --audit-sync=none \
		--audit-log "$W/big.log" "$W/big" "$W/bigmnt"
	echo "mount time (start to mount point live): $MOUNT_MS ms (target <= 1000)"
	echo "daemon after mount: $(grep -E 'VmHWM|VmRSS' \
		"/proc/$DAEMON_PID/status" | tr -s ' \t' ' ' | tr '\n' ' ')" \
		"(target VmHWM <= 64 MiB)"
	declare -A entries
	for d in "$W/bigmnt"/*/; do
		entries[$d]=$(find "$d" -mindepth 1 -maxdepth 1 | wc -l)
	done
	# A directory's entries expire after secprofd's directory timeout
	# (1 s): wait that out so the first ls -l is served by the daemon; the
	# second, right after, finds the kernel's caches filled.
	for d in "$W/bigmnt"/*/; do
		sleep 1.2
		for pass in cold warm; do
			t0=$(date +%s%N)
			ls -l "$d" >/dev/null
			t1=$(date +%s%N)
			echo "ls -l $(basename "$d") (${entries[$d]} entries," \
				"$pass): $(((t1 - t0) / 1000000)) ms" \
				"(target <= 100)"
		done
	done
	echo "daemon after ls -l: $(grep -E 'VmHWM' "/proc/$DAEMON_PID/status" |
		tr -s ' \t' ' ')"
	# Baseline: ls -l itself (sorting, formatting) over the same names
	# as empty files on tmpfs.
	LS_BASE=$(mktemp -d /dev/shm/secprof-bench-ls.XXXXXX)
	(cd "$W/bigmnt/prod" && ls) | (cd "$LS_BASE" && xargs touch)
	t0=$(date +%s%N)
	ls -l "$LS_BASE" >/dev/null
	t1=$(date +%s%N)
	echo "ls -l of the same $(find "$LS_BASE" -mindepth 1 | wc -l) names" \
		"as empty files on tmpfs (baseline): $(((t1 - t0) / 1000000)) ms"
	rm -rf "$LS_BASE"
	LS_BASE=
	stop_fs
else
	echo "tests/bench/mkrepo_big.sh not found: skipped"
fi
