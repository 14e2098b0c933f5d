#!/usr/bin/env bash
# The whole test suite: Swift unit and CLI tests, then the cross-checks against libdarknet
# (and, where an issue needs them, OpenCV and NumPy references). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

passed=0
failed=0
step() {
    local name=$1; shift
    echo "=== $name"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

step "swift test" swift test
step "shapes against libdarknet" python3 scripts/check_shapes.py .build/debug/swift-darknet
step "weights against libdarknet and OpenCV" python3 scripts/check_weights.py .build/debug/swift-darknet

echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
