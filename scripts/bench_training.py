#!/usr/bin/env python3
"""The speed of a training step: our phases against our own inference forward pass, and our
step against PyTorch's (CPU, 2 threads) on the same architecture and batch.

Ours is `swift-darknet bench CFG --train --json`: per run an inference forward pass, then the
step's phases apart (forward in training mode, backward, update), medians. PyTorch's model is
built here from the cfg (convolutional with batch-norm and its activation, shortcut, route,
maxpool, upsample, connected; the loss is cross-entropy after a [softmax], else the sum of
squares of each [yolo] layer's input) and timed the same way: forward under no_grad in eval
mode, then forward in training mode with its loss, backward, and an SGD step (momentum, decay).
Ours and PyTorch alternate in rounds (the machine is shared); ratios are of medians.

PyTorch is not a dependency of the test command: for this benchmark only,
  pip install torch --index-url https://download.pytorch.org/whl/cpu
Without it the PyTorch columns are left out. Build first: swift build -c release.
Usage: bench_training.py [BINARY [BASELINE]]: with a second binary (an earlier build), it runs
in the same rounds and gets rows of its own. Environment RUNS (default 5), ROUNDS (3), CASES
(e.g. yolov5-cls@128/16,yolov3-tiny@224/16)."""
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")
BASELINE = sys.argv[2] if len(sys.argv) > 2 else None
RUNS = int(os.environ.get("RUNS", "5"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
THREADS = 2
# name, cfg, input size, batch, whether to end it with a [softmax] (the classifier's loss).
CASES = [("yolov5-cls", os.path.join(ROOT, "cfg", "yolov5-backbone-cls.cfg"), 224, 16, True),
         ("yolov5-cls", os.path.join(ROOT, "cfg", "yolov5-backbone-cls.cfg"), 128, 16, True),
         ("yolov3-tiny", os.path.join(ROOT, "cfg", "yolov3-tiny.cfg"), 224, 16, False),
         ("yolov3-tiny", os.path.join(ROOT, "cfg", "yolov3-tiny.cfg"), 128, 64, False)]
if "CASES" in os.environ:
    CASES = [c for c in CASES if "%s@%d/%d" % (c[0], c[2], c[3]) in os.environ["CASES"].split(",")]
ENV = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}

# Runs in a process of its own: cfg, size, batch, runs, threads. Prints one JSON line.
PYTORCH = r"""
import json, statistics, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg, size, batch, runs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(1)

def sections(path):
    result = []
    for line in open(path):
        line = line.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("["):
            result.append((line[1:-1], {}))
        else:
            key, value = line.split("=", 1)
            result[-1][1][key.strip()] = value.strip()
    return result

ACTIVATIONS = {"linear": nn.Identity, "leaky": lambda: nn.LeakyReLU(0.1), "relu": nn.ReLU, "swish": nn.SiLU,
               "mish": nn.Mish, "logistic": nn.Sigmoid}

class Net(nn.Module):
    # Darknet's kinds as this benchmark's cfgs use them; the forward pass follows the layer list.
    def __init__(self, path):
        super().__init__()
        parts = sections(path)
        net, layers = parts[0][1], parts[1:]
        channels, height, width = int(net.get("channels", 3)), size, size
        self.kinds, self.modules_, self.args = [], nn.ModuleList(), []
        shapes = []
        for kind, options in layers:
            index = len(shapes)
            module, args = nn.Identity(), None
            if kind == "convolutional":
                k, stride, filters = int(options["size"]), int(options.get("stride", 1)), int(options["filters"])
                pad = int(options["padding"]) if "padding" in options else (k // 2 if options.get("pad", "0") == "1" else 0)
                bn = options.get("batch_normalize", "0") == "1"
                module = nn.Sequential(nn.Conv2d(channels, filters, k, stride, pad, groups=int(options.get("groups", 1)), bias=not bn),
                                       nn.BatchNorm2d(filters, eps=1e-5, momentum=0.01) if bn else nn.Identity(),
                                       ACTIVATIONS[options.get("activation", "logistic")]())
                channels, height, width = filters, (height + 2 * pad - k) // stride + 1, (width + 2 * pad - k) // stride + 1
            elif kind == "maxpool":
                k, stride = int(options["size"]), int(options.get("stride", 1))
                padding = int(options.get("padding", k - 1))
                args = (k, stride, padding // 2, padding - padding // 2)
                height, width = (height + padding - k) // stride + 1, (width + padding - k) // stride + 1
            elif kind == "upsample":
                args = int(options["stride"])
                height, width = height * args, width * args
            elif kind == "shortcut":
                args = index + int(options["from"]) if int(options["from"]) < 0 else int(options["from"])
            elif kind == "route":
                args = [index + int(v) if int(v) < 0 else int(v) for v in options["layers"].split(",")]
                channels = sum(shapes[i][0] for i in args)
                height, width = shapes[args[0]][1], shapes[args[0]][2]
            elif kind == "connected":
                outputs = int(options["output"])
                module = nn.Sequential(nn.Flatten(), nn.Linear(channels * height * width, outputs),
                                       ACTIVATIONS[options.get("activation", "logistic")]())
                channels, height, width = outputs, 1, 1
            elif kind in ("softmax", "yolo"):
                pass
            else:
                raise SystemExit("bench_training.py: no PyTorch form for [%s]" % kind)
            self.kinds.append(kind)
            self.modules_.append(module)
            self.args.append(args)
            shapes.append((channels, height, width))

    def forward(self, x):
        outputs, losses = [], []
        for kind, module, args in zip(self.kinds, self.modules_, self.args):
            if kind == "maxpool":
                k, stride, before, after = args
                x = F.max_pool2d(F.pad(x, (before, after, before, after), value=float("-inf")), k, stride)
            elif kind == "upsample":
                x = F.interpolate(x, scale_factor=args, mode="nearest")
            elif kind == "shortcut":
                x = x + outputs[args]
            elif kind == "route":
                x = torch.cat([outputs[i] for i in args], 1)
            elif kind == "yolo":
                losses.append(x)
            else:
                x = module(x)
            outputs.append(x)
        return x, losses

model = Net(cfg)
optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9, weight_decay=0.0005)
images = torch.rand(batch, 3, size, size)
classes = torch.arange(batch)
def loss_of(output, yolo_inputs):
    if yolo_inputs:
        return sum((y * y).sum() for y in yolo_inputs)
    return F.cross_entropy(output, classes % output.shape[1], reduction="sum")

samples = {"forward_ms": [], "train_forward_ms": [], "backward_ms": [], "update_ms": []}
for run in range(runs + 1):
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        model(images)
    forward = time.perf_counter() - start
    model.train()
    start = time.perf_counter()
    loss = loss_of(*model(images))
    train_forward = time.perf_counter() - start
    start = time.perf_counter()
    optimizer.zero_grad(set_to_none=False)
    loss.backward()
    backward = time.perf_counter() - start
    start = time.perf_counter()
    optimizer.step()
    update = time.perf_counter() - start
    if run > 0:
        for key, value in zip(samples, (forward, train_forward, backward, update)):
            samples[key].append(value * 1e3)
print(json.dumps(dict({k: statistics.median(v) for k, v in samples.items()}, version="PyTorch " + torch.__version__,
                      threads=torch.get_num_threads())))
"""


def training_cfg(cfg, size, softmax, work):
    lines = []
    for line in open(cfg).read().splitlines():
        key = line.split("=")[0].strip()
        if key in ("width", "height"):
            line = "%s=%d" % (key, size)
        lines.append(line)
    if softmax:
        lines += ["", "[softmax]"]
    path = os.path.join(work, "%s-%d.cfg" % (os.path.basename(cfg)[:-4], size))
    open(path, "w").write("\n".join(lines) + "\n")
    return path


def run_json(command):
    return json.loads(subprocess.run(command, capture_output=True, text=True, env=ENV, check=True).stdout.strip().splitlines()[-1])


def has_torch():
    return subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0


def main():
    work = scratch_directory("bench-training-")
    torch = has_torch()
    if not torch:
        print("PyTorch is not installed: its columns are left out (pip install torch --index-url https://download.pytorch.org/whl/cpu)")
    print("%d threads, median of %d alternating rounds of %d runs, OPENBLAS_CORETYPE unset" % (THREADS, ROUNDS, RUNS))
    header = ("| model @size, batch | forward | training forward | backward | update | backward/forward | step/forward |"
              + (" PyTorch forward | PyTorch step (fwd, bwd, SGD) | ours/PyTorch step |" if torch else ""))
    table = [header, "|" + "---|" * (header.count("|") - 1)]
    notes = []
    binaries = [("ours", BINARY)] + ([("baseline", BASELINE)] if BASELINE else [])
    for name, cfg, size, batch, softmax in CASES:
        path = training_cfg(cfg, size, softmax, work)
        ours, theirs = {label: [] for label, _ in binaries}, []
        for _ in range(ROUNDS):
            for label, binary in binaries:
                ours[label].append(run_json([binary, "bench", path, "--train", "--runs", str(RUNS), "--batch", str(batch),
                                             "--threads", str(THREADS), "--json"]))
            if torch:
                theirs.append(run_json([sys.executable, "-c", PYTORCH, path, str(size), str(batch), str(RUNS), str(THREADS)]))
        keys = ("forward_ms", "train_forward_ms", "backward_ms", "update_ms")
        t = {k: statistics.median(r[k] for r in theirs) for k in keys} if torch else None
        for label, _ in binaries:
            m = {k: statistics.median(r[k] for r in ours[label]) for k in keys}
            step = m["train_forward_ms"] + m["backward_ms"] + m["update_ms"]
            row = "| %s @%d, %d%s | %.1f | %.1f | %.1f | %.1f | %.2f (%.2f of training forward) | %.2f |" % (
                name, size, batch, "" if label == "ours" else " (" + label + ")", m["forward_ms"], m["train_forward_ms"],
                m["backward_ms"], m["update_ms"], m["backward_ms"] / m["forward_ms"], m["backward_ms"] / m["train_forward_ms"],
                step / m["forward_ms"])
            if torch:
                their_step = t["train_forward_ms"] + t["backward_ms"] + t["update_ms"]
                row += " %.1f | %.1f (%.1f, %.1f, %.1f) | %.2f |" % (t["forward_ms"], their_step, t["train_forward_ms"],
                                                                  t["backward_ms"], t["update_ms"], step / their_step)
                notes.append("%s with %d threads" % (theirs[0]["version"], theirs[0]["threads"]))
            table.append(row)
            notes.append("%s: OpenBLAS %s, %d threads" % (label, ours[label][0]["blas_core"], ours[label][0]["threads"]))
            print(row, flush=True)
    print()
    print("\n".join(table))
    for note in sorted(set(notes)):
        print(note)


if __name__ == "__main__":
    main()
