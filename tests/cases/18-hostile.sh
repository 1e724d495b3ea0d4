#!/bin/bash
# Hostile repository content: bad tag names, tags at the wrong objects,
# profiles that are symlinks or directories, a corrupt packed-refs. The
# daemon serves only the valid promotions, warns once per bad tag, and
# never crashes; a corrupt packed-refs keeps the previous tree.
. "$(dirname "$0")/../lib.sh"
require_fuse

repo=$T/repo
new_repo "$repo"
profile_json SCMP_ACT_ERRNO read >"$T/p1"
good=$(commit_profile "$repo" nginx "$T/p1")
git -C "$repo" tag prod/nginx@1.0.0
blob=$(git -C "$repo" rev-parse HEAD:nginx.json)
tree=$(git -C "$repo" rev-parse HEAD^{tree})

# A profile that is a symlink to a file outside the repository, and one
# that is a directory.
ln -s /etc/passwd "$repo/leak.json"
mkdir -p "$repo/dir.json"
echo '{}' >"$repo/dir.json/x"
git -C "$repo" add leak.json dir.json/x
git -C "$repo" commit -q -m "hostile entries"
git -C "$repo" tag prod/leak@1.0.0
git -C "$repo" tag prod/dir@1.0.0

# Tags git would not create itself, written straight into refs/tags.
tags=$repo/.git/refs/tags
mkdir -p "$tags/prod/a" "$tags/dev"
printf '%s\n' "$good" >"$tags/prod/a/..@1"
printf '%s\n' "$good" >"$tags/prod/$(printf 'ctl\001')@1"
printf '%s\n' "$good" >"$tags/prod/$(head -c 200 /dev/zero | tr '\0' x)@1"
printf '%s\n' "$good" >"$tags/prod/nginx@"
printf '%s\n' "$good" >"$tags/prod/nginx@1.0.0@2"
printf '%s\n' "$good" >"$tags/prod/-dash@1"
printf '%s\n' "$good" >"$tags/dev/ünï@1"
printf '%s\n' "$blob" >"$tags/prod/blob@1"
printf '%s\n' "$tree" >"$tags/prod/tree@1"
printf 'not a hash\n' >"$tags/prod/garbage@1"
printf '0000000000000000000000000000000000000000\n' >"$tags/prod/missing@1"
git -C "$repo" tag dev/nothere@1 "$good"
git -C "$repo" update-ref refs/tags/dev/nothere@1 "$good"

start_daemon "$repo" "$T/mnt"
find "$T/mnt" | sed "s|$T/mnt||" | LC_ALL=C sort >"$T/tree"
cat >"$T/expected" <<'LIST'

/dev
/prod
/prod/nginx.bpf
/prod/nginx.json
/prod/nginx@1.0.0.bpf
/prod/nginx@1.0.0.json
/staging
LIST
diff -u "$T/expected" "$T/tree" || fail "hostile tags were served"
cmp "$T/mnt/prod/nginx.json" "$T/p1" || fail "good profile"
for t in leak dir blob tree garbage missing nothere; do
	grep -q "$t" "$T/daemon.err" || fail "no warning naming $t"
done
warnings=$(grep -c warning "$T/daemon.err")

# A refresh does not repeat the warnings.
git -C "$repo" tag prod/nginx@1.1.0 "$good"
wait_for test -e "$T/mnt/prod/nginx@1.1.0.json" || fail "refresh"
assert_eq "$warnings" "$(grep -c warning "$T/daemon.err")" "warnings repeated"

# A corrupt packed-refs: the rebuild fails, the previous tree stays.
git -C "$repo" pack-refs --all 2>/dev/null || true
printf 'this is not a packed-refs line\n' >>"$repo/.git/packed-refs"
git -C "$repo" update-ref refs/tags/prod/nginx@1.2.0 "$good" 2>/dev/null || true
sleep 1.5
[ -e "$T/mnt/prod/nginx@1.1.0.json" ] || fail "tree lost after corrupt refs"
cmp "$T/mnt/prod/nginx@1.0.0.json" "$T/p1" || fail "serving after corruption"
stop_daemon
"$SECPROF" log verify "$AUDIT" >/dev/null || fail "chain"
