#!/usr/bin/env python3
"""A synthetic 4-class image set for training classifiers: circle, cross, square, triangle.

    make_shapes_dataset.py OUT [--train N] [--val M] [--seed S] [--size 64]

writes OUT/train/<class>/NNNNN.png (N per class) and OUT/val/<class>/NNNNN.png (M per class),
the layout of PyTorch's ImageFolder and of `swift-darknet train --data OUT`. Each image is one
shape of a random colour, size, position and rotation on a random background (a flat colour or
a gradient) with Gaussian noise; the shape's colour always differs clearly from the background's.
The same seed gives the same files, byte for byte. NumPy and OpenCV only.
"""
import argparse
import os
import sys

import cv2
import numpy as np

CLASSES = ["circle", "cross", "square", "triangle"]


def background(rng, size):
    """A flat colour or a linear gradient between two colours, float32 (size, size, 3) in 0..255."""
    a = rng.uniform(0, 255, 3)
    if rng.random() < 0.5:
        return np.broadcast_to(a, (size, size, 3)).astype(np.float32), a
    b = rng.uniform(0, 255, 3)
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:size, 0:size] / (size - 1)
    t = (np.cos(angle) * (x - 0.5) + np.sin(angle) * (y - 0.5)) + 0.5
    t = np.clip(t, 0, 1)[..., None]
    return ((1 - t) * a + t * b).astype(np.float32), (a + b) / 2


def shape_mask(rng, kind, size):
    """A uint8 mask of one shape: centre, radius and rotation drawn at random inside the image."""
    radius = rng.uniform(0.18, 0.38) * size
    cx, cy = rng.uniform(radius + 1, size - radius - 1, 2)
    rotation = rng.uniform(0, 2 * np.pi)
    mask = np.zeros((size, size), np.uint8)

    def polygon(angles, radii):
        points = np.stack([cx + radii * np.cos(angles + rotation), cy + radii * np.sin(angles + rotation)], 1)
        cv2.fillPoly(mask, [np.round(points * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)

    if kind == "circle":
        cv2.circle(mask, (int(round(cx * 16)), int(round(cy * 16))), int(round(radius * 16)), 255, -1, cv2.LINE_AA, shift=4)
    elif kind == "square":
        polygon(np.arange(4) * np.pi / 2 + np.pi / 4, np.full(4, radius))
    elif kind == "triangle":
        polygon(np.arange(3) * 2 * np.pi / 3, np.full(3, radius))
    elif kind == "cross":
        # A plus sign of 12 corners: arms of width 2w and reach r.
        w = radius * rng.uniform(0.22, 0.35)
        xs = np.array([w, w, radius, radius, w, w, -w, -w, -radius, -radius, -w, -w])
        ys = np.array([radius, w, w, -w, -w, -radius, -radius, -w, -w, w, w, radius])
        polygon(np.arctan2(ys, xs), np.hypot(xs, ys))
    return mask


def colour_apart(rng, reference):
    """A colour at least 100 away (Euclidean, 0..255) from `reference`."""
    while True:
        colour = rng.uniform(0, 255, 3)
        if np.linalg.norm(colour - reference) >= 100:
            return colour


def make_image(rng, kind, size):
    image, mean = background(rng, size)
    alpha = shape_mask(rng, kind, size).astype(np.float32)[..., None] / 255
    image = (1 - alpha) * image + alpha * colour_apart(rng, mean)
    image += rng.normal(0, rng.uniform(0, 12), image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--train", type=int, default=200, help="images per class in train/ (default 200)")
    parser.add_argument("--val", type=int, default=50, help="images per class in val/ (default 50)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=64, help="image width and height (default 64)")
    args = parser.parse_args()
    if args.size < 16 or args.train < 0 or args.val < 0:
        sys.exit("make_shapes_dataset.py: --size must be at least 16, --train and --val at least 0")
    rng = np.random.default_rng(args.seed)
    for split, count in (("train", args.train), ("val", args.val)):
        for kind in CLASSES:
            folder = os.path.join(args.out, split, kind)
            os.makedirs(folder, exist_ok=True)
            for index in range(count):
                image = make_image(rng, kind, args.size)
                # RGB drawn, BGR written: OpenCV's order.
                cv2.imwrite(os.path.join(folder, "%05d.png" % index), image[..., ::-1])
    print("%s: %d classes, %d train and %d val images each, %d×%d" % (args.out, len(CLASSES), args.train, args.val, args.size, args.size))


if __name__ == "__main__":
    main()
