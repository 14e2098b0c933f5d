#!/usr/bin/env python3
"""`swift-darknet classify` against libdarknet's classifier path, and the shapes data set read
back through it.

Small classifiers of seed 004's kinds that libdarknet runs (conv + batch-norm + leaky, shortcut,
route, 5×5 stride-1 max-pools, connected, softmax; one with a non-square input) get random
weights (`swift-darknet init`); images of scripts/make_shapes_dataset.py and of odd sizes
(landscape, portrait, smaller than the input) go through `classify --json` and through
libdarknet as `classifier valid` preprocesses them (load_image_color, center_crop_image,
network_predict). Every class probability must agree within 1e-5 + 1e-4·max.

Usage: check_classify.py SWIFT_DARKNET
"""
import ctypes
import json
import os
import subprocess
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref  # noqa: E402

BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(darknet_ref.ROOT, ".build", "release", "swift-darknet")
CONV = "[convolutional]\nbatch_normalize=1\nfilters={f}\nsize={s}\nstride={st}\npad=1\nactivation=leaky\n\n"
CFG = ("[net]\nbatch=1\nwidth={w}\nheight={h}\nchannels=3\n\n" + CONV.format(f=8, s=3, st=2)
       + CONV.format(f=8, s=1, st=1) + CONV.format(f=8, s=3, st=1) + "[shortcut]\nfrom=-3\nactivation=linear\n\n"
       + "[route]\nlayers=-1,-4\n\n[maxpool]\nsize=5\nstride=1\n\n" + CONV.format(f=16, s=3, st=2)
       + "[connected]\noutput=4\nactivation=linear\n\n[softmax]\n")


class IMAGE(ctypes.Structure):
    _fields_ = [("w", ctypes.c_int), ("h", ctypes.c_int), ("c", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_float))]


def darknet_probabilities(lib, network, path, width, height):
    """libdarknet's validate_classifier_single for one image: its probabilities."""
    image = lib.load_image_color(path.encode(), 0, 0)
    crop = lib.center_crop_image(image, width, height)
    pointer = network.lib.probe_predict(network.net, crop.data)
    return np.ctypeslib.as_array(pointer, shape=(4,)).copy()


def main():
    scratch = darknet_ref.scratch_directory("check-classify-")
    subprocess.run([sys.executable, os.path.join(darknet_ref.ROOT, "scripts", "make_shapes_dataset.py"), scratch + "/shapes",
                    "--train", "0", "--val", "3", "--seed", "7", "--size", "48"], check=True, stdout=subprocess.DEVNULL)
    odd = scratch + "/odd"
    os.makedirs(odd)
    rng = np.random.default_rng(3)
    for w, h in [(61, 23), (20, 57), (13, 9), (33, 33)]:
        cv2.imwrite("%s/%dx%d.png" % (odd, w, h), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    folders = [scratch + "/shapes/val/" + kind for kind in ("circle", "cross", "square", "triangle")] + [odd]

    lib = ctypes.CDLL(os.path.join(darknet_ref.DARKNET_LIB, "libdarknet.so"))
    lib.load_image_color.restype = IMAGE
    lib.load_image_color.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.center_crop_image.restype = IMAGE
    lib.center_crop_image.argtypes = [IMAGE, ctypes.c_int, ctypes.c_int]

    failures = 0
    for width, height in [(32, 32), (40, 24)]:
        cfg = "%s/cls-%dx%d.cfg" % (scratch, width, height)
        with open(cfg, "w") as f:
            f.write(CFG.format(w=width, h=height))
        weights = cfg[:-4] + ".weights"
        subprocess.run([BINARY, "init", cfg, weights, "--seed", "5"], check=True)
        result = subprocess.run([BINARY, "classify", cfg, weights, *folders, "--json", "--top", "4"], capture_output=True, text=True)
        if result.returncode != 0:
            print("classify failed: " + result.stderr)
            return 1
        network = darknet_ref.Network(cfg, weights)
        worst = 0.0
        reports = json.loads(result.stdout)
        for report in reports:
            ours = np.zeros(4, np.float32)
            for entry in report["top"]:
                ours[entry["class_id"]] = entry["prob"]
            reference = darknet_probabilities(lib, network, report["image"], width, height)
            difference = float(np.max(np.abs(ours - reference)))
            worst = max(worst, difference)
            if difference > 1e-5 + 1e-4 * float(np.max(np.abs(reference))):
                failures += 1
                print("FAIL %s (%d×%d): ours %s, libdarknet %s" % (report["image"], width, height, ours, reference))
        images = sum(len([n for n in os.listdir(f) if n.endswith(".png")]) for f in folders)
        if len(reports) != images:
            failures += 1
            print("FAIL %d×%d: %d reports for %d images" % (width, height, len(reports), images))
        print("%d×%d input: %d images, largest probability difference from libdarknet %.2e" % (width, height, len(reports), worst))
    print("classify against libdarknet: " + ("ok" if failures == 0 else "%d failures" % failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
