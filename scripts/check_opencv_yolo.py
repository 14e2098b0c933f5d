#!/usr/bin/env python3
"""AlexeyAB's mish, swish, route groups and [yolo] scale_x_y / new_coords against OpenCV's
Darknet importer (cv2.dnn.readNetFromDarknet), on two small cfgs of our own and weights from our
`init`. OpenCV decodes each yolo layer into rows of (x, y, w, h relative to the input,
objectness, objectness·class where that exceeds 0.2), a cell's anchors together; this decodes
`swift-darknet run`'s yolo output the same way and compares. OpenCV computes Darknet's
batch-norm, (x − mean)/(√var + 1e-6), so the networks run in the darknet dialect.
Prints 'N passed, N failed'."""
import os
import subprocess
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")

ANCHORS = [(4, 6), (8, 5), (10, 12)]
CFG = """[net]
width=32
height=32
channels=3
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=mish
[convolutional]
filters=8
size=3
stride=2
pad=1
batch_normalize=1
activation=swish
[route]
layers=-1
groups=2
group_id=1
[convolutional]
filters=21
size=1
activation={head}
[yolo]
mask=0,1,2
anchors=4,6, 8,5, 10,12
classes=2
num=3
{yolo}
"""
NETWORKS = {"scale_x_y=1.2": ("linear", "scale_x_y=1.2", False),
            "new_coords=1 scale_x_y=2": ("logistic", "new_coords=1\nscale_x_y=2.0", True)}


def decode(output, new_coords):
    """Our yolo layer output (anchors·7, H, W) as OpenCV's rows."""
    _, rows, cols = output.shape
    out = output.reshape(3, 7, rows, cols)
    decoded = []
    for r in range(rows):
        for c in range(cols):
            for n in range(3):
                tx, ty, tw, th, objectness, c0, c1 = out[n, :, r, c].astype(np.float64)
                scale = (lambda t: 4 * t * t) if new_coords else np.exp
                decoded.append([(c + tx) / cols, (r + ty) / rows, scale(tw) * ANCHORS[n][0] / 32, scale(th) * ANCHORS[n][1] / 32,
                                objectness, objectness * c0, objectness * c1])
    return np.array(decoded)


def main():
    work = scratch_directory("opencv-yolo-")
    x = np.random.default_rng(1).uniform(0, 1, (3, 32, 32)).astype(np.float32)
    np.save(os.path.join(work, "input.npy"), x)
    results = []
    for seed, (name, (head, keys, new_coords)) in enumerate(NETWORKS.items(), start=3):
        cfg, weights = os.path.join(work, "net%d.cfg" % seed), os.path.join(work, "net%d.weights" % seed)
        with open(cfg, "w") as f:
            f.write(CFG.format(head=head, yolo=keys))
        subprocess.run([BINARY, "init", cfg, weights, "--seed", str(seed)], check=True)
        out = os.path.join(work, "out%d" % seed)
        subprocess.run([BINARY, "run", cfg, weights, "--input", os.path.join(work, "input.npy"), "--out", out,
                        "--dialect", "darknet"], check=True)
        ours = decode(np.load(os.path.join(out, "layer_004.npy")), new_coords)
        net = cv2.dnn.readNetFromDarknet(cfg, weights)
        net.setInput(x[None])
        reference = net.forward(net.getUnconnectedOutLayersNames())[0].astype(np.float64)
        if ours.shape != reference.shape:
            results.append(False)
            print("FAIL %s: %s rows here, %s in OpenCV" % (name, ours.shape, reference.shape))
            continue
        # Centres within float32 rounding of values near 1; sizes and scores relative to their size.
        centre = np.abs(ours[:, :2] - reference[:, :2]).max()
        size = (np.abs(ours[:, 2:4] - reference[:, 2:4]) / np.maximum(reference[:, 2:4], 1e-3)).max()
        objectness = np.abs(ours[:, 4] - reference[:, 4]).max()
        shown = reference[:, 5:] > 0
        scores = np.abs(ours[:, 5:][shown] - reference[:, 5:][shown]).max()
        hidden = ours[:, 5:][~shown].max(initial=0)
        checks = [("centres", centre, 1e-5), ("sizes (relative)", size, 1e-4), ("objectness", objectness, 1e-5),
                  ("class scores OpenCV shows", scores, 1e-5)]
        for label, error, tolerance in checks:
            results.append(error <= tolerance)
            print("%s %s: %s error %.3g, tolerance %.3g" % ("ok  " if results[-1] else "FAIL", name, label, error, tolerance))
        results.append(hidden <= 0.2 + 1e-5 and shown.sum() > 0)
        print("%s %s: %d class scores shown by OpenCV; the largest of those it hides is %.4g here (OpenCV's threshold 0.2)"
              % ("ok  " if results[-1] else "FAIL", name, shown.sum(), hidden))
    print("opencv yolo: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
