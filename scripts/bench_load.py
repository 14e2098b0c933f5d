#!/usr/bin/env python3
"""Loading a ~250 MB weights file (yolov3, written by libdarknet) against `cat FILE > /dev/null`,
both warm in the page cache, median of several runs. Prints the ratio, and what starting our
process and parsing the cfg alone take (the floor under any loading)."""
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

root = darknet_ref.ROOT
subprocess.run(["swift", "build", "-c", "release", "--product", "swift-darknet"], cwd=root, check=True, capture_output=True)
binary = os.path.join(root, ".build", "release", "swift-darknet")
cfg = os.path.join(root, "cfg", "yolov3.cfg")
weights = os.path.join(darknet_ref.scratch_directory("bench-load-"), "yolov3.weights")
subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import darknet_ref; darknet_ref.Network(%r).save(%r)"
                % (os.path.dirname(os.path.abspath(__file__)), darknet_ref.inference_cfg(cfg), weights)],
               check=True, capture_output=True)


def median_seconds(command, runs=7):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, shell=isinstance(command, str))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# Started without a shell, as every command below is (a shell would add ~1.5 ms to cat's time alone).
cat = median_seconds(["cat", weights])
piped = median_seconds("cat %s | cat > /dev/null" % weights)
numpy = median_seconds([sys.executable, "-c", "import numpy; numpy.fromfile(%r, dtype='<f4', offset=20)" % weights])
load = median_seconds([binary, "inspect", cfg, weights])
# The library's part alone: NetworkWeights(contentsOf:) as timed inside `bench` (at 32×32, one run).
in_process = statistics.median(
    json.loads(subprocess.run([binary, "bench", cfg, weights, "--runs", "1", "--width", "32", "--height", "32", "--json"],
                              check=True, capture_output=True, text=True).stdout)["load_ms"] / 1e3 for _ in range(7))
startup = median_seconds([binary, "summary", cfg])
print("file: %.1f MB, warm page cache, median of 7" % (os.path.getsize(weights) / 1e6))
print("cat FILE > /dev/null:        %7.1f ms  (read() again and again into one 128 KiB buffer that stays in cache)" % (cat * 1e3))
print("cat FILE | cat > /dev/null:  %7.1f ms  (every byte copied through user space)" % (piped * 1e3))
print("numpy.fromfile:              %7.1f ms  (one read into fresh memory: faulting its pages in is most of it)" % (numpy * 1e3))
print("swift-darknet inspect:       %7.1f ms  (parse cfg, check counts, read every float, scan for NaN)" % (load * 1e3))
print("NetworkWeights(contentsOf:) %7.1f ms  (the same inside the process: open, check counts, read, count NaN)" % (in_process * 1e3))
print("swift-darknet summary:       %7.1f ms  (start the process and parse the cfg: no weights)" % (startup * 1e3))
print("ratio: %.2f× cat > /dev/null, %.2f× cat | cat, %.2f× numpy.fromfile; in the process %.2f× cat > /dev/null"
      % (load / cat, load / piped, load / numpy, in_process / cat))
os.unlink(weights)
