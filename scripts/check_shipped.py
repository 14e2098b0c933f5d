#!/usr/bin/env python3
"""Every cfg in cfg/ end to end: init → inspect (exact fit) → run (every output finite and of
the summary's shape, and not constant) → convert (byte-identical). Prints 'N passed, N failed'."""
import glob
import json
import os
import shutil
import subprocess
import sys
import filecmp

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")
WORK = scratch_directory("shipped-cfgs-")


def ours(*args):
    run = subprocess.run([BINARY] + list(args), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("%s: %s%s" % (args[0], run.stdout[-300:], run.stderr.strip()))
    return run.stdout


def check(cfg):
    """One cfg in a folder of its own, removed afterwards (res2net-yolov3 @608 writes 700 MB)."""
    name = os.path.basename(cfg)[:-4]
    work = os.path.join(WORK, name)
    os.makedirs(work)
    try:
        return check_in(cfg, name, work)
    finally:
        shutil.rmtree(work, True)


def check_in(cfg, name, work):
    summary = json.loads(ours("summary", cfg, "--json"))
    weights = os.path.join(work, name + ".weights")
    ours("init", cfg, weights, "--seed", "5")
    if "verdict: exact fit" not in ours("inspect", cfg, weights):
        raise RuntimeError("inspect does not say exact fit")
    c, h, w = summary["layers"][0]["input"]
    image = os.path.join(work, name + ".npy")
    np.save(image, np.random.default_rng(1).random((c, h, w), dtype=np.float32))
    out = os.path.join(work, "outputs")
    ours("run", cfg, weights, "--input", image, "--out", out)
    files = sorted(os.listdir(out))
    for file in files:
        index = int(file[6:9])
        tensor = np.load(os.path.join(out, file))
        if list(tensor.shape) != summary["layers"][index]["output"]:
            raise RuntimeError("%s has shape %s, summary says %s" % (file, tensor.shape, summary["layers"][index]["output"]))
        if not np.all(np.isfinite(tensor)) or np.ptp(tensor) == 0:
            raise RuntimeError("%s is not finite or constant" % file)
    copy = os.path.join(work, name + ".copy.weights")
    ours("convert", cfg, weights, copy)
    if not filecmp.cmp(weights, copy, shallow=False):
        raise RuntimeError("convert changed the file")
    return "%s: %d layers, outputs %s, %s params" % (name, len(summary["layers"]), ", ".join(f[6:9] for f in files),
                                                      "{:,}".format(summary["totals"]["params"]))


results = []
for cfg in sorted(glob.glob(os.path.join(ROOT, "cfg", "*.cfg"))):
    try:
        message, ok = check(cfg), True
    except Exception as error:
        message, ok = "%s: %s" % (os.path.basename(cfg), error), False
    results.append(ok)
    print("%s %s" % ("ok  " if ok else "FAIL", message), flush=True)
print("shipped cfgs: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
sys.exit(0 if all(results) else 1)
