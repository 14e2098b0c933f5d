#!/usr/bin/env python3
"""A synthetic 4-class detection set in Darknet's layout: circles, crosses, squares, triangles.

    make_shapes_detection_dataset.py OUT [--train N] [--valid M] [--seed S] [--size 96]

writes OUT/images/{train,valid}/NNNNN.png, a YOLO label file for each beside it as Darknet finds
it (OUT/labels/{train,valid}/NNNNN.txt: `class x y w h` per object, relative to the image),
OUT/train.txt and OUT/valid.txt (the images' paths relative to OUT), OUT/shapes.names and
OUT/shapes.data (classes=4, train=, valid=, names=, backup=). Darknet reads the lists' paths from
where it runs, so run it in OUT; `swift-darknet train --data OUT/shapes.data` also finds them
beside the lists. Each image holds 1 to 3 shapes of random colours, sizes, positions and
rotations, apart from one another, on a flat or gradient background with Gaussian noise; each
box is the drawn shape's extent. The same seed gives the same files, byte for byte. NumPy and
OpenCV only.
"""
import argparse
import os
import sys

import cv2
import numpy as np

from make_shapes_dataset import CLASSES, background, colour_apart


def corners(kind, rng, radius):
    """The outline of a shape of `radius` about the origin, before rotation; None for a circle."""
    if kind == "square":
        return [(radius * np.cos(a), radius * np.sin(a)) for a in np.arange(4) * np.pi / 2 + np.pi / 4]
    if kind == "triangle":
        return [(radius * np.cos(a), radius * np.sin(a)) for a in np.arange(3) * 2 * np.pi / 3 - np.pi / 2]
    if kind == "cross":
        arm = radius * rng.uniform(0.22, 0.35)
        return list(zip([arm, arm, radius, radius, arm, arm, -arm, -arm, -radius, -radius, -arm, -arm],
                        [radius, arm, arm, -arm, -arm, -radius, -radius, -arm, -arm, arm, arm, radius]))
    return None


def draw(rng, kind, size, centre, radius):
    """A float mask in [0, 1] of one shape, anti-aliased."""
    mask = np.zeros((size, size), np.uint8)
    outline = corners(kind, rng, radius)
    if outline is None:
        cv2.circle(mask, tuple(int(round(v * 16)) for v in centre), int(round(radius * 16)), 255, -1, cv2.LINE_AA, shift=4)
    else:
        turn = rng.uniform(0, 2 * np.pi)
        c, s = np.cos(turn), np.sin(turn)
        points = np.array([(centre[0] + c * x - s * y, centre[1] + s * x + c * y) for x, y in outline])
        cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255


def extent(mask):
    """The box (left, top, right, bottom) in pixels of the mask's pixels over half covered."""
    rows, columns = np.nonzero(mask > 0.5)
    return columns.min(), rows.min(), columns.max() + 1, rows.max() + 1


def make_image(rng, size):
    image, mean = background(rng, size)
    objects, taken = [], []
    for _ in range(rng.integers(1, 4)):
        for _attempt in range(50):
            radius = rng.uniform(0.1, 0.3) * size
            centre = rng.uniform(radius + 1, size - radius - 1, 2)
            # Apart from the shapes already drawn, so that no box hides another.
            if all(np.hypot(*(centre - c)) > radius + r + 2 for c, r in taken):
                break
        else:
            continue
        taken.append((centre, radius))
        kind = int(rng.integers(0, len(CLASSES)))
        alpha = draw(rng, CLASSES[kind], size, centre, radius)
        image = (1 - alpha[..., None]) * image + alpha[..., None] * colour_apart(rng, mean)
        left, top, right, bottom = extent(alpha)
        objects.append((kind, (left + right) / 2 / size, (top + bottom) / 2 / size, (right - left) / size, (bottom - top) / size))
    image += rng.normal(0, rng.uniform(0, 10), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8), objects


def write_text(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--train", type=int, default=400, help="training images (default 400)")
    parser.add_argument("--valid", type=int, default=100, help="validation images (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=96, help="image width and height (default 96)")
    args = parser.parse_args()
    if args.size < 32 or args.train < 1 or args.valid < 0:
        sys.exit("make_shapes_detection_dataset.py: --size must be at least 32, --train at least 1, --valid at least 0")
    rng = np.random.default_rng(args.seed)
    boxes = 0
    for split, count in (("train", args.train), ("valid", args.valid)) if args.valid else (("train", args.train),):
        os.makedirs(os.path.join(args.out, "images", split), exist_ok=True)
        os.makedirs(os.path.join(args.out, "labels", split), exist_ok=True)
        listed = []
        for index in range(count):
            image, objects = make_image(rng, args.size)
            name = "%05d" % index
            # RGB drawn, BGR written: OpenCV's order.
            cv2.imwrite(os.path.join(args.out, "images", split, name + ".png"), image[..., ::-1])
            write_text(os.path.join(args.out, "labels", split, name + ".txt"),
                       "".join("%d %.6f %.6f %.6f %.6f\n" % o for o in objects))
            listed.append("images/%s/%s.png\n" % (split, name))
            boxes += len(objects)
        write_text(os.path.join(args.out, split + ".txt"), "".join(listed))
    write_text(os.path.join(args.out, "shapes.names"), "".join(c + "\n" for c in CLASSES))
    valid = "valid=valid.txt\n" if args.valid else ""
    write_text(os.path.join(args.out, "shapes.data"),
               "classes=%d\ntrain=train.txt\n%snames=shapes.names\nbackup=backup/\n" % (len(CLASSES), valid))
    print("%s: %d train and %d valid images of %d×%d, %d boxes of %d classes"
          % (args.out, args.train, args.valid, args.size, args.size, boxes, len(CLASSES)))


if __name__ == "__main__":
    main()
