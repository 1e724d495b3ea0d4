#!/bin/bash
# Build the example profile repository: four services (one nested), several
# versions each, released to dev and promoted through staging to prod.
#
# usage: examples/mkrepo.sh DIR
#
# DIR must not exist, be empty, or be a repository this script made before
# (it is then rebuilt from scratch). The result is the same, commit ids
# included, on every run: author, committer and tagger dates are fixed.
set -euo pipefail

PROFILES=$(cd "$(dirname "${BASH_SOURCE[0]}")/profiles" && pwd)
MARKER=secprof-example

die() {
	echo "mkrepo.sh: $*" >&2
	exit 1
}

[ $# -eq 1 ] || die "usage: mkrepo.sh DIR"
DIR=$1

if [ -e "$DIR" ]; then
	[ -d "$DIR" ] || die "'$DIR': exists and is not a directory"
	if [ -f "$DIR/.git/$MARKER" ]; then
		rm -rf "$DIR"
	elif [ -n "$(ls -A "$DIR")" ]; then
		die "'$DIR': not empty and not an example repository; refusing"
	else
		rmdir "$DIR"
	fi
fi

# Build next to DIR and rename at the end, so that a failure leaves nothing
# half-made under the final name.
mkdir -p "$(dirname "$DIR")"
WORK=$(mktemp -d "$(dirname "$DIR")/.mkrepo.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# Nothing from the user's or the system's git configuration may change the
# objects (signing, hooks, default branch): the global file named here
# never exists, which git reads as empty.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$WORK/.git/no-global-config
export GIT_AUTHOR_NAME="Platform Security" \
	GIT_AUTHOR_EMAIL=platform-security@example.com \
	GIT_COMMITTER_NAME="Release Bot" \
	GIT_COMMITTER_EMAIL=release-bot@example.com
git() {
	command git -C "$WORK" -c commit.gpgsign=false -c tag.gpgsign=false \
		-c core.hooksPath=/dev/null "$@"
}

at() { # DATE: set the clock for the next commits and annotated tags
	export GIT_AUTHOR_DATE="$1 +0000" GIT_COMMITTER_DATE="$1 +0000"
}

# commit MESSAGE SERVICE@VERSION...: put those profiles in the tree, commit.
commit() {
	local msg=$1 sv svc ver
	shift
	for sv in "$@"; do
		svc=${sv%@*} ver=${sv#*@}
		mkdir -p "$WORK/$(dirname "$svc")"
		cp "$PROFILES/$svc/$ver.json" "$WORK/$svc.json"
		git add "$svc.json"
	done
	git commit -q -m "$msg"
}

# release ENV/SERVICE@VERSION...: lightweight tags at HEAD.
release() {
	local t
	for t in "$@"; do
		git tag "$t"
	done
}

# promote ENV/SERVICE@VERSION [MESSAGE]: tag the commit the version was
# released to dev at (a promotion never changes the commit); annotated when
# a MESSAGE (the change ticket) is given.
promote() {
	local tag=$1 from="dev/${1#*/}^{commit}"
	git rev-parse -q --verify "$from" >/dev/null ||
		die "promote $tag: version never released"
	if [ $# -eq 2 ]; then
		git tag -a -m "$2" "$tag" "$from"
	else
		git tag "$tag" "$from"
	fi
}

command git init -q -b main "$WORK"
touch "$WORK/.git/$MARKER"

at "2024-01-08T09:12:00"
cat >"$WORK/README.md" <<'EOF'
# Seccomp profiles

One Docker-format profile per service, `<service>.json`. Releases and
promotions are tags `<env>/<service>@<version>`: dev, then staging, then
prod, always at the commit that was reviewed.
EOF
git add README.md
commit "nginx, redis: first profiles from strace of the staging fleet" \
	nginx@1.3.0 redis@7.0.11
release dev/nginx@1.3.0 dev/redis@7.0.11

at "2024-01-15T14:03:00"
commit "postgres: profile for 15.4 with SysV shared memory" postgres@15.4
release dev/postgres@15.4

at "2024-01-22T10:40:00"
commit "payments/api: profile for the Go service" payments/api@1.8.0
release dev/payments/api@1.8.0

at "2024-01-24T16:00:00"
promote staging/nginx@1.3.0
promote staging/redis@7.0.11
promote staging/postgres@15.4
promote staging/payments/api@1.8.0
at "2024-01-29T08:30:00"
promote prod/nginx@1.3.0
promote prod/redis@7.0.11 "CHG-1021: redis profile to prod"
promote prod/postgres@15.4
promote prod/payments/api@1.8.0 "CHG-1024: payments/api profile to prod"

at "2024-02-05T11:20:00"
commit "nginx: allow native AIO for large static files" nginx@1.4.0
release dev/nginx@1.4.0

at "2024-02-19T15:45:00"
commit "nginx: drop process_vm_readv left over from debugging" nginx@1.4.2
release dev/nginx@1.4.2
at "2024-02-21T09:00:00"
promote staging/nginx@1.4.2
at "2024-02-26T07:55:00"
promote prod/nginx@1.4.2 "CHG-1187: nginx 1.4.2 to prod after a week in staging"

at "2024-03-04T13:10:00"
commit "redis: 7.2 pins background threads, restrict socket families" \
	redis@7.2.4
release dev/redis@7.2.4
at "2024-03-06T10:00:00"
promote staging/redis@7.2.4

at "2024-03-18T17:25:00"
commit "postgres: 16.1 uses copy_file_range and readahead" postgres@16.1
release dev/postgres@16.1
at "2024-03-20T09:30:00"
promote staging/postgres@16.1 "postgres 16.1 to staging for the upgrade rehearsal"

at "2024-04-02T12:00:00"
commit "payments/api: 2.0.0 spawns helpers, waits on pidfds" \
	payments/api@2.0.0
release dev/payments/api@2.0.0

at "2024-04-15T16:50:00"
commit "nginx: 1.5.0-rc.1 trials io_uring (logged, not allowed)" \
	nginx@1.5.0-rc.1
release dev/nginx@1.5.0-rc.1

# Not a promotion: secprof ignores it with a warning.
git tag baseline-2024q1 "dev/nginx@1.4.2^{commit}"

rm -f "$WORK/.git/COMMIT_EDITMSG"
chmod 755 "$WORK"
trap - EXIT
mv "$WORK" "$DIR"
echo "example repository: $DIR ($(command git -C "$DIR" tag | wc -l) tags)"
