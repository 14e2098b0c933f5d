#!/usr/bin/env python3
"""AlexeyAB's [scale_channels] and [sam] against OpenCV's Darknet importer (cv2.dnn), the one
other implementation of them at hand: small networks of our own with random weights from our
`init`, the last layer's output of `swift-darknet run` against OpenCV's on the same input,
max|a−b| ≤ 1e-4 + 1e-3·max|ref|. OpenCV reads scale_channels with one factor a channel (not
scale_wh), and sam; it ignores or reads otherwise the other AlexeyAB keys (several shortcut
layers, weights_type, stride_x/stride_y, maxpool_depth, dilation), which the NumPy fixture
"alexeyab" of `swift test` covers instead. Prints 'N passed, N failed'."""
import os
import subprocess
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(darknet_ref.ROOT, ".build", "release", "swift-darknet")
WORK = darknet_ref.scratch_directory("swift-darknet-opencv-kinds-")

NET = "[net]\nwidth=%d\nheight=%d\nchannels=%d\n"


def conv(filters, size, activation, **keys):
    lines = ["[convolutional]", "filters=%d" % filters, "size=%d" % size, "pad=1", "activation=" + activation]
    return "\n".join(lines + ["%s=%s" % item for item in keys.items()]) + "\n"


NETWORKS = {
    # Squeeze-and-excitation as efficientnet_b0 and enet-coco have it, a linear and a leaky scale.
    "squeeze-excitation": (NET % (12, 10, 3)) + conv(16, 3, "leaky", batch_normalize=1) + "[avgpool]\n"
    + conv(4, 1, "relu") + conv(16, 1, "logistic") + "[scale_channels]\nfrom=0\n"
    + conv(8, 3, "linear", stride=2) + "[avgpool]\n" + conv(8, 1, "logistic")
    + "[scale_channels]\nfrom=-3\nactivation=leaky\n",
    # Spatial attention as yolov4-sam-mish-csp-reorg-bfm has it, then sam with an activation.
    "spatial-attention": (NET % (9, 11, 4)) + conv(8, 3, "leaky", batch_normalize=1) + conv(8, 1, "logistic")
    + "[sam]\nfrom=-2\n" + conv(8, 3, "linear") + "[sam]\nfrom=0\nactivation=logistic\n",
}


def main():
    rng = np.random.default_rng(7)
    passed = failed = 0
    for name, text in NETWORKS.items():
        cfg, weights = os.path.join(WORK, name + ".cfg"), os.path.join(WORK, name + ".weights")
        with open(cfg, "w") as f:
            f.write(text)
        subprocess.run([BINARY, "init", cfg, weights], check=True, capture_output=True)
        header = [int(v) for v in text.split("\n")[1:4] for v in [v.split("=")[1]]]
        width, height, channels = header
        image = rng.uniform(-2, 2, (channels, height, width)).astype(np.float32)
        np.save(os.path.join(WORK, name + ".npy"), image)
        out = os.path.join(WORK, name)
        subprocess.run([BINARY, "run", cfg, weights, "--input", os.path.join(WORK, name + ".npy"), "--out", out],
                       check=True, capture_output=True)
        ours = np.load(os.path.join(out, sorted(os.listdir(out))[-1]))
        net = cv2.dnn.readNetFromDarknet(cfg, weights)
        net.setInput(image[None])
        reference = net.forward()[0]
        tolerance = 1e-4 + 1e-3 * float(np.abs(reference).max())
        error = float(np.abs(reference - ours).max()) if reference.shape == ours.shape else float("inf")
        ok = error <= tolerance
        passed, failed = passed + ok, failed + (not ok)
        print("%s %s: max|swift − OpenCV| %.3g (tolerance %.3g, max|OpenCV| %.3g)"
              % ("ok  " if ok else "FAIL", name, error, tolerance, float(np.abs(reference).max())))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
