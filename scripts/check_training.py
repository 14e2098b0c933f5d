#!/usr/bin/env python3
"""End to end: `swift-darknet train` learns a small classifier, and libdarknet agrees with it.

A synthetic set of 4 shapes (make_shapes_dataset.py: 400 training and 50 validation images per
class at 32×32) trains a classifier made of seed 004's kinds — convolution with batch-norm, a C3
block (1×1 convolutions, a bottleneck with its [shortcut], [route]s) and SPPF (three 5×5
stride-1 [maxpool]s concatenated) — for 15 epochs from Darknet's random initial weights, with
Adam and Darknet's classifier augmentation, twice: with leaky, which libdarknet runs, and with
the seed's SiLU (swish), which it lacks. Each must reach ≥ 90 % validation top-1. libdarknet
(leaky) or OpenCV's Darknet importer (swish) then loads the final weights and must give the same
probabilities as `swift-darknet run` on every validation image, within 1e-4; `classify`, reading
the `.names` train wrote, must get train's last validation figure.

Also prints the training speed (images/s, data loading included) and a training step's time
against the forward pass (`bench --train`, at the images per forward pass training uses).

Usage: check_training.py SWIFT_DARKNET
"""
import glob
import json
import os
import re
import subprocess
import sys
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref  # noqa: E402

EPOCHS = 15
REQUIRED = 0.90
IMAGES_PER_PASS = 8


def conv(filters, size=3, stride=1):
    return ("[convolutional]\nbatch_normalize=1\nfilters=%d\nsize=%d\nstride=%d\npad=%d\nactivation={activation}\n\n"
            % (filters, size, stride, 1 if size > 1 else 0))


NET = """[net]
batch=16
subdivisions=2
width=32
height=32
channels=3
learning_rate=0.002
adam=1
decay=0.0005
policy=steps
steps=1100,1350
scales=.1,.1
saturation=1.5
exposure=1.5
hue=.1
min_crop=32
max_crop=36

"""
C3 = (conv(32, 1) + conv(32, 1) + conv(32) + "[shortcut]\nfrom=-3\nactivation=linear\n\n"
      + "[route]\nlayers=-5\n\n" + conv(32, 1) + "[route]\nlayers=-1,-3\n\n" + conv(64, 1))
SPPF = conv(32, 1) + "[maxpool]\nsize=5\nstride=1\n\n" * 3 + "[route]\nlayers=-1,-2,-3,-4\n\n" + conv(64, 1)
CFG = (NET + conv(16) + "[maxpool]\nsize=2\nstride=2\n\n" + conv(32) + "[maxpool]\nsize=2\nstride=2\n\n" + C3
       + conv(64, 3, 2) + SPPF + "[avgpool]\n\n[connected]\noutput=4\nactivation=linear\n\n[softmax]\n")


def opencv_probabilities(cfg, weights, images):
    """OpenCV's Darknet importer on each image: the last layer's outputs."""
    net = cv2.dnn.readNetFromDarknet(cfg, weights)
    outputs = []
    for image in images:
        net.setInput(image[None])
        outputs.append(net.forward().reshape(-1))
    return np.stack(outputs)


def train_and_check(binary, scratch, data, activation, failures):
    name = "shapes-" + activation
    cfg = os.path.join(scratch, name + ".cfg")
    with open(cfg, "w") as f:
        f.write(CFG.format(activation=activation))
    out = os.path.join(scratch, "out-" + activation)

    start = time.time()
    training = subprocess.run([binary, "train", cfg, "--data", data, "--out", out, "--epochs", str(EPOCHS), "--seed", "1"],
                              capture_output=True, text=True)
    seconds = time.time() - start
    if training.returncode != 0:
        failures.append("%s: train failed (%d): %s" % (activation, training.returncode, training.stderr.strip()))
        return
    figures = [float(m) for m in re.findall(r"^epoch \d+: validation top-1 ([0-9.]+)$", training.stdout, re.M)]
    speeds = [float(m) for m in re.findall(r" ([0-9.]+) images/s,", training.stdout)]
    if len(figures) != EPOCHS:
        failures.append("%s: expected %d validation figures, got %d" % (activation, EPOCHS, len(figures)))
    print("%s: trained %d epochs in %.0f s: validation top-1 by epoch %s"
          % (activation, EPOCHS, seconds, " ".join("%.3f" % f for f in figures)))
    if not figures or figures[-1] < REQUIRED:
        failures.append("%s: final validation top-1 %s is below %.2f" % (activation, figures[-1] if figures else None, REQUIRED))

    # A peer loads the final weights and must predict what we predict.
    weights = os.path.join(out, name + "_final.weights")
    with open(os.path.join(out, name + ".names")) as f:
        names = f.read().split()
    paths = sorted(glob.glob(os.path.join(data, "val", "*", "*.png")))
    labels = [names.index(os.path.basename(os.path.dirname(p))) for p in paths]
    images = np.stack([darknet_ref.load_image(p) for p in paths]).astype(np.float32)
    np.save(os.path.join(scratch, "val.npy"), images)
    ours_dir = os.path.join(scratch, "ours-" + activation)
    subprocess.run([binary, "run", cfg, weights, "--input", os.path.join(scratch, "val.npy"), "--out", ours_dir], check=True)
    ours = np.load(sorted(glob.glob(os.path.join(ours_dir, "layer_*.npy")))[-1]).reshape(len(paths), -1)
    if activation == "leaky":
        peer = "libdarknet"
        reference = darknet_ref.Network(darknet_ref.inference_cfg(cfg), weights)
        theirs = np.stack([reference.predict(image)[-1].reshape(-1) for image in images])
    else:
        peer = "OpenCV"
        theirs = opencv_probabilities(cfg, weights, images)
    difference = float(np.abs(ours - theirs).max())
    agree = int((ours.argmax(1) == theirs.argmax(1)).sum())
    accuracy = float((theirs.argmax(1) == np.array(labels)).mean())
    print("%s: %s on the final weights: %d of %d validation images classified alike, max |Δp| %.2e; its top-1 %.3f"
          % (activation, peer, agree, len(paths), difference, accuracy))
    if difference > 1e-4 or agree != len(paths):
        failures.append("%s: %s's probabilities differ from ours by %.2e (%d of %d argmax alike)"
                        % (activation, peer, difference, agree, len(paths)))

    # classify reads the .names train wrote beside the weights and preprocesses as validation.
    classify = subprocess.run([binary, "classify", cfg, weights] + [os.path.join(data, "val", n) for n in names] + ["--top", "1", "--json"],
                              capture_output=True, text=True, check=True)
    classified = json.loads(classify.stdout)
    right = sum(item["top"][0]["class"] == os.path.basename(os.path.dirname(item["image"])) for item in classified)
    print("%s: classify on the validation folder: %d of %d right (%.3f)" % (activation, right, len(classified), right / len(classified)))
    if len(classified) != len(paths) or (figures and abs(right / len(classified) - figures[-1]) > 1e-6):
        failures.append("%s: classify's top-1 %d of %d differs from train's last validation figure %s"
                        % (activation, right, len(classified), figures[-1:]))

    train_ms = 1000 / float(np.median(speeds[len(speeds) // 2:])) if speeds else float("nan")
    print("%s: training ran at %.3f ms per image, PNG loading and augmentation included" % (activation, train_ms))
    bench = subprocess.run([binary, "bench", cfg, weights, "--train", "--batch", str(IMAGES_PER_PASS), "--runs", "20"],
                           capture_output=True, text=True, check=True)
    print(bench.stdout.strip())


def main():
    binary = os.path.abspath(sys.argv[1])
    scratch = darknet_ref.scratch_directory("check_training-")
    data = os.path.join(scratch, "shapes")
    subprocess.run([sys.executable, os.path.join(darknet_ref.ROOT, "scripts", "make_shapes_dataset.py"), data,
                    "--size", "32", "--train", "400", "--val", "50", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    failures = []
    for activation in ["leaky", "swish"]:
        train_and_check(binary, scratch, data, activation, failures)
    if failures:
        sys.exit("\n".join(failures))
    print("training end to end: ok")


if __name__ == "__main__":
    main()
