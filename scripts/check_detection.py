#!/usr/bin/env python3
"""`swift-darknet detect` against libdarknet's detector (load_image_color, letterbox_image,
network_predict, get_network_boxes, do_nms_sort) on the same weights (from our `init`) and
Darknet's sample images: the same number of objects and classes, probabilities within 1e-3 and
box corners within 0.5 px. Random weights make confident boxes rare or everywhere depending on
the network, so each model is checked at two thresholds that give tens to hundreds of objects.
Prints 'N passed, N failed'."""
import glob
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(darknet_ref.ROOT, ".build", "release", "swift-darknet")
# (cfg, init seed, thresholds); yolov2-tiny covers [region] (softmax over classes).
MODELS = [(os.path.join(darknet_ref.ROOT, "cfg", "yolov3.cfg"), 7, (0.7, 0.8)),
          (os.path.join(darknet_ref.ROOT, "cfg", "yolov3-tiny.cfg"), 3, (0.9, 0.95)),
          (os.path.join(darknet_ref.DARKNET_CFG, "yolov2-tiny.cfg"), 3, (0.1, 0.2))]
# Layer outputs agree to ~1e-5, so a probability that close to the threshold may fall on either
# side of it; such borderline objects are reported, not failed.
BORDERLINE = 1e-4
IMAGES = sorted(glob.glob("/usr/share/darknet/data/*.jpg"))
WORK = darknet_ref.scratch_directory("detection-")


def darknet_detections(cfg, weights, threshold):
    code = ("import sys, json; sys.path.insert(0, %r); import darknet_ref\n"
            "net = darknet_ref.Network(%r, %r)\n"
            "print(json.dumps({image: net.detect(image, %r) for image in %r}))") % (
        os.path.dirname(os.path.abspath(__file__)), cfg, weights, threshold, IMAGES)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-500:])
    return json.loads(run.stdout.strip().splitlines()[-1])


def unmatched(reference, ours):
    """Darknet's detections with no counterpart among ours (same class, prob within 1e-3,
    every corner within 0.5 px; each of ours is used once), and ours left over."""
    left = list(ours)
    missing = []
    for c, p, *box in sorted(reference, key=lambda d: -d[1]):
        best = None
        for i, d in enumerate(left):
            corners = max(abs(a - b) for a, b in zip(box, d["box"]))
            if d["class_id"] == c and abs(d["prob"] - p) <= 1e-3 and corners <= 0.5:
                if best is None or corners < best[0]:
                    best = (corners, i)
        if best is None:
            missing.append((c, p, box))
        else:
            left.pop(best[1])
    return missing, left


def main():
    results = []
    for path, seed, thresholds in MODELS:
        model = os.path.basename(path)[:-4]
        cfg = darknet_ref.inference_cfg(path)
        weights = os.path.join(WORK, model + ".weights")
        subprocess.run([BINARY, "init", cfg, weights, "--seed", str(seed)], check=True)
        for threshold in thresholds:
            reference = darknet_detections(cfg, weights, threshold)
            run = subprocess.run([BINARY, "detect", cfg, weights] + IMAGES + ["--thresh", str(threshold), "--json",
                                  "--out", os.path.join(WORK, "annotated")], capture_output=True, text=True)
            if run.returncode != 0:
                results.append(False)
                print("FAIL %s @%.2f: %s" % (model, threshold, run.stderr.strip()))
                continue
            ours = {entry["image"]: entry["detections"] for entry in json.loads(run.stdout)}
            for image in IMAGES:
                expected, got = reference[image], ours[image]
                missing, extra = unmatched(expected, got)
                borderline = [m for m in missing if m[1] - threshold < BORDERLINE] + [e for e in extra if e["prob"] - threshold < BORDERLINE]
                ok = len(missing) + len(extra) == len(borderline)
                results.append(ok)
                detail = "" if ok else ": %d of libdarknet's unmatched, e.g. %s; %d of ours, e.g. %s" % (len(missing), missing[:2], len(extra), extra[:2])
                if ok and borderline:
                    detail = " (%d borderline within %g of the threshold: %s)" % (len(borderline), BORDERLINE, borderline[:2])
                print("%s %s @%.2f %s: %d objects (libdarknet %d)%s" % ("ok  " if ok else "FAIL", model, threshold,
                      os.path.basename(image), len(got), len(expected), detail), flush=True)
    print("detection: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
