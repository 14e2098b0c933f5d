#!/usr/bin/env python3
"""`swift-darknet export` against the runtimes that read its files. Each model is exported with
random weights (our `init`) and checked by onnx.checker (full_check); onnxruntime and OpenVINO
(f32) run it and every output must match the reference within 1e-4 + 1e-3·max|ref|: libdarknet's
output for Darknet's own cfgs, ours (`run`, itself checked against libdarknet and NumPy by the
other scripts) for the shipped cfgs and for small nets of the kinds and keys libdarknet lacks.
The outputs must be the layers `run` writes. Every layer's value in the graph is named after it,
so a copy of each model with all of them as outputs compares every layer, not only the outputs
(a classifier's softmax would hide much). A --dynamic-batch export runs a batch of 2, each image
against its own single run. Prints 'N passed, N failed'."""
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime
import openvino

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import darknet_ref

ROOT = darknet_ref.ROOT
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "swift-darknet")
WORK = darknet_ref.scratch_directory("swift-darknet-onnx-")

# Darknet's cfgs that libdarknet runs (check_inference.py's nets), at sizes that keep this step short.
DARKNET_MODELS = [("yolov3", 256), ("yolov3-tiny", 416), ("yolov3-spp", 256), ("darknet53", 224), ("darknet19", 224),
                  ("resnet50", 224), ("densenet201", 160), ("yolov2", 288), ("yolov2-tiny", 416)]
# The shipped cfgs: the large ones smaller than their [net] size.
SHIPPED_SIZES = {"yolov3": 320, "res2net-yolov3": 320, "res2net-triangle-yolov3": 320}

# Small nets for what the nets above do not have: shortcuts of different shapes with alpha and
# beta, route groups, reorg both ways and with extra, upsample with scale and downsampling,
# maxpool pads as large as the window, grouped and dilated convolutions, softmax groups and
# temperature, standalone batch-norm, connected with batch-norm, dropout, cost and every
# activation. Each layer feeds the next, so that the one output depends on every layer.
# AlexeyAB's: shared, antialiased (both kinds) and channel-normalised convolutions; local
# average pools with partial windows, maxpool_depth with channels short of a multiple,
# implicit tensors scaling a map, shortcuts of several layers of other channel counts, weighted
# per feature and per channel, and a Gaussian_yolo head with scale_x_y.
ACTIVATIONS = ["linear", "leaky", "logistic", "relu", "elu", "selu", "relie", "ramp", "tanh", "plse", "stair",
               "hardtan", "lhtan", "loggy", "relu6", "swish", "mish"]
SMALL_NETS = {
    "kinds": """[net]
width=16
height=16
channels=3
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=leaky
[convolutional]
filters=12
size=3
stride=2
pad=1
activation=leaky
[shortcut]
from=0
alpha=0.5
beta=2
activation=leaky
[convolutional]
filters=6
size=1
activation=relu
[upsample]
stride=2
scale=1.5
[shortcut]
from=2
alpha=0.7
[shortcut]
from=0
[shortcut]
from=1
beta=0.5
[route]
layers=7,0
groups=2
group_id=1
[convolutional]
filters=8
size=1
activation=linear
[reorg]
stride=2
[reorg]
stride=2
reverse=1
[upsample]
stride=-2
scale=0.5
[maxpool]
size=3
stride=2
padding=8
[activation]
activation=logistic
[maxpool]
size=2
stride=1
[convolutional]
filters=20
size=3
pad=1
groups=4
activation=swish
[convolutional]
filters=20
size=3
pad=1
groups=20
dilation=2
activation=relu6
""",
    "heads": """[net]
width=10
height=10
channels=3
[convolutional]
filters=20
size=3
pad=1
batch_normalize=1
activation=leaky
[softmax]
groups=4
temperature=2
[batchnorm]
[convolutional]
filters=12
size=3
stride=2
pad=1
activation=linear
[avgpool]
[connected]
output=30
batch_normalize=1
activation=tanh
[dropout]
probability=0.3
[connected]
output=12
activation=linear
[reorg]
extra=3
[softmax]
groups=3
[cost]
""",
    "ab-yolo": """[net]
width=16
height=16
channels=3
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=mish
[convolutional]
filters=14
size=1
activation=linear
[yolo]
mask=0,1
anchors=4,6, 8,5
classes=2
num=2
scale_x_y=1.1
nms_kind=greedynms
[route]
layers=-3
[convolutional]
filters=14
size=1
activation=logistic
[yolo]
mask=0,1
anchors=4,6, 8,5
classes=2
num=2
scale_x_y=2.0
new_coords=1
""",
    "ab-convolutions": """[net]
width=16
height=12
channels=3
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=leaky
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=swish
[convolutional]
filters=8
size=3
pad=1
batch_normalize=1
activation=swish
share_index=-1
[convolutional]
filters=10
size=3
stride=2
pad=1
antialiasing=1
activation=leaky
[convolutional]
filters=8
size=3
stride=2
pad=1
antialiasing=2
batch_normalize=1
activation=mish
[convolutional]
filters=6
size=1
activation=normalize_channels
[convolutional]
filters=6
size=3
pad=1
activation=normalize_channels_softmax
[convolutional]
filters=6
size=1
stride=2
antialiasing=2
activation=normalize_channels_softmax_maxval
""",
    "ab-kinds": """[net]
width=13
height=11
channels=3
[convolutional]
filters=8
size=3
pad=1
activation=leaky
[local_avgpool]
size=3
stride=1
[local_avgpool]
size=2
stride=2
[maxpool]
maxpool_depth=1
out_channels=3
[implicit]
filters=8
[scale_channels]
from=2
[convolutional]
filters=5
size=1
activation=linear
[shortcut]
from=-2,-5
weights_type=per_channel
weights_normalization=softmax
activation=leaky
[shortcut]
from=-3,-5
weights_type=per_feature
weights_normalization=relu
[shortcut]
from=-2
weights_type=per_channel
weights_normalization=relu
[shortcut]
from=-4,-7
activation=logistic
[convolutional]
filters=22
size=1
activation=linear
[Gaussian_yolo]
classes=2
num=3
mask=0,2
anchors=2,3, 4,5, 6,7
scale_x_y=1.2
""",
    "activations": "[net]\nwidth=9\nheight=7\nchannels=3\n[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=linear\n"
    + "".join("[route]\nlayers=0\n[activation]\nactivation=%s\n" % a for a in ACTIVATIONS)
    + "[route]\nlayers=%s\n" % ",".join(str(2 + 2 * i) for i in range(len(ACTIVATIONS))),
}


def swift_darknet(*args):
    run = subprocess.run([BINARY] + list(args), capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("swift-darknet %s: %s" % (args[0], run.stderr.strip()))
    return run.stdout


def ours(cfg, weights, images, size_options, work, layers="outputs"):
    """Our `run` on each image alone: {layer: [output of each image]} for its default outputs
    (or every layer)."""
    outputs = {}
    for i, image in enumerate(images):
        np.save(os.path.join(work, "image.npy"), image)
        out = os.path.join(work, "ours-%s%d" % (layers, i))
        swift_darknet("run", cfg, weights, "--input", os.path.join(work, "image.npy"), "--out", out, "--layers", layers, *size_options)
        for name in sorted(os.listdir(out)):
            outputs.setdefault(int(name[len("layer_"):-len(".npy")]), []).append(np.load(os.path.join(out, name)))
    return outputs


def darknet(cfg, weights, images, layers, work):
    """libdarknet's outputs of `layers` for each image alone, computed in a child process."""
    np.save(os.path.join(work, "images.npy"), np.stack(images))
    target = os.path.join(work, "darknet.npz")
    code = ("import sys, numpy as np; sys.path.insert(0, %r); import darknet_ref\n"
            "network = darknet_ref.Network(%r, %r)\n"
            "outputs = [network.predict(image) for image in np.load(%r)]\n"
            "np.savez(%r, **{'layer_%%d' %% l: np.stack([o[l] for o in outputs]) for l in %r})"
            ) % (os.path.dirname(os.path.abspath(__file__)), cfg, weights, os.path.join(work, "images.npy"), target, layers)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("libdarknet: " + run.stderr[-800:])
    archive = np.load(target)
    return {layer: list(archive["layer_%d" % layer]) for layer in layers}


def onnxruntime_run(path, batch):
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": batch})))


def openvino_run(path, batch):
    compiled = openvino.Core().compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    result = compiled(batch)
    # OpenVINO folds an Identity into its input, which then carries both names.
    return {name: np.asarray(result[output]) for output in compiled.outputs for name in output.get_names()}


def worst(reference, actual, images):
    """The worst output of the worst image: (error / tolerance, name, error)."""
    result = (0.0, "", 0.0)
    for layer, refs in reference.items():
        name = "layer_%03d" % layer
        for image in images:
            ref, got = refs[image].reshape(-1), actual[name][image].reshape(-1)
            if ref.shape != got.shape:
                return (float("inf"), name, "shape %s, expected %s" % (actual[name].shape, ref.shape))
            error = float(np.max(np.abs(ref - got)))
            if not np.isfinite(error):
                return (float("inf"), name, "not finite")
            result = max(result, (error / (1e-4 + 1e-3 * float(np.max(np.abs(ref)))), name, error))
    return result


def every_layer(path, target):
    """A copy of an exported model whose outputs are every layer's value, `layer_NNN`."""
    model = onnx.load(path)
    outputs = {output.name for output in model.graph.output}
    names = sorted({name for node in model.graph.node for name in node.output if name.startswith("layer_") and "/" not in name})
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in names if name not in outputs)
    onnx.save(model, target)
    return [int(name[len("layer_"):]) for name in names]


def export_and_check(cfg, weights, path, options, expected_outputs):
    swift_darknet("export", cfg, weights, path, *options)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    names = [output.name for output in model.graph.output]
    if names != ["layer_%03d" % layer for layer in expected_outputs]:
        raise RuntimeError("outputs %s, but run writes layers %s" % (names, expected_outputs))


def check(label, cfg, weights, size_options, work, reference_kind, rng, fixed_batch=None, opsets=()):
    """One model: fixed batch (1, or `fixed_batch`) in onnxruntime and OpenVINO, a dynamic batch
    of 2 in onnxruntime, each image against the reference of its single run."""
    summary = json.loads(swift_darknet("summary", cfg, "--json", *size_options))
    c, h, w = summary["layers"][0]["input"]
    images = list(rng.random((2, c, h, w), dtype=np.float32) * (4 if "activations" in label else 1))
    layers = sorted(ours(cfg, weights, images[:1], size_options, work))
    n = fixed_batch or 1
    everything = list(range(len(summary["layers"])))
    if reference_kind == "libdarknet":
        reference = darknet(cfg, weights, images, everything, work)
    else:
        reference = ours(cfg, weights, images, size_options, work, "all")
    outputs = {layer: reference[layer] for layer in layers}
    batch = np.stack(images)
    fixed = os.path.join(work, "model.onnx")
    export_and_check(cfg, weights, fixed, size_options + (["--batch", str(n)] if fixed_batch else []), layers)
    all_layers = os.path.join(work, "all-layers.onnx")
    if every_layer(fixed, all_layers) != everything:
        raise RuntimeError("the graph does not name every layer's value layer_NNN")
    ort = worst(reference, onnxruntime_run(all_layers, batch[:n]), range(n))
    vino = worst(reference, openvino_run(all_layers, batch[:n]), range(n))
    os.remove(all_layers)
    dynamic = os.path.join(work, "dynamic.onnx")
    export_and_check(cfg, weights, dynamic, size_options + ["--dynamic-batch"], layers)
    ort2 = worst(outputs, onnxruntime_run(dynamic, batch), range(2))
    results = [("onnxruntime, every layer", ort), ("OpenVINO, every layer", vino), ("onnxruntime, dynamic batch of 2", ort2)]
    for opset in opsets:
        path = os.path.join(work, "opset%d.onnx" % opset)
        export_and_check(cfg, weights, path, size_options + ["--opset", str(opset)], layers)
        results.append(("onnxruntime, opset %d" % opset, worst(outputs, onnxruntime_run(path, batch[:1]), range(1))))
    ok = all(ratio <= 1 for _, (ratio, _, _) in results)
    detail = "; ".join("%s %s error %.3g = %.3f of tolerance" % (runtime, name, error if isinstance(error, float) else float("nan"), ratio)
                       if isinstance(error, float) else "%s %s %s" % (runtime, name, error)
                       for runtime, (ratio, name, error) in results)
    shape = "@%dx%d" % (w, h)
    return ok, "%s %s against %s, outputs %s, batch %d: %s" % (label, shape, reference_kind, layers, n, detail)


def darknet_model(model, size, rng):
    work = os.path.join(WORK, model)
    os.makedirs(work)
    try:
        cfg = darknet_ref.inference_cfg(os.path.join(darknet_ref.DARKNET_CFG, model + ".cfg"), size, size)
        weights = os.path.join(work, "model.weights")
        swift_darknet("init", cfg, weights, "--seed", "3")
        return check(model, cfg, weights, [], work, "libdarknet", rng)
    finally:
        shutil.rmtree(work, True)


def shipped_model(cfg, rng):
    name = os.path.basename(cfg)[:-len(".cfg")]
    work = os.path.join(WORK, "shipped-" + name)
    os.makedirs(work)
    try:
        size = SHIPPED_SIZES.get(name)
        size_options = ["--width", str(size), "--height", str(size)] if size else []
        weights = os.path.join(work, "model.weights")
        swift_darknet("init", cfg, weights, "--seed", "5", *size_options)
        return check("cfg/" + name, cfg, weights, size_options, work, "ours", rng)
    finally:
        shutil.rmtree(work, True)


def small_net(name, text, rng):
    work = os.path.join(WORK, "small-" + name)
    os.makedirs(work)
    cfg = os.path.join(work, name + ".cfg")
    with open(cfg, "w") as f:
        f.write(text)
    weights = os.path.join(work, "model.weights")
    swift_darknet("init", cfg, weights, "--seed", "9")
    return check(name, cfg, weights, [], work, "ours", rng, fixed_batch=2, opsets=(13, 21) if name in ("kinds", "ab-convolutions", "ab-kinds") else ())


def main():
    rng = np.random.default_rng(21)
    only = sys.argv[2].split(",") if len(sys.argv) > 2 else None
    checks = [(name, lambda n=name, t=text: small_net(n, t, rng)) for name, text in SMALL_NETS.items()]
    checks += [("cfg/" + os.path.basename(cfg)[:-4], lambda c=cfg: shipped_model(c, rng))
               for cfg in sorted(glob.glob(os.path.join(ROOT, "cfg", "*.cfg")))]
    checks += [(model, lambda m=model, s=size: darknet_model(m, s, rng)) for model, size in DARKNET_MODELS]
    results = []
    for name, run in checks:
        if only and name not in only:
            continue
        try:
            ok, message = run()
        except Exception as error:  # a failure of either side is a failed check, with its message
            ok, message = False, "%s: %s" % (name, error)
        results.append(ok)
        print("%s %s" % ("ok  " if ok else "FAIL", message), flush=True)
    print("onnx: %d passed, %d failed" % (sum(results), len(results) - sum(results)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
