# Probe runs and outcome comparison for the .bpf/.json equivalence cases.
# Sourced after tests/lib.sh and tests/consumers.sh; needs $BUILD/probe.
#
# A filter is judged by what it decides: the probe runs once confined and
# once unconfined in the same consumer, and only outcomes that differ from
# that baseline (in either consumer) are compared across consumers. What
# the kernel answers to a call the filter lets through depends on the
# consumer (capabilities, namespaces), never on secprof.

# Docker's default capability set, in podman's spelling. podman's own
# default lacks MKNOD, NET_RAW and AUDIT_WRITE, and profiles select rules
# by capability, so containers must hold the set the .bpf is compiled for.
EQUIV_DOCKER_CAPS='"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID",
	"SYS_CHROOT", "MKNOD", "NET_RAW", "AUDIT_WRITE"'

# equiv_setup: put the probe in the consumers' rootfs and give every podman
# started from here Docker's capability set, through a containers.conf
# that CONTAINERS_CONF layers over the system's.
equiv_setup() {
	[ -x "$BUILD/probe" ] || skip "$BUILD/probe not built (make unit)"
	consumer_rootfs "$BUILD/probe"
	printf '[containers]\ndefault_capabilities = [%s]\n' \
		"$EQUIV_DOCKER_CAPS" >"$T/equiv-containers.conf"
	export CONTAINERS_CONF=$T/equiv-containers.conf
	"$BUILD/probe" -l >"$T/probe.list"
}

# equiv_check_output FILE WHAT: FILE must hold one outcome for every probe,
# in the probe's order.
equiv_check_output() {
	local got want
	got=$(cut -d' ' -f1 "$1")
	want=$(cut -d' ' -f1 "$T/probe.list")
	[ "$got" == "$want" ] || {
		head -c 2000 "$1" >&2
		fail "$2: the probe did not report every syscall"
	}
}

# equiv_bwrap BPF OUT: the probe under bwrap, confined by the raw filter
# file BPF ('' for none); its outcomes go to OUT. bwrap keeps root's
# capabilities, so the probe runs in a new session: its vhangup must find
# no controlling terminal to hang up.
equiv_bwrap() {
	local rc=0
	bwrap_run "$1" --new-session \
		--ro-bind "$BUILD/probe" /tmp/probe /tmp/probe \
		>"$2" 2>"$2.err" || rc=$?
	[ "$rc" -eq 0 ] || {
		cat "$2.err" >&2
		fail "bwrap ${1:-unconfined}: probe exit $rc"
	}
	equiv_check_output "$2" "bwrap ${1:-unconfined}"
}

# equiv_podman RUNTIME PROFILE OUT: the probe in a podman container that
# RUNTIME (runc or crun) starts, confined by the Docker-format PROFILE
# ('unconfined' for none); outcomes to OUT, podman's errors to OUT.err.
# Returns podman's exit status without failing, so that a caller can
# expect a refusal.
equiv_podman() {
	local rt=$1 profile=$2 out=$3 run rc=0
	case $rt in
	runc) run=podman_run ;;
	crun) run=crun_run ;;
	*) fail "equiv_podman: unknown runtime '$rt'" ;;
	esac
	"$run" "$profile" /bin/probe >"$out" 2>"$out.err" || rc=$?
	return "$rc"
}

# equiv_podman_ok RUNTIME PROFILE OUT: equiv_podman, which must succeed
# and report every syscall.
equiv_podman_ok() {
	local rc=0
	equiv_podman "$@" || rc=$?
	[ "$rc" -eq 0 ] || {
		cat "$3.err" >&2
		fail "podman --runtime $1 with $2: exit $rc"
	}
	equiv_check_output "$3" "podman --runtime $1 with $2"
}

# equiv_compare PROFILE RUNTIME BWRAP_BASE BWRAP_GOT RT_BASE RT_GOT
#   [SELECTOR...]: compare the outcomes the filter decides under bwrap and
# under RUNTIME, syscall by syscall. A probe is decided when its outcome
# differs from the baseline in either consumer; decided outcomes must be
# identical. SELECTORs name probes whose difference is a known divergence
# of the runtime: a probe name, or `nr>N` for every probe numbered above
# N. Each selected probe must differ (a divergence that no longer shows
# is stale and fails too) and is left out of the agreement count.
# Prints "PROFILE RUNTIME: N decided, N agree[, N known divergences]",
# then one line per disagreement; returns 1 if there is any.
equiv_compare() {
	python3 - "$T/probe.list" "$@" <<'PY'
import sys

listing, profile, runtime, bb, bg, rb, rg = sys.argv[1:8]
selectors = sys.argv[8:]


def load(path):
    out = {}
    for line in open(path):
        name, _, outcome = line.rstrip("\n").partition(" ")
        out[name] = outcome
    return out


numbers = {}
for line in open(listing):
    name, nr = line.split()
    numbers[name] = int(nr)
known = set()
for sel in selectors:
    if sel.startswith("nr>"):
        known |= {n for n, nr in numbers.items() if nr > int(sel[3:])}
    elif sel in numbers:
        known.add(sel)
    else:
        sys.exit("unknown divergence selector '%s'" % sel)

bb, bg, rb, rg = load(bb), load(bg), load(rb), load(rg)
decided = agree = 0
diffs, stale, diverged = [], [], 0
for name in numbers:
    by_bpf = bg[name] != bb[name]
    by_json = rg[name] != rb[name]
    same = bg[name] == rg[name]
    if name in known:
        if same:
            stale.append(name)
        else:
            diverged += 1
        continue
    if not (by_bpf or by_json):
        continue
    decided += 1
    if same:
        agree += 1
    else:
        diffs.append("  %-24s bwrap+.bpf: %-14s (unconfined %s)   "
                     "%s+.json: %-14s (unconfined %s)"
                     % (name, bg[name], bb[name], runtime, rg[name],
                        rb[name]))
line = "%s %s: %d decided, %d agree" % (profile, runtime, decided, agree)
if known:
    line += ", %d known divergences" % diverged
print(line)
for d in diffs:
    print(d)
if stale:
    print("  known divergence no longer seen (same outcome): "
          + " ".join(stale))
if decided == 0:
    print("  the filter decided nothing: it was not applied")
sys.exit(1 if diffs or stale or decided == 0 else 0)
PY
}
