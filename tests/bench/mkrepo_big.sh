#!/bin/bash
# Generate a large profile repository for scale tests and benchmarks.
#
# usage: tests/bench/mkrepo_big.sh DIR N [SERVICES] [COMMITS] [ANNOTATED_EVERY]
#                                 [PROD_TAGS]
#
# DIR becomes a bare repository with N promotion tags
# <env>/<service>@<version> over SERVICES services (default 300, every
# tenth one nested as team<k>/svc<i>), spread over dev, staging and prod and
# over COMMITS commits (default 5). Every ANNOTATED_EVERY-th tag is annotated
# (default 10; 0 for none). One git fast-import stream writes everything,
# then the refs are packed, as a long-lived repository would have them.
#
# PROD_TAGS (default: none, a third each) puts that many of the N tags in
# prod and splits the rest between dev and staging, to size one directory:
# with the default services, 16362 prod tags make prod hold 29,999 entries
# (.json and .bpf files, floating links and team directories), the
# 30,000-entry listing of the scale benchmark.
set -euo pipefail

dir=${1:?usage: mkrepo_big.sh DIR N [SERVICES] [COMMITS] [ANNOTATED_EVERY]}
n=${2:?usage: mkrepo_big.sh DIR N [SERVICES] [COMMITS] [ANNOTATED_EVERY]}
services=${3:-300}
commits=${4:-5}
annotated=${5:-10}
prod_tags=${6:-0}

[ -e "$dir" ] && { echo "mkrepo_big: '$dir' exists" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/light"
: >"$tmp/gitconfig"
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=$tmp/gitconfig
git init -q --bare "$dir"
git -C "$dir" symbolic-ref HEAD refs/heads/main

# fast-import writes the objects, and a loose ref per annotated tag. The
# lightweight tags go to $tmp/light as "<mark> <ref>": tens of thousands of
# loose ref files would take far longer to write than the rest together.
awk -v n="$n" -v services="$services" -v commits="$commits" \
	-v annotated="$annotated" -v prod_tags="$prod_tags" \
	-v light="$tmp/light" '
function service(i) {
	if (i % 10 == 9)
		return sprintf("team%d/svc%03d", i % 7, i)
	return sprintf("svc%03d", i)
}
function profile(i, c) {
	return sprintf("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n" \
		"  \"architectures\": [\"SCMP_ARCH_X86_64\"],\n" \
		"  \"syscalls\": [\n    {\n      \"names\": [\"read\", " \
		"\"write\", \"exit_group\", \"futex\", \"epoll_wait\"],\n" \
		"      \"action\": \"SCMP_ACT_ALLOW\",\n" \
		"      \"comment\": \"%s revision %d\"\n    }\n  ]\n}\n",
		service(i), c)
}
BEGIN {
	envs[0] = "dev"; envs[1] = "staging"; envs[2] = "prod"
	t = 1700000000
	for (c = 1; c <= commits; c++) {
		printf "commit refs/heads/main\nmark :%d\n", c
		printf "committer Bench <bench@example.invalid> %d +0000\n", t + c * 3600
		msg = sprintf("revision %d", c)
		printf "data %d\n%s\n", length(msg), msg
		for (i = 0; i < services; i++) {
			# The first commit has every profile; later ones change a fifth.
			if (c > 1 && (i + c) % 5 != 0)
				continue
			p = profile(i, c)
			printf "M 100644 inline %s.json\ndata %d\n%s\n", service(i), length(p), p
		}
		printf "\n"
	}
	pairs = services * 3
	for (k = 0; k < n; k++) {
		if (prod_tags > 0) {
			# The k-th tag of its environment: prod first, then
			# dev and staging in turn.
			if (k < prod_tags) {
				e = "prod"
				j = k
			} else {
				e = envs[(k - prod_tags) % 2]
				j = int((k - prod_tags) / 2)
			}
			i = j % services
			v = int(j / services)
		} else {
			e = envs[k % 3]
			i = int(k / 3) % services
			v = int(k / pairs)
		}
		name = sprintf("%s/%s@1.%d.%d", e, service(i), int(v / 10), v % 10)
		c = v % commits + 1
		if (annotated > 0 && k % annotated == 0) {
			printf "tag %s\nfrom :%d\n", name, c
			printf "tagger Bench <bench@example.invalid> %d +0000\n", t + 86400 + k
			printf "data 9\npromoted\n\n"
		} else {
			printf ":%d refs/tags/%s\n", c, name > light
		}
	}
}' | git -C "$dir" fast-import --quiet --export-marks="$tmp/marks"
git -C "$dir" pack-refs --all

# Merge the lightweight tags into packed-refs, sorted by name as git
# requires; a "^" line (the peeled commit of an annotated tag) travels
# with the line before it.
packed=$dir/packed-refs
{
	head -n 1 "$packed"
	{
		tail -n +2 "$packed" | awk '
			/^\^/ { prev = prev "\t" $0; next }
			{ if (prev != "") print prev; prev = $0 }
			END { if (prev != "") print prev }'
		awk 'NR == FNR { oid[$1] = $2; next } { print oid[$1], $2 }' \
			"$tmp/marks" "$tmp/light"
	} | LC_ALL=C sort -k2,2 | tr '\t' '\n'
} >"$packed.new"
mv "$packed.new" "$packed"
