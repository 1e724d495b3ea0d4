#!/bin/bash
# A mounted .bpf decides every system call as its .json twin does under
# podman: each corpus profile and each real-world profile Debian ships is
# probed under bwrap with the .bpf and under podman with runc (and crun)
# with the .json, both read from the mount, and every outcome the filter
# decides must agree, save the runtime divergences named below.
source "$(dirname "$0")/../lib.sh"
source "$TOP/tests/consumers.sh"
source "$TOP/tests/equiv.sh"

require_fuse
command -v bwrap >/dev/null || skip "bubblewrap not installed"
require_podman runc
equiv_setup

runtimes=(runc)
if command -v crun >/dev/null || [ -x /usr/sbin/crun ] ||
	[ -x /usr/bin/crun ]; then
	runtimes+=(crun)
else
	note "crun not installed: compared with runc only"
fi

# Known divergences of the consumers installed here (podman 4.3.1, runc
# 1.1.5, crun 1.8.1), as "PROFILE RUNTIME WHAT REASON"; PROFILE or RUNTIME
# may be `*`. WHAT is a comma list of probe names whose outcome differs,
# `stub` for every probe that the .bpf's ENOSYS stub answers (the calls
# numbered above the largest the profile names, as `secprof compile
# --explain` reports it), or `refused` when the runtime will not start a
# container with the profile. Each must still show: a divergence that no
# longer does fails the case, as does any other difference.
divergences=(
	"enosys-no-architectures runc stub runc 1.1.5 builds its ENOSYS stub
	only for the architectures a profile lists; with none listed it answers
	calls newer than the profile with the default action"
	"* crun stub crun 1.8.1 has no ENOSYS stub: it answers calls newer than
	the profile with the default action"
	"min-kernel * memfd_create,syncfs podman 4.3 ignores minKernel, so it
	keeps the rules that minKernel excludes on this kernel"
	"flags runc refused runc 1.1.5 refuses profiles with flags"
)

# divergence PROFILE RUNTIME: the WHATs that apply to that pair, joined by
# commas; a crun twin (below) has the divergences of its profile.
divergence() {
	local d p r what rest all=
	for d in "${divergences[@]}"; do
		read -r p r what rest <<<"$d"
		if [[ $p == "*" || $p == "${1%-crun}" ]] &&
			[[ $r == "*" || $r == "$2" ]]; then
			all+=${all:+,}$what
		fi
	done
	echo "$all"
}

# stub_above PROFILE.json: the largest x86_64 number the profile names if
# its filter has an ENOSYS stub, else nothing.
stub_above() {
	"$SECPROF" compile --explain "$1" -o /dev/null 2>&1 |
		sed -n 's/.*enosys stub: x86_64 syscalls above \([0-9]*\) .*/\1/p'
}

note "known divergences (profile runtime what: reason):"
for d in "${divergences[@]}"; do
	note "$(tr -s '[:space:]' ' ' <<<"$d" |
		sed 's/^\([^ ]* [^ ]* [^ ]*\) /\1: /; s/ $//')"
done

# The corpus, then every real-world profile found, each under a service
# name of its own.
mkdir "$T/profiles"
cp "$TOP"/tests/profiles/*.json "$T/profiles/"
[ -f /usr/share/containers/seccomp.json ] ||
	fail "/usr/share/containers/seccomp.json missing" \
		"(golang-github-containers-common)"
# (Debian's -dev packages of containers/common and moby ship their
# sources under gocode.)
gocode=/usr/share/gocode/src/github.com
real=(/usr/share/containers/seccomp.json:containers-common
	$gocode/containers/common/pkg/seccomp/seccomp.json:containers-common-src
	$gocode/docker/docker/profiles/seccomp/default.json:moby-default)
for r in "${real[@]}"; do
	src=${r%%:*} name=${r#*:}
	[ -f "$src" ] || continue
	if cmp -s "$src" /usr/share/containers/seccomp.json &&
		[ "$name" != containers-common ]; then
		continue
	fi
	cp "$src" "$T/profiles/$name.json"
	note "real-world profile: $src as $name"
done

# crun waits on its sync pipe with pselect6 after loading the filter, so a
# denying profile that does not allow pselect6 cannot start a container
# under crun. crun is given a twin of such a profile, NAME-crun, with one
# more entry allowing pselect6 (numbered below the largest number these
# profiles name, so the ENOSYS stub stays the same); bwrap runs the twin's
# .bpf too.
crun_twins=()
for f in "$T"/profiles/*.json; do
	[ "${runtimes[*]}" != runc ] || break
	twin=${f%.json}-crun.json rc=0
	python3 - "$f" "$twin" <<'PY' || rc=$?
import json, sys
src, dst = sys.argv[1:]
p = json.load(open(src))
if p.get("defaultAction") in ("SCMP_ACT_ALLOW", "SCMP_ACT_LOG"):
    sys.exit(3)
for s in p.get("syscalls", []):
    if s.get("action") == "SCMP_ACT_ALLOW" and not s.get("args") and \
            "pselect6" in (s.get("names") or [s.get("name")]):
        sys.exit(3)
p["syscalls"].append({"names": ["pselect6"], "action": "SCMP_ACT_ALLOW"})
json.dump(p, open(dst, "w"), indent=2)
PY
	case $rc in
	0) ;;
	3) continue ;;
	*) fail "making a crun twin of $f" ;;
	esac
	assert_eq "$(stub_above "$f")" "$(stub_above "$twin")" \
		"ENOSYS stub of the crun twin of $(basename "$f")"
	crun_twins+=("$(basename "$f" .json)")
done
[ ${#crun_twins[@]} -eq 0 ] ||
	note "crun runs twins allowing pselect6 of: ${crun_twins[*]}"

# runtimes_for NAME: the runtimes a profile is compared with: a twin only
# with crun, the profile it stands for with the others.
runtimes_for() {
	local rt t
	for t in "${crun_twins[@]}"; do
		if [ "$1" = "$t-crun" ]; then
			echo crun
			return
		fi
	done
	for rt in "${runtimes[@]}"; do
		for t in "${crun_twins[@]}"; do
			[ "$rt $1" != "crun $t" ] || continue 2
		done
		echo "$rt"
	done
}

new_repo "$T/repo"
names=()
for f in "$T"/profiles/*.json; do
	name=$(basename "$f" .json)
	names+=("$name")
	commit_profile "$T/repo" "$name" "$f" >/dev/null
	git -C "$T/repo" tag "prod/$name@1.0.0"
done
start_daemon "$T/repo" "$T/mnt"

equiv_bwrap "" "$T/base.bwrap"
for rt in "${runtimes[@]}"; do
	equiv_podman_ok "$rt" unconfined "$T/base.$rt"
done

bad=() decided=0 known=0 pairs=0
for name in "${names[@]}"; do
	bpf=$MNT/prod/$name@1.0.0.bpf json=$MNT/prod/$name@1.0.0.json
	equiv_bwrap "$bpf" "$T/$name.bwrap"
	for rt in $(runtimes_for "$name"); do
		what=$(divergence "$name" "$rt")
		if [[ ,$what, == *,refused,* ]]; then
			if equiv_podman "$rt" "$json" "$T/$name.$rt"; then
				bad+=("$name $rt: ran, expected a refusal")
			else
				note "$name $rt: refused as expected:" \
					"$(tail -n1 "$T/$name.$rt.err")"
			fi
			continue
		fi
		equiv_podman_ok "$rt" "$json" "$T/$name.$rt"
		sel=()
		IFS=, read -r -a parts <<<"$what"
		for s in "${parts[@]}"; do
			if [ "$s" = stub ]; then
				n=$(stub_above "$T/profiles/$name.json")
				[ -z "$n" ] || sel+=("nr>$n")
			else
				sel+=("$s")
			fi
		done
		rc=0
		out=$(equiv_compare "$name" "$rt" "$T/base.bwrap" \
			"$T/$name.bwrap" "$T/base.$rt" "$T/$name.$rt" \
			"${sel[@]}") || rc=$?
		echo "$out"
		[ "$rc" -eq 0 ] || bad+=("$name $rt")
		re=': ([0-9]+) decided, [0-9]+ agree(, ([0-9]+) known)?'
		[[ ${out%%$'\n'*} =~ $re ]] ||
			fail "equiv_compare said '$out'"
		decided=$((decided + BASH_REMATCH[1]))
		known=$((known + ${BASH_REMATCH[3]:-0}))
		pairs=$((pairs + 1))
	done
done
note "${#names[@]} profiles (${#crun_twins[@]} of them crun twins)," \
	"$pairs profile/runtime pairs: $decided decided outcomes compared," \
	"$known known divergences"

stop_daemon
[ ${#bad[@]} -eq 0 ] || fail "outcomes disagree: $(printf '[%s] ' "${bad[@]}")"

# Every profile's .bpf was opened for bwrap and its .json by podman, and
# the records say so: the .bpf with the bytes an offline compile of the
# same source gives, and the settings they were compiled with.
for name in "${names[@]}"; do
	"$SECPROF" compile "$T/profiles/$name.json" -o "$T/$name.bpf" \
		2>/dev/null || fail "secprof compile $name.json failed"
done
python3 - "$AUDIT" "$T" "$(uname -r)" "${names[@]}" <<'PY' ||
import hashlib, json, sys

audit, tmp, release = sys.argv[1:4]
names = sys.argv[4:]
kernel = ".".join(release.split(".")[:2])
docker_caps = {"CAP_" + c for c in (
    "CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE SETFCAP SETGID "
    "SETPCAP SETUID SYS_CHROOT MKNOD NET_RAW AUDIT_WRITE").split()}
opens = [json.loads(l) for l in open(audit)]
opens = [r for r in opens if r["event"] == "open"]


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


errors = []
for name in names:
    src = sha("%s/profiles/%s.json" % (tmp, name))
    bpf = sha("%s/%s.bpf" % (tmp, name))
    mine = [r for r in opens if r["service"] == name]
    b = [r for r in mine if r["format"] == "bpf"]
    j = [r for r in mine if r["format"] == "json"]
    if not b:
        errors.append("%s: no open record of the .bpf" % name)
    if not j:
        errors.append("%s: no open record of the .json" % name)
    for r in b:
        c = r.get("compile") or {}
        want = {"result": "ok", "sha256": bpf, "source_sha256": src,
                "tag": "prod/%s@1.0.0" % name}
        for k, v in want.items():
            if r.get(k) != v:
                errors.append("%s.bpf record: %s is %r, want %r"
                              % (name, k, r.get(k), v))
        if (c.get("arch") != "x86_64" or set(c.get("caps", [])) != docker_caps
                or c.get("kernel") != kernel or not c.get("libseccomp")):
            errors.append("%s.bpf record: compile settings %r" % (name, c))
    for r in j:
        if r.get("result") != "ok" or r.get("sha256") != src:
            errors.append("%s.json record: result %r sha256 %r"
                          % (name, r.get("result"), r.get("sha256")))
        if r.get("comm") != "podman":
            errors.append("%s.json record: opener %r" % (name, r.get("comm")))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
	fail "access records of the .bpf and .json opens"
note "access records: .bpf and .json opens of all ${#names[@]} profiles"
