#!/usr/bin/env bash
# A longer crash-consistency campaign than `cargo make test` runs: the
# crash tests (crash/tests/ext4.rs, other_fs.rs) round after round, each
# round with a seed of its own (which subsets of the unflushed writes are
# sampled) and SCALE times as many states per cut and per workload, until
# HOURS have passed. Writes target/crash-soak/summary.txt: rounds, states
# checked, and every failure with the seed that reproduces it, as
#   LKL_CRASH_SEED=<seed> LKL_CRASH_SCALE=<scale> cargo test --release -p lkl-crash
# (each failure line names the file system, the workload and the cut).
#
# Usage: scripts/crash-soak.sh [HOURS] [SCALE] [FIRST_SEED]
# (CRASH_SOAK_MINUTES=N instead of HOURS, for a short run.)
set -euo pipefail
hours=${1:-2}
scale=${2:-4}
seed=${3:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/target/crash-soak
mkdir -p "$out"
summary=$out/summary.txt
minutes=${CRASH_SOAK_MINUTES:-$((${hours%.*} * 60))}
end=$(($(date +%s) + minutes * 60))
rounds=0 states=0 failed=0
: > "$out/failures.txt"

cargo build --release -p lkl-crash --tests >&2
while [ "$(date +%s)" -lt "$end" ]; do
	log=$out/round-$seed.log
	status=0
	LKL_CRASH_SEED=$seed LKL_CRASH_SCALE=$scale \
		cargo test --release -p lkl-crash --test ext4 --test other_fs -- --nocapture \
		> "$log" 2>&1 || status=$?
	checked=$(awk '/^[0-9]+ crash states checked$/ { s += $1 } END { print s + 0 }' "$log")
	states=$((states + ${checked:-0}))
	rounds=$((rounds + 1))
	if [ "$status" -ne 0 ]; then
		failed=$((failed + 1))
		{
			echo "seed $seed (scale $scale): failed; log $log"
			grep -E 'cut [0-9]+|panicked|only [0-9]+ crash states' "$log" || true
		} >> "$out/failures.txt"
	else
		rm -f "$log"
	fi
	{
		echo "crash soak: $rounds rounds (seeds from ${3:-1000}, scale $scale), $states crash states checked, $failed rounds failed"
		echo "reproduce a failure: LKL_CRASH_SEED=<seed> LKL_CRASH_SCALE=$scale cargo test --release -p lkl-crash"
		cat "$out/failures.txt"
	} > "$summary"
	seed=$((seed + 1))
done
cat "$summary"
