#!/usr/bin/env bash
# The whole test suite: Swift unit and CLI tests, then the cross-checks against libdarknet
# (and, where an issue needs them, OpenCV and NumPy references). Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

# Every step's temporary files go to one folder removed at the end, whatever fails: the
# cross-checks write gigabytes, and /tmp is shared with every other run on the machine.
scratch=$(mktemp -d "${TMPDIR:-/tmp}/swift-darknet-test.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch
echo "temporary files in $scratch ($(df -h --output=avail "$scratch" | tail -1 | tr -d ' ') free)"

passed=0
failed=0
step() {
    local name=$1; shift
    echo "=== $name"
    if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

step "swift test" swift test
step "layer fixtures made again by libdarknet and NumPy" python3 scripts/make_fixtures.py --check
step "augmentation fixtures made again by libdarknet" python3 scripts/make_augmentation_fixtures.py --check
# The cross-checks run whole networks: they use the release build.
step "release build" swift build -c release --static-swift-stdlib --product swift-darknet
step "shapes against libdarknet" python3 scripts/check_shapes.py .build/release/swift-darknet
step "weights against libdarknet and OpenCV" python3 scripts/check_weights.py .build/release/swift-darknet
step "every layer against libdarknet" python3 scripts/check_inference.py .build/release/swift-darknet
step "scale_channels and sam against OpenCV" python3 scripts/check_opencv_kinds.py .build/release/swift-darknet
step "one training step against libdarknet" python3 scripts/check_step.py .build/release/swift-darknet
step "training end to end: a shapes classifier to 90 % top-1, libdarknet agreeing" python3 scripts/check_training.py .build/release/swift-darknet
step "res2net and triangle against NumPy" python3 scripts/res2net_reference.py .build/release/swift-darknet
step "gradients of res2net, triangle, YOLOv5 and MobileNetV2 kinds against NumPy" python3 scripts/gradient_reference.py .build/release/swift-darknet
step "AlexeyAB's activations, batch-norm and [yolo] keys against NumPy" python3 scripts/alexeyab_reference.py .build/release/swift-darknet
step "mish, swish, route groups and [yolo] scale_x_y, new_coords against OpenCV" python3 scripts/check_opencv_yolo.py .build/release/swift-darknet
step "MobileNetV2-YOLOv3 and YOLOv5 against NumPy" python3 scripts/seed_references.py .build/release/swift-darknet
step "mAP and detection augmentation fixtures made again by NumPy and libdarknet" sh -c "python3 scripts/map_reference.py --check && python3 scripts/make_detection_augmentation_fixture.py --check"
step "shipped cfgs end to end" python3 scripts/check_shipped.py .build/release/swift-darknet
step "yolov3-tiny on emulated CPUs without AVX-512 and AVX2" python3 scripts/check_emulated_cpus.py .build/release/swift-darknet
step "detections against libdarknet" python3 scripts/check_detection.py .build/release/swift-darknet
step "JPEG decoding against OpenCV, pixel for pixel" python3 scripts/check_jpeg_decoding.py .build/release/swift-darknet
step "classify against libdarknet" python3 scripts/check_classify.py .build/release/swift-darknet
step "ONNX exports in onnxruntime and OpenVINO" python3 scripts/check_onnx.py .build/release/swift-darknet
step "README model table is current" env SWIFT_DARKNET=.build/release/swift-darknet python3 scripts/model_table.py --check README.md
step "sanitizers (address, thread)" bash scripts/sanitizers.sh
step "fuzzers, 30 s each" bash scripts/fuzz.sh 30

echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
