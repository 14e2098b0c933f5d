#!/usr/bin/env python3
"""Makes the fixture that `swift test` (DetectionSetTests) checks the detection augmentation
against: Tests/DarknetTests/Fixtures/detection/augmentation.json, computed by libdarknet (Debian's
pjreddie build) through ctypes. Each step of `load_data_detection` apart: `place_image`,
`distort_image`, `flip_image`, and `fill_truth_detection` (which reads the label file and applies
`correct_boxes`; it shuffles the boxes with rand(), so a case with several boxes compares them as
a set). Then the whole of `load_data_detection` for one image: Darknet draws with the C
library's rand(), which this process shares, so after srand(seed) the same rand() calls are
made again here, in Darknet's order, and their values recorded as the draws the Swift side
replays (uniforms rand()/RAND_MAX and coin flips rand() % 2).

Everything is seeded: running the script again writes the same bytes; with --check it compares
what it would write with the committed file instead.
"""
import ctypes
import json
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

OUT = os.path.join(darknet_ref.ROOT, "Tests", "DarknetTests", "Fixtures", "detection", "augmentation.json")


class Image(ctypes.Structure):
    _fields_ = [("w", ctypes.c_int), ("h", ctypes.c_int), ("c", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_float))]


def library():
    lib = ctypes.CDLL(os.path.join(darknet_ref.DARKNET_LIB, "libdarknet.so"))
    lib.make_image.restype = Image
    lib.make_image.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.free_image.argtypes = [Image]
    lib.place_image.argtypes = [Image, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, Image]
    lib.distort_image.argtypes = [Image, ctypes.c_float, ctypes.c_float, ctypes.c_float]
    lib.flip_image.argtypes = [Image]
    lib.fill_truth_detection.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_int,
                                         ctypes.c_int, ctypes.c_float, ctypes.c_float, ctypes.c_float, ctypes.c_float]
    return lib


def to_darknet(lib, array):
    c, h, w = array.shape
    image = lib.make_image(w, h, c)
    flat = np.ascontiguousarray(array, dtype=np.float32).ravel()
    ctypes.memmove(image.data, flat.ctypes.data, flat.nbytes)
    return image


def from_darknet(image):
    return np.ctypeslib.as_array(image.data, shape=(image.c * image.h * image.w,)).copy()


def floats(array):
    """float32 values in their shortest decimal form, which reads back as the same float32."""
    return [float(np.format_float_positional(v, unique=True, trim="-")) for v in np.asarray(array, dtype=np.float32).ravel()]


class Matrix(ctypes.Structure):
    _fields_ = [("rows", ctypes.c_int), ("cols", ctypes.c_int), ("vals", ctypes.POINTER(ctypes.POINTER(ctypes.c_float)))]


class Data(ctypes.Structure):
    _fields_ = [("w", ctypes.c_int), ("h", ctypes.c_int), ("X", Matrix), ("y", Matrix), ("shallow", ctypes.c_int),
                ("num_boxes", ctypes.POINTER(ctypes.c_int)), ("boxes", ctypes.c_void_p)]


def load_cases(lib, scratch):
    """`load_data_detection` of one image (n = m = 1) after srand(seed), with the draws it made."""
    libc = ctypes.CDLL("libc.so.6")
    lib.load_data_detection.restype = Data
    lib.load_data_detection.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                        ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_float, ctypes.c_float,
                                        ctypes.c_float, ctypes.c_float]
    lib.load_image_color.restype = Image
    lib.load_image_color.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
    lib.free_data.argtypes = [Data]
    rng = np.random.default_rng(416)
    os.makedirs(os.path.join(scratch, "images"), exist_ok=True)
    labels = "0 0.3 0.4 0.3 0.5\n2 0.75 0.7 0.4 0.3\n1 0.1 0.9 0.15 0.15\n"
    cases = []
    for number, (iw, ih, w, h) in enumerate([(25, 15, 16, 16), (15, 25, 16, 12), (20, 20, 12, 16)]):
        path = os.path.join(scratch, "images", "load%d.png" % number)
        cv2.imwrite(path, rng.integers(0, 256, (ih, iw, 3), dtype=np.uint8))
        with open(os.path.join(scratch, "labels", "load%d.txt" % number), "w") as f:
            f.write(labels)
        image = lib.load_image_color(path.encode(), 0, 0)
        source = floats(from_darknet(image))
        lib.free_image(image)
        for seed in (3 * number + 1, 3 * number + 2, 3 * number + 3):
            jitter, hue, saturation, exposure = 0.3, 0.1, 1.5, 1.5
            libc.srand(seed)
            paths = (ctypes.c_char_p * 1)(path.encode())
            d = lib.load_data_detection(1, paths, 1, w, h, 90, 3, jitter, hue, saturation, exposure)
            pixels = np.ctypeslib.as_array(d.X.vals[0], shape=(3 * w * h,)).copy()
            truth = np.ctypeslib.as_array(d.y.vals[0], shape=(450,)).copy()
            lib.free_data(d)
            # The same calls again: the path's index, the width's and height's jitter, the
            # placement across and down, hue, saturation (uniform, coin), exposure (uniform,
            # coin), the flip, and one swap per box.
            libc.srand(seed)
            values = [libc.rand() for _ in range(11 + labels.count("\n"))]
            unit = floats([np.float32(v) / np.float32(2147483647) for v in values])
            cases.append({"source": {"width": iw, "height": ih, "data": source}, "labels": labels, "width": w, "height": h,
                          "jitter": jitter, "hue": hue, "saturation": saturation, "exposure": exposure,
                          "draws": {"width": unit[1], "height": unit[2], "left": unit[3], "top": unit[4], "hue": unit[5],
                                    "saturation": unit[6], "keep_saturation": values[7] % 2 == 1,
                                    "exposure": unit[8], "keep_exposure": values[9] % 2 == 1, "flip": values[10] % 2 == 1,
                                    "swaps": [v % 3 for v in values[11:]]},
                          "expected_input": floats(pixels), "expected_truth": floats(truth)})
    return cases


def main():
    lib = library()
    rng = np.random.default_rng(2022)
    source = rng.uniform(0, 1, (3, 9, 13)).astype(np.float32)
    # Some pixels with two equal channels, and a grey one, for rgb_to_hsv's branches.
    source[:, 0, 0] = [0.4, 0.4, 0.4]
    source[:, 0, 1] = [0.7, 0.7, 0.2]
    source[:, 0, 2] = [0.1, 0.6, 0.6]
    fixture = {"source": {"width": 13, "height": 9, "data": floats(source)}}

    fixture["place"] = []
    for w, h, dx, dy, cw, ch in [(20, 14, 3, 2, 24, 24), (7, 5, 0, 9, 16, 16), (13, 9, -2, -1, 16, 16), (26, 18, 0, 0, 24, 16)]:
        image = to_darknet(lib, source)
        canvas = to_darknet(lib, np.full((3, ch, cw), 0.5, dtype=np.float32))
        lib.place_image(image, w, h, dx, dy, canvas)
        fixture["place"].append({"width": w, "height": h, "dx": dx, "dy": dy, "canvas_width": cw, "canvas_height": ch,
                                 "expected": floats(from_darknet(canvas))})
        lib.free_image(image)
        lib.free_image(canvas)

    fixture["distort"] = []
    for hue, saturation, exposure in [(0, 1, 1), (0.1, 1.5, 0.7), (-0.3, 0.6, 1.4), (0.45, 2, 2), (-0.05, 1 / 1.5, 1.5)]:
        image = to_darknet(lib, source)
        lib.distort_image(image, hue, saturation, exposure)
        fixture["distort"].append({"hue": float(np.float32(hue)), "saturation": float(np.float32(saturation)),
                                   "exposure": float(np.float32(exposure)), "expected": floats(from_darknet(image))})
        lib.free_image(image)

    image = to_darknet(lib, source)
    lib.flip_image(image)
    fixture["flip"] = floats(from_darknet(image))
    lib.free_image(image)

    scratch = darknet_ref.scratch_directory("augmentation-fixture-")
    os.makedirs(os.path.join(scratch, "labels"))
    fixture["truth"] = []
    labels = [
        "0 0.5 0.5 0.2 0.4\n",
        "2 0.9 0.2 0.4 0.3\n",
        "1 0.05 0.95 0.1 0.1\n",
        "0 0.3 0.3 0.2 0.2\n1 0.7 0.6 0.3 0.5\n2 0.5 0.5 1 1\n0 0.99 0.5 0.02 0.1\n",
    ]
    placements = [(0, 0, 0, 1, 1), (1, -0.1, 0.05, 0.8, 0.9), (0, 0.2, -0.15, 1.2, 0.7), (1, 0.3, 0.3, 0.5, 0.5)]
    for number, text in enumerate(labels):
        with open(os.path.join(scratch, "labels", "%d.txt" % number), "w") as f:
            f.write(text)
        for flip, dx, dy, sx, sy in placements:
            truth = (ctypes.c_float * 50)()
            lib.fill_truth_detection(os.path.join(scratch, "images", "%d.jpg" % number).encode(), 10, truth, 3,
                                     flip, dx, dy, sx, sy)
            fixture["truth"].append({"labels": text, "flip": bool(flip), "dx": float(np.float32(dx)), "dy": float(np.float32(dy)),
                                     "sx": float(np.float32(sx)), "sy": float(np.float32(sy)), "max_boxes": 10,
                                     "expected": floats(truth)})

    fixture["load"] = load_cases(lib, scratch)

    text = json.dumps(fixture, separators=(",", ":")) + "\n"
    relative = os.path.relpath(OUT, darknet_ref.ROOT)
    if sys.argv[1:] == ["--check"]:
        with open(OUT) as f:
            if f.read() != text:
                print("FAIL: %s differs from what libdarknet makes" % relative)
                return 1
        print("ok: %s is what libdarknet makes" % relative)
        return 0
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + ".tmp", "w") as f:
        f.write(text)
    os.replace(OUT + ".tmp", OUT)
    print("wrote %s" % relative)
    return 0


if __name__ == "__main__":
    sys.exit(main())
