#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine with the Swift
# toolchain, skipping whatever is already there. Sourced by scripts/demo.sh and scripts/test.sh.
set -euo pipefail

apt_packages=(libopenblas-dev libturbojpeg0-dev libpng-dev pkg-config darknet gcc qemu-user)
missing=()
for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# OpenCV 5 dropped the Darknet importer (cv2.dnn.readNetFromDarknet): pin the 4.x line.
python3 -c "import numpy, cv2; assert cv2.__version__ == '4.14.0'" 2>/dev/null || {
    echo "setup: installing numpy and opencv-python-headless 4.14"
    python3 -m pip install -q --root-user-action=ignore numpy "opencv-python-headless==4.14.0.94"
}

# The runtimes that read `swift-darknet export`'s files (scripts/check_onnx.py).
python3 -c "import onnx, onnxruntime, openvino; assert (onnx.__version__, onnxruntime.__version__) == ('1.19.1', '1.23.2') and openvino.__version__.startswith('2025.4.1')" 2>/dev/null || {
    echo "setup: installing onnx 1.19.1, onnxruntime 1.23.2 and openvino 2025.4.1"
    python3 -m pip install -q --root-user-action=ignore "onnx==1.19.1" "onnxruntime==1.23.2" "openvino==2025.4.1"
}
