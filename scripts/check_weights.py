#!/usr/bin/env python3
"""Weights files against libdarknet and OpenCV:
- files libdarknet writes (random init, save_weights) come back byte-identical through `convert`;
- `convert --cutoff 74 --reset-seen` equals `darknet partial darknet53.cfg W OUT 74`, and that
  prefix loads into yolov3.cfg only with --prefix;
- files we write (a 16-byte v0.1 header) load in libdarknet and OpenCV with the same floats.
Prints 'N passed, N failed'."""
import filecmp
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(darknet_ref.ROOT, ".build", "debug", "swift-darknet")
WORK = darknet_ref.scratch_directory("swift-darknet-weights-")
results = []


def ours(*args):
    return subprocess.run([BINARY] + list(args), capture_output=True, text=True)


def in_child(code):
    """Runs libdarknet in a child process: it exits on errors and never frees its networks."""
    prelude = "import sys; sys.path.insert(0, %r); import darknet_ref, numpy as np\n" % os.path.dirname(os.path.abspath(__file__))
    run = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-800:])
    return run.stdout


def check(name, ok, detail=""):
    results.append(ok)
    print("%s %s%s" % ("ok  " if ok else "FAIL", name, "" if ok else ": " + detail))


def darknet_written(model):
    cfg = darknet_ref.inference_cfg(os.path.join(darknet_ref.DARKNET_CFG, model + ".cfg"))
    weights = os.path.join(WORK, model + ".weights")
    in_child("darknet_ref.Network(%r).save(%r, seen=123456789)" % (cfg, weights))
    return cfg, weights


for model in ["yolov3", "yolov3-tiny", "darknet53", "yolov3-spp"]:
    cfg, weights = darknet_written(model)
    out = os.path.join(WORK, model + ".ours.weights")
    run = ours("convert", cfg, weights, out)
    check("%s: libdarknet's file byte-identical through convert" % model,
          run.returncode == 0 and filecmp.cmp(weights, out, shallow=False), run.stderr)
    run = ours("inspect", cfg, weights)
    check("%s: inspect says exact fit" % model, run.returncode == 0 and "verdict: exact fit" in run.stdout, run.stdout[-300:])

# darknet partial: the first 74 layers of darknet53, seen reset to 0 (partial loads with clear=1).
cfg, weights = darknet_written("darknet53")
reference = os.path.join(WORK, "darknet53.conv.74")
subprocess.run(["darknet", "partial", cfg, weights, reference, "74"], capture_output=True, check=True)
prefix = os.path.join(WORK, "darknet53.conv.74.ours")
run = ours("convert", cfg, weights, prefix, "--cutoff", "74", "--reset-seen")
check("darknet53: convert --cutoff 74 --reset-seen equals darknet partial",
      run.returncode == 0 and filecmp.cmp(reference, prefix, shallow=False), run.stderr)
yolo = os.path.join(darknet_ref.ROOT, "cfg", "yolov3.cfg")
plain = ours("inspect", yolo, prefix)
explicit = ours("inspect", yolo, prefix, "--prefix")
check("darknet53.conv.74 into yolov3.cfg: refused without --prefix",
      plain.returncode == 1 and "a prefix of 75 layers: use --prefix" in plain.stdout, plain.stdout[-300:])
check("darknet53.conv.74 into yolov3.cfg: loads with --prefix",
      explicit.returncode == 0 and "verdict: prefix fit, layers 0..<75" in explicit.stdout, explicit.stdout[-300:])

# Files we write: a v0.1 file (16-byte header, 32-bit seen) read back by libdarknet and OpenCV.
cfg, weights = darknet_written("yolov3-tiny")
old = os.path.join(WORK, "yolov3-tiny.v01.weights")
run = ours("convert", cfg, weights, old, "--version", "0.1.0")
check("convert --version 0.1.0 writes a 16-byte header",
      run.returncode == 0 and os.path.getsize(old) == os.path.getsize(weights) - 4, run.stderr)
resaved = os.path.join(WORK, "yolov3-tiny.resaved.weights")
in_child("darknet_ref.Network(%r, %r).save(%r)" % (cfg, old, resaved))
body_ours = np.fromfile(old, dtype="<f4", offset=16)
body_darknet = np.fromfile(resaved, dtype="<f4", offset=20)
check("libdarknet loads our v0.1 file: same floats", np.array_equal(body_ours, body_darknet))
seen = np.fromfile(resaved, dtype="<u8", count=1, offset=12)[0]
check("libdarknet reads our 32-bit seen", seen == 123456789, str(seen))

import cv2
net = cv2.dnn.readNetFromDarknet(cfg, old)
kernel = net.getParam("conv_0", 0)
# Our file: layer 0 is conv with BN: 16 biases, 16 scales, 16 means, 16 variances, then 16·3·3·3 weights.
expected = body_ours[64:64 + 16 * 27].reshape(16, 3, 3, 3)
check("OpenCV loads our v0.1 file: conv_0 kernel equal", kernel.shape == expected.shape and np.array_equal(kernel, expected),
      str(kernel.shape))

print("weights: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
sys.exit(0 if all(results) else 1)
