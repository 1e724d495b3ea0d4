#!/bin/bash
# Run the secprof test suite: unit tests, then one script per case.
# usage: tests/run.sh BUILD_DIR [CASE...]
set -u
cd "$(dirname "$0")/.."
BUILD=$(cd "${1:?usage: tests/run.sh BUILD_DIR}" && pwd)
shift
export BUILD

pass=0 fail=0 skip=0
failed=()

run_one() {
	local name=$1
	shift
	local log
	log=$(mktemp)
	local start=$SECONDS
	"$@" >"$log" 2>&1
	local rc=$?
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name ($((SECONDS - start))s)" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n1 "$log")" ;;
	*) fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc)"
	   sed 's/^/    | /' "$log" | tail -n 60 ;;
	esac
	rm -f "$log"
}

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] && cases+=("$t")
	done
	for t in tests/cases/*.sh; do
		cases+=("$t")
	done
fi

for t in "${cases[@]}"; do
	case $t in
	*.sh) run_one "$(basename "$t" .sh)" bash "$t" ;;
	*) run_one "$(basename "$t")" "$t" ;;
	esac
done

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
