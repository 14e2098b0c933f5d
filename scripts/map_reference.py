#!/usr/bin/env python3
"""Makes the mAP fixture that `swift test` (DetectionSetTests) checks AveragePrecision against:
Tests/DarknetTests/Fixtures/detection/map.json, random detections and truths with the average
precision per class and its mean computed here in NumPy, apart from the Swift code.

The metric is VOC 2010's all-point average precision, as AlexeyAB's `validate_detector_map`
computes it with points=0: per class, detections by falling probability (ties in the order
given: image, then position), each matched to the truth of its class in its image with the
largest IoU above the threshold; a true positive if that truth is not yet taken, else a false
positive. AP is the area under the precision envelope (precision made non-increasing in
recall). The mean is over the classes that have truth.

The generator is seeded: running the script again writes the same bytes; with --check it
compares what it would write with the committed file instead.
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "DarknetTests", "Fixtures", "detection", "map.json")


def iou(a, b):
    """a, b: corners (left, top, right, bottom)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = 0.0 if w < 0 or h < 0 else w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


def voc_ap(recall, precision):
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    steps = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def average_precision(detections, truths, threshold):
    """detections[i]: [(class, prob, left, top, right, bottom)]; truths[i]: [(class, x, y, w, h)]."""
    corners = [[(c, x - w / 2, y - h / 2, x + w / 2, y + h / 2) for c, x, y, w, h in image] for image in truths]
    classes = sorted({t[0] for image in truths for t in image})
    per_class = {}
    for cls in classes:
        count = sum(1 for image in truths for t in image if t[0] == cls)
        found = [(i, d) for i, image in enumerate(detections) for d in image if d[0] == cls]
        order = np.argsort([-d[1] for _, d in found], kind="stable")
        taken = set()
        tp = np.zeros(len(found))
        for rank, k in enumerate(order):
            i, d = found[k]
            best, best_iou = None, 0.0
            for j, t in enumerate(corners[i]):
                if t[0] != cls:
                    continue
                o = iou(d[2:], t[1:])
                if o > threshold and o > best_iou:
                    best, best_iou = j, o
            if best is not None and (i, best) not in taken:
                taken.add((i, best))
                tp[rank] = 1
        ctp = np.cumsum(tp)
        cfp = np.cumsum(1 - tp)
        recall = ctp / count
        precision = ctp / np.maximum(ctp + cfp, np.finfo(np.float64).eps)
        per_class[cls] = voc_ap(recall, precision)
    mean = float(np.mean(list(per_class.values()))) if per_class else 0.0
    return per_class, mean


def f32(value):
    return float(np.float32(value))


def make_case(rng, images, classes, width, height):
    """Truths at random; detections near some of them (some duplicates, some strays), with
    probabilities on a coarse grid so that ties occur."""
    truths, detections = [], []
    for _ in range(images):
        boxes = []
        for _ in range(rng.integers(0, 5)):
            w, h = rng.uniform(0.05, 0.5) * width, rng.uniform(0.05, 0.5) * height
            x, y = rng.uniform(w / 2, width - w / 2), rng.uniform(h / 2, height - h / 2)
            boxes.append((int(rng.integers(0, classes)), f32(x), f32(y), f32(w), f32(h)))
        found = []
        for c, x, y, w, h in boxes:
            for _ in range(rng.integers(0, 3)):
                jx, jy = rng.normal(0, 0.08 * w), rng.normal(0, 0.08 * h)
                sw, sh = w * rng.uniform(0.8, 1.2), h * rng.uniform(0.8, 1.2)
                cls = c if rng.uniform() < 0.85 else int(rng.integers(0, classes))
                found.append((cls, f32(round(rng.uniform(0.01, 1), 2)),
                              f32(x + jx - sw / 2), f32(y + jy - sh / 2), f32(x + jx + sw / 2), f32(y + jy + sh / 2)))
        for _ in range(rng.integers(0, 3)):
            w, h = rng.uniform(0.05, 0.5) * width, rng.uniform(0.05, 0.5) * height
            left, top = rng.uniform(0, width - w), rng.uniform(0, height - h)
            found.append((int(rng.integers(0, classes)), f32(round(rng.uniform(0.01, 1), 2)),
                          f32(left), f32(top), f32(left + w), f32(top + h)))
        order = rng.permutation(len(found))
        truths.append(boxes)
        detections.append([found[k] for k in order])
    return detections, truths


def cases():
    rng = np.random.default_rng(22)
    out = []
    for number in range(12):
        images = int(rng.integers(1, 30))
        classes = int(rng.integers(1, 6))
        threshold = 0.5 if number % 3 else 0.75
        detections, truths = make_case(rng, images, classes, 640.0, 480.0)
        per_class, mean = average_precision(detections, truths, threshold)
        out.append({
            "iou_threshold": threshold,
            "detections": [[list(d) for d in image] for image in detections],
            "truths": [[list(t) for t in image] for image in truths],
            "per_class": {str(c): ap for c, ap in per_class.items()},
            "mean": mean,
        })
    return out


def hand_checks():
    """Worked examples whose AP is known by hand."""
    # Two truths; ranks TP, FP (duplicate), TP: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1.
    truths = [[(0, 50, 50, 20, 20), (0, 150, 50, 20, 20)]]
    detections = [[(0, 0.9, 40, 40, 60, 60), (0, 0.8, 41, 41, 61, 61), (0, 0.7, 140, 40, 160, 60)]]
    per_class, mean = average_precision(detections, truths, 0.5)
    assert abs(per_class[0] - (0.5 + 0.5 * 2 / 3)) < 1e-12, per_class
    # A class with truth and no detection counts 0 in the mean.
    per_class, mean = average_precision([[]], [[(1, 10, 10, 4, 4)]], 0.5)
    assert per_class == {1: 0.0} and mean == 0.0


def main():
    hand_checks()
    text = json.dumps(cases(), indent=None, separators=(",", ":")) + "\n"
    if sys.argv[1:] == ["--check"]:
        with open(OUT) as f:
            committed = f.read()
        if committed != text:
            print("FAIL: %s differs from what scripts/map_reference.py makes" % os.path.relpath(OUT, ROOT))
            return 1
        print("ok: %s is what the NumPy reference makes" % os.path.relpath(OUT, ROOT))
        return 0
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + ".tmp", "w") as f:
        f.write(text)
    os.replace(OUT + ".tmp", OUT)
    print("wrote %s" % os.path.relpath(OUT, ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
