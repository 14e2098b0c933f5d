#!/usr/bin/env python3
"""Our JPEG decoding against OpenCV's cv2.imread on Darknet's sample images: every pixel equal.

AlexeyAB's darknet built with OpenCV (`OPENCV=1`) reads images with cv::imread, so equal pixels
make `detect` see what that detector sees (its build without OpenCV decodes with stb_image,
which differs by a few levels). `detect --thresh 1` finds nothing and writes each image as it
decoded it, as a PNG. Prints 'N passed, N failed'."""
import glob
import os
import subprocess
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(darknet_ref.ROOT, ".build", "release", "swift-darknet")
WORK = darknet_ref.scratch_directory("swift-darknet-jpeg-")


def main():
    images = sorted(glob.glob("/usr/share/darknet/data/*.jpg"))
    cfg = os.path.join(darknet_ref.ROOT, "cfg", "yolov3-tiny.cfg")
    weights = os.path.join(WORK, "tiny.weights")
    subprocess.run([BINARY, "init", cfg, weights], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([BINARY, "detect", cfg, weights, *images, "--thresh", "1", "--out", WORK],
                   check=True, stdout=subprocess.DEVNULL)
    results = []
    for image in images:
        theirs = cv2.imread(image, cv2.IMREAD_COLOR).astype(np.int32)
        ours = cv2.imread(os.path.join(WORK, os.path.basename(image)[:-4] + ".png"), cv2.IMREAD_COLOR)
        same = ours is not None and ours.shape == theirs.shape and not np.any(ours.astype(np.int32) != theirs)
        results.append(same)
        detail = "every pixel equal" if same else (
            "missing" if ours is None else "shape %s against %s, or %d values differ" % (ours.shape, theirs.shape,
                                                                                       int(np.sum(ours != theirs)) if ours.shape == theirs.shape else -1))
        print("%s %s %dx%d: %s" % ("ok  " if same else "FAIL", os.path.basename(image), theirs.shape[1], theirs.shape[0], detail))
    print("jpeg decoding: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if results and all(results) else 1)


if __name__ == "__main__":
    main()
