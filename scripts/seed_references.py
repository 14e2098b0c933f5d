#!/usr/bin/env python3
"""Independent NumPy transcriptions (eval mode) of two seeds' PyTorch models, run against
`swift-darknet run` on weights from our `init`:
- seed 002's YoloBody(backbone="mobilenetv2"): torchvision's MobileNetV2 features[:18] and the
  YOLOv3 head; compared at its three raw outputs (the convs before our [yolo] layers);
- seed 004's YOLOv5_backbone classifier (Conv/C3/SPPF, flatten → 100 → 4): compared at the
  SPPF output and the class scores.
Written from the seeds' code, not from the Swift sources; weights are read in each module's
forward order, in Darknet's layout (BN β, γ, running mean, running var, then the kernel;
a biased conv or Linear: bias, then weights). Prints 'N passed, N failed'."""
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")


class Weights:
    def __init__(self, path):
        self.floats = np.fromfile(path, dtype="<f4", offset=20).astype(np.float64)
        self.offset = 0

    def take(self, *shape):
        count = int(np.prod(shape))
        values = self.floats[self.offset:self.offset + count].reshape(shape)
        self.offset += count
        return values


def conv2d(x, weight, stride, padding, groups):
    """nn.Conv2d without bias on (C, H, W)."""
    out_channels, per_group, k, _ = weight.shape
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    h = (padded.shape[1] - k) // stride + 1
    w = (padded.shape[2] - k) // stride + 1
    out = np.zeros((out_channels, h, w))
    outs_per_group = out_channels // groups
    for dy in range(k):
        for dx in range(k):
            patch = padded[:, dy:dy + stride * (h - 1) + 1:stride, dx:dx + stride * (w - 1) + 1:stride]
            if groups == 1:
                out += np.einsum("oc,chw->ohw", weight[:, :, dy, dx], patch)
            elif per_group == 1 and outs_per_group == 1:  # depthwise
                out += weight[:, 0, dy, dx][:, None, None] * patch
            else:
                for g in range(groups):
                    o = slice(g * outs_per_group, (g + 1) * outs_per_group)
                    out[o] += np.einsum("oc,chw->ohw", weight[o, :, dy, dx], patch[g * per_group:(g + 1) * per_group])
    return out


def darknet_variance(var, eps=1e-5):
    """Darknet divides by √var + 1e-6, PyTorch by √(var + eps): a file's variance means, in
    PyTorch's BatchNorm2d, (√var + 1e-6)² − eps. Without this conversion the two formulas
    differ by ~4e-6 relative per layer, which a deep random network amplifies past the
    tolerance (MobileNetV2: ×2 per layer)."""
    return (np.sqrt(var) + 1e-6) ** 2 - eps


def conv_bn(x, weights, out_channels, k, stride=1, padding=None, groups=1, eps=1e-5):
    """Conv2d(bias=False) + BatchNorm2d (eval) with weights in Darknet's order."""
    beta, gamma, mean, var = (weights.take(out_channels) for _ in range(4))
    var = darknet_variance(var, eps)
    kernel = weights.take(out_channels, x.shape[0] // groups, k, k)
    y = conv2d(x, kernel, stride, (k - 1) // 2 if padding is None else padding, groups)
    return gamma[:, None, None] * (y - mean[:, None, None]) / np.sqrt(var[:, None, None] + eps) + beta[:, None, None]


relu6 = lambda x: np.clip(x, 0, 6)
leaky = lambda x: np.where(x > 0, x, 0.1 * x)
silu = lambda x: x / (1 + np.exp(-x))


# ---- seed 002: MobileNetV2 backbone + YOLOv3 head ---------------------------------------

def inverted_residual(x, weights, oup, stride, expand_ratio):
    inp = x.shape[0]
    hidden = int(round(inp * expand_ratio))
    y = x
    if expand_ratio != 1:
        y = relu6(conv_bn(y, weights, hidden, 1))                        # pointwise
    y = relu6(conv_bn(y, weights, hidden, 3, stride, groups=hidden))     # depthwise
    y = conv_bn(y, weights, oup, 1)                                      # pointwise-linear
    return x + y if stride == 1 and inp == oup else y


def mobilenet_v2_features(x, weights):
    """features[:7], features[7:14], features[14:18] of torchvision's MobileNetV2."""
    x = relu6(conv_bn(x, weights, 32, 3, 2))
    setting = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    outputs, feature = [], 0
    for t, c, n, s in setting:
        for i in range(n):
            x = inverted_residual(x, weights, c, s if i == 0 else 1, t)
            feature += 1
            if feature in (6, 13, 17):
                outputs.append(x)
    return outputs


def head_conv(x, weights, filters, k):
    return leaky(conv_bn(x, weights, filters, k))


def last_layers(x, weights, filters, out_filter):
    """make_last_layers: returns (branch after five convs, final output)."""
    for k, f in [(1, filters[0]), (3, filters[1]), (1, filters[0]), (3, filters[1]), (1, filters[0])]:
        x = head_conv(x, weights, f, k)
    branch = x
    x = head_conv(x, weights, filters[1], 3)
    bias = weights.take(out_filter)
    kernel = weights.take(out_filter, x.shape[0], 1, 1)
    return branch, conv2d(x, kernel, 1, 0, 1) + bias[:, None, None]


def upsample(x):
    return x.repeat(2, axis=1).repeat(2, axis=2)


def yolo_body(x, weights, num_classes=20):
    x2, x1, x0 = mobilenet_v2_features(x, weights)
    out_filter = 3 * (num_classes + 5)
    branch0, out0 = last_layers(x0, weights, [512, 1024], out_filter)
    x1_in = np.concatenate([upsample(head_conv(branch0, weights, 256, 1)), x1], axis=0)
    branch1, out1 = last_layers(x1_in, weights, [256, 512], out_filter)
    x2_in = np.concatenate([upsample(head_conv(branch1, weights, 128, 1)), x2], axis=0)
    _, out2 = last_layers(x2_in, weights, [128, 256], out_filter)
    return out0, out1, out2


# ---- seed 004: YOLOv5 backbone classifier ----------------------------------------------

def conv_silu(x, weights, c2, k=1, s=1, p=None):
    return silu(conv_bn(x, weights, c2, k, s, p if p is not None else k // 2))


def c3(x, weights, c2):
    c_ = c2 // 2
    a = conv_silu(x, weights, c_)                                        # cv1
    m = a + conv_silu(conv_silu(a, weights, c_), weights, c_, 3)         # Bottleneck(e=1.0), shortcut
    b = conv_silu(x, weights, c_)                                        # cv2
    return conv_silu(np.concatenate([m, b], axis=0), weights, c2)        # cv3


def maxpool5(x):
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2)), constant_values=-np.inf)
    h, w = x.shape[1:]
    return np.max([padded[:, dy:dy + h, dx:dx + w] for dy in range(5) for dx in range(5)], axis=0)


def sppf(x, weights, c2):
    x = conv_silu(x, weights, x.shape[0] // 2)
    y1 = maxpool5(x)
    y2 = maxpool5(y1)
    return conv_silu(np.concatenate([x, y1, y2, maxpool5(y2)], axis=0), weights, c2)


def linear(x, weights, out_features):
    bias = weights.take(out_features)
    return weights.take(out_features, x.size) @ x.reshape(-1) + bias


def yolov5_classifier(x, weights):
    x = conv_silu(x, weights, 64, 3, 2, 2)
    for c in (128, 256, 512, 1024):
        x = conv_silu(x, weights, c, 3, 2)
        x = c3(x, weights, c)
    features = sppf(x, weights, 1024)
    scores = linear(np.maximum(linear(features, weights, 100), 0), weights, 4)
    return features, scores


# ---- comparison -----------------------------------------------------------------------

def run_ours(cfg, work, seed):
    name = os.path.basename(cfg)[:-4]
    weights = os.path.join(work, name + ".weights")
    subprocess.run([BINARY, "init", cfg, weights, "--seed", str(seed)], check=True)
    summary = json.loads(subprocess.run([BINARY, "summary", cfg, "--json"], capture_output=True, text=True, check=True).stdout)
    c, h, w = summary["layers"][0]["input"]
    image = np.random.default_rng(seed).random((c, h, w), dtype=np.float32)
    np.save(os.path.join(work, name + ".npy"), image)
    out = os.path.join(work, name)
    subprocess.run([BINARY, "run", cfg, weights, "--input", os.path.join(work, name + ".npy"), "--layers", "all", "--out", out], check=True)
    return image.astype(np.float64), Weights(weights), lambda i: np.load(os.path.join(out, "layer_%03d.npy" % i))


def compare(label, ours, reference):
    reference = reference.reshape(ours.shape)
    error = float(np.max(np.abs(ours - reference)))
    tolerance = 1e-4 + 1e-3 * float(np.max(np.abs(reference)))
    ok = error <= tolerance
    print("%s %s %s: error %.3g, tolerance %.3g" % ("ok  " if ok else "FAIL", label, ours.shape, error, tolerance), flush=True)
    return ok


def main():
    work = scratch_directory("seed-references-")
    results = []

    image, weights, layer = run_ours(os.path.join(ROOT, "cfg", "yolov3-mobilenetv2.cfg"), work, 21)
    outputs = yolo_body(image, weights)
    for name, index, reference in zip(["out0 13×13", "out1 26×26", "out2 52×52"], [67, 79, 91], outputs):
        results.append(compare("MobileNetV2-YOLOv3 %s (layer %d)" % (name, index), layer(index), reference))
    results.append(weights.offset == weights.floats.size)

    image, weights, layer = run_ours(os.path.join(ROOT, "cfg", "yolov5-backbone-cls.cfg"), work, 22)
    features, scores = yolov5_classifier(image, weights)
    results.append(compare("YOLOv5 backbone SPPF output (layer 42)", layer(42), features))
    results.append(compare("YOLOv5 classifier scores (layer 44)", layer(44), scores))
    results.append(weights.offset == weights.floats.size)
    print("%s both references read every float of their files" % ("ok  " if results[3] and results[-1] else "FAIL"))
    print("seed references: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
