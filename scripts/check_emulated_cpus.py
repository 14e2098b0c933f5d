#!/usr/bin/env python3
"""The release binary on processors without AVX-512 and without AVX2, emulated by qemu-user
(-cpu Haswell, -cpu Nehalem): it must run there (nothing of ours may assume the build machine's
instructions), report the processor's kernels and OpenBLAS's matching core, and give yolov3-tiny's
outputs and detections as on this machine. At 224x224: emulation is slow. Prints 'N passed, N failed'."""
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")
WORK = scratch_directory("emulated-cpus-")
CFG = os.path.join(ROOT, "cfg", "yolov3-tiny.cfg")
IMAGE = "/usr/share/darknet/data/dog.jpg"
# The processors qemu emulates, the kernels they allow and the OpenBLAS core that runs them.
SIZE = ["--width", "224", "--height", "224"]
# One small layer is enough for bench to report the processor and the core.
BENCH_CFG = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=leaky\n"
CPUS = [("Haswell", "AVX2", "Haswell"), ("Nehalem", "SSE", "Nehalem")]


def ours(prefix, *args):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    run = subprocess.run(prefix + [BINARY] + list(args), capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (args[0], run.returncode, run.stderr.strip()[-500:]))
    return run.stdout


def outputs(folder):
    return {name: np.load(os.path.join(folder, name)) for name in sorted(os.listdir(folder))}


weights = os.path.join(WORK, "yolov3-tiny.weights")
ours([], "init", CFG, weights, "--seed", "3")
bench_cfg = os.path.join(WORK, "bench.cfg")
with open(bench_cfg, "w") as file:
    file.write(BENCH_CFG)
summary = json.loads(ours([], "summary", CFG, "--json", *SIZE))
c, h, w = summary["layers"][0]["input"]
tensor = os.path.join(WORK, "input.npy")
np.save(tensor, np.random.default_rng(2).random((c, h, w), dtype=np.float32))
# --no-mmap: qemu-user does not pass file leases through, so both sides read the file.
ours([], "run", CFG, weights, "--input", tensor, "--out", os.path.join(WORK, "native"), "--no-mmap", *SIZE)
reference = outputs(os.path.join(WORK, "native"))


def detections(prefix, folder):
    # A high threshold: random weights score many boxes, and emulated NMS over them is slow.
    found = ours(prefix, "detect", CFG, weights, IMAGE, "--thresh", "0.9", "--json", "--no-mmap", "--out",
                 os.path.join(WORK, folder), *SIZE)
    return json.loads(found)[0]["detections"]


reference_boxes = detections([], "native-detections")

results = []
for cpu, instructions, core in CPUS:
    qemu = ["qemu-x86_64", "-cpu", cpu]
    try:
        bench = json.loads(ours(qemu, "bench", bench_cfg, "--runs", "1", "--json"))
        if (bench["cpu_kernels"], bench["blas_core"]) != (instructions, core):
            raise RuntimeError("reports %s kernels and OpenBLAS %s, expected %s and %s"
                               % (bench["cpu_kernels"], bench["blas_core"], instructions, core))
        ours(qemu, "run", CFG, weights, "--input", tensor, "--out", os.path.join(WORK, cpu), "--no-mmap", *SIZE)
        emulated = outputs(os.path.join(WORK, cpu))
        if emulated.keys() != reference.keys():
            raise RuntimeError("outputs %s, natively %s" % (sorted(emulated), sorted(reference)))
        worst = 0.0
        for name, expected in reference.items():
            # Other GEMM kernels sum in another order: the cross-checks' tolerance.
            error = float(np.max(np.abs(emulated[name] - expected)))
            allowed = 1e-4 + 1e-3 * float(np.max(np.abs(expected)))
            worst = max(worst, error / allowed)
        if worst > 1:
            raise RuntimeError("outputs differ by %.2f of the tolerance" % worst)
        boxes = detections(qemu, cpu + "-detections")
        if [b["class_id"] for b in boxes] != [b["class_id"] for b in reference_boxes] or any(
                abs(a["prob"] - b["prob"]) > 1e-3 or max(abs(p - q) for p, q in zip(a["box"], b["box"])) > 0.5
                for a, b in zip(boxes, reference_boxes)):
            raise RuntimeError("detections differ: %d here, %d natively" % (len(boxes), len(reference_boxes)))
        message, ok = "%s: %s kernels, OpenBLAS %s; outputs within %.3f of the tolerance; %d detections as natively" % (
            cpu, instructions, core, worst, len(boxes)), True
    except Exception as error:
        message, ok = "%s: %s" % (cpu, error), False
    results.append(ok)
    print("%s %s" % ("ok  " if ok else "FAIL", message), flush=True)
print("emulated CPUs: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
sys.exit(0 if all(results) else 1)
