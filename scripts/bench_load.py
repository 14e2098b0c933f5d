#!/usr/bin/env python3
"""Loading a ~250 MB weights file (yolov3, written by libdarknet) against `cat FILE > /dev/null`,
both warm in the page cache, in alternating rounds (ROUNDS, default 11). Prints the rounds' ratios,
and what starting our process and parsing the cfg alone take (the floor under the whole command)."""
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

root = darknet_ref.ROOT
subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--product", "swift-darknet"], cwd=root, check=True, capture_output=True)
binary = os.path.join(root, ".build", "release", "swift-darknet")
cfg = os.path.join(root, "cfg", "yolov3.cfg")
weights = os.path.join(darknet_ref.scratch_directory("bench-load-"), "yolov3.weights")
subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, %r); import darknet_ref; darknet_ref.Network(%r).save(%r)"
                % (os.path.dirname(os.path.abspath(__file__)), darknet_ref.inference_cfg(cfg), weights)],
               check=True, capture_output=True)


ROUNDS = int(os.environ.get("ROUNDS", "11"))


def seconds(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, shell=isinstance(command, str))
    return time.perf_counter() - start


def in_process_seconds(*options):
    """The library's part alone: NetworkWeights(contentsOf:) as timed inside `bench` (at 32×32, one run)."""
    report = json.loads(subprocess.run([binary, "bench", cfg, weights, "--runs", "1", "--width", "32", "--height", "32", "--json", *options],
                                       check=True, capture_output=True, text=True).stdout)
    # Mapped unless told not to (or unless no lease could be had: then the numbers would be a read's).
    assert report["weights_mapped"] == ("--no-mmap" not in options), report
    return report["load_ms"] / 1e3


# Every command once per round, one after another, so that each round's ratios compare runs made
# under about the same load from the machine's other tenants. Started without a shell, as cat is
# (a shell would add ~1.5 ms to cat's time alone), except the pipe.
commands = {
    "cat": lambda: seconds(["cat", weights]),
    "piped": lambda: seconds("cat %s | cat > /dev/null" % weights),
    "numpy": lambda: seconds([sys.executable, "-c", "import numpy; numpy.fromfile(%r, dtype='<f4', offset=20)" % weights]),
    "inspect": lambda: seconds([binary, "inspect", cfg, weights]),
    "in_process": in_process_seconds,
    "inspect_read": lambda: seconds([binary, "inspect", cfg, weights, "--no-mmap"]),
    "in_process_read": lambda: in_process_seconds("--no-mmap"),
    "startup": lambda: seconds([binary, "summary", cfg]),
}
times = {name: [] for name in commands}
for _ in range(ROUNDS):
    for name, run in commands.items():
        times[name].append(run())


def ms(name):
    return "%7.1f ms" % (statistics.median(times[name]) * 1e3)


def ratio(name):
    """The median of the rounds' ratios to cat, with its quartiles."""
    ratios = sorted(ours / cat for ours, cat in zip(times[name], times["cat"]))
    low, median, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return "%.2f× (quartiles %.2f–%.2f)" % (median, low, high)


print("file: %.1f MB, warm page cache, medians of %d alternating rounds" % (os.path.getsize(weights) / 1e6, ROUNDS))
print("cat FILE > /dev/null:        %s  (read() again and again into one 128 KiB buffer that stays in cache)" % ms("cat"))
print("cat FILE | cat > /dev/null:  %s  (every byte copied through user space)" % ms("piped"))
print("numpy.fromfile:              %s  (one read into fresh memory: faulting its pages in is most of it)" % ms("numpy"))
print("swift-darknet inspect:       %s  (parse cfg, check counts, map the file under a lease, scan every float for NaN)" % ms("inspect"))
print("NetworkWeights(contentsOf:)  %s  (the same inside the process: open, check counts, lease, map, count NaN)" % ms("in_process"))
print("inspect --no-mmap:           %s  (the file read into fresh memory instead)" % ms("inspect_read"))
print("the same in the process:     %s" % ms("in_process_read"))
print("swift-darknet summary:       %s  (start the process and parse the cfg: no weights)" % ms("startup"))
print("against cat FILE > /dev/null, rounds' ratios: in the process %s; inspect %s" % (ratio("in_process"), ratio("inspect")))
print("read (--no-mmap):                             in the process %s; inspect %s" % (ratio("in_process_read"), ratio("inspect_read")))
os.unlink(weights)
