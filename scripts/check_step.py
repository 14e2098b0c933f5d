#!/usr/bin/env python3
"""One training step of `swift-darknet step` against libdarknet's train_network_datum.

Each small cfg gets random weights (`swift-darknet init`), a `seen` in the header where the
rate schedule needs one, a random batch and its truth; libdarknet (cfg rewritten for batch B,
one subdivision) and swift-darknet each take one step, and every float of the two saved
weights files must agree within 1e-5 + 1e-4·max|ref| per layer, `seen` exactly, and the cost
`step` prints with the one train_network_datum returns within 1e-5 + 1e-4·|ref|.

With adam=1 Darknet's CPU update ignores Adam; its GPU update (adam_update_gpu: decay into
every array's gradient, m and v with B1 and B2, bias correction by t, eps) is applied here in
NumPy to the gradients libdarknet's CPU step leaves in its *_updates (read with momentum=1),
and that is what swift-darknet must match. A large eps keeps each step a smooth function of
its gradient (at t = 1 Adam moves every weight by ±rate where |gradient| ≫ eps).

Darknet's CPU backward of a 1×1 convolution overwrites the delta of the layer below where
we add to it; the cfgs here give every 1×1 convolution an input no other layer reads, where
the two agree, so the comparison needs no patch.

Usage: check_step.py SWIFT_DARKNET
"""
import os
import re
import struct
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref  # noqa: E402

CONV = "[convolutional]\nbatch_normalize={bn}\nfilters={f}\nsize={s}\nstride={st}\npad=1\nactivation={a}\n"

CLASSIFIER = """[net]
batch=1
subdivisions=1
width=16
height=16
channels=3
learning_rate=0.1
momentum=0.9
decay=0.0005
{schedule}
""" + CONV.format(bn=1, f=8, s=3, st=1, a="leaky") + """
[maxpool]
size=2
stride=2

""" + CONV.format(bn=1, f=16, s=3, st=1, a="leaky") + CONV.format(bn=0, f=4, s=1, st=1, a="linear") + """
[avgpool]

[softmax]
groups=1
{cost}"""

CONNECTED = """[net]
batch=1
subdivisions=1
width=12
height=12
channels=3
learning_rate=0.05
momentum=0.9
decay=0.001
policy=poly
power=2
max_batches=1000

""" + CONV.format(bn=1, f=6, s=3, st=1, a="relu") + CONV.format(bn=0, f=6, s=3, st=2, a="logistic") + """
[maxpool]
size=2
stride=2

[connected]
output=24
learning_rate=0.5
batch_normalize=1
activation=leaky

[connected]
output=5
activation=linear

[softmax]

[cost]
"""

DETECTOR = """[net]
batch=1
subdivisions=1
width=32
height=32
channels=3
learning_rate=0.01
momentum=0.9
decay=0.0005
burn_in=4
policy=steps
steps=50,200
scales=.1,.1

""" + CONV.format(bn=1, f=8, s=3, st=1, a="leaky") + """
[maxpool]
size=2
stride=2

""" + CONV.format(bn=1, f=16, s=3, st=1, a="leaky") + CONV.format(bn=1, f=16, s=3, st=1, a="leaky") + """
[shortcut]
from=-2
activation=linear

[maxpool]
size=2
stride=2

""" + CONV.format(bn=1, f=32, s=3, st=1, a="leaky") + CONV.format(bn=0, f=21, s=1, st=1, a="linear") + """
[yolo]
mask=3,4,5
anchors=4,5, 8,7, 10,14, 16,12, 20,24, 28,26
classes=2
num=6

[route]
layers=-4

""" + CONV.format(bn=1, f=16, s=1, st=1, a="leaky") + """
[upsample]
stride=2

[route]
layers=-1,4

""" + CONV.format(bn=1, f=32, s=3, st=1, a="leaky") + CONV.format(bn=0, f=21, s=1, st=1, a="linear") + """
[yolo]
mask=0,1,2
anchors=4,5, 8,7, 10,14, 16,12, 20,24, 28,26
classes=2
num=6
"""


def yolov3_tiny():
    """Debian's yolov3-tiny.cfg at 128×128 (its 1×1 convolutions each read a layer nothing else
    reads, so Darknet's overwriting 1×1 backward agrees with ours)."""
    text = open(os.path.join(darknet_ref.DARKNET_CFG, "yolov3-tiny.cfg")).read()
    return text.replace("width=416", "width=128").replace("height=416", "height=128")


STANDALONE = """[net]
batch=1
subdivisions=1
width=10
height=10
channels=3
learning_rate=0.1
momentum=0.9
decay=0.0005

""" + CONV.format(bn=0, f=6, s=3, st=1, a="linear") + """
[activation]
activation=leaky

[maxpool]
size=2
stride=2

""" + CONV.format(bn=0, f=3, s=1, st=1, a="logistic") + """
[avgpool]

[softmax]

[cost]
"""

# Shortcuts between shapes: a 16×16×8 layer into an 8×8×16 one (stride 2, the common 8
# channels), and an 8×8×8 one into a 16×16×8 one (sampled up), with alpha and beta.
RESIDUAL = """[net]
batch=1
subdivisions=1
width=16
height=16
channels=3
learning_rate=0.05
momentum=0.9
decay=0.0005

""" + CONV.format(bn=1, f=8, s=3, st=1, a="leaky") + CONV.format(bn=1, f=16, s=3, st=2, a="leaky") + """
[shortcut]
from=-2
activation=leaky

""" + CONV.format(bn=0, f=8, s=3, st=1, a="linear") + """
[upsample]
stride=2

[shortcut]
from=-2
alpha=0.5
beta=1.5
activation=linear

""" + CONV.format(bn=0, f=3, s=1, st=1, a="linear") + """
[avgpool]

[softmax]

[cost]
"""

REORG = """[net]
batch=1
subdivisions=1
width=12
height=12
channels=3
learning_rate=0.1
momentum=0.9
decay=0.0005

""" + CONV.format(bn=1, f=8, s=3, st=1, a="leaky") + """
[reorg]
stride=2

""" + CONV.format(bn=0, f=4, s=3, st=1, a="linear") + """
[avgpool]

[softmax]

[cost]
"""

ADAM = CLASSIFIER.format(schedule="adam=1\nB1=0.9\nB2=0.999\neps=0.01", cost="\n[cost]\n").replace(
    "learning_rate=0.1", "learning_rate=0.01").replace("decay=0.0005", "decay=0.05")  # decay that shows


def one_hot(rng, batch, classes):
    truth = np.zeros((batch, classes), dtype=np.float32)
    truth[np.arange(batch), rng.integers(0, classes, batch)] = 1
    return truth


def boxes(rng, batch, per_image=3, classes=2, slots=90):
    truth = np.zeros((batch, slots * 5), dtype=np.float32)
    for b in range(batch):
        for t in range(per_image):
            w, h = rng.uniform(0.1, 0.8, 2)
            x, y = rng.uniform(w / 2, 1 - w / 2), rng.uniform(h / 2, 1 - h / 2)
            truth[b, 5 * t:5 * t + 5] = (x, y, w, h, rng.integers(0, classes))
    return truth


CASES = [
    # name, cfg text, input shape (C, H, W), truth maker, seen before the step
    ("classifier, softmax + cost, constant rate", CLASSIFIER.format(schedule="", cost="\n[cost]\n"), (3, 16, 16),
     lambda rng, b: one_hot(rng, b, 4), 0),
    ("classifier, softmax alone, burn_in", CLASSIFIER.format(schedule="burn_in=10\npower=4", cost=""), (3, 16, 16),
     lambda rng, b: one_hot(rng, b, 4), 16),
    ("classifier, stopbackward=1 on its second convolution",
     CLASSIFIER.format(schedule="", cost="\n[cost]\n").replace("filters=16\n", "filters=16\nstopbackward=1\n"), (3, 16, 16),
     lambda rng, b: one_hot(rng, b, 4), 0),
    ("classifier, steps policy past a step", CLASSIFIER.format(schedule="policy=steps\nsteps=3,1000\nscales=.5,.1", cost="\n[cost]\n"),
     (3, 16, 16), lambda rng, b: one_hot(rng, b, 4), 40),
    ("connected classifier with batch-norm, poly, a layer's learning_rate", CONNECTED, (3, 12, 12), lambda rng, b: one_hot(rng, b, 5), 64),
    ("an [activation] layer", STANDALONE, (3, 10, 10), lambda rng, b: one_hot(rng, b, 3), 0),
    ("[reorg]", REORG, (3, 12, 12), lambda rng, b: one_hot(rng, b, 4), 0),
    ("shortcuts between shapes, alpha and beta", RESIDUAL, (3, 16, 16), lambda rng, b: one_hot(rng, b, 3), 0),
    ("yolo detector (route, upsample, shortcut, 2 yolo), burn_in", DETECTOR, (3, 32, 32), lambda rng, b: boxes(rng, b), 8),
    # Past burn_in=1000 at batch 4: the rate is learning_rate itself.
    ("classifier, adam=1 (Darknet's GPU update on libdarknet's CPU gradients)", ADAM, (3, 16, 16),
     lambda rng, b: one_hot(rng, b, 4), 0),
    ("yolov3-tiny at 128×128, 80 classes", yolov3_tiny(), (3, 128, 128), lambda rng, b: boxes(rng, b, 5, 80), 4004),
]


class Quiet:
    """Sends libdarknet's chatter on stdout and stderr (its layer table, the yolo layer's
    "Region …" lines) to /dev/null while it runs."""

    def __enter__(self):
        sys.stdout.flush()
        self.saved = [os.dup(1), os.dup(2)]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)

    def __exit__(self, *error):
        for fd, saved in zip((1, 2), self.saved):
            os.dup2(saved, fd)
            os.close(saved)


def weights_floats(path):
    data = open(path, "rb").read()
    major, minor, revision = struct.unpack("<3i", data[:12])
    wide = major * 10 + minor >= 2 and major < 1000 and minor < 1000
    seen = struct.unpack("<Q" if wide else "<I", data[12:20 if wide else 16])[0]
    return seen, np.frombuffer(data[20 if wide else 16:], dtype=np.float32)


def adam_reference(ref_cfg, weights, x, t, text, batch, sizes, work):
    """The weights after one step of Darknet's GPU Adam on libdarknet's CPU gradients."""
    options = dict(line.split("=", 1) for line in text.split("[convolutional]")[0].splitlines() if "=" in line)
    rate, decay = float(options["learning_rate"]), float(options["decay"])
    b1, b2, eps = (np.float32(options[k]) for k in ("B1", "B2", "eps"))
    cfg = os.path.join(work, "adam-ref.cfg")
    open(cfg, "w").write(open(ref_cfg).read().replace("momentum=0.9", "momentum=1"))
    with Quiet():
        gradients = darknet_ref.train_gradients(cfg, weights, x, t, sum(sizes))
        info = darknet_ref.Network(cfg).layer_info()
    _, before = weights_floats(weights)
    after = before.copy()
    offset = 0
    for (kind, norm, n, nweights, outputs, inputs), count in zip(info, sizes):
        if count == 0:
            continue
        if kind == "convolutional":
            roles = ["bias", "scale", "rolling", "rolling", "weight"] if norm else ["bias", "weight"]
            counts = [n, n, n, n, nweights] if norm else [n, nweights]
        else:
            roles = ["bias", "weight", "scale", "rolling", "rolling"] if norm else ["bias", "weight"]
            counts = [outputs, inputs * outputs, outputs, outputs, outputs][:len(roles)]
        for role, size in zip(roles, counts):
            w0, d = before[offset:offset + size], gradients[offset:offset + size].copy()
            if role == "rolling":
                after[offset:offset + size] = d
            else:
                if role != "weight":  # the CPU decayed the weights' gradient already
                    d -= np.float32(decay * batch) * w0
                m = (1 - b1) * d
                v = (1 - b2) * d * d
                after[offset:offset + size] = w0 + np.float32(rate) * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
            offset += size
    return after


def set_seen(path, seen):
    data = bytearray(open(path, "rb").read())
    data[12:20] = struct.pack("<Q", seen)
    open(path, "wb").write(bytes(data))


def main():
    tool = sys.argv[1]
    work = darknet_ref.scratch_directory("check-step-")
    rng = np.random.default_rng(22)
    batch = 4
    failures = 0
    for index, (name, text, shape, make_truth, seen) in enumerate(CASES):
        cfg = os.path.join(work, "case%d.cfg" % index)
        open(cfg, "w").write(text)
        ref_cfg = os.path.join(work, "case%d-ref.cfg" % index)
        open(ref_cfg, "w").write(text.replace("batch=1\n", "batch=%d\n" % batch, 1))
        weights = os.path.join(work, "case%d.weights" % index)
        subprocess.run([tool, "init", cfg, weights, "--seed", str(index + 1)], check=True)
        set_seen(weights, seen)
        x = rng.uniform(0, 1, (batch,) + shape).astype(np.float32)
        t = make_truth(rng, batch)
        np.save(os.path.join(work, "x.npy"), x)
        np.save(os.path.join(work, "t.npy"), t)
        ref_out, our_out = os.path.join(work, "ref.weights"), os.path.join(work, "ours.weights")
        with Quiet():
            ref_cost = darknet_ref.train_step(ref_cfg, weights, x, t, ref_out)
            sizes = darknet_ref.Network(ref_cfg).layer_floats()
        step = subprocess.run([tool, "step", cfg, weights, "--input", os.path.join(work, "x.npy"),
                               "--truth", os.path.join(work, "t.npy"), "--out", our_out], check=True, capture_output=True, text=True)
        our_cost = float(re.search(r"Darknet's cost (\S+) over", step.stdout).group(1))
        ref_seen, ref = weights_floats(ref_out)
        if "adam=1" in text:
            ref = adam_reference(ref_cfg, weights, x, t, text, batch, sizes, work)
        our_seen, ours = weights_floats(our_out)
        _, before = weights_floats(weights)
        problems = []
        # train_network_datum's return: calc_network_cost over the batch.
        if abs(our_cost - ref_cost) > 1e-5 + 1e-4 * abs(ref_cost):
            problems.append("cost %.7g, libdarknet %.7g" % (our_cost, ref_cost))
        if ref_seen != our_seen:
            problems.append("seen %d, libdarknet %d" % (our_seen, ref_seen))
        if ref.size != ours.size or ref.size != sum(sizes):
            problems.append("%d floats, libdarknet %d (layers %d)" % (ours.size, ref.size, sum(sizes)))
        worst = (0.0, 0.0, -1)  # (difference / tolerance, difference, layer)
        moved = 0.0
        offset = 0
        for layer, count in enumerate(sizes):
            if count == 0 or problems:
                offset += count
                continue
            r, o = ref[offset:offset + count], ours[offset:offset + count]
            tolerance = 1e-5 + 1e-4 * float(np.abs(r).max())
            difference = float(np.abs(r - o).max())
            moved = max(moved, float(np.abs(r - before[offset:offset + count]).max()))
            if difference / tolerance > worst[0]:
                worst = (difference / tolerance, difference, layer)
            if difference > tolerance:
                problems.append("layer %d: max difference %.3g > tolerance %.3g" % (layer, difference, tolerance))
            offset += count
        status = "ok" if not problems else "FAILED"
        print("%s: %s — seen %d, cost %.6g (libdarknet %.6g), worst layer %d: difference %.3g = %.3f of its tolerance; the step moved floats by up to %.3g"
              % (status, name, our_seen, our_cost, ref_cost, worst[2], worst[1], worst[0], moved))
        for problem in problems:
            print("   ", problem)
        failures += bool(problems)
    print("%d of %d cfgs agree with libdarknet's train_network_datum" % (len(CASES) - failures, len(CASES)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
