#!/usr/bin/env python3
"""Our latency against OpenCV DNN (opencv-python-headless 4.14, 2 threads) in one run, on the
same random weights (from our `init`) and input, with OPENBLAS_CORETYPE unset as on a fresh
machine; ours also with --no-winograd, to show what Winograd brings. Prints a table of medians
and ratios, the ratio within each round (the machine's load drifts between rounds), our
GFLOP/s, OpenBLAS's core and threads, and peak RSS for yolov3. Also the ratio of the two fastest
runs: on a machine shared with other tenants, the run least disturbed. Build first: swift build -c
release --static-swift-stdlib --product swift-darknet. MODELS=yolov3,… picks models."""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from darknet_ref import scratch_directory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build", "release", "swift-darknet")
RUNS = int(os.environ.get("RUNS", "10"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
BATCH = int(os.environ.get("BATCH", "1"))
MODELS = [("yolov3", os.path.join(ROOT, "cfg", "yolov3.cfg"), 416),
          ("yolov3-tiny", os.path.join(ROOT, "cfg", "yolov3-tiny.cfg"), 416),
          ("darknet53", "/usr/share/darknet/cfg/darknet53.cfg", 256)]
MODELS = [m for m in MODELS if m[0] in os.environ.get("MODELS", ",".join(m[0] for m in MODELS)).split(",")]
ENV = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}

OPENCV = r"""
import sys, time, json, resource, statistics
import numpy as np, cv2
cfg, weights, size, runs, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cv2.setNumThreads(2)
net = cv2.dnn.readNetFromDarknet(cfg, weights)
net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
blob = np.full((batch, 3, size, size), 0.5, dtype=np.float32)
names = net.getUnconnectedOutLayersNames()
net.setInput(blob); net.forward(names)
times = []
for _ in range(runs):
    start = time.perf_counter(); net.setInput(blob); net.forward(names); times.append(time.perf_counter() - start)
print(json.dumps({"median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3, "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "opencv": cv2.__version__, "threads": cv2.getNumThreads()}))
"""


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


def peak_rss_kb(command):
    run = subprocess.run(["/usr/bin/time", "-f", "%M"] + command, capture_output=True, text=True, env=ENV, check=True)
    return int(run.stderr.strip().splitlines()[-1])


def main():
    work = scratch_directory("bench-opencv-")
    rows = []
    for name, cfg, size in MODELS:
        cfg = sized_cfg(cfg, size, work)
        weights = os.path.join(work, name + ".weights")
        subprocess.run([BINARY, "init", cfg, weights], check=True, env=ENV)
        # Alternate the contenders in rounds: the machine is shared, and its load drifts over seconds.
        ours_rounds, direct_rounds, theirs_rounds = [], [], []
        for _ in range(ROUNDS):
            for rounds, extra in ((ours_rounds, []), (direct_rounds, ["--no-winograd"])):
                rounds.append(json.loads(subprocess.run(
                    [BINARY, "bench", cfg, weights, "--runs", str(RUNS), "--batch", str(BATCH), "--threads", "2", "--json"] + extra,
                    capture_output=True, text=True, env=ENV, check=True).stdout))
            theirs_rounds.append(json.loads(subprocess.run(
                [sys.executable, "-c", OPENCV, cfg, weights, str(size), str(RUNS), str(BATCH)],
                capture_output=True, text=True, env=ENV, check=True).stdout))
        median = lambda rounds: sorted(rounds, key=lambda r: r["median_ms"])[ROUNDS // 2]
        per_round = [o["median_ms"] / t["median_ms"] for o, t in zip(ours_rounds, theirs_rounds)]
        best = lambda rounds: min(r["min_ms"] for r in rounds)
        rows.append((name, size, median(ours_rounds), median(direct_rounds), median(theirs_rounds), per_round,
                     os.path.getsize(weights), best(ours_rounds) / best(theirs_rounds)))
    print("batch %d, median of %d alternating rounds of %d runs, OpenCV %s with %d threads, OPENBLAS_CORETYPE unset, "
          "our OpenBLAS workers spin 2^%s cycles when idle"
          % (BATCH, ROUNDS, RUNS, rows[0][4]["opencv"], rows[0][4]["threads"], rows[0][2]["worker_spin"]))
    print("| model | input | ours (ms) | ours, no Winograd (ms) | OpenCV (ms) | ours/OpenCV | rounds' ratios: median (quartiles) | best runs | our GFLOP/s | OpenBLAS core | threads |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, size, ours, direct, theirs, per_round, _, best_ratio in rows:
        quartiles = statistics.quantiles(per_round, n=4) if len(per_round) > 1 else per_round * 3
        print("| %s | %d | %.1f | %.1f | %.1f | %.2f | %.2f (%.2f–%.2f) | %.2f | %.0f | %s | %d |" % (
            name, size, ours["median_ms"], direct["median_ms"], theirs["median_ms"], ours["median_ms"] / theirs["median_ms"],
            statistics.median(per_round), quartiles[0], quartiles[2], best_ratio, ours["gflops"], ours["blas_core"], ours["threads"]))
    print("rounds' ratios: ours/OpenCV within each round, which cancels the load drifting between rounds; "
          "best runs: our fastest run over OpenCV's fastest, over all rounds (the least disturbed by other tenants)")
    for name, _, _, _, _, per_round, _, _ in rows:
        print("%s, each round: %s" % (name, " ".join("%.2f" % r for r in per_round)))
    if rows[0][0] != "yolov3":
        return
    theirs, weights_bytes = rows[0][4], rows[0][6]
    cfg = os.path.join(work, "yolov3.cfg")
    ours_rss = peak_rss_kb([BINARY, "bench", cfg, os.path.join(work, "yolov3.weights"), "--runs", "1", "--threads", "2"])
    print("peak RSS, yolov3 @416: ours %.0f MB, OpenCV (whole Python process) %.0f MB, weights file %.0f MB: ours = %.2f× the file"
          % (ours_rss / 1024, theirs["rss_kb"] / 1024, weights_bytes / 2**20, ours_rss * 1024 / weights_bytes))


if __name__ == "__main__":
    main()
