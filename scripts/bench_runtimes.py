#!/usr/bin/env python3
"""Our latency against the fastest fp32 CPU runtimes in one run: onnxruntime (CPU provider, all
graph optimisations) and OpenVINO (f32, INFERENCE_PRECISION_HINT set) on the ONNX file our
`export` writes, and OpenCV DNN (4.14) on the cfg; all on the same random weights (from our
`init`) and input, 2 threads, OPENBLAS_CORETYPE unset as on a fresh machine. Contenders run in
alternating rounds (the machine is shared and its load drifts); the table gives each median,
our ratio to each, our GFLOP/s, OpenBLAS's core and threads, and each process's peak RSS.
OpenVINO's own default precision (bf16 on AMX, not Darknet's numbers) is a reference line.
Build first: swift build -c release --static-swift-stdlib --product swift-darknet.
Environment: MODELS=yolov3,… RUNS ROUNDS BATCH."""
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "release", "swift-darknet")
RUNS = int(os.environ.get("RUNS", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BATCH = int(os.environ.get("BATCH", "1"))
THREADS = 2
MODELS = [("yolov3", os.path.join(ROOT, "cfg", "yolov3.cfg"), 416),
          ("yolov3-tiny", os.path.join(ROOT, "cfg", "yolov3-tiny.cfg"), 416),
          ("darknet53", "/usr/share/darknet/cfg/darknet53.cfg", 256)]
MODELS = [m for m in MODELS if m[0] in os.environ.get("MODELS", ",".join(m[0] for m in MODELS)).split(",")]
ENV = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}

# Each runtime runs in a process of its own, given: model file(s), input size, runs, batch, threads.
# It prints one JSON line: median and best run in ms, its peak RSS, and what it is.
TIMING = r"""
import json, resource, statistics, sys, time
import numpy as np
def timed(forward, runs):
    forward()
    times = []
    for _ in range(runs):
        start = time.perf_counter(); forward(); times.append(time.perf_counter() - start)
    return {"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3,
            "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
"""
RUNTIMES = {
    "OpenCV": TIMING + r"""
import cv2
cfg, weights, onnx, size, runs, batch, threads = sys.argv[1:3] + [sys.argv[3]] + [int(a) for a in sys.argv[4:]]
cv2.setNumThreads(threads)
net = cv2.dnn.readNetFromDarknet(cfg, weights)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
blob = np.full((batch, 3, size, size), 0.5, dtype=np.float32)
names = net.getUnconnectedOutLayersNames()
def forward():
    net.setInput(blob); net.forward(names)
print(json.dumps(dict(timed(forward, runs), version="OpenCV " + cv2.__version__)))
""",
    "onnxruntime": TIMING + r"""
import onnxruntime as ort
cfg, weights, onnx, size, runs, batch, threads = sys.argv[1:3] + [sys.argv[3]] + [int(a) for a in sys.argv[4:]]
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
feed = {"input": np.full((batch, 3, size, size), 0.5, dtype=np.float32)}
print(json.dumps(dict(timed(lambda: session.run(None, feed), runs), version="onnxruntime " + ort.__version__)))
""",
    "OpenVINO f32": TIMING + r"""
import openvino as ov
cfg, weights, onnx, size, runs, batch, threads = sys.argv[1:3] + [sys.argv[3]] + [int(a) for a in sys.argv[4:]]
config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}
compiled = ov.Core().compile_model(onnx, "CPU", config)
request = compiled.create_infer_request()
blob = np.full((batch, 3, size, size), 0.5, dtype=np.float32)
print(json.dumps(dict(timed(lambda: request.infer({0: blob}), runs), version="OpenVINO " + ov.__version__)))
""",
}
# The same as OpenVINO f32 but for the precision hint: its default on AMX is bf16.
RUNTIMES["OpenVINO default"] = RUNTIMES["OpenVINO f32"].replace(', "INFERENCE_PRECISION_HINT": "f32"', "")


def sized_cfg(cfg, size, work):
    lines = []
    for line in open(cfg).read().splitlines():
        key = line.split("=")[0].strip()
        if key in ("width", "height"):
            line = "%s=%d" % (key, size)
        elif key in ("batch", "subdivisions"):
            line = key + "=1"
        lines.append(line)
    path = os.path.join(work, os.path.basename(cfg))
    open(path, "w").write("\n".join(lines) + "\n")
    return path


def run_json(command):
    return json.loads(subprocess.run(command, capture_output=True, text=True, env=ENV, check=True).stdout)


def peak_rss_kb(command):
    run = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, capture_output=True, text=True, env=ENV, check=True)
    return int(run.stderr.strip().splitlines()[-1])


def main():
    work = scratch_directory("bench-runtimes-")
    contenders = ["ours"] + list(RUNTIMES)
    print("batch %d, %d threads, median of %d alternating rounds of %d runs, OPENBLAS_CORETYPE unset" % (BATCH, THREADS, ROUNDS, RUNS))
    header = "| model | " + " | ".join("%s (ms)" % c for c in contenders) + " | " + \
        " | ".join("ours/%s" % c for c in contenders[1:]) + " | our GFLOP/s | OpenBLAS core | peak RSS MB: " + ", ".join(contenders) + " |"
    table = [header, "|" + "---|" * (header.count("|") - 1)]
    notes = []
    for name, cfg, size in MODELS:
        cfg = sized_cfg(cfg, size, work)
        weights = os.path.join(work, name + ".weights")
        onnx = os.path.join(work, name + ".onnx")
        subprocess.run([BINARY, "init", cfg, weights], check=True, env=ENV, capture_output=True)
        subprocess.run([BINARY, "export", cfg, weights, onnx, "--batch", str(BATCH)], check=True, env=ENV, capture_output=True)
        rounds = {c: [] for c in contenders}
        for _ in range(ROUNDS):
            rounds["ours"].append(run_json([BINARY, "bench", cfg, weights, "--runs", str(RUNS), "--batch", str(BATCH),
                                            "--threads", str(THREADS), "--json"]))
            for runtime, script in RUNTIMES.items():
                rounds[runtime].append(run_json([sys.executable, "-c", script, cfg, weights, onnx, str(size), str(RUNS),
                                                 str(BATCH), str(THREADS)]))
        median = {c: statistics.median(r["median_ms"] for r in rounds[c]) for c in contenders}
        # Within each round, ours over theirs: that cancels the load drifting between rounds.
        per_round = {c: statistics.median(o["median_ms"] / t["median_ms"] for o, t in zip(rounds["ours"], rounds[c]))
                     for c in contenders[1:]}
        ours = rounds["ours"][0]
        ours_rss = peak_rss_kb([BINARY, "bench", cfg, weights, "--runs", "1", "--batch", str(BATCH), "--threads", str(THREADS)])
        rss = [ours_rss / 1024] + [max(r["rss_kb"] for r in rounds[c]) / 1024 for c in contenders[1:]]
        gflops = statistics.median(r["gflops"] for r in rounds["ours"])
        table.append("| %s @%d | " % (name, size) + " | ".join("%.1f" % median[c] for c in contenders) + " | "
                     + " | ".join("%.2f (%.2f)" % (median["ours"] / median[c], per_round[c]) for c in contenders[1:])
                     + " | %.0f | %s, %d threads | " % (gflops, ours["blas_core"], ours["threads"]) + ", ".join("%.0f" % m for m in rss) + " |")
        notes.append("%s: %s; OpenBLAS core %s (%s)" % (name, ", ".join(rounds[c][0]["version"] for c in contenders[1:]),
                                                       ours["blas_core"], ours.get("blas_core_origin", "?")))
    print("\n".join(table))
    print("ours/X: ratio of medians (in parentheses, the median of the rounds' own ratios); below 1 is faster than X. "
          "Peak RSS: our whole process, the others' whole Python process. OpenVINO default: its own precision, a reference line.")
    print("\n".join(notes))


if __name__ == "__main__":
    main()
