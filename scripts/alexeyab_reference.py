#!/usr/bin/env python3
"""An independent NumPy transcription of what AlexeyAB's darknet computes for its activations
(mish, hard_mish, gelu, swish, normalize_channels*), its batch-norm and 4·C [batchnorm], and
its [yolo] scale_x_y / new_coords, box decoding, stretch and letterbox resizing and DIoU
suppression (greedynms, diounms), and [Gaussian_yolo]'s activation, its boxes (yolo_point), their
σ and the probabilities they scale. Written from AlexeyAB's formulas (activations.h/.c,
blas.c normalize_cpu, yolo_layer.c, gaussian_yolo_layer.c, box.c, image.c), not from the Swift
sources. Three small cfgs
of our own run through `swift-darknet run` (every layer) and `swift-darknet detect`, on weights
from our `init`. Prints 'N passed, N failed'."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")

BODY = """[net]
width=24
height=16
channels=3
{net}
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=mish
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=hard_mish
[convolutional]
filters=6
size=1
activation=normalize_channels_softmax_maxval
[convolutional]
filters=6
size=1
batch_normalize=1
activation=normalize_channels
[convolutional]
filters=6
size=1
activation=normalize_channels_softmax
[convolutional]
filters=8
size=3
stride=2
pad=1
batch_normalize=1
activation=gelu
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=swish
[batchnorm]
[convolutional]
filters={filters}
size=1
activation={head}
[{kind}]
mask=0,1,2
anchors=4,6, 8,5, 10,12
classes=2
num=3
{yolo}
"""
NETWORKS = {
    "stretch, scale_x_y, greedynms": dict(net="", head="linear", yolo="scale_x_y=1.1\nnms_kind=greedynms\nbeta_nms=0.6",
                                          new_coords=False, scale=1.1, exponent=0.6, letterbox=False),
    "letter_box=1, new_coords, diounms": dict(net="letter_box=1", head="logistic",
                                              yolo="new_coords=1\nscale_x_y=2.0\nnms_kind=diounms\nbeta_nms=0.3",
                                              new_coords=True, scale=2.0, exponent=0.3, letterbox=True),
    "Gaussian_yolo, letter_box=1, yolo_point=left_top": dict(
        net="letter_box=1", head="linear", kind="Gaussian_yolo", filters=33, gaussian=True, point="left_top",
        yolo="scale_x_y=1.05\nyolo_point=left_top\nnms_kind=diounms\nbeta_nms=0.8",
        new_coords=False, scale=1.05, exponent=0.8, letterbox=True),
}
for _options in NETWORKS.values():
    _options.setdefault("kind", "yolo")
    _options.setdefault("filters", 21)
    _options.setdefault("gaussian", False)
    _options.setdefault("point", "center")


def logistic(x):
    return 1 / (1 + np.exp(-x))


def activate(x, name):
    """activations.h and activations.c; x is (C, H, W)."""
    if name == "linear":
        return x
    if name == "logistic":
        return logistic(x)
    if name == "mish":
        softplus = np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))
        return x * np.tanh(softplus)
    if name == "hard_mish":
        return np.where(x > 0, x, np.where(x > -2, x * x / 2 + x, 0))
    if name == "gelu":
        return 0.5 * x * (1 + np.tanh(0.797885 * x + 0.035677 * x ** 3))
    if name == "swish":
        return x * logistic(x)
    if name == "normalize_channels":
        positive = np.maximum(x, 0)
        return positive / (1e-4 + positive.sum(axis=0))
    if name == "normalize_channels_softmax":
        e = np.exp(x)
        return e / (1e-4 + e.sum(axis=0))
    if name == "normalize_channels_softmax_maxval":
        e = np.exp(x - x.max(axis=0))
        return e / (1e-4 + e.sum(axis=0))
    raise ValueError(name)


class Reader:
    def __init__(self, floats):
        self.floats, self.offset = floats.astype(np.float64), 0

    def take(self, count):
        self.offset += count
        return self.floats[self.offset - count:self.offset]


def batch_norm(x, scales, mean, variance, biases):
    """blas.c normalize_cpu: (x − mean)/√(var + 1e-5), then scale and bias."""
    c = lambda v: v[:, None, None]
    return c(scales) * (x - c(mean)) / np.sqrt(c(variance) + 1e-5) + c(biases)


def convolution(x, reader, filters, size, stride, pad, bn, activation):
    channels = x.shape[0]
    biases = reader.take(filters)
    if bn:
        scales, mean, variance = reader.take(filters), reader.take(filters), reader.take(filters)
    weights = reader.take(filters * channels * size * size).reshape(filters, channels, size, size)
    padding = size // 2 if pad else 0
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    out_h = (x.shape[1] + 2 * padding - size) // stride + 1
    out_w = (x.shape[2] + 2 * padding - size) // stride + 1
    out = np.zeros((filters, out_h, out_w))
    for dy in range(size):
        for dx in range(size):
            patch = padded[:, dy:dy + stride * (out_h - 1) + 1:stride, dx:dx + stride * (out_w - 1) + 1:stride]
            out += np.einsum("oc,chw->ohw", weights[:, :, dy, dx], patch)
    out = batch_norm(out, scales, mean, variance, biases) if bn else out + biases[:, None, None]
    return activate(out, activation)


def yolo(x, new_coords, scale):
    """forward_yolo_layer: logistic on x, y, objectness and classes unless new_coords, then
    x, y scaled about 0.5."""
    out = x.copy().reshape(3, 7, *x.shape[1:])
    if not new_coords:
        out[:, [0, 1, 4, 5, 6]] = logistic(out[:, [0, 1, 4, 5, 6]])
    out[:, :2] = out[:, :2] * scale - (scale - 1) / 2
    return out.reshape(x.shape)


def gaussian_yolo(x, scale):
    """forward_gaussian_yolo_layer: per anchor μx, σx, μy, σy, μw, σw, μh, σh, objectness,
    classes; the logistic on all but μw and μh, then μx, μy scaled about 0.5."""
    out = x.copy().reshape(3, 11, *x.shape[1:])
    activated = [0, 1, 2, 3, 5, 7, 8, 9, 10]
    out[:, activated] = logistic(out[:, activated])
    out[:, [0, 2]] = out[:, [0, 2]] * scale - (scale - 1) / 2
    return out.reshape(x.shape)


def forward(x, reader, options):
    layers = []
    spec = [(8, 3, 1, True, True, "mish"), (8, 3, 1, True, True, "hard_mish"),
            (6, 1, 1, False, False, "normalize_channels_softmax_maxval"), (6, 1, 1, False, True, "normalize_channels"),
            (6, 1, 1, False, False, "normalize_channels_softmax"), (8, 3, 2, True, True, "gelu"), (8, 3, 1, True, True, "swish")]
    for filters, size, stride, pad, bn, activation in spec:
        x = convolution(x, reader, filters, size, stride, pad, bn, activation)
        layers.append(x)
    channels = x.shape[0]
    biases, scales, mean, variance = (reader.take(channels) for _ in range(4))  # AlexeyAB's [batchnorm]: 4·C
    x = batch_norm(x, scales, mean, variance, biases)
    layers.append(x)
    x = convolution(x, reader, options["filters"], 1, 1, False, False, options["head"])
    layers.append(x)
    layers.append(gaussian_yolo(x, options["scale"]) if options["gaussian"] else yolo(x, options["new_coords"], options["scale"]))
    return layers


def resize(image, w, h):
    """image.c resize_image: bilinear, columns then rows, corners sampled exactly; float32."""
    c, ih, iw = image.shape
    image = image.astype(np.float32)
    part = np.zeros((c, ih, w), np.float32)
    w_scale = np.float32(iw - 1) / np.float32(w - 1)
    h_scale = np.float32(ih - 1) / np.float32(h - 1)
    for col in range(w):
        if col == w - 1 or iw == 1:
            part[:, :, col] = image[:, :, iw - 1]
        else:
            sx = np.float32(col) * w_scale
            ix = int(sx)
            dx = np.float32(sx - ix)
            part[:, :, col] = (1 - dx) * image[:, :, ix] + dx * image[:, :, ix + 1]
    out = np.zeros((c, h, w), np.float32)
    for row in range(h):
        sy = np.float32(row) * h_scale
        iy = int(sy)
        dy = np.float32(sy - iy)
        out[:, row] = (1 - dy) * part[:, iy]
        if row != h - 1 and ih != 1:
            out[:, row] += dy * part[:, iy + 1]
    return out


def letterbox_size(iw, ih, w, h):
    if w / iw < h / ih:
        return w, max(1, ih * w // iw)
    return max(1, iw * h // ih), h


def letterbox(image, w, h):
    """image.c letterbox_image: resized to fit, centred on 0.5."""
    new_w, new_h = letterbox_size(image.shape[2], image.shape[1], w, h)
    canvas = np.full((image.shape[0], h, w), 0.5, np.float32)
    top, left = (h - new_h) // 2, (w - new_w) // 2
    canvas[:, top:top + new_h, left:left + new_w] = resize(image, new_w, new_h)
    return canvas


def detections(output, options, image_w, image_h, thresh, nms):
    """get_yolo_detections (get_gaussian_yolo_detections), correct_yolo_boxes and diounms_sort.
    Each found object is (class, probability, corners, σ of x, y, w, h or None)."""
    anchors = [(4, 6), (8, 5), (10, 12)]
    _, lh, lw = output.shape
    gaussian = options["gaussian"]
    out = output.reshape(3, 11 if gaussian else 7, lh, lw)
    candidates = []
    for row in range(lh):
        for col in range(lw):
            for n in range(3):
                objectness = out[n, 8 if gaussian else 4, row, col]
                if objectness <= thresh:
                    continue
                tx, ty, tw, th = out[n, [0, 2, 4, 6] if gaussian else [0, 1, 2, 3], row, col]
                if options["new_coords"]:
                    w, h = tw * tw * 4 * anchors[n][0] / 24, th * th * 4 * anchors[n][1] / 16
                else:
                    w, h = np.exp(tw) * anchors[n][0] / 24, np.exp(th) * anchors[n][1] / 16
                box = [(col + tx) / lw, (row + ty) / lh, w, h]
                if options["point"] == "left_top":
                    box = [box[0] + w / 2, box[1] + h / 2, w, h]
                elif options["point"] == "right_bottom":
                    box = [box[0] - w / 2, box[1] - h / 2, w, h]
                if options["letterbox"]:
                    new_w, new_h = letterbox_size(image_w, image_h, 24, 16)
                    box = [(box[0] - (24 - new_w) / 2 / 24) / (new_w / 24), (box[1] - (16 - new_h) / 2 / 16) / (new_h / 16),
                           box[2] * 24 / new_w, box[3] * 16 / new_h]
                sigma = list(out[n, [1, 3, 5, 7], row, col]) if gaussian else None
                certainty = 1 - sum(sigma) / 4 if gaussian else 1
                probs = [objectness * out[n, (9 if gaussian else 5) + k, row, col] * certainty for k in range(2)]
                candidates.append([box, [p if p > thresh else 0 for p in probs], sigma])

    def diou(a, b):
        def iou():
            ow = min(a[0] + a[2] / 2, b[0] + b[2] / 2) - max(a[0] - a[2] / 2, b[0] - b[2] / 2)
            oh = min(a[1] + a[3] / 2, b[1] + b[3] / 2) - max(a[1] - a[3] / 2, b[1] - b[3] / 2)
            inter = 0 if ow < 0 or oh < 0 else ow * oh
            return inter / (a[2] * a[3] + b[2] * b[3] - inter)
        cw = max(a[0] + a[2] / 2, b[0] + b[2] / 2) - min(a[0] - a[2] / 2, b[0] - b[2] / 2)
        ch = max(a[1] + a[3] / 2, b[1] + b[3] / 2) - min(a[1] - a[3] / 2, b[1] - b[3] / 2)
        c = cw * cw + ch * ch
        d = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
        return iou() - (d / c) ** options["exponent"]

    for k in range(2):
        candidates.sort(key=lambda cand: -cand[1][k])
        for i in range(len(candidates)):
            if candidates[i][1][k] == 0:
                continue
            for j in range(i + 1, len(candidates)):
                if diou(candidates[i][0], candidates[j][0]) > nms:
                    candidates[j][1][k] = 0
    found = []
    clamp = lambda v, size: min(max(v, 0), size - 1)
    for box, probs, sigma in candidates:
        for k, p in enumerate(probs):
            if p > thresh:
                found.append((k, p, [clamp((box[0] - box[2] / 2) * image_w, image_w), clamp((box[1] - box[3] / 2) * image_h, image_h),
                                     clamp((box[0] + box[2] / 2) * image_w, image_w), clamp((box[1] + box[3] / 2) * image_h, image_h)],
                              sigma))
    return found


def main():
    work = scratch_directory("alexeyab-reference-")
    rng = np.random.default_rng(5)
    # An image of another size and aspect than the 24×16 input, so that resizing is exercised.
    pixels = rng.integers(0, 256, (30, 41, 3), dtype=np.uint8)
    image_path = os.path.join(work, "image.png")
    cv2.imwrite(image_path, cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    image = pixels.transpose(2, 0, 1).astype(np.float32) / 255
    with open(os.path.join(work, "names"), "w") as f:
        f.write("a\nb\n")
    results = []
    for seed, (name, options) in enumerate(NETWORKS.items(), start=21):
        cfg = os.path.join(work, "network%d.cfg" % seed)
        with open(cfg, "w") as f:
            f.write(BODY.format(**options))
        weights = os.path.join(work, "network%d.weights" % seed)
        subprocess.run([BINARY, "init", cfg, weights, "--seed", str(seed)], check=True)
        reader = Reader(np.fromfile(weights, dtype="<f4", offset=20))
        x = rng.uniform(-2, 2, (3, 16, 24)).astype(np.float32)
        np.save(os.path.join(work, "input.npy"), x)
        out = os.path.join(work, "out%d" % seed)
        subprocess.run([BINARY, "run", cfg, weights, "--input", os.path.join(work, "input.npy"), "--layers", "all", "--out", out],
                       check=True)
        reference = forward(x.astype(np.float64), reader, options)
        leftover = reader.floats.size - reader.offset
        results.append(leftover == 0)
        print("%s %s: the reference read every float of the file (%d left)" % ("ok  " if leftover == 0 else "FAIL", name, leftover))
        for index, value in enumerate(reference):
            ours = np.load(os.path.join(out, "layer_%03d.npy" % index))
            error = float(np.max(np.abs(ours - value))) if ours.shape == value.shape else float("inf")
            tolerance = 1e-4 + 1e-3 * float(np.max(np.abs(value)))
            results.append(error <= tolerance)
            print("%s %s: layer %d %s error %.3g, tolerance %.3g" % ("ok  " if results[-1] else "FAIL", name, index, ours.shape, error, tolerance))

        # Detection: the image resized (stretched, or letterboxed as letter_box=1 asks), the
        # reference forward pass, decoding and suppression, against `detect` without --resize.
        thresh, nms = 0.3, 0.45
        sized = letterbox(image, 24, 16) if options["letterbox"] else resize(image, 24, 16)
        reader = Reader(np.fromfile(weights, dtype="<f4", offset=20))
        expected = detections(forward(sized.astype(np.float64), reader, options)[-1], options, 41, 30, thresh, nms)
        result = subprocess.run([BINARY, "detect", cfg, weights, image_path, "--thresh", str(thresh), "--nms", str(nms), "--json",
                                 "--names", os.path.join(work, "names"), "--out", os.path.join(work, "drawn")],
                                capture_output=True, text=True, check=True)
        got = [(d["class_id"], d["prob"], d["box"], d.get("uncertainty")) for d in json.loads(result.stdout)[0]["detections"]]
        unmatched, worst_prob, worst_corner, worst_sigma = 0, 0.0, 0.0, 0.0
        remaining = list(got)
        for k, p, box, sigma in expected:
            match = min((g for g in remaining if g[0] == k and abs(g[1] - p) < 1e-3),
                        key=lambda g: max(abs(a - b) for a, b in zip(g[2], box)), default=None)
            if match is None:
                unmatched += 1
                continue
            remaining.remove(match)
            worst_prob = max(worst_prob, abs(match[1] - p))
            worst_corner = max(worst_corner, max(abs(a - b) for a, b in zip(match[2], box)))
            if (sigma is None) != (match[3] is None):
                worst_sigma = float("inf")
            elif sigma is not None:
                worst_sigma = max(worst_sigma, max(abs(a - b) for a, b in zip(match[3], sigma)))
        ok = len(got) == len(expected) and unmatched == 0 and worst_corner <= 0.5 and worst_sigma <= 1e-3 and len(expected) > 0
        results.append(ok)
        print("%s %s: detect %d objects, reference %d, unmatched %d, worst prob %.2g, worst corner %.3g px, worst σ %.2g"
              % ("ok  " if ok else "FAIL", name, len(got), len(expected), unmatched, worst_prob, worst_corner, worst_sigma))
    print("alexeyab: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
