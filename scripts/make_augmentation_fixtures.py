#!/usr/bin/env python3
"""Makes the fixtures that `swift test` checks a classifier's augmentation pieces against
(Tests/DarknetTests/Fixtures/augmentation), computed by libdarknet (Debian's pjreddie build):

  input.npy        an image, float32 (3, 7, 9), uniform in [0, 1), with grey and black pixels
  rotate_crop.npy  rotate_crop_image(input, rad=0.3, s=1.7, w=6, h=5, dx=1.2, dy=-0.7, aspect=1.3)
  distort.npy      distort_image(input, hue=0.13, sat=1.4, val=0.8)
  distort_wrap.npy distort_image(input, hue=-0.45, sat=0.6, val=1.5) (hue wraps, values clamp)
  flip.npy         flip_image(input)
  center_crop.npy  center_crop_image(input, 5, 4)

The parameters are repeated in AugmentationTests. Seeded: running the script again rewrites the
same bytes; with `--check` it compares what it makes with the committed files instead.
"""
import ctypes
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref  # noqa: E402

OUT = os.path.join(darknet_ref.ROOT, "Tests", "DarknetTests", "Fixtures", "augmentation")


class IMAGE(ctypes.Structure):
    _fields_ = [("w", ctypes.c_int), ("h", ctypes.c_int), ("c", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_float))]


def fixtures():
    lib = ctypes.CDLL(os.path.join(darknet_ref.DARKNET_LIB, "libdarknet.so"))
    for name in ("rotate_crop_image", "center_crop_image", "copy_image"):
        getattr(lib, name).restype = IMAGE
    lib.rotate_crop_image.argtypes = [IMAGE, ctypes.c_float, ctypes.c_float, ctypes.c_int, ctypes.c_int,
                                      ctypes.c_float, ctypes.c_float, ctypes.c_float]
    lib.center_crop_image.argtypes = [IMAGE, ctypes.c_int, ctypes.c_int]
    lib.copy_image.argtypes = [IMAGE]
    lib.distort_image.argtypes = [IMAGE, ctypes.c_float, ctypes.c_float, ctypes.c_float]
    lib.flip_image.argtypes = [IMAGE]

    rng = np.random.default_rng(22)
    source = rng.random((3, 7, 9), dtype=np.float32)
    source[:, 0, 0] = 0.5   # grey: no hue
    source[:, 0, 1] = 0.0   # black
    source[0, 1, 1] = source[1, 1, 1] = 0.9  # two channels tie for the maximum
    source = np.ascontiguousarray(source)

    def image(array):
        return IMAGE(array.shape[2], array.shape[1], array.shape[0], array.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))

    def array(im):
        return np.ctypeslib.as_array(im.data, shape=(im.c, im.h, im.w)).copy()

    def modified(function, *args):
        copy = source.copy()
        function(image(copy), *args)
        return copy

    return {
        "input": source,
        "rotate_crop": array(lib.rotate_crop_image(image(source), 0.3, 1.7, 6, 5, 1.2, -0.7, 1.3)),
        "distort": modified(lib.distort_image, 0.13, 1.4, 0.8),
        "distort_wrap": modified(lib.distort_image, -0.45, 0.6, 1.5),
        "flip": modified(lib.flip_image),
        "center_crop": array(lib.center_crop_image(image(source), 5, 4)),
    }


def main():
    made = fixtures()
    if sys.argv[1:] == ["--check"]:
        stale = [name for name, value in made.items()
                 if not np.array_equal(np.load(os.path.join(OUT, name + ".npy")), value)]
        print("augmentation fixtures: " + ("current" if not stale else "stale: " + ", ".join(stale)))
        return 1 if stale else 0
    os.makedirs(OUT, exist_ok=True)
    for name, value in made.items():
        path = os.path.join(OUT, name + ".npy")
        with open(path + ".tmp", "wb") as f:
            np.save(f, value.astype(np.float32))
        os.replace(path + ".tmp", path)
    print("wrote %d fixtures to %s" % (len(made), OUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
