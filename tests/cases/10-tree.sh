#!/bin/bash
# The mounted tree: layout, modes, exact bytes, floating links by semver.
. "$(dirname "$0")/../lib.sh"
require_fuse

repo=$T/repo
new_repo "$repo"
profile_json SCMP_ACT_ERRNO read write >"$T/p1"
profile_json SCMP_ACT_ERRNO read write exit_group >"$T/p2"
profile_json SCMP_ACT_ERRNO read write exit_group futex >"$T/p3"
c1=$(commit_profile "$repo" nginx "$T/p1")
git -C "$repo" tag dev/nginx@1.9.0
git -C "$repo" tag prod/nginx@1.9.0
c2=$(commit_profile "$repo" nginx "$T/p2")
git -C "$repo" tag dev/nginx@1.10.0
git -C "$repo" tag -a -m "release 1.10.0" staging/nginx@1.10.0
commit_profile "$repo" payments/api "$T/p1" >/dev/null
git -C "$repo" tag dev/payments/api@2.0.0-rc1
commit_profile "$repo" payments/api "$T/p3" >/dev/null
git -C "$repo" tag dev/payments/api@2.0.0
git -C "$repo" tag dev/payments/api@2.0.0-rc.10
# Ignored: not a promotion, or not in a known environment.
git -C "$repo" tag v1.0
git -C "$repo" tag qa/nginx@1.0.0

start_daemon "$repo" "$T/mnt"
cd "$T/mnt"

find . -not -name '*.bpf' | LC_ALL=C sort >"$T/tree"
cat >"$T/expected" <<'LIST'
.
./dev
./dev/nginx.json
./dev/nginx@1.10.0.json
./dev/nginx@1.9.0.json
./dev/payments
./dev/payments/api.json
./dev/payments/api@2.0.0-rc.10.json
./dev/payments/api@2.0.0-rc1.json
./dev/payments/api@2.0.0.json
./prod
./prod/nginx.json
./prod/nginx@1.9.0.json
./staging
./staging/nginx.json
./staging/nginx@1.10.0.json
LIST
diff -u "$T/expected" "$T/tree" || fail "unexpected tree"
# Every .json file and link has its .bpf twin, and nothing else is there.
find . -name '*.json' | sed 's/\.json$/.bpf/' | LC_ALL=C sort >"$T/twins"
find . -name '*.bpf' | LC_ALL=C sort | diff -u "$T/twins" - || fail "bpf twins"
assert_eq nginx@1.10.0.bpf "$(readlink dev/nginx.bpf)" "dev/nginx.bpf link"

assert_eq nginx@1.10.0.json "$(readlink dev/nginx.json)" "dev/nginx.json link"
assert_eq nginx@1.9.0.json "$(readlink prod/nginx.json)" "prod link"
assert_eq api@2.0.0.json "$(readlink dev/payments/api.json)" "nested link"
assert_eq 444 "$(stat -c %a prod/nginx@1.9.0.json)" "file mode"
assert_eq 555 "$(stat -c %a prod)" "directory mode"

# Every file is its tag's blob, byte for byte, with the exact size.
for f in $(find . -name '*@*.json'); do
	rel=${f#./}
	env=${rel%%/*}
	rest=${rel#*/}
	tag="$env/${rest%.json}"
	blob=$(git -C "$repo" rev-parse "$tag^{commit}:${rest%%@*}.json")
	want=$(git -C "$repo" cat-file blob "$blob" | sha256sum | cut -d' ' -f1)
	assert_eq "$want" "$(sha256 "$f")" "content of $rel"
	assert_eq "$(git -C "$repo" cat-file -s "$blob")" "$(stat -c %s "$f")" \
		"size of $rel"
done
# Reading through the link gives the newest version's bytes.
cmp dev/nginx.json dev/nginx@1.10.0.json || fail "link content"

# The annotated tag's time is the file's mtime; a lightweight tag's is the
# commit's.
tagtime=$(git -C "$repo" for-each-ref --format='%(taggerdate:unix)' \
	refs/tags/staging/nginx@1.10.0)
assert_eq "$tagtime" "$(stat -c %Y staging/nginx@1.10.0.json)" "tag mtime"
assert_eq "$(git -C "$repo" show -s --format=%ct "$c1")" \
	"$(stat -c %Y prod/nginx@1.9.0.json)" "commit mtime"

# Inode numbers are stable across a remount.
ino1=$(stat -c %i prod/nginx@1.9.0.json)
cd /
stop_daemon
start_daemon "$repo" "$T/mnt"
assert_eq "$ino1" "$(stat -c %i "$T/mnt/prod/nginx@1.9.0.json")" "stable inode"
grep -q "qa/nginx@1.0.0" "$T/daemon.err" || fail "no warning for unknown env"
stop_daemon
