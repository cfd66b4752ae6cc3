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

# Each stage says when it started (seconds since the script began): CI must stay under 20 min.
stage() { echo "== $* (at ${SECONDS} s)"; }

stage "build (plain, -Werror)"
BUILD_DIR=build bash scripts/build.sh -DCKPT_WERROR=ON
stage "tests (plain build)"
rm -f build/junit.xml build-asan/junit.xml
if ! ctest --test-dir build --output-on-failure -j2 --timeout 900 "${junit_opts[@]}" \
    --output-junit "$PWD/build/junit.xml"; then
  skip_report build/junit.xml || true
  exit 1
fi

stage "build (AddressSanitizer + UBSan)"
BUILD_DIR=build-asan bash scripts/build.sh -DCKPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
stage "tests (sanitizer build: unit, CLI, real and hostile checkpoints, mounts, fuzz replays)"
# The remote tier's big tensor at 64 MiB, an archive of 4,000 places instead of 40,000 and 10
# rounds of concurrent first accesses instead of 20: the sizes are the plain build's to show;
# the sanitizers look for memory errors, which the smaller inputs meet as well.
CKPT_REMOTE_BIG_MIB=64 CKPT_ARCHIVE_MANY=2000 CKPT_RACE_ROUNDS=10 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 "${junit_opts[@]}" \
    --output-junit "$PWD/build-asan/junit.xml" \
    -R '^(unit|cli|real|hostile|fuzz|e2e|nfs|remote)\.' \
    -E '^(e2e\.test_mount|e2e\.test_mount_sizes|cli\.test_memcheck_cli)$'
# (e2e.test_mount, the every-fixture walk, takes minutes under ASan: the plain build runs it;
# so does e2e.test_mount_sizes, which checks tar, rsync, zip and mmap against the mount, not
# the daemon's memory (134 s under ASan); valgrind's memcheck cannot run a sanitizer build.)

stage "fuzz smoke (clang libFuzzer, ${FUZZ_SECONDS:-3} s per target; docs/fuzzing.md)"
CC=clang cmake -S . -B build-fuzz -DCKPT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"
# One target per tests/fuzz/fuzz_*.c but fuzz_util.c (14): 3 s each keeps the whole run near 18 minutes; campaigns are docs/fuzzing.md's.
bash scripts/fuzz.sh "${FUZZ_SECONDS:-3}"

stage "skip report"
skip_report build/junit.xml build-asan/junit.xml
echo "== done in ${SECONDS} s"
