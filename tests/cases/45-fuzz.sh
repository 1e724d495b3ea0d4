#!/bin/bash
# A short libFuzzer run over the profile parser and compiler, from the seed
# corpus (make fuzz runs a long one).
. "$(dirname "$0")/../lib.sh"
fuzzer=$BUILD/fuzz/fuzz_profile
[ -x "$fuzzer" ] || skip "fuzzer not built (needs clang)"
mkdir "$T/work"
"$fuzzer" -max_total_time="${FUZZ_TIME:-30}" -max_len=24000 -timeout=10 \
	-artifact_prefix="$T/" -print_final_stats=1 "$T/work" "$TOP/tests/fuzz/corpus" >"$T/out" 2>&1 ||
	{ tail -n 40 "$T/out"; ls "$T"/crash-* "$T"/leak-* "$T"/timeout-* 2>/dev/null;
	  fail "the fuzzer found a crash, leak or hang"; }
grep -E "^(Done|stat::number_of_executed_units)" "$T/out"
