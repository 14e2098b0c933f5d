#!/usr/bin/env python3
"""Every cfg Debian's darknet ships goes through `swift-darknet summary`: the supported ones
with each layer's output shape equal to libdarknet's, the others with a not-supported error
naming the section and its line. Prints 'N passed, N failed'."""
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(darknet_ref.ROOT, ".build", "debug", "swift-darknet")


def darknet_layers(cfg):
    """libdarknet's layer table, read in a child process (Darknet exits on errors)."""
    code = ("import json,sys; sys.path.insert(0, %r); import darknet_ref; "
            "print(json.dumps(darknet_ref.Network(%r).layers()))") % (os.path.dirname(os.path.abspath(__file__)), cfg)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("libdarknet failed on %s: %s" % (cfg, run.stderr[-500:]))
    return json.loads(run.stdout.strip().splitlines()[-1])


def check(cfg):
    ours = subprocess.run([BINARY, "summary", cfg, "--json"], capture_output=True, text=True)
    if ours.returncode != 0:
        # Our refusal must name an unsupported section (or key) with its line.
        match = re.match(r"^(.+):(\d+): error: \[(\w+)\].*not supported", ours.stderr.strip())
        if not match or ours.stderr.count("\n") != 1:
            return "unexpected error: " + ours.stderr.strip()
        line = open(cfg).read().splitlines()[int(match.group(2)) - 1]
        if "[" + match.group(3) + "]" not in line and "=" not in line:
            return "error line %s does not hold [%s]: %r" % (match.group(2), match.group(3), line)
        return None
    layers = json.loads(ours.stdout)["layers"]
    path = darknet_ref.inference_cfg(cfg)
    try:
        reference = darknet_layers(path)
    finally:
        os.unlink(path)
    if len(reference) != len(layers):
        return "%d layers, libdarknet has %d" % (len(layers), len(reference))
    for layer, (kind, shape, outputs) in zip(layers, reference):
        c, h, w = layer["output"]
        if kind != layer["type"] and not (kind == "yolo" and layer["type"] == "yolo"):
            return "layer %d is %s, libdarknet says %s" % (layer["index"], layer["type"], kind)
        # Darknet reports 0×0×0 for flat outputs (reorg extra); then compare the element count.
        if tuple(shape) != (0, 0, 0) and tuple(shape) != (c, h, w):
            return "layer %d output %s, libdarknet %s" % (layer["index"], (c, h, w), tuple(shape))
        if outputs != c * h * w:
            return "layer %d has %d outputs, libdarknet %d" % (layer["index"], c * h * w, outputs)
    return None


def main():
    passed = failed = 0
    for cfg in sorted(glob.glob(os.path.join(darknet_ref.DARKNET_CFG, "*.cfg"))):
        problem = check(cfg)
        if problem:
            failed += 1
            print("FAIL %s: %s" % (os.path.basename(cfg), problem))
        else:
            passed += 1
            print("ok   %s" % os.path.basename(cfg))
    print("shapes: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
