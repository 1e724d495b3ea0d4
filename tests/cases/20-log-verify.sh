#!/bin/bash
# secprof log verify and query on generated access logs: an intact chain,
# each kind of tampering named at its record, rotated files, and filters.
source "$(dirname "$0")/../lib.sh"

[ -x "$SECPROF" ] || fail "no $SECPROF (build first)"

# gen FILE FIRST COUNT PREV: COUNT chained records from seq FIRST; prints
# the hash of the last line. Every fifth open misses (ENOENT), every
# seventh comes from a container.
gen() {
	python3 - "$@" <<'PY'
import hashlib, json, sys
path, prev = sys.argv[1], sys.argv[4]
first, count = int(sys.argv[2]), int(sys.argv[3])
envs = ["dev", "staging", "prod"]
with open(path, "w") as f:
    for seq in range(first, first + count):
        env = envs[seq % 3]
        rec = {"seq": seq,
               "time": "2026-12-03T08:%02d:%02d.%06dZ"
                       % (seq // 60 % 60, seq % 60, seq),
               "event": "open", "host": "node-1",
               "path": "/run/secprof/%s/nginx@1.4.%d.json" % (env, seq % 4),
               "env": env, "service": "nginx", "version": "1.4.%d" % (seq % 4),
               "format": "json", "tag": "%s/nginx@1.4.%d" % (env, seq % 4),
               "result": "ENOENT" if seq % 5 == 0 else "ok",
               "pid": 1000 + seq, "uid": 0, "gid": 0, "comm": "runc",
               "exe": "/usr/bin/runc", "cmdline": "runc create x",
               "cgroup": "0::/system.slice"}
        if seq % 5 == 0:
            rec["error"] = "no such promotion"
        if seq % 7 == 0:
            rec["container_id"] = "%064x" % seq
        rec["prev"] = prev
        line = json.dumps(rec, separators=(",", ":"))
        f.write(line + "\n")
        prev = hashlib.sha256(line.encode()).hexdigest()
print(prev)
PY
}

ZERO=$(printf '0%.0s' $(seq 1 64))

# expect_verify STATUS PATTERN FILE...: exit status and a line of output.
expect_verify() {
	local want=$1 pattern=$2 rc=0
	shift 2
	"$SECPROF" log verify "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] ||
		fail "verify $*: exit $rc, expected $want: $(cat "$T/out" "$T/err")"
	grep -qF -- "$pattern" "$T/out" "$T/err" ||
		fail "verify $*: no '$pattern' in: $(cat "$T/out" "$T/err")"
}

L=$T/access.log
last=$(gen "$L" 1 50 "$ZERO")

# Intact: a one-line summary naming the last hash.
expect_verify 0 "intact: 50 records, 1 file, seq 1..50, last hash $last" "$L"
assert_eq 1 "$(wc -l <"$T/out")" "summary lines"

# One byte edited inside record 17 (its pid), JSON still valid.
sed '17s/"pid":1017/"pid":1018/' "$L" >"$T/edit.log"
cmp -s "$L" "$T/edit.log" && fail "sed did not edit the log"
expect_verify 1 "edit.log:17: record seq 17 was modified" "$T/edit.log"
expect_verify 1 "broken: 1 problem in 50 records" "$T/edit.log"

# One byte edited so that record 9 is no longer JSON.
sed '9s/^{/[/' "$L" >"$T/edit2.log"
expect_verify 1 "edit2.log:9: record seq 9 is damaged: not valid JSON" \
	"$T/edit2.log"

# A deleted line.
sed '23d' "$L" >"$T/del.log"
expect_verify 1 "del.log:23: seq jumps from 22 to 24 (record seq 23 deleted)" \
	"$T/del.log"
expect_verify 1 "broken: 1 problem in 49 records" "$T/del.log"

# Two swapped lines.
sed -n '30{h;n;p;x;p;b};p' "$L" >"$T/swap.log"
assert_eq 50 "$(wc -l <"$T/swap.log")" "swapped log lines"
expect_verify 1 "swap.log:31: seq 30 after seq 31 (records reordered" \
	"$T/swap.log"
expect_verify 1 "broken: 1 problem" "$T/swap.log"

# An inserted line: a copy of record 5 after record 40.
sed "40r /dev/stdin" "$L" <<<"$(sed -n 5p "$L")" >"$T/ins.log"
msg="ins.log:41: seq 5 after seq 40: a record with this seq is already"
expect_verify 1 "$msg in the chain (record inserted)" "$T/ins.log"
expect_verify 1 "broken: 1 problem in 51 records" "$T/ins.log"

# A rotated log: three files in order are one chain.
h1=$(gen "$T/r.log.2" 1 20 "$ZERO")
h2=$(gen "$T/r.log.1" 21 15 "$h1")
h3=$(gen "$T/r.log" 36 15 "$h2")
expect_verify 0 "intact: 50 records, 3 files, seq 1..50, last hash $h3" \
	"$T/r.log.2" "$T/r.log.1" "$T/r.log"
expect_verify 0 "chain starts at seq 21; earlier files not given" \
	"$T/r.log.1" "$T/r.log"

# A gap between rotated files: a missing file, a missing first line.
msg="r.log:1: seq jumps from 20 to 36 (records seq 21..35 deleted;"
expect_verify 1 "$msg is a rotated file missing?)" "$T/r.log.2" "$T/r.log"
sed 1d "$T/r.log.1" >"$T/cut.log.1"
expect_verify 1 "cut.log.1:1: seq jumps from 20 to 22 (record seq 21 deleted" \
	"$T/r.log.2" "$T/cut.log.1" "$T/r.log"
expect_verify 1 "files given out of order" "$T/r.log.1" "$T/r.log.2"

# Unreadable input and usage errors.
expect_verify 2 "nope.log': No such file or directory" "$L" "$T/nope.log"
expect_verify 2 "no FILE given"
"$SECPROF" log --help | grep -q "log verify FILE" || fail "log --help"
"$SECPROF" log verify - <"$L" | grep -qF "intact: 50 records" ||
	fail "verify from standard input"

# Query: filters combine; JSON output is the original lines.
"$SECPROF" log query --env prod --result ENOENT --json "$L" >"$T/q"
expected=$(python3 -c '
print(sum(1 for s in range(1, 51) if s % 3 == 2 and s % 5 == 0))')
assert_eq "$expected" "$(wc -l <"$T/q")" "prod ENOENT records"
while read -r line; do
	grep -qxF -- "$line" "$L" || fail "query --json changed a line: $line"
done <"$T/q"

"$SECPROF" log query --container 000000000000000000 "$L" >"$T/q"
assert_eq 8 "$(wc -l <"$T/q")" "container table (header + 7 rows)"
head -n1 "$T/q" | grep -q '^SEQ *TIME *EVENT *RESULT' || fail "table header"
grep -q '^14 .*2026-12-03T08:00:14.000014Z *open *ok .*runc' "$T/q" ||
	fail "table row of seq 14: $(cat "$T/q")"

"$SECPROF" log query --since 2026-12-03T08:00:10Z \
	--until '2026-12-03 08:00:19.999999' --json "$T/r.log.2" "$T/r.log.1" \
	>"$T/q"
assert_eq 10 "$(wc -l <"$T/q")" "records from 08:00:10 to 08:00:19"
"$SECPROF" log query --since 2026-12-03T10:00:10+02:00 --json "$L" >"$T/q"
assert_eq 41 "$(wc -l <"$T/q")" "records since 07:00:10Z"

rc=0
"$SECPROF" log query --service postgres "$L" >"$T/q" || rc=$?
assert_eq 1 "$rc" "query without a match"
rc=0
"$SECPROF" log query --since yesterday "$L" 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "query with a bad time"
grep -q "not a time" "$T/err" || fail "bad time message"
rc=0
"$SECPROF" log query --bogus "$L" 2>"$T/err" || rc=$?
assert_eq 2 "$rc" "query with an unknown option"
echo "log verify and query: ok"
