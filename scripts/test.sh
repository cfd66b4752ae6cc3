#!/usr/bin/env bash
# Run every test of ckptfs on a fresh Debian/Ubuntu machine (as root): installs what is missing
# (including the TensorFlow oracle), builds twice (plain, and with ASan+UBSan), runs the unit
# tests, the fixture and real-checkpoint tests, the real FUSE mounts and the TF oracle tier.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --tf

echo "== build (plain, -Werror)"
BUILD_DIR=build bash scripts/build.sh -DCKPT_WERROR=ON
echo "== tests (plain build)"
ctest --test-dir build --output-on-failure -j2 --timeout 900

echo "== build (AddressSanitizer + UBSan)"
BUILD_DIR=build-asan bash scripts/build.sh -DCKPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
echo "== tests (sanitizer build: unit, CLI, real and hostile checkpoints)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --timeout 900 -R '^(unit|cli|real|hostile)\.'
