#!/usr/bin/env bash
# The demo: builds the release binary and shows every shipped cfg's layer table and totals.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build -c release --product swift-darknet
for cfg in cfg/*.cfg; do
    echo "=== $cfg"
    .build/release/swift-darknet summary "$cfg"
done
