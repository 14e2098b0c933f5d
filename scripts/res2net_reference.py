#!/usr/bin/env python3
"""An independent NumPy transcription of seed 003's PyTorch `Bottle2neck` (stype='normal',
stride 1) and `Triangle`, in eval mode, run against `swift-darknet run` on weights from our
`init`. Written from the seed's code, not from the Swift sources. Prints 'N passed, N failed'."""
import math
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")


def conv2d(x, weight, padding):
    """nn.Conv2d(bias=False, stride=1) on (C, H, W) with weight (O, C, k, k)."""
    out_channels, in_channels, k, _ = weight.shape
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    h = padded.shape[1] - k + 1
    w = padded.shape[2] - k + 1
    out = np.zeros((out_channels, h, w))
    for dy in range(k):
        for dx in range(k):
            patch = padded[:, dy:dy + h, dx:dx + w]
            out += np.einsum("oc,chw->ohw", weight[:, :, dy, dx], patch)
    return out


def batch_norm(x, bn):
    """nn.BatchNorm2d in eval mode (eps 1e-5), with the file's variance converted to what it
    means in Darknet's formula (√var + 1e-6 there, √(var + eps) here)."""
    beta, gamma, mean, var = bn
    var = (np.sqrt(var) + 1e-6) ** 2 - 1e-5
    return gamma[:, None, None] * (x - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-5) + beta[:, None, None]


def leaky(x):
    return np.where(x > 0, x, 0.1 * x)


class Reader:
    """Darknet's order per conv: beta, gamma, running_mean, running_var, then the kernel."""

    def __init__(self, floats):
        self.floats, self.offset = floats, 0

    def take(self, count):
        values = self.floats[self.offset:self.offset + count].astype(np.float64)
        self.offset += count
        return values

    def conv_bn(self, in_channels, out_channels, k):
        bn = [self.take(out_channels) for _ in range(4)]
        return bn, self.take(out_channels * in_channels * k * k).reshape(out_channels, in_channels, k, k)


def hierarchical(x, reader, planes, base_width, scale):
    """Bottle2neck.forward up to conv3: conv1, bn1, leaky; split; convs[i] on sp (+ spx[i]); cat."""
    width = int(math.floor(planes * (base_width / 64.0)))
    bn1, conv1 = reader.conv_bn(x.shape[0], width * scale, 1)
    out = leaky(batch_norm(conv2d(x, conv1, 0), bn1))
    spx = np.split(out, scale, axis=0)
    convs = [reader.conv_bn(width, width, 3) for _ in range(scale - 1)]
    pieces = []
    for i in range(scale - 1):
        sp = spx[i] if i == 0 else sp + spx[i]
        bn, conv = convs[i]
        sp = leaky(batch_norm(conv2d(sp, conv, 1), bn))
        pieces.append(sp)
    pieces.append(spx[scale - 1])
    return np.concatenate(pieces, axis=0), width


def bottle2neck(x, reader, planes, base_width=26, scale=4):
    out, width = hierarchical(x, reader, planes, base_width, scale)
    bn3, conv3 = reader.conv_bn(width * scale, planes * 2, 1)
    out = batch_norm(conv2d(out, conv3, 0), bn3)
    return out + x  # then the seed's linear activation (LeakyReLU(1.0))


def triangle(x, reader, planes, base_width=16, scale=4):
    return hierarchical(x, reader, planes, base_width, scale)[0]


def main():
    work = scratch_directory("res2net-reference-")
    cfg = os.path.join(work, "blocks.cfg")
    with open(cfg, "w") as f:
        f.write("[net]\nwidth=13\nheight=11\nchannels=64\n"
                "[res2net]\nplanes=32\n"
                "[res2net]\nplanes=32\nbase_width=48\nscale=3\n"
                "[triangle]\nplanes=64\n"
                "[triangle]\nplanes=40\nbase_width=26\nscale=5\n")
    weights = os.path.join(work, "blocks.weights")
    subprocess.run([BINARY, "init", cfg, weights, "--seed", "11"], check=True)
    x = np.random.default_rng(3).standard_normal((64, 11, 13)).astype(np.float32)
    np.save(os.path.join(work, "input.npy"), x)
    subprocess.run([BINARY, "run", cfg, weights, "--input", os.path.join(work, "input.npy"), "--layers", "all",
                    "--out", os.path.join(work, "out")], check=True)
    reader = Reader(np.fromfile(weights, dtype="<f4", offset=20))
    blocks = [("res2net planes=32", lambda v: bottle2neck(v, reader, 32)),
              ("res2net planes=32 base_width=48 scale=3", lambda v: bottle2neck(v, reader, 32, 48, 3)),
              ("triangle planes=64", lambda v: triangle(v, reader, 64)),
              ("triangle planes=40 base_width=26 scale=5", lambda v: triangle(v, reader, 40, 26, 5))]
    value = x.astype(np.float64)
    results = []
    for index, (name, block) in enumerate(blocks):
        value = block(value)
        ours = np.load(os.path.join(work, "out", "layer_%03d.npy" % index))
        error = float(np.max(np.abs(ours - value))) if ours.shape == value.shape else float("inf")
        tolerance = 1e-4 + 1e-3 * float(np.max(np.abs(value)))
        results.append(error <= tolerance)
        print("%s layer %d %s %s: error %.3g, tolerance %.3g" % ("ok  " if results[-1] else "FAIL", index, name, ours.shape, error, tolerance))
    leftover = reader.floats.size - reader.offset
    results.append(leftover == 0)
    print("%s the reference read every float of the file (%d left)" % ("ok  " if leftover == 0 else "FAIL", leftover))
    print("res2net: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
