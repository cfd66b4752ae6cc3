#!/bin/sh
# Usage: expect_include_fails.sh BUILD_DIR TARGET HEADER
# Builds TARGET (one source that includes HEADER from a layer that may not see it) and passes
# only when the build fails because HEADER is not found: any other failure is the test's own.
out=$(cmake --build "$1" --target "$2" 2>&1)
if [ $? -eq 0 ]; then
    echo "FAIL: $2 compiled: $3 is visible from a layer below it"
    exit 1
fi
if printf '%s\n' "$out" | grep -q "$3: No such file or directory"; then
    echo "ok: $3 is not visible to $2's layer"
    exit 0
fi
echo "FAIL: $2 did not compile, but not for want of $3:"
printf '%s\n' "$out" | tail -20
exit 1
