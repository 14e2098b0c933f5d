#!/usr/bin/env bash
# The Swift test suite under AddressSanitizer and ThreadSanitizer, each in its own build folder.
# Prints 'N passed, N failed' over the two runs.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0
failed=0
for sanitizer in address thread; do
    echo "=== swift test --sanitize=$sanitizer"
    # halt_on_error: the first report fails the run instead of scrolling past.
    if ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 TSAN_OPTIONS=halt_on_error=1 \
        swift test --sanitize=$sanitizer --scratch-path .build-$sanitizer 2>&1 | tail -4; [ "${PIPESTATUS[0]}" -eq 0 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "sanitizers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
