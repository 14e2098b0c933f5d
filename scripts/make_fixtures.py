#!/usr/bin/env python3
"""Makes the reference fixtures that `swift test` checks every layer kind against
(Tests/DarknetTests/Fixtures/layers): small networks, a folder each, holding

  network.cfg      the cfg, its first line naming the oracle that computed the outputs
  network.weights  random parameters in Darknet's layout (version 0.2.0 header, 64-bit seen)
  input.npy        a batch of two images, float32 (2, C, H, W), uniform in [-2, 2)
  layer_NNN.npy    layer NNN's output for both images, float32 (2, ...)

The oracle is libdarknet (Debian's pjreddie build, through scripts/darknet_ref.py) wherever it
runs the layer, and NumPy in float64 for what it lacks: dilation, route groups, relu6, swish and
mish, the standalone [batchnorm] (which crashes Darknet on the CPU), res2net and triangle (with
scripts/res2net_reference.py). Nothing here reads the Swift code or its output. Every value comes
from a seeded generator, so running the script again rewrites the same bytes; with `--check` it
makes them in a scratch folder and compares them with the committed files instead.
"""
import ctypes
import filecmp
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref
import res2net_reference

OUT = os.path.join(darknet_ref.ROOT, "Tests", "DarknetTests", "Fixtures", "layers")
HEADER = np.array([0, 2, 0], dtype="<i4").tobytes() + np.array([0], dtype="<u8").tobytes()


def cfg_text(oracle, net, sections):
    """`net` is (channels, height, width); `sections` a list of (name, {key: value})."""
    c, h, w = net
    lines = ["# Made by scripts/make_fixtures.py; expected outputs from %s." % oracle,
             "[net]", "width=%d" % w, "height=%d" % h, "channels=%d" % c]
    for name, options in sections:
        lines.append("[%s]" % name)
        lines += ["%s=%s" % (key, value) for key, value in options.items()]
    return "\n".join(lines) + "\n"


class Parameters:
    """Draws a layer's arrays in file order: biases and β around 0, γ in [0.5, 1.5), means
    around 0, variances in [0.5, 2), weights normal with deviation gain/√fan-in."""

    def __init__(self, seed, gain):
        self.rng = np.random.default_rng(seed)
        self.gain = gain
        self.arrays = []
        self.by_layer = {}  # a convolution's (norm, bias, kernel) by layer index, for share_index

    def draw(self, role, count, fan_in=1):
        values = {
            "bias": lambda: self.rng.normal(0, 0.5, count),
            "gamma": lambda: self.rng.uniform(0.5, 1.5, count),
            "mean": lambda: self.rng.normal(0, 0.3, count),
            "variance": lambda: self.rng.uniform(0.5, 2, count),
            "weights": lambda: self.rng.normal(0, self.gain / np.sqrt(fan_in), count),
            "learned": lambda: self.rng.normal(0, 1, count),
            # Some negative, for the normalisations that clip them at 0.
            "mixing": lambda: self.rng.uniform(-1, 2, count),
        }[role]().astype("<f4")
        self.arrays.append(values)
        return values.astype(np.float64)

    def convolutional(self, filters, fan_in, batch_normalize):
        """Darknet's order: biases, or β, γ, rolling mean and variance; then the kernel (flat)."""
        norm = [self.draw(role, filters) for role in ("bias", "gamma", "mean", "variance")] if batch_normalize else None
        bias = None if batch_normalize else self.draw("bias", filters)
        return norm, bias, self.draw("weights", filters * fan_in, fan_in)

    def connected(self, inputs, outputs, batch_normalize):
        """Darknet's order: biases (β with batch-norm), weights (outputs × inputs), then γ and
        the rolling mean and variance."""
        self.draw("bias", outputs)
        self.draw("weights", inputs * outputs, inputs)
        if batch_normalize:
            for role in ("gamma", "mean", "variance"):
                self.draw(role, outputs)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(HEADER + b"".join(a.tobytes() for a in self.arrays))


# MARK: libdarknet

def libdarknet_fixture(folder, net, sections, seed, gain=1.5):
    """Weights drawn for the layers libdarknet builds from the cfg, then its outputs for each image."""
    cfg = os.path.join(folder, "network.cfg")
    with open(cfg, "w") as f:
        f.write(cfg_text("libdarknet", net, sections))
    bare = darknet_ref.Network(cfg)
    info = (ctypes.c_int * 8)()
    parameters = Parameters(seed, gain)
    inputs = net[0] * net[1] * net[2]
    for index in range(bare.lib.probe_layer_count(bare.net)):
        bare.lib.probe_layer_info(bare.net, index, info)
        kind, outputs, batch_normalize, filters, weights = darknet_ref.LAYER_TYPES[info[4]], info[3], info[5], info[6], info[7]
        if kind == "convolutional":
            parameters.convolutional(filters, weights // filters, batch_normalize)
        elif kind == "connected":
            parameters.connected(inputs, outputs, batch_normalize)
        inputs = outputs
    parameters.write(os.path.join(folder, "network.weights"))
    network = darknet_ref.Network(cfg, os.path.join(folder, "network.weights"))
    images = input_batch(folder, net, seed)
    runs = [network.predict(image) for image in images]
    for index, (kind, shape, count) in enumerate(network.layers()):
        # [cost] computes a loss at training only; at inference its output buffer stays zero
        # and Darknet's network output is the layer before it, which Swift passes through.
        layer = index - 1 if kind == "cost" else index
        save(folder, index, np.stack([run[layer].reshape(-1) for run in runs]).reshape((2,) + runs[0][layer].shape))


def input_batch(folder, net, seed):
    images = np.random.default_rng(seed + 1000).uniform(-2, 2, (2,) + tuple(net)).astype(np.float32)
    np.save(os.path.join(folder, "input.npy"), images)
    return images


def save(folder, index, values):
    np.save(os.path.join(folder, "layer_%03d.npy" % index), np.ascontiguousarray(values, dtype=np.float32))


# MARK: NumPy, in float64

ACTIVATIONS = {
    "linear": lambda x: x,
    "leaky": lambda x: np.where(x > 0, x, 0.1 * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "logistic": lambda x: 1 / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0),
    "swish": lambda x: x / (1 + np.exp(-x)),
    "mish": lambda x: x * np.tanh(np.log1p(np.exp(x))),
}


def convolve(x, kernel, stride, padding, dilation, groups, stride_y=None):
    """out[f, y, x] = Σ kernel[f, c, ky, kx]·x[g·C/G + c, y·stride_y − padding + ky·dilation,
    x·stride − padding + kx·dilation], zero outside (stride_y defaults to stride)."""
    stride_y = stride if stride_y is None else stride_y
    channels, height, width = x.shape
    filters, per_group, size, _ = kernel.shape
    span = dilation * (size - 1) + 1
    out_h = (height + 2 * padding - span) // stride_y + 1
    out_w = (width + 2 * padding - span) // stride + 1
    padded = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((filters, out_h, out_w))
    per_filter_group = filters // groups
    for g in range(groups):
        f = slice(g * per_filter_group, (g + 1) * per_filter_group)
        c = slice(g * per_group, (g + 1) * per_group)
        for ky in range(size):
            for kx in range(size):
                y0, x0 = ky * dilation, kx * dilation
                patch = padded[c, y0:y0 + stride_y * (out_h - 1) + 1:stride_y, x0:x0 + stride * (out_w - 1) + 1:stride]
                out[f] += np.einsum("fc,chw->fhw", kernel[f, :, ky, kx], patch)
    return out


def normalize(x, gamma, mean, variance):
    """Darknet's batch-norm at inference: γ·(x − mean)/(√variance + 1e-6)."""
    return gamma[:, None, None] * (x - mean[:, None, None]) / (np.sqrt(variance)[:, None, None] + 1e-6)


def numpy_layer(parameters, name, options, x, outputs):
    """One section on one image: its output from `x` (the previous output) and earlier `outputs`."""
    def get(key, default):
        return int(options.get(key, default))

    if name == "convolutional":
        size, filters, groups = get("size", 1), get("filters", 1), get("groups", 1)
        padding = size // 2 if get("pad", 0) else get("padding", 0)
        # AlexeyAB's dilation: ignored for 1×1 kernels, and the zero padding is padding·dilation.
        dilation = 1 if size == 1 else get("dilation", 1)
        per_group = x.shape[0] // groups
        if "share_index" in options:
            # AlexeyAB's share_index: another convolution's arrays, none drawn (none stored).
            norm, bias, kernel = parameters.by_layer[layer_index(options["share_index"], outputs)]
        else:
            norm, bias, kernel = parameters.convolutional(filters, per_group * size * size, get("batch_normalize", 0))
        parameters.by_layer[len(outputs)] = norm, bias, kernel
        kernel = kernel.reshape(filters, per_group, size, size)
        # AlexeyAB's stride_x/stride_y, where either is given and at least 1, else stride.
        stride = get("stride", 1)
        stride_x, stride_y = get("stride_x", -1), get("stride_y", -1)
        stride_x, stride_y = (stride_x if stride_x >= 1 else stride), (stride_y if stride_y >= 1 else stride)
        antialiasing = get("antialiasing", 0)
        if antialiasing:  # AlexeyAB: the convolution at stride 1, the strides taken by the blur below
            stride_x = stride_y = 1
        out = convolve(x, kernel, stride_x, padding * dilation, dilation, groups, stride_y)
        if norm:
            beta, gamma, mean, variance = norm
            out = normalize(out, gamma, mean, variance) + beta[:, None, None]
        else:
            out = out + bias[:, None, None]
        out = ACTIVATIONS[options["activation"]](out)
        if antialiasing:
            # A fixed depthwise blur: 3×3 [1 2 1]ᵀ[1 2 1]/16 padded by 1, or 2×2 of 1/4 unpadded.
            taps = np.full((2, 2), 0.25) if antialiasing == 2 else np.outer([1, 2, 1], [1, 2, 1]) / 16
            blur = np.broadcast_to(taps, (filters, 1) + taps.shape)
            stride = get("stride", 1)
            out = convolve(out, blur, get("stride_x", stride), 1 if antialiasing == 1 else 0, 1, filters, get("stride_y", stride))
        return out
    if name == "route":
        groups, group_id = get("groups", 1), get("group_id", 0)
        pieces = []
        for reference in str(options["layers"]).split(","):
            source = int(reference)
            value = outputs[source if source >= 0 else len(outputs) + source]
            share = value.shape[0] // groups
            pieces.append(value[group_id * share:(group_id + 1) * share])
        return np.concatenate(pieces)
    if name == "batchnorm":
        channels = x.shape[0]
        gamma, mean, variance = (parameters.draw(role, channels) for role in ("gamma", "mean", "variance"))
        return normalize(x, gamma, mean, variance)
    if name in ("res2net", "triangle"):
        planes = get("planes", 0)
        scale = get("scale", 4)
        base_width = get("base_width", 26 if name == "res2net" else 16)
        width = planes * base_width // 64
        convolutions = [(x.shape[0], width * scale, 1)] + [(width, width, 3)] * (scale - 1)
        if name == "res2net":
            convolutions.append((width * scale, 2 * planes, 1))
        start = len(parameters.arrays)
        for in_channels, filters, size in convolutions:
            parameters.convolutional(filters, in_channels * size * size, True)
        reader = res2net_reference.Reader(np.concatenate(parameters.arrays[start:]))
        block = res2net_reference.bottle2neck if name == "res2net" else res2net_reference.triangle
        return block(x, reader, planes, base_width, scale)
    if name in ("maxpool", "local_avgpool"):
        return pool(x, name, options)
    if name == "avgpool":
        return x.mean(axis=(1, 2), keepdims=True)
    if name == "scale_channels":
        # AlexeyAB's scale_channels_layer.c: one factor a channel (C×1×1), or a pixel (1×H×W).
        scaled = outputs[layer_index(options["from"], outputs)]
        return ACTIVATIONS[options.get("activation", "linear")](x * scaled)
    if name == "sam":
        # AlexeyAB's sam_layer.c: elementwise product of equal shapes.
        other = outputs[layer_index(options["from"], outputs)]
        return ACTIVATIONS[options.get("activation", "linear")](x * other)
    if name == "reorg3d":
        # AlexeyAB's reorg_cpu (forward=0): out[(dy·s + dx)·C + c, y, x] = in[c, y·s + dy, x·s + dx].
        s = get("stride", 1)
        return np.concatenate([x[:, dy::s, dx::s] for dy in range(s) for dx in range(s)])
    if name == "implicit":
        filters, atoms = get("filters", 128), get("atoms", 1)
        return parameters.draw("learned", filters * atoms).reshape(filters, atoms, 1)
    if name == "shortcut":
        return shortcut(parameters, options, x, outputs)
    if name == "Gaussian_yolo":
        # AlexeyAB's forward_gaussian_yolo_layer: per anchor [μx, σx, μy, σy, μw, σw, μh, σh, obj,
        # classes…], the logistic on all but μw and μh, then μx, μy ← s·μ − (s − 1)/2.
        anchors = len(str(options["mask"]).split(","))
        out = x.reshape((anchors, -1) + x.shape[1:]).copy()
        squashed = [0, 1, 2, 3, 5, 7] + list(range(8, out.shape[1]))
        out[:, squashed] = 1 / (1 + np.exp(-out[:, squashed]))
        s = float(options.get("scale_x_y", 1))
        out[:, [0, 2]] = out[:, [0, 2]] * s - (s - 1) / 2
        return out.reshape(x.shape)
    raise ValueError("no NumPy reference for [%s]" % name)


def layer_index(reference, outputs):
    index = int(reference)
    return index if index >= 0 else len(outputs) + index


def pool(x, name, options):
    """AlexeyAB's maxpool_layer.c: windows of `size` at −padding/2 + (y·stride_y, x·stride_x);
    the maximum (maxpool), the mean of the taps inside the image (local_avgpool), or with
    maxpool_depth the maximum over channels k ≡ g (mod out_channels)."""
    def get(key, default):
        return int(options.get(key, default))

    channels, height, width = x.shape
    if get("maxpool_depth", 0):
        groups = get("out_channels", 1)
        return np.stack([x[g::groups].max(axis=0) for g in range(groups)])
    stride = get("stride", 1)
    stride_x, stride_y = get("stride_x", stride), get("stride_y", stride)
    size = get("size", stride)
    padding = get("padding", size - 1)
    out_h, out_w = (height + padding - size) // stride_y + 1, (width + padding - size) // stride_x + 1
    out = np.zeros((channels, out_h, out_w))
    for oy in range(out_h):
        for ox in range(out_w):
            top, left = oy * stride_y - padding // 2, ox * stride_x - padding // 2
            window = x[:, max(top, 0):max(top + size, 0), max(left, 0):max(left + size, 0)]
            out[:, oy, ox] = window.max(axis=(1, 2)) if name == "maxpool" else window.mean(axis=(1, 2))
    return out


def shortcut(parameters, options, x, outputs):
    """AlexeyAB's shortcut_multilayer_cpu: out = w₀·x + Σ wᵢ·fromᵢ over the channels both have;
    weights per term (per_feature, per_layer) or per term and channel (per_channel), normalised
    across the terms by relu (avg_relu): max(w, 0)/(1e-4 + Σ max(w, 0)), or by softmax."""
    sources = [outputs[layer_index(r, outputs)] for r in str(options["from"]).split(",")]
    kind = options.get("weights_type", "none")
    channels = x.shape[0]
    if kind == "none":
        weights = np.ones((len(sources) + 1, channels))
    else:
        per_term = channels if kind == "per_channel" else 1
        weights = parameters.draw("mixing", (len(sources) + 1) * per_term).reshape(len(sources) + 1, per_term)
        weights = np.broadcast_to(weights, (len(sources) + 1, channels))
        if options["weights_normalization"] in ("relu", "avg_relu"):
            weights = np.maximum(weights, 0) / (1e-4 + np.maximum(weights, 0).sum(axis=0))
        else:  # softmax; AlexeyAB's parser refuses weights without a normalisation
            e = np.exp(weights - weights.max(axis=0))
            weights = e / (1e-4 + e.sum(axis=0))
    out = x * weights[0][:, None, None]
    for i, source in enumerate(sources):
        common = min(channels, source.shape[0])
        out[:common] += source[:common] * weights[i + 1][:common, None, None]
    return ACTIVATIONS[options.get("activation", "linear")](out)


def numpy_fixture(folder, net, sections, seed, gain=1.5):
    with open(os.path.join(folder, "network.cfg"), "w") as f:
        f.write(cfg_text("NumPy (float64)", net, sections))
    images = input_batch(folder, net, seed)
    runs = []
    for image in images:
        # The same weights for both images: redraw them from the same seed.
        parameters = Parameters(seed, gain)
        outputs = []
        x = image.astype(np.float64)
        for name, options in sections:
            x = numpy_layer(parameters, name, options, x, outputs)
            outputs.append(x)
        runs.append(outputs)
    parameters.write(os.path.join(folder, "network.weights"))
    for index in range(len(sections)):
        save(folder, index, np.stack([run[index] for run in runs]))


# MARK: The fixtures

def conv(filters, size=1, activation="linear", **options):
    return ("convolutional", dict(filters=filters, size=size, **options, activation=activation))


# Darknet's own activations, each after a 1×1 convolution of layer 0's output (through a route),
# with batch-norm on every other one; weights large enough for pre-activations of about ±10.
DARKNET_ACTIVATIONS = ["linear", "logistic", "relu", "relie", "ramp", "tanh", "plse", "leaky", "elu", "loggy",
                       "stair", "hardtan", "lhtan", "selu"]


def activation_sections():
    sections = [conv(8)]
    for index, activation in enumerate(DARKNET_ACTIVATIONS):
        sections += [("route", {"layers": 0}), conv(8, activation=activation, batch_normalize=index % 2)]
    return sections


FIXTURES = [
    # name, oracle, (channels, height, width), sections, seed, weight gain
    ("convolutional", libdarknet_fixture, (3, 9, 9), [
        conv(4, 3, "leaky", stride=1, pad=1, batch_normalize=1),
        conv(6, 3, "logistic", stride=2, pad=1, groups=2),
        conv(6, 3, "relu", padding=2, groups=6),
        conv(4, 2, "tanh", stride=2, padding=0, batch_normalize=1),
        conv(5, 1, "linear"),
    ], 1, 1.5),
    ("activations", libdarknet_fixture, (4, 3, 3), activation_sections(), 2, 6),
    ("connected", libdarknet_fixture, (2, 3, 4), [
        ("connected", dict(output=6, batch_normalize=1, activation="leaky")),
        ("connected", dict(output=4, activation="linear")),
    ], 3, 1.5),
    ("pooling", libdarknet_fixture, (3, 7, 9), [
        ("maxpool", dict(size=3, stride=1)),
        ("maxpool", dict(size=2, stride=1)),
        ("maxpool", dict(size=3, stride=2, padding=0)),
        ("maxpool", dict(size=2, stride=2)),
        ("avgpool", {}),
    ], 4, 1.5),
    ("route-shortcut", libdarknet_fixture, (4, 8, 8), [
        conv(6, 1, "leaky"),
        ("maxpool", dict(size=2, stride=2)),
        conv(4, 3, "linear", pad=1),
        ("shortcut", dict(activation="leaky", **{"from": 0})),
        ("shortcut", dict(activation="linear", alpha=0.5, beta=-2, **{"from": 1})),
        ("route", dict(layers=0)),
        ("shortcut", dict(activation="relu", **{"from": 2})),
        ("route", dict(layers="3,1,-3")),
    ], 5, 1.5),
    # Darknet's reorg_cpu divides by channels/stride², so each reorg gets at least stride² channels.
    ("resampling", libdarknet_fixture, (4, 2, 2), [
        ("upsample", dict(stride=2)),
        ("upsample", dict(stride=-2, scale=0.5)),
        ("upsample", dict(stride=3, scale=1.5)),
        ("reorg", dict(stride=2)),
        ("reorg", dict(stride=2, reverse=1)),
        conv(9, 1, "linear"),
        ("reorg", dict(stride=3)),
        ("reorg", dict(extra=3)),
    ], 6, 1.5),
    ("softmax", libdarknet_fixture, (3, 2, 2), [
        ("connected", dict(output=12, activation="linear")),
        ("softmax", {}),
        ("route", dict(layers=0)),
        ("softmax", dict(groups=3, temperature=0.5)),
        ("dropout", dict(probability=0.3)),
        ("cost", {}),
    ], 7, 3),
    ("detection", libdarknet_fixture, (3, 4, 4), [
        conv(16, 1, "linear"),
        ("yolo", dict(mask="0,2", num=3, classes=3, anchors="10,14, 23,27, 37,58")),
        ("route", dict(layers=0)),
        ("region", dict(classes=3, coords=4, num=2, softmax=1, anchors="1.08,1.19, 3.42,4.41")),
    ], 8, 3),
    ("dilation-groups-batchnorm", numpy_fixture, (4, 9, 9), [
        conv(4, 3, "mish", dilation=2, pad=1),
        conv(6, 3, "swish", stride=2, pad=1, dilation=2, groups=2, batch_normalize=1),
        conv(4, 1, "relu6"),
        ("route", dict(layers=1, groups=2, group_id=1)),
        ("route", dict(layers="1,2", groups=2, group_id=0)),
        ("batchnorm", {}),
    ], 9, 3),
    # AlexeyAB's kinds and keys, from his layer sources: squeeze-and-excitation (avgpool, two 1×1
    # convolutions, scale_channels), a per-pixel scale (scale_wh), sam, reorg3d, local_avgpool
    # and maxpool with separate strides, maxpool across channels (out_channels not dividing 32),
    # implicit, and shortcuts of several layers, with fewer and more channels than the input,
    # weighted per layer and per channel, normalised by relu, avg_relu and softmax; convolutions
    # with stride_x/stride_y (im2col and depthwise); share_index, relative, absolute, dilated,
    # strided, and of a layer that shares itself (batch-norm differs from AlexeyAB's in 1e-6);
    # antialiasing 1 and 2 (the second with stride_x/stride_y); Gaussian_yolo's layer output.
    ("alexeyab", numpy_fixture, (3, 8, 8), [
        conv(8, 3, "leaky", pad=1),
        ("avgpool", {}),
        conv(8, 1, "logistic"),
        ("scale_channels", {"from": 0}),
        conv(1, 1, "logistic"),
        ("scale_channels", {"from": 3, "scale_wh": 1, "activation": "leaky"}),
        ("sam", {"from": 3, "activation": "logistic"}),
        ("reorg3d", dict(stride=2)),
        ("local_avgpool", dict(size=3, stride=1)),
        ("maxpool", dict(maxpool_depth=1, out_channels=5)),
        ("maxpool", dict(size=3, stride_x=2, stride_y=1)),
        ("route", dict(layers=7)),
        ("local_avgpool", dict(size=3, stride_x=1, stride_y=2, padding=2)),
        ("implicit", dict(filters=6, atoms=2)),
        ("route", dict(layers=0)),
        conv(8, 1, "linear"),
        conv(4, 1, "linear"),
        ("shortcut", {"from": "-2,-3"}),
        ("shortcut", {"from": "15,0", "weights_type": "per_channel", "weights_normalization": "softmax"}),
        ("shortcut", {"from": 16, "weights_type": "per_feature", "weights_normalization": "relu", "activation": "leaky"}),
        conv(8, 1, "linear"),
        ("shortcut", {"from": "17,14", "weights_type": "per_channel", "weights_normalization": "avg_relu"}),
        ("shortcut", {"from": 15, "weights_type": "per_layer", "weights_normalization": "softmax"}),
        conv(4, 3, "leaky", stride_x=2, stride_y=1, pad=1),
        conv(4, 3, "linear", stride=2, stride_y=3, pad=1, groups=4),
        ("route", dict(layers=22)),
        conv(8, 3, "leaky", pad=1, batch_normalize=1),
        conv(8, 3, "leaky", pad=1, batch_normalize=1, dilation=2, share_index=-1),
        conv(8, 3, "linear", pad=1, batch_normalize=1, stride=2, share_index=26),
        conv(8, 3, "linear", pad=1, batch_normalize=1, share_index=-1),
        conv(6, 3, "leaky", pad=1, stride=2, antialiasing=1, batch_normalize=1),
        ("route", dict(layers=22)),
        conv(4, 3, "linear", pad=1, stride_x=2, stride_y=1, antialiasing=2),
        conv(24, 1, "linear"),
        ("Gaussian_yolo", dict(mask="0,2", num=3, classes=3, anchors="10,14, 23,27, 37,58", scale_x_y=1.1)),
    ], 11, 1.5),
    ("res2net-triangle", numpy_fixture, (16, 5, 6), [
        ("res2net", dict(planes=8)),
        ("triangle", dict(planes=16)),
        ("res2net", dict(planes=8, base_width=48, scale=3)),
    ], 10, 1.5),
]


def make(out):
    shutil.rmtree(out, ignore_errors=True)
    for name, oracle, net, sections, seed, gain in FIXTURES:
        folder = os.path.join(out, name)
        os.makedirs(folder)
        oracle(folder, net, sections, seed, gain)


def rounding_apart(made, committed):
    """Two output .npy files that differ only by float32 rounding: another C library's expf, or
    another NumPy's vector exp on another CPU, may round a last bit the other way."""
    if not made.endswith(".npy") or os.path.basename(made) == "input.npy":
        return False
    a, b = np.load(made), np.load(committed)
    return a.shape == b.shape and float(np.max(np.abs(a - b))) <= 1e-6 * (1 + float(np.max(np.abs(b))))


def main():
    """Writes the fixtures; with --check, makes them in a scratch folder and compares them with
    the committed ones instead: byte for byte, outputs also within float32 rounding (exit 1 if
    any file differs more, is missing or is no longer made)."""
    if sys.argv[1:] != ["--check"]:
        make(OUT)
        total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(OUT) for f in files)
        print("%d fixtures, %d bytes, in %s" % (len(FIXTURES), total, os.path.relpath(OUT, darknet_ref.ROOT)))
        return
    fresh = os.path.join(darknet_ref.scratch_directory("fixtures-"), "layers")
    make(fresh)

    def files(root):
        return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, names in os.walk(root) for f in names)

    made, committed = files(fresh), files(OUT)
    both = [f for f in made if f in committed]
    unequal = [f for f in both if not filecmp.cmp(os.path.join(fresh, f), os.path.join(OUT, f), shallow=False)]
    rounding = [f for f in unequal if rounding_apart(os.path.join(fresh, f), os.path.join(OUT, f))]
    problems = (["differs: " + f for f in unequal if f not in rounding] + ["not committed: " + f for f in made if f not in committed]
                + ["no longer made: " + f for f in committed if f not in made])
    for problem in problems:
        print(problem)
    print("fixtures: %d files made again: %d identical, %d within float32 rounding, %d problems"
          % (len(made), len(both) - len(unequal), len(rounding), len(problems)))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
