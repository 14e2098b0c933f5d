#!/usr/bin/env bash
# The demo: builds the release binary, then for every shipped cfg prints its totals, makes
# calibrated random weights, checks them, runs an input through and times it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
swift build -c release --static-swift-stdlib --product swift-darknet
bin=.build/release/swift-darknet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for cfg in cfg/*.cfg; do
    name=$(basename "$cfg" .cfg)
    echo "=== $cfg"
    $bin summary "$cfg" | tail -5
    $bin init "$cfg" "$work/$name.weights"
    $bin inspect "$cfg" "$work/$name.weights" | tail -1
    python3 -c "import json, subprocess, numpy as np
c, h, w = json.loads(subprocess.check_output(['$bin', 'summary', '$cfg', '--json']))['layers'][0]['input']
np.save('$work/$name.npy', np.random.default_rng(0).random((c, h, w), dtype=np.float32))"
    $bin run "$cfg" "$work/$name.weights" --input "$work/$name.npy" --out "$work/$name"
    echo "outputs: $(ls "$work/$name" | tr '\n' ' ')"
    $bin bench "$cfg" "$work/$name.weights" --runs 3
done
