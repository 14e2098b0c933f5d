#!/usr/bin/env python3
"""An independent NumPy (float64, no autograd) forward and backward of Darknet's training step
for what Debian's libdarknet cannot train: `[res2net]`, `[triangle]`, and nets of seed 004's
YOLOv5 classifier kinds (conv + batch-norm + swish/mish, shortcut, routes, SPPF's padded 5x5
maxpools, connected, softmax) and MobileNetV2's (depthwise convs, relu6). Written from Darknet's
formulas (batch-norm's backward with sqrt(var + 1e-5) and N, deltas as -dL/dy,
`w += rate/batch * updates`), not from the Swift sources. Each net takes one `swift-darknet step`
with momentum 0, decay 0 and rate 1: the gradients are read out of the weights it writes,
(after - before) * batch, and the rolling statistics compared as they are.
Prints 'N passed, N failed'."""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")
HEADER_BYTES = 20  # major, minor, revision, then seen as 8 bytes (version 0.2)
BATCH = 3


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# (forward f(x), derivative from input x and output y), as Darknet and AlexeyAB define them.
ACTIVATIONS = {
    "linear": (lambda x: x, lambda x, y: np.ones_like(x)),
    "leaky": (lambda x: np.where(x > 0, x, 0.1 * x), lambda x, y: np.where(y > 0, 1.0, 0.1)),
    "logistic": (sigmoid, lambda x, y: y * (1 - y)),
    "tanh": (np.tanh, lambda x, y: 1 - y * y),
    "relu": (lambda x: np.maximum(x, 0), lambda x, y: (y > 0) * 1.0),
    "relu6": (lambda x: np.clip(x, 0, 6), lambda x, y: ((y > 0) & (y < 6)) * 1.0),
    "swish": (lambda x: x * sigmoid(x), lambda x, y: sigmoid(x) + y * (1 - sigmoid(x))),
    "mish": (lambda x: x * np.tanh(np.logaddexp(0, x)),
             lambda x, y: np.tanh(np.logaddexp(0, x)) + x * (1 - np.tanh(np.logaddexp(0, x)) ** 2) * sigmoid(x)),
}


class Params:
    """The weights file's floats in order; each layer takes its arrays, and the step's result
    is predicted array by array: trained arrays by their gradient, rolling statistics by value."""

    def __init__(self, floats):
        self.floats, self.offset, self.arrays = floats.astype(np.float64), 0, []

    def take(self, name, shape, trained):
        count = int(np.prod(shape))
        entry = {"name": name, "offset": self.offset, "count": count, "trained": trained,
                 "value": self.floats[self.offset:self.offset + count].reshape(shape).copy(), "grad": np.zeros(shape)}
        self.offset += count
        self.arrays.append(entry)
        return entry


class Conv:
    """Convolution (stride, padding, groups), then Darknet's training batch-norm or biases, then
    the activation; its backward accumulates `updates` = sum over the batch of delta x input."""

    def __init__(self, params, name, c_in, filters, size, stride=1, pad=None, groups=1, bn=True, activation="leaky"):
        self.stride, self.pad, self.groups, self.bn, self.activation = stride, size // 2 if pad is None else pad, groups, bn, activation
        self.size = size
        self.bias = params.take(name + ".biases", (filters,), True)
        if bn:
            self.scale = params.take(name + ".scales", (filters,), True)
            self.rolling_mean = params.take(name + ".rolling_mean", (filters,), False)
            self.rolling_var = params.take(name + ".rolling_variance", (filters,), False)
        self.weight = params.take(name + ".weights", (filters, c_in // groups, size, size), True)

    def windows(self, shape):
        b, c, h, w = shape
        k, s = self.size, self.stride
        oh, ow = (h + 2 * self.pad - k) // s + 1, (w + 2 * self.pad - k) // s + 1
        for dy in range(k):
            for dx in range(k):
                yield dy, dx, (slice(None), slice(None), slice(dy, dy + s * (oh - 1) + 1, s), slice(dx, dx + s * (ow - 1) + 1, s))

    def forward(self, x):
        self.x = x
        p = self.pad
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        w = self.weight["value"]
        o, ci = w.shape[0], w.shape[1]
        go = o // self.groups
        out = None
        for dy, dx, window in self.windows(x.shape):
            patch = xp[window]
            term = np.concatenate([np.einsum("oc,bchw->bohw", w[g * go:(g + 1) * go, :, dy, dx], patch[:, g * ci:(g + 1) * ci])
                                   for g in range(self.groups)], axis=1)
            out = term if out is None else out + term
        if self.bn:
            mean = out.mean(axis=(0, 2, 3))
            n = out.size // out.shape[1]
            var = ((out - mean[None, :, None, None]) ** 2).sum(axis=(0, 2, 3)) / (n - 1)
            self.rolling_mean["new"] = 0.99 * self.rolling_mean["value"] + 0.01 * mean
            self.rolling_var["new"] = 0.99 * self.rolling_var["value"] + 0.01 * var
            self.pre_norm, self.mean, self.var = out, mean, var
            self.x_norm = (out - mean[None, :, None, None]) / (np.sqrt(var) + 1e-6)[None, :, None, None]
            out = self.x_norm * self.scale["value"][None, :, None, None]
        self.z = out + self.bias["value"][None, :, None, None]
        f, _ = ACTIVATIONS[self.activation]
        self.y = f(self.z)
        return self.y

    def backward(self, delta):
        """Takes the delta of the output; returns the delta of the input."""
        _, gradient = ACTIVATIONS[self.activation]
        delta = delta * gradient(self.z, self.y)
        self.bias["grad"] += delta.sum(axis=(0, 2, 3))
        if self.bn:
            self.scale["grad"] += (delta * self.x_norm).sum(axis=(0, 2, 3))
            delta = delta * self.scale["value"][None, :, None, None]
            n = delta.size // delta.shape[1]
            root = np.sqrt(self.var + 1e-5)[None, :, None, None]
            centred = self.pre_norm - self.mean[None, :, None, None]
            mean_delta = (delta * -1 / root).sum(axis=(0, 2, 3))[None, :, None, None]
            var_delta = ((delta * centred).sum(axis=(0, 2, 3)) * -0.5 * (self.var + 1e-5) ** -1.5)[None, :, None, None]
            delta = delta / root + var_delta * 2 * centred / n + mean_delta / n
        p = self.pad
        w = self.weight["value"]
        o, ci = w.shape[0], w.shape[1]
        go = o // self.groups
        xp = np.pad(self.x, ((0, 0), (0, 0), (p, p), (p, p)))
        dxp = np.zeros_like(xp)
        for dy, dx, window in self.windows(self.x.shape):
            for g in range(self.groups):
                d = delta[:, g * go:(g + 1) * go]
                self.weight["grad"][g * go:(g + 1) * go, :, dy, dx] += np.einsum("bohw,bchw->oc", d, xp[window][:, g * ci:(g + 1) * ci])
                dxp[window][:, g * ci:(g + 1) * ci] += np.einsum("oc,bohw->bchw", w[g * go:(g + 1) * go, :, dy, dx], d)
        h, wd = self.x.shape[2], self.x.shape[3]
        return dxp[:, :, p:p + h, p:p + wd]


class SplitBlock:
    """Seed 003's Bottle2neck (res2net) and Triangle: a 1x1 conv to width*scale channels, 3x3
    convs over the groups, group i after adding group i-1's result, the last group passed
    through, concatenated; res2net adds a 1x1 conv back to planes*2 channels and the input."""

    def __init__(self, params, name, c_in, planes, base_width, scale, residual):
        self.width, self.scale, self.residual = planes * base_width // 64, scale, residual
        self.reduce = Conv(params, name + ".reduce", c_in, self.width * scale, 1, pad=0)
        self.inner = [Conv(params, "%s.inner%d" % (name, i), self.width, self.width, 3) for i in range(scale - 1)]
        self.expand = Conv(params, name + ".expand", self.width * scale, planes * 2, 1, pad=0, activation="linear") if residual else None

    def forward(self, x):
        groups = np.split(self.reduce.forward(x), self.scale, axis=1)
        pieces = []
        for i, conv in enumerate(self.inner):
            pieces.append(conv.forward(groups[i] if i == 0 else pieces[-1] + groups[i]))
        joined = np.concatenate(pieces + [groups[-1]], axis=1)
        return self.expand.forward(joined) + x if self.residual else joined

    def backward(self, delta):
        joined = self.expand.backward(delta) if self.residual else delta
        d_out = np.split(joined, self.scale, axis=1)
        d_groups = [None] * self.scale
        d_groups[-1] = d_out[-1]
        carried = 0  # the delta of group i's result through group i+1's sum
        for i in reversed(range(len(self.inner))):
            d_sum = self.inner[i].backward(d_out[i] + carried)
            d_groups[i] = d_sum
            carried = d_sum
        d_x = self.reduce.backward(np.concatenate(d_groups, axis=1))
        return d_x + delta if self.residual else d_x


class MaxPool:
    """Darknet's maxpool: windows from -padding/2, positions outside skipped, the first of equal
    maxima wins; the backward gives the winner the output's delta."""

    def __init__(self, size, stride, padding):
        self.size, self.stride, self.padding = size, stride, padding

    def forward(self, x):
        b, c, h, w = x.shape
        s, k, offset = self.stride, self.size, -(self.padding // 2)
        oh, ow = (h + self.padding - k) // s + 1, (w + self.padding - k) // s + 1
        self.shape = x.shape
        out = np.full((b, c, oh, ow), -np.inf)
        self.winner = np.zeros((b, c, oh, ow, 2), dtype=int)
        for ky in range(k):
            for kx in range(k):
                for oy in range(oh):
                    y = offset + oy * s + ky
                    if not 0 <= y < h:
                        continue
                    for ox in range(ow):
                        xx = offset + ox * s + kx
                        if not 0 <= xx < w:
                            continue
                        better = x[:, :, y, xx] > out[:, :, oy, ox]
                        out[:, :, oy, ox] = np.where(better, x[:, :, y, xx], out[:, :, oy, ox])
                        self.winner[:, :, oy, ox][better] = (y, xx)
        return out

    def backward(self, delta):
        d = np.zeros(self.shape)
        b, c, oh, ow = delta.shape
        bi, ci, oy, ox = np.meshgrid(range(b), range(c), range(oh), range(ow), indexing="ij")
        np.add.at(d, (bi, ci, self.winner[..., 0], self.winner[..., 1]), delta)
        return d


class Connected:
    def __init__(self, params, name, inputs, outputs, activation):
        self.activation = activation
        self.bias = params.take(name + ".biases", (outputs,), True)
        self.weight = params.take(name + ".weights", (outputs, inputs), True)

    def forward(self, x):
        self.shape, self.x = x.shape, x.reshape(x.shape[0], -1)
        self.z = self.x @ self.weight["value"].T + self.bias["value"]
        self.y = ACTIVATIONS[self.activation][0](self.z)
        return self.y.reshape(x.shape[0], -1, 1, 1)

    def backward(self, delta):
        delta = delta.reshape(self.z.shape) * ACTIVATIONS[self.activation][1](self.z, self.y)
        self.bias["grad"] += delta.sum(axis=0)
        self.weight["grad"] += delta.T @ self.x
        return (delta @ self.weight["value"]).reshape(self.shape)


def run_net(layers, x, truth, loss):
    """Darknet's forward and backward over `layers`, each (kind, object or sources): returns nothing;
    the gradients accumulate in the params. `loss` 'sse' ([cost]: delta t - y) or 'softmax' (t - p)."""
    outputs = []
    for kind, layer in layers:
        if kind == "route":
            outputs.append(np.concatenate([outputs[i] for i in layer], axis=1))
        elif kind == "shortcut":
            outputs.append(outputs[-1] + outputs[layer])
        else:
            outputs.append(layer.forward(x if not outputs else outputs[-1]))
    y = outputs[-1].reshape(x.shape[0], -1)
    if loss == "softmax":
        e = np.exp(y - y.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
    deltas = [np.zeros_like(o) for o in outputs]
    deltas[-1] = (truth - y).reshape(outputs[-1].shape)
    for i in reversed(range(len(layers))):
        kind, layer = layers[i]
        if kind == "route":
            start = 0
            for j in layer:
                channels = outputs[j].shape[1]
                deltas[j] += deltas[i][:, start:start + channels]
                start += channels
        elif kind == "shortcut":
            deltas[i - 1] += deltas[i]
            deltas[layer] += deltas[i]
        else:
            below = layer.backward(deltas[i])
            if i > 0:
                deltas[i - 1] += below


def conv_text(filters, size=3, stride=1, groups=1, bn=1, activation="leaky"):
    return ("[convolutional]\nfilters=%d\nsize=%d\nstride=%d\npad=1\ngroups=%d\nbatch_normalize=%d\nactivation=%s\n"
            % (filters, size, stride, groups, bn, activation))


def res2net_case(p):
    layers = [("conv", Conv(p, "conv0", 3, 8, 3, bn=False, activation="logistic")),
              ("res2net", SplitBlock(p, "res2net", 8, 4, 32, 3, True)),
              ("res2net", SplitBlock(p, "res2net2", 8, 4, 48, 2, True))]
    return layers, "sse"


def triangle_case(p):
    layers = [("conv", Conv(p, "conv0", 3, 8, 3, bn=False, activation="tanh")),
              ("triangle", SplitBlock(p, "triangle", 8, 4, 32, 4, False))]
    return layers, "sse"


def yolov5_case(p):
    # input 3 x 8 x 8; the conv at stride 2 makes 4 x 4.
    layers = [("conv", Conv(p, "conv0", 3, 6, 3, stride=2, activation="swish")),
              ("conv", Conv(p, "conv1", 6, 4, 1, pad=0, activation="swish")),
              ("conv", Conv(p, "conv2", 4, 4, 3, activation="swish")),
              ("shortcut", 1),
              ("route", [3, 0]),
              ("conv", Conv(p, "conv5", 10, 4, 1, pad=0, activation="swish")),
              ("maxpool", MaxPool(5, 1, 4)), ("maxpool", MaxPool(5, 1, 4)), ("maxpool", MaxPool(5, 1, 4)),
              ("route", [5, 6, 7, 8]),
              ("conv", Conv(p, "conv10", 16, 8, 1, pad=0, activation="mish")),
              ("connected", Connected(p, "fc11", 8 * 4 * 4, 6, "relu")),
              ("connected", Connected(p, "fc12", 6, 4, "linear"))]
    return layers, "softmax"


def mobilenet_case(p):
    layers = [("conv", Conv(p, "conv0", 3, 4, 3, activation="relu6")),
              ("conv", Conv(p, "conv1", 4, 12, 1, pad=0, activation="relu6")),
              ("conv", Conv(p, "conv2", 12, 12, 3, groups=12, activation="relu6")),
              ("conv", Conv(p, "conv3", 12, 4, 1, pad=0, activation="linear")),
              ("shortcut", 0),
              ("conv", Conv(p, "conv5", 4, 4, 3, stride=2, groups=4, activation="relu6"))]
    return layers, "sse"


CASES = [
    ("res2net (scale 3 and 2) after a conv", 3, 6, 6, 8 * 6 * 6, conv_text(8, bn=0, activation="logistic")
     + "[res2net]\nplanes=4\nbase_width=32\nscale=3\n[res2net]\nplanes=4\nbase_width=48\nscale=2\n[cost]\n", res2net_case),
    ("triangle (scale 4) after a conv", 3, 5, 6, 8 * 5 * 6, conv_text(8, bn=0, activation="tanh")
     + "[triangle]\nplanes=4\nbase_width=32\nscale=4\n[cost]\n", triangle_case),
    ("YOLOv5 classifier kinds", 3, 8, 8, 4, conv_text(6, stride=2, activation="swish") + conv_text(4, size=1, activation="swish")
     + conv_text(4, activation="swish") + "[shortcut]\nfrom=-2\nactivation=linear\n[route]\nlayers=-1,-4\n"
     + conv_text(4, size=1, activation="swish") + "[maxpool]\nsize=5\nstride=1\npadding=4\n" * 3
     + "[route]\nlayers=-4,-3,-2,-1\n" + conv_text(8, size=1, activation="mish")
     + "[connected]\noutput=6\nactivation=relu\n[connected]\noutput=4\nactivation=linear\n[softmax]\n", yolov5_case),
    ("MobileNetV2 depthwise and relu6", 3, 6, 6, 4 * 3 * 3, conv_text(4, activation="relu6") + conv_text(12, size=1, activation="relu6")
     + conv_text(12, groups=12, activation="relu6") + conv_text(4, size=1, activation="linear")
     + "[shortcut]\nfrom=-4\nactivation=linear\n" + conv_text(4, stride=2, groups=4, activation="relu6") + "[cost]\n", mobilenet_case),
]


def check(work, index, name, channels, height, width, truths, body, build):
    cfg = os.path.join(work, "case%d.cfg" % index)
    with open(cfg, "w") as f:
        f.write("[net]\nbatch=%d\nwidth=%d\nheight=%d\nchannels=%d\nlearning_rate=1\nmomentum=0\ndecay=0\npolicy=constant\n"
                % (BATCH, width, height, channels) + body)
    weights, out = os.path.join(work, "case%d.weights" % index), os.path.join(work, "case%d.out.weights" % index)
    subprocess.run([BINARY, "init", cfg, weights, "--seed", str(20 + index), "--dialect", "darknet"], check=True)
    rng = np.random.default_rng(index)
    x = rng.uniform(-1, 1, (BATCH, channels, height, width)).astype(np.float32)
    before = np.fromfile(weights, dtype="<f4", offset=HEADER_BYTES)
    params = Params(before)
    layers, loss = build(params)
    if loss == "softmax":
        truth = np.eye(truths)[rng.integers(0, truths, BATCH)]
    else:
        truth = rng.uniform(0, 1, (BATCH, truths))
    np.save(os.path.join(work, "x%d.npy" % index), x)
    np.save(os.path.join(work, "t%d.npy" % index), truth.astype(np.float32))
    subprocess.run([BINARY, "step", cfg, weights, "--input", os.path.join(work, "x%d.npy" % index), "--truth",
                    os.path.join(work, "t%d.npy" % index), "--out", out, "--dialect", "darknet"], check=True)
    after = np.fromfile(out, dtype="<f4", offset=HEADER_BYTES).astype(np.float64)
    run_net(layers, x.astype(np.float64), truth.astype(np.float32).astype(np.float64), loss)
    results = []
    if params.offset != before.size or after.size != before.size:
        print("FAIL %s: the reference reads %d floats, the file has %d, the step wrote %d" % (name, params.offset, before.size, after.size))
        return [False]
    for entry in params.arrays:
        ours = after[entry["offset"]:entry["offset"] + entry["count"]]
        if entry["trained"]:
            # w += rate / batch * updates, rate 1: the updates are (after - before) * batch.
            ours = (ours - before[entry["offset"]:entry["offset"] + entry["count"]]) * BATCH
            reference = entry["grad"].ravel()
        else:
            reference = entry["new"].ravel()
        error = float(np.max(np.abs(ours - reference)))
        tolerance = 1e-5 + 1e-4 * float(np.max(np.abs(reference)))
        results.append(error <= tolerance)
        if not results[-1] or "weights" in entry["name"]:
            print("%s %s %s: error %.3g, tolerance %.3g (largest %.3g)" % ("ok  " if results[-1] else "FAIL", name, entry["name"],
                                                                        error, tolerance, float(np.max(np.abs(reference)))))
    return results


def main():
    work = scratch_directory("gradient-reference-")
    results = []
    for index, case in enumerate(CASES):
        case_results = check(work, index, *case)
        print("%s %s: %d of %d arrays agree" % ("ok  " if all(case_results) else "FAIL", case[0], sum(case_results), len(case_results)))
        results += case_results
    print("gradients: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
