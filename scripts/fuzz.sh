#!/usr/bin/env bash
# Run every libFuzzer target of tests/fuzz for SECONDS each (default 10: CI's smoke run), on a
# scratch copy of its stored corpus. A crash leaves its input in $OUT/<target>/ and fails the
# run; copy it to tests/fuzz/regressions/<target>/ once fixed. See docs/fuzzing.md.
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (needs a CKPT_FUZZ build in build-fuzz/)
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
shift || true
bdir=${FUZZ_BUILD_DIR:-build-fuzz}
out=${OUT:-$(mktemp -d /tmp/ckptfs-fuzz.XXXXXX)}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(ls tests/fuzz/fuzz_*.c | sed 's#.*/fuzz_##; s#\.c$##' | grep -v '^util$'))
fail=0
for t in "${targets[@]}"; do
  mkdir -p "$out/$t/corpus" "$out/$t/crashes"
  # Every committed input, regressions included (docs/fuzzing.md, "After a campaign").
  for sub in corpus grown regressions; do
    cp -r tests/fuzz/"$sub"/"$t"/. "$out/$t/corpus/" 2>/dev/null
  done
  "$bdir/fuzz_$t" "$out/$t/corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -artifact_prefix="$out/$t/crashes/" -print_final_stats=1 \
      >"$out/$t/log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t/log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$out/$t/log" | tail -1)
  echo "fuzz $t: exit $rc, ${execs:-?} executions, ${cov:-cov: ?}, $(ls "$out/$t/crashes" | wc -l) findings"
  [ $rc -eq 0 ] || fail=1
done
echo "logs and findings in $out"
exit $fail
