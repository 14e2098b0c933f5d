"""libdarknet (Debian's `darknet` package, the original C code) driven through ctypes.

The shim in darknet_probe.c is compiled on first use into .build/darknet-probe/, so that
Python never mirrors Darknet's `layer` struct. Everything here is reference material for the
cross-checks in scripts/: it is never imported by the Swift code.
"""
import atexit
import ctypes
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np


def scratch_directory(prefix):
    """A temporary directory removed when the script exits: the cross-checks write gigabytes
    of weights and layer outputs, and a machine's /tmp is shared by every run."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DARKNET_LIB = "/usr/lib/darknet"
DARKNET_CFG = "/usr/share/darknet/cfg"
PROBE = os.path.join(ROOT, ".build", "darknet-probe", "libdarknet_probe.so")

# Darknet's LAYER_TYPE values (darknet.h), for the types the checks need to name.
LAYER_TYPES = ["convolutional", "deconvolutional", "connected", "maxpool", "softmax", "detection",
               "dropout", "crop", "route", "cost", "normalization", "avgpool", "local", "shortcut",
               "active", "rnn", "gru", "lstm", "crnn", "batchnorm", "network", "xnor", "region",
               "yolo", "iseg", "reorg", "upsample", "logxent", "l2norm", "blank"]


def _probe():
    source = os.path.join(ROOT, "scripts", "darknet_probe.c")
    if not os.path.exists(PROBE) or os.path.getmtime(PROBE) < os.path.getmtime(source):
        os.makedirs(os.path.dirname(PROBE), exist_ok=True)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-I", DARKNET_LIB + "/include", source,
                        "-L", DARKNET_LIB, "-ldarknet", "-Wl,-rpath," + DARKNET_LIB, "-o", PROBE], check=True)
    lib = ctypes.CDLL(PROBE)
    lib.probe_load.restype = ctypes.c_void_p
    lib.probe_load.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.probe_layer_count.argtypes = [ctypes.c_void_p]
    lib.probe_layer_info.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.probe_layer_output.restype = ctypes.POINTER(ctypes.c_float)
    lib.probe_layer_output.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.probe_predict.restype = ctypes.POINTER(ctypes.c_float)
    lib.probe_predict.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float)]
    lib.probe_save.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.probe_set_seen.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.probe_detect.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_float, ctypes.c_float,
                                 ctypes.POINTER(ctypes.c_float), ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.probe_train.restype = ctypes.c_float
    lib.probe_train.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_float),
                                ctypes.POINTER(ctypes.c_float), ctypes.c_char_p]
    lib.probe_layer_floats.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.probe_truths.argtypes = [ctypes.c_void_p]
    lib.probe_train_keep.restype = ctypes.c_void_p
    lib.probe_train_keep.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_float),
                                     ctypes.POINTER(ctypes.c_float)]
    lib.probe_gradients.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float)]
    lib.probe_free.argtypes = [ctypes.c_void_p]
    lib.probe_image.restype = ctypes.POINTER(ctypes.c_float)
    lib.probe_image.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    return lib


def load_image(path):
    """An image as Darknet's load_image_color gives it: (3, H, W) floats in [0, 1]."""
    lib = _probe()
    size = (ctypes.c_int * 2)()
    pointer = lib.probe_image(path.encode(), size)
    return np.ctypeslib.as_array(pointer, shape=(3 * size[0] * size[1],)).copy().reshape(3, size[1], size[0])


_cfg_directory = []


def _cfg_copies():
    if not _cfg_directory:
        _cfg_directory.append(scratch_directory("inference-cfgs-"))
    return _cfg_directory[0]


def inference_cfg(cfg, width=None, height=None):
    """A copy of `cfg` with batch=1, subdivisions=1 (Darknet allocates the training batch
    otherwise) and optionally another input size. Returns the temporary file's path."""
    text = open(cfg).read()
    lines = []
    for line in text.splitlines():
        key = line.split("=")[0].strip()
        if key in ("batch", "subdivisions"):
            line = key + "=1"
        elif key == "width" and width:
            line = "width=%d" % width
        elif key == "height" and height:
            line = "height=%d" % height
        lines.append(line)
    handle, path = tempfile.mkstemp(suffix=".cfg", prefix=os.path.basename(cfg)[:-4] + "-", dir=_cfg_copies())
    with os.fdopen(handle, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Network:
    """A network loaded by libdarknet (stdout/stderr chatter of Darknet is left as it is)."""

    def __init__(self, cfg, weights=None):
        self.lib = _probe()
        self.net = self.lib.probe_load(cfg.encode(), weights.encode() if weights else None)

    def layers(self):
        """[(type, (c, h, w), outputs)] for every layer."""
        result = []
        info = (ctypes.c_int * 8)()
        for i in range(self.lib.probe_layer_count(self.net)):
            self.lib.probe_layer_info(self.net, i, info)
            result.append((LAYER_TYPES[info[4]], (info[0], info[1], info[2]), info[3]))
        return result

    def predict(self, image):
        """Runs one (C, H, W) float32 image; returns every layer's output, shaped (C, H, W)."""
        data = np.ascontiguousarray(image, dtype=np.float32)
        self.lib.probe_predict(self.net, data.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        outputs = []
        for kind, shape, count in self.layers():
            pointer = self.lib.probe_layer_output(self.net, len(outputs))
            values = np.ctypeslib.as_array(pointer, shape=(count,)).copy()
            outputs.append(values.reshape(shape) if shape[0] * shape[1] * shape[2] == count else values)
        return outputs

    def detect(self, image, thresh, nms=0.45, max_rows=200000):
        """Darknet's detector: [(class, prob, left, top, right, bottom)] in pixels, for every
        box and class above `thresh` after do_nms_sort, each corner clamped to the image as
        draw_detections clamps them, but on both sides as ours are (draw_detections leaves a box
        wholly off the image with left > right)."""
        rows = np.zeros(6 * max_rows, dtype=np.float32)
        size = (ctypes.c_int * 2)()
        count = self.lib.probe_detect(self.net, image.encode(), thresh, nms,
                                      rows.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), max_rows, size)
        w, h = size[0], size[1]
        result = []
        for c, p, x, y, bw, bh in rows[:6 * min(count, max_rows)].reshape(-1, 6):
            def clamped(value, size):
                return float(min(max(value, 0), size - 1))
            result.append((int(c), float(p), clamped((x - bw / 2) * w, w), clamped((y - bh / 2) * h, h),
                           clamped((x + bw / 2) * w, w), clamped((y + bh / 2) * h, h)))
        return result

    def layer_floats(self):
        """Floats each layer stores in a weights file (for the kinds the training checks use)."""
        return [self.lib.probe_layer_floats(self.net, i) for i in range(self.lib.probe_layer_count(self.net))]

    def layer_info(self):
        """[(type, batch_normalize, n, nweights, outputs, inputs)] for every layer."""
        info = (ctypes.c_int * 8)()
        result = []
        for i in range(self.lib.probe_layer_count(self.net)):
            self.lib.probe_layer_info(self.net, i, info)
            outputs = info[3]
            weights = info[7]
            result.append((LAYER_TYPES[info[4]], info[5], info[6], weights, outputs,
                           weights // outputs if outputs else 0))
        return result

    def save(self, path, cutoff=None, seen=None):
        if seen is not None:
            self.lib.probe_set_seen(self.net, seen)
        self.lib.probe_save(self.net, path.encode(), cutoff if cutoff is not None else self.lib.probe_layer_count(self.net))


def train_step(cfg, weights, inputs, truth, out):
    """One train_network_datum of libdarknet on `inputs` (B, C, H, W) and `truth` (B, truths),
    with `cfg` written for batch B and one subdivision; saves the weights to `out`."""
    lib = _probe()
    x = np.ascontiguousarray(inputs, dtype=np.float32)
    t = np.ascontiguousarray(truth, dtype=np.float32)
    return lib.probe_train(cfg.encode(), weights.encode(), x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                           t.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.encode())


def train_gradients(cfg, weights, inputs, truth, count):
    """The CPU gradients of one train_network_datum (`cfg` with momentum=1, batch B): `count`
    floats in the weights file's order, the weights' with Darknet's decay added, and the
    rolling statistics after the step in their places."""
    lib = _probe()
    x = np.ascontiguousarray(inputs, dtype=np.float32)
    t = np.ascontiguousarray(truth, dtype=np.float32)
    net = lib.probe_train_keep(cfg.encode(), weights.encode(), x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                               t.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    out = np.zeros(count, dtype=np.float32)
    written = lib.probe_gradients(net, out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    lib.probe_free(net)
    assert written == count, (written, count)
    return out
