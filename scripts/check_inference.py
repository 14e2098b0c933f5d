#!/usr/bin/env python3
"""Every layer's output of `swift-darknet run` against libdarknet's on the same weights (from
our `init`) and the same input: max|a−b| ≤ 1e-4 + 1e-3·max|ref| per layer. Also the
standalone [batchnorm] (which crashes Darknet on CPU) against NumPy, and [activation] layers (each
of a few of Darknet's functions, and its default, linear) against libdarknet. yolov3 runs twice: as
the runtime chooses (Winograd for its larger 3×3 layers) and with --no-winograd (im2col + GEMM
throughout). yolov3-tiny and yolov3 also run a batch (several images in one GEMM for the small
layers, the layers between image by image), their outputs compared with libdarknet's for each
image. Prints 'N passed, N failed'."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(darknet_ref.ROOT, ".build", "release", "swift-darknet")
MODELS = sys.argv[2].split(",") if len(sys.argv) > 2 else [
    "yolov3:416", "yolov3:416:direct", "yolov3:416:batch2", "yolov3-tiny:416", "yolov3-tiny:416:batch3", "yolov3-spp:416",
    "darknet53:256", "darknet19", "resnet50", "densenet201", "yolov2:416", "yolov2-tiny"]
WORK = darknet_ref.scratch_directory("swift-darknet-inference-")


def ours(*args):
    run = subprocess.run([BINARY] + list(args), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("swift-darknet %s: %s" % (args[0], run.stderr.strip()))


def darknet_outputs(cfg, weights, image, target):
    """libdarknet's per-layer outputs, computed in a child process, saved as an .npz."""
    code = ("import sys, numpy as np; sys.path.insert(0, %r); import darknet_ref\n"
            "outputs = darknet_ref.Network(%r, %r).predict(np.load(%r))\n"
            "np.savez(%r, *outputs)") % (os.path.dirname(os.path.abspath(__file__)), cfg, weights, image, target)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("libdarknet: " + run.stderr[-800:])
    archive = np.load(target)
    return [archive["arr_%d" % i] for i in range(len(archive.files))]


def compare(name, reference, actual):
    """Returns the worst layer as (ratio of error to tolerance, layer, error)."""
    worst = (0.0, -1, 0.0)
    for index, (ref, got) in enumerate(zip(reference, actual)):
        ref = ref.reshape(-1)
        got = got.reshape(-1)
        if ref.shape != got.shape:
            return (float("inf"), index, "shape %s vs %s" % (got.shape, ref.shape))
        tolerance = 1e-4 + 1e-3 * float(np.max(np.abs(ref)))
        error = float(np.max(np.abs(ref - got))) if ref.size else 0.0
        if not np.isfinite(error):
            return (float("inf"), index, "non-finite")
        worst = max(worst, (error / tolerance, index, error))
    return worst


def check_model(entry, rng):
    """One model in a folder of its own, removed afterwards: yolov3-spp's layer outputs alone
    are half a gigabyte."""
    model, _, rest = entry.partition(":")
    # method "direct": every convolution as im2col + GEMM; "batchN": N images, outputs only
    size, _, method = rest.partition(":")
    work = os.path.join(WORK, model)
    os.makedirs(work)
    try:
        if method.startswith("batch"):
            return compare_batch(model, int(size) if size else None, int(method[len("batch"):]), work, rng)
        return compare_model(model, int(size) if size else None, method == "direct", work, rng)
    finally:
        shutil.rmtree(work, True)


def prepare(model, size, work, seed):
    """Darknet's cfg sized for inference, our random weights for it, and our summary of it."""
    cfg = darknet_ref.inference_cfg(os.path.join(darknet_ref.DARKNET_CFG, model + ".cfg"), size, size)
    weights = os.path.join(work, model + ".weights")
    ours("init", cfg, weights, "--seed", str(seed))
    summary = json.loads(subprocess.run([BINARY, "summary", cfg, "--json"], capture_output=True, text=True).stdout)
    return cfg, weights, summary


def compare_model(model, size, direct, work, rng):
    cfg, weights, summary = prepare(model, size, work, seed=7)
    c, h, w = summary["layers"][0]["input"]
    image = os.path.join(work, model + ".input.npy")
    np.save(image, rng.random((c, h, w), dtype=np.float32))
    out = os.path.join(work, model + ".ours")
    ours("run", cfg, weights, "--input", image, "--layers", "all", "--out", out, *(["--no-winograd"] if direct else []))
    actual = [np.load(os.path.join(out, "layer_%03d.npy" % i)) for i in range(len(summary["layers"]))]
    reference = darknet_outputs(cfg, weights, image, os.path.join(work, model + ".darknet.npz"))
    ratio, layer, error = compare(model, reference, actual)
    peak = max(float(np.max(np.abs(r))) for r in reference)
    label = "%s @%dx%d%s (%d layers, max |activation| %.3g)" % (model, w, h, ", no Winograd" if direct else "", len(actual), peak)
    return ratio <= 1, "%s: worst layer %d, error %s = %.3f of tolerance" % (label, layer, error, ratio)


def compare_batch(model, size, images, work, rng):
    """`run` on a batch against libdarknet on each of its images, output layers only: the path
    a detector takes."""
    cfg, weights, summary = prepare(model, size, work, seed=11)
    batch = rng.random([images] + summary["layers"][0]["input"], dtype=np.float32)
    np.save(os.path.join(work, "batch.npy"), batch)
    out = os.path.join(work, "ours")
    ours("run", cfg, weights, "--input", os.path.join(work, "batch.npy"), "--out", out)
    kept = sorted(int(name[len("layer_"):-len(".npy")]) for name in os.listdir(out))
    actual = {layer: np.load(os.path.join(out, "layer_%03d.npy" % layer)) for layer in kept}
    worst = (0.0, -1, 0.0, -1)
    for image in range(images):
        np.save(os.path.join(work, "image.npy"), batch[image])
        reference = darknet_outputs(cfg, weights, os.path.join(work, "image.npy"), os.path.join(work, "darknet.npz"))
        ratio, index, error = compare(model, [reference[layer] for layer in kept], [actual[layer][image] for layer in kept])
        worst = max(worst, (ratio, kept[index] if index >= 0 else index, error, image))
    ratio, layer, error, image = worst
    label = "%s @%dx%d, batch of %d (output layers %s)" % (model, batch.shape[3], batch.shape[2], images, kept)
    return ratio <= 1, "%s: worst layer %d of image %d, error %s = %.3f of tolerance" % (label, layer, image, error, ratio)


def check_batchnorm(rng):
    cfg = os.path.join(WORK, "batchnorm.cfg")
    with open(cfg, "w") as f:
        f.write("[net]\nwidth=5\nheight=4\nchannels=3\n[convolutional]\nfilters=6\nsize=3\npad=1\nactivation=leaky\n[batchnorm]\n")
    weights = os.path.join(WORK, "batchnorm.weights")
    header = np.array([0, 2, 0], dtype="<i4").tobytes() + np.array([0], dtype="<u8").tobytes()
    conv = rng.standard_normal(6 + 6 * 27).astype("<f4")
    scales, mean = rng.uniform(0.5, 1.5, 6).astype("<f4"), rng.standard_normal(6).astype("<f4")
    variance = rng.uniform(0.5, 2, 6).astype("<f4")
    with open(weights, "wb") as f:
        f.write(header + conv.tobytes() + scales.tobytes() + mean.tobytes() + variance.tobytes())
    image = os.path.join(WORK, "batchnorm.input.npy")
    np.save(image, rng.random((3, 4, 5), dtype=np.float32))
    out = os.path.join(WORK, "batchnorm.ours")
    ours("run", cfg, weights, "--input", image, "--layers", "all", "--out", out)
    x = np.load(os.path.join(out, "layer_000.npy")).astype(np.float64)
    expected = scales[:, None, None] * (x - mean[:, None, None]) / (np.sqrt(variance)[:, None, None] + 1e-6)
    got = np.load(os.path.join(out, "layer_001.npy"))
    error = float(np.max(np.abs(got - expected)))
    tolerance = 1e-4 + 1e-3 * float(np.max(np.abs(expected)))
    return error <= tolerance, "[batchnorm] against NumPy: error %.3g, tolerance %.3g" % (error, tolerance)


def check_activation(rng):
    """Each [activation] reads the convolution's output through a route, so that every function
    sees negative and positive values."""
    work = os.path.join(WORK, "activation")
    os.makedirs(work)
    functions = ["leaky", "elu", "tanh", "logistic", "relu", "ramp", None]
    cfg = os.path.join(work, "activation.cfg")
    with open(cfg, "w") as f:
        f.write("[net]\nwidth=7\nheight=5\nchannels=3\n[convolutional]\nfilters=4\nsize=3\npad=1\nactivation=linear\n")
        for i, function in enumerate(functions):
            f.write(("[route]\nlayers=0\n" if i else "") + "[activation]\n" + ("activation=%s\n" % function if function else ""))
    weights = os.path.join(work, "activation.weights")
    ours("init", cfg, weights, "--seed", "5")
    image = os.path.join(work, "input.npy")
    np.save(image, rng.standard_normal((3, 5, 7)).astype(np.float32))
    out = os.path.join(work, "ours")
    ours("run", cfg, weights, "--input", image, "--layers", "all", "--out", out)
    actual = [np.load(os.path.join(out, "layer_%03d.npy" % i)) for i in range(len(os.listdir(out)))]
    reference = darknet_outputs(cfg, weights, image, os.path.join(work, "darknet.npz"))
    if len(reference) != len(actual):
        return False, "[activation]: libdarknet has %d layers, we have %d" % (len(reference), len(actual))
    ratio, layer, error = compare("activation", reference, actual)
    names = ", ".join(function or "default" for function in functions)
    return ratio <= 1, "[activation] (%s) against libdarknet: worst layer %d, error %s = %.3f of tolerance" % (names, layer, error, ratio)


def main():
    rng = np.random.default_rng(2024)
    results = []
    for check in [lambda: check_batchnorm(rng), lambda: check_activation(np.random.default_rng(19))] + [lambda m=m: check_model(m, rng) for m in MODELS]:
        try:
            ok, message = check()
        except Exception as error:  # a crash of either side is a failed check, with its message
            ok, message = False, str(error)
        results.append(ok)
        print("%s %s" % ("ok  " if ok else "FAIL", message), flush=True)
    print("inference: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
