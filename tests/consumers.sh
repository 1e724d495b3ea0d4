# Real consumers of the mount: podman (with runc or crun) and bubblewrap,
# run the way they work on a stock Debian 12 host. Sourced after
# tests/lib.sh, which provides $T, fail and skip.
#
# Every podman here uses a private --root, --runroot and --tmpdir under $T,
# so cases never share or leave container state, and needs no image: the
# container's root is a busybox-static directory given with --rootfs.

CONSUMER_DIR=${CONSUMER_DIR:-$T/consumers}
CONSUMER_ROOTFS=$CONSUMER_DIR/rootfs

# consumer_rootfs [STATIC_BINARY...]: build $CONSUMER_ROOTFS once: busybox
# and its applet links in /bin, plus the given static binaries in /bin.
consumer_rootfs() {
	local bb a
	bb=$(command -v busybox) || skip "busybox-static not installed"
	if [ ! -x "$CONSUMER_ROOTFS/bin/busybox" ]; then
		mkdir -p "$CONSUMER_ROOTFS"/{bin,dev,etc,proc,sys,tmp}
		cp "$bb" "$CONSUMER_ROOTFS/bin/busybox"
		for a in $("$bb" --list); do
			[ "$a" = busybox ] ||
				ln -sf busybox "$CONSUMER_ROOTFS/bin/$a"
		done
		echo "root:x:0:0:root:/:/bin/sh" >"$CONSUMER_ROOTFS/etc/passwd"
		echo "root:x:0:" >"$CONSUMER_ROOTFS/etc/group"
	fi
	for a in "$@"; do
		cp "$a" "$CONSUMER_ROOTFS/bin/"
	done
}

# require_podman RUNTIME: skip unless podman and RUNTIME are installed
# (podman finds runtimes in the sbin directories even when PATH has none).
require_podman() {
	command -v podman >/dev/null || skip "podman not installed"
	command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] ||
		[ -x "/usr/bin/$1" ] || skip "$1 not installed"
}

# podman_cmd RUNTIME: set the PODMAN array to podman and the global options
# every run needs on this host. cgroupfs because no systemd runs
# here; vfs because the store lives on whatever $T is; the file events
# backend because there is no journald.
podman_cmd() {
	local d=$CONSUMER_DIR/podman
	mkdir -p "$d/root" "$d/runroot" "$d/tmp"
	PODMAN=(podman --root "$d/root" --runroot "$d/runroot"
		--tmpdir "$d/tmp" --events-backend=file
		--cgroup-manager=cgroupfs --storage-driver=vfs --runtime "$1")
}

# podman_args PROFILE: set the PODMAN_RUN array to `run` and its options.
# The ulimits are needed because the host's hard limits are below
# podman's defaults; --rootfs must come last.
podman_args() {
	PODMAN_RUN=(run --rm --network none
		--ulimit nofile=20000:20000 --ulimit nproc=32768:32768
		--tmpfs /tmp)
	if [ -n "$1" ]; then
		PODMAN_RUN+=(--security-opt "seccomp=$1")
	fi
	PODMAN_RUN+=(--rootfs "$CONSUMER_ROOTFS")
}

# podman_run PROFILE CMD...: run CMD in a busybox container with podman and
# runc, confined by the Docker-format PROFILE ('' for podman's default
# profile). Returns the command's exit status; its output is ours.
podman_run() {
	local profile=$1
	shift
	consumer_rootfs
	podman_cmd runc
	podman_args "$profile"
	"${PODMAN[@]}" "${PODMAN_RUN[@]}" "$@" </dev/null
}

# crun_run PROFILE CMD...: the same with crun. crun refuses a hybrid cgroup
# layout (v1 controllers plus a v2 hierarchy at /sys/fs/cgroup/unified), so
# on such a host it runs in a private mount namespace where the v2
# hierarchy is unmounted; FUSE mounts made before stay visible there.
crun_run() {
	local profile=$1
	shift
	consumer_rootfs
	podman_cmd crun
	podman_args "$profile"
	if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
		unshare -m --propagation private sh -c \
			'umount /sys/fs/cgroup/unified && exec "$@"' crun_run \
			"${PODMAN[@]}" "${PODMAN_RUN[@]}" "$@" </dev/null
	else
		"${PODMAN[@]}" "${PODMAN_RUN[@]}" "$@" </dev/null
	fi
}

# bwrap_run BPF CMD...: run CMD in a bubblewrap sandbox over the host's
# root, read-only, with a private writable /tmp, confined by the raw
# filter in BPF ('' for none). The shell opens BPF for the `3<`
# redirection in the child that then becomes bwrap, so the opener an
# access record names is that shell (comm bash) at bwrap's pid.
bwrap_run() {
	local bpf=$1
	shift
	command -v bwrap >/dev/null || skip "bubblewrap not installed"
	local sandbox=(--ro-bind / / --tmpfs /tmp --dev /dev --proc /proc
		--unshare-pid --die-with-parent)
	if [ -n "$bpf" ]; then
		bwrap --seccomp 3 "${sandbox[@]}" "$@" 3<"$bpf" </dev/null
	else
		bwrap "${sandbox[@]}" "$@" </dev/null
	fi
}

# deny_mkdir_profile FILE: a profile that allows everything but mkdir and
# mkdirat, which fail with EPERM (the default errno).
deny_mkdir_profile() {
	cat >"$1" <<'EOF'
{
	"defaultAction": "SCMP_ACT_ALLOW",
	"syscalls": [
		{
			"names": ["mkdir", "mkdirat"],
			"action": "SCMP_ACT_ERRNO"
		}
	]
}
EOF
}

# MKDIR_PROBE: the shell command run inside a consumer; prints "mkdir=ok"
# or "mkdir=denied: <the error>".
MKDIR_PROBE='if err=$(mkdir /tmp/probe 2>&1); then echo mkdir=ok;
else echo "mkdir=denied: $err"; fi'

# openers LOG ENV SERVICE VERSION FORMAT: one line per `open` record of that
# file in LOG: "result comm exe pid sha256 commit".
openers() {
	python3 - "$@" <<'PY'
import json, sys
log, env, service, version, fmt = sys.argv[1:6]
for line in open(log):
    r = json.loads(line)
    if r.get("event") != "open":
        continue
    if (r.get("env"), r.get("service"), r.get("version"),
            r.get("format")) != (env, service, version, fmt):
        continue
    print(r.get("result"), r.get("comm"), r.get("exe"), r.get("pid"),
          r.get("sha256"), r.get("commit"))
PY
}

# podman_case RUN: the podman test shared by runtimes. RUN is podman_run or
# crun_run. A profile denying mkdir, tagged prod/svc@1.0.0 in a new
# repository, is mounted; the container given the mounted file must see
# EPERM where podman's default profile allows mkdir, and the access log
# must hold an ok `open` record of that file naming podman (comm or exe)
# with the profile's sha256 and commit.
podman_case() {
	local run=$1 commit profile out rows want_sha found=0
	local result comm exe sha commit_id

	new_repo "$T/repo"
	deny_mkdir_profile "$T/deny-mkdir.json"
	commit=$(commit_profile "$T/repo" svc "$T/deny-mkdir.json")
	git -C "$T/repo" tag prod/svc@1.0.0
	start_daemon "$T/repo" "$T/mnt"
	profile=$MNT/prod/svc@1.0.0.json
	[ -f "$profile" ] || fail "$profile not in the mount"

	# Control: podman's default profile allows mkdir, so a denial below
	# comes from the profile in the mount.
	out=$("$run" "" /bin/sh -c "$MKDIR_PROBE") ||
		fail "$run without a profile failed: $out"
	assert_eq "mkdir=ok" "$out" "mkdir under podman's default profile"

	out=$("$run" "$profile" /bin/sh -c "$MKDIR_PROBE") ||
		fail "$run with $profile failed: $out"
	case $out in
	"mkdir=denied: "*"Operation not permitted"*) note "$out" ;;
	*) fail "mkdir under the mounted profile: want EPERM, got '$out'" ;;
	esac

	stop_daemon
	rows=$(openers "$AUDIT" prod svc 1.0.0 json)
	[ -n "$rows" ] || fail "no open record of prod/svc@1.0.0.json"
	note "open records (result comm exe pid sha256 commit):"
	sed "s/^/# /" <<<"$rows"
	want_sha=$(sha256 "$T/deny-mkdir.json")
	while read -r result comm exe _ sha commit_id; do
		[ "$result" = ok ] || continue
		case "$comm $exe" in
		"podman "* | *" "*/podman) ;;
		*) continue ;;
		esac
		assert_eq "$want_sha" "$sha" "sha256 in podman's record"
		assert_eq "$commit" "$commit_id" "commit in podman's record"
		found=1
	done <<<"$rows"
	[ "$found" = 1 ] || fail "no ok open record naming podman"
}
