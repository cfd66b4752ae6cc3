#!/usr/bin/env bash
# Run every test of ckptfs on a fresh Debian/Ubuntu machine (as root): installs what is missing
# (including the TensorFlow oracle), builds three times (plain; ASan+UBSan; clang's libFuzzer),
# runs the unit tests, the fixture and real-checkpoint tests, the real FUSE mounts, the TF
# oracle tier, the sanitizer tiers (mounts included) and a short smoke run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --tf

echo "== build (plain, -Werror)"
BUILD_DIR=build bash scripts/build.sh -DCKPT_WERROR=ON
echo "== tests (plain build)"
ctest --test-dir build --output-on-failure -j2 --timeout 900

echo "== build (AddressSanitizer + UBSan)"
BUILD_DIR=build-asan bash scripts/build.sh -DCKPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests (sanitizer build: unit, CLI, real and hostile checkpoints, mounts, fuzz replays)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 \
    -R '^(unit|cli|real|hostile|fuzz|e2e|nfs|remote)\.' -E '^(e2e\.test_mount|cli\.test_memcheck_cli)$'
# (e2e.test_mount, the every-fixture walk, takes minutes under ASan: the plain build runs it;
# valgrind's memcheck cannot run a sanitizer build: the plain build runs it too.)

echo "== fuzz smoke (clang libFuzzer, ${FUZZ_SECONDS:-10} s per target; docs/fuzzing.md)"
CC=clang cmake -S . -B build-fuzz -DCKPT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j"$(nproc)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
