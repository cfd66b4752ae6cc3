#!/usr/bin/env bash
# Run every test of ckptfs on a fresh Debian/Ubuntu machine (as root): installs what is missing
# (including the TensorFlow oracle), builds three times (plain; ASan+UBSan; clang's libFuzzer),
# runs the unit tests, the fixture and real-checkpoint tests, the real FUSE mounts, the TF
# oracle tier, the sanitizer tiers (mounts included) and a short smoke run of every fuzz target.
# At the end it lists every skipped test and every part of a test left out, with the reason
# (scripts/skip_report.py); in CI (CI=true) a skip not in tests/skips-allowed.txt fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --tf

# Every test's output is kept whole in a JUnit file, for the skip report's reasons.
junit_opts=(--test-output-size-passed 4000000 --test-output-size-failed 4000000)
skip_report() {
  python3 scripts/skip_report.py tests/skips-allowed.txt "$@"
}

echo "== build (plain, -Werror)"
BUILD_DIR=build bash scripts/build.sh -DCKPT_WERROR=ON
echo "== tests (plain build)"
rm -f build/junit.xml build-asan/junit.xml
if ! ctest --test-dir build --output-on-failure -j2 --timeout 900 "${junit_opts[@]}" \
    --output-junit "$PWD/build/junit.xml"; then
  skip_report build/junit.xml || true
  exit 1
fi

echo "== build (AddressSanitizer + UBSan)"
BUILD_DIR=build-asan bash scripts/build.sh -DCKPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests (sanitizer build: unit, CLI, real and hostile checkpoints, mounts, fuzz replays)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 "${junit_opts[@]}" \
    --output-junit "$PWD/build-asan/junit.xml" \
    -R '^(unit|cli|real|hostile|fuzz|e2e|nfs|remote)\.' \
    -E '^(e2e\.test_mount|e2e\.test_mount_sizes|cli\.test_memcheck_cli)$'
# (e2e.test_mount, the every-fixture walk, takes minutes under ASan: the plain build runs it;
# so does e2e.test_mount_sizes, which checks tar, rsync, zip and mmap against the mount, not
# the daemon's memory (134 s under ASan); valgrind's memcheck cannot run a sanitizer build.)

echo "== fuzz smoke (clang libFuzzer, ${FUZZ_SECONDS:-6} s per target; docs/fuzzing.md)"
CC=clang cmake -S . -B build-fuzz -DCKPT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"
# One target per tests/fuzz/fuzz_*.c (14): 6 s each keeps the whole run near 20 minutes; campaigns are docs/fuzzing.md's.
bash scripts/fuzz.sh "${FUZZ_SECONDS:-6}"

echo "== skip report"
skip_report build/junit.xml build-asan/junit.xml
