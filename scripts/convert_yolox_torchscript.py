#!/usr/bin/python3
"""Converts the YOLOX-Nano ONNX graph into a TorchScript module for the nvidia (libtorch) engine.

No ONNX-to-torch converter ships with Debian 12, so this script rebuilds the network itself: it walks the
ONNX graph node by node, maps each of its ten op types (Conv, Sigmoid, Mul, Concat, Slice, Add, MaxPool,
Reshape, Resize, Transpose) onto the equivalent torch function, loads the initializers as weights, and
traces the result. Any other op type, attribute value or input it does not understand is an error: the
script never guesses.

Checks made before anything is written (each failure exits non-zero):
  * the traced module's outputs match the eager module's at batch 1, 8 and 32;
  * every item of a batch matches the same input run at batch 1 (the batch dimension is really dynamic:
    Reshape targets use the input's size, not a constant baked in by the tracer);
  * the output shape is [N, 3549, 85] and its last 81 columns lie in [0, 1] (sigmoid-ed).
Agreement with ONNX itself is checked by the C++ differential test against the cpu engine (OpenCV DNN),
tests/unit/engines/nvidia/, because no ONNX runtime is available in Python here.

Deterministic: fixed inputs from a seeded generator, no randomness in the saved module.

Usage (Debian's interpreter, which has python3-torch and python3-onnx):
  /usr/bin/python3 scripts/convert_yolox_torchscript.py [--onnx PATH] [--output PATH] [--pt2 PATH]
"""

import argparse
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_ONNX = os.path.join(REPO, "..", "shared", "models", "yolox_nano_dynbatch.onnx")
DEFAULT_OUTPUT = os.path.join(REPO, "models", "yolox-nano", "yolox_nano.torchscript.pt")
INPUT_HW = 416
ANCHORS = 52 * 52 + 26 * 26 + 13 * 13
CHANNELS_OUT = 85
SUPPORTED_OPS = {"Conv", "Sigmoid", "Mul", "Concat", "Slice", "Add", "MaxPool", "Reshape", "Resize",
                 "Transpose"}


def fail(message):
    print("convert_yolox_torchscript: error: " + message, file=sys.stderr)
    sys.exit(1)


def attributes(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def symmetric_pads(pads, node):
    """ONNX pads are [begin..., end...]; torch's functional ops take one symmetric pad per axis."""
    half = len(pads) // 2
    if list(pads[:half]) != list(pads[half:]):
        fail("node %s has asymmetric pads %s" % (node.name or node.output[0], pads))
    return tuple(int(p) for p in pads[:half])


class OnnxGraphModule(torch.nn.Module):
    """Executes an ONNX graph with torch functions. Conv weights are parameters; every other initializer
    (slice bounds, reshape targets, resize scales) is read at construction and becomes a Python constant,
    so tracing sees only tensor ops."""

    def __init__(self, model):
        super().__init__()
        graph = model.graph
        opsets = {o.domain: o.version for o in model.opset_import}
        if opsets.get("", 0) != 11:
            fail("expected ONNX opset 11, found %s" % opsets)
        inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        inputs = [i.name for i in graph.input if i.name not in inits]
        if len(inputs) != 1 or len(graph.output) != 1:
            fail("expected one input and one output, found %s -> %s" % (
                inputs, [o.name for o in graph.output]))
        self.input_name = inputs[0]
        self.output_name = graph.output[0].name
        self.steps = []  # (op, input names, output name, static arguments)
        self.params = torch.nn.ParameterList()
        for node in graph.node:
            if node.op_type not in SUPPORTED_OPS:
                fail("unsupported op type %s in node %s" % (node.op_type, node.name))
            if len(node.output) != 1:
                fail("node %s has %d outputs" % (node.name, len(node.output)))
            self.steps.append(self._compile(node, inits, attributes(node)))
        print("rebuilt %d nodes, %d weight tensors, %d parameters" % (
            len(self.steps), len(self.params), sum(p.numel() for p in self.params)))

    def _param(self, array):
        self.params.append(torch.nn.Parameter(torch.from_numpy(np.array(array, dtype=np.float32)),
                                              requires_grad=False))
        return len(self.params) - 1

    def _constant(self, inits, name, node):
        if name not in inits:
            fail("node %s: input %s must be a constant initializer" % (node.name, name))
        return inits[name]

    def _compile(self, node, inits, attrs):
        op, ins, out = node.op_type, list(node.input), node.output[0]
        if op == "Conv":
            if len(ins) not in (2, 3) or ins[1] not in inits:
                fail("Conv %s: weight must be an initializer" % node.name)
            weight = self._param(inits[ins[1]])
            bias = self._param(inits[ins[2]]) if len(ins) == 3 else None
            args = dict(stride=tuple(attrs.get("strides", [1, 1])),
                        padding=symmetric_pads(attrs.get("pads", [0, 0, 0, 0]), node),
                        dilation=tuple(attrs.get("dilations", [1, 1])), groups=int(attrs.get("group", 1)),
                        weight=weight, bias=bias)
            if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                fail("Conv %s: auto_pad is not supported" % node.name)
            return (op, ins[:1], out, args)
        if op in ("Sigmoid", "Mul", "Add"):
            if any(i in inits for i in ins):
                fail("%s %s: constant operands are not expected in this graph" % (op, node.name))
            return (op, ins, out, {})
        if op == "Concat":
            return (op, ins, out, {"axis": int(attrs["axis"])})
        if op == "Slice":
            if len(ins) != 5:
                fail("Slice %s: expected data, starts, ends, axes, steps" % node.name)
            starts, ends, axes, steps = (self._constant(inits, n, node).tolist() for n in ins[1:])
            index = {}
            for s, e, a, st in zip(starts, ends, axes, steps):
                if a < 0 or st <= 0:
                    fail("Slice %s: negative axes or steps are not supported" % node.name)
                if a == 0:
                    fail("Slice %s: slicing the batch axis would break dynamic batching" % node.name)
                index[a] = (int(s), int(e), int(st))
            return (op, ins[:1], out, {"index": index})
        if op == "MaxPool":
            if attrs.get("ceil_mode", 0) != 0:
                fail("MaxPool %s: ceil_mode is not supported" % node.name)
            return (op, ins, out, dict(kernel=tuple(attrs["kernel_shape"]),
                                       stride=tuple(attrs.get("strides", [1, 1])),
                                       padding=symmetric_pads(attrs.get("pads", [0, 0, 0, 0]), node)))
        if op == "Reshape":
            shape = [int(v) for v in self._constant(inits, ins[1], node).tolist()]
            if shape[0] != 0:
                fail("Reshape %s: target %s fixes the batch size; use the dynamic-batch ONNX file" % (
                    node.name, shape))
            return (op, ins[:1], out, {"shape": shape})
        if op == "Resize":
            mode = attrs.get("mode", b"nearest")
            ctm = attrs.get("coordinate_transformation_mode", b"half_pixel")
            nearest = attrs.get("nearest_mode", b"round_prefer_floor")
            if (mode, ctm, nearest) != (b"nearest", b"asymmetric", b"floor"):
                fail("Resize %s: only nearest/asymmetric/floor maps onto interpolate(nearest)" % node.name)
            if len(ins) != 3:
                fail("Resize %s: expected X, roi, scales" % node.name)
            scales = self._constant(inits, ins[2], node).tolist()
            if scales[:2] != [1.0, 1.0] or scales[2] != scales[3] or scales[2] != int(scales[2]):
                fail("Resize %s: unsupported scales %s" % (node.name, scales))
            return (op, ins[:1], out, {"scale": int(scales[2])})
        if op == "Transpose":
            return (op, ins, out, {"perm": [int(p) for p in attrs["perm"]]})
        fail("unhandled op %s" % op)

    def forward(self, images):
        env = {self.input_name: images}
        for op, ins, out, a in self.steps:
            x = [env[i] for i in ins]
            if op == "Conv":
                bias = self.params[a["bias"]] if a["bias"] is not None else None
                y = F.conv2d(x[0], self.params[a["weight"]], bias, a["stride"], a["padding"], a["dilation"],
                             a["groups"])
            elif op == "Sigmoid":
                y = torch.sigmoid(x[0])
            elif op == "Mul":
                y = x[0] * x[1]
            elif op == "Add":
                y = x[0] + x[1]
            elif op == "Concat":
                y = torch.cat(x, dim=a["axis"])
            elif op == "Slice":
                y = x[0]
                for axis, (s, e, st) in sorted(a["index"].items()):
                    y = self._slice(y, axis, s, e, st)
            elif op == "MaxPool":
                y = F.max_pool2d(x[0], a["kernel"], a["stride"], a["padding"])
            elif op == "Reshape":
                shape = [x[0].shape[i] if v == 0 else v for i, v in enumerate(a["shape"])]
                y = x[0].reshape(shape)
            elif op == "Resize":
                y = F.interpolate(x[0], scale_factor=float(a["scale"]), mode="nearest")
            elif op == "Transpose":
                y = x[0].permute(a["perm"])
            env[out] = y
        return env[self.output_name]

    @staticmethod
    def _slice(tensor, axis, start, end, step):
        index = [slice(None)] * tensor.dim()
        index[axis] = slice(start, end, step)
        return tensor[tuple(index)]


def fixed_input(batch, seed):
    """Deterministic image-like input: values 0..255 as the model expects (BGR, no normalisation)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (batch, 3, INPUT_HW, INPUT_HW), generator=generator).float()


def check_output(name, out, batch):
    expected = (batch, ANCHORS, CHANNELS_OUT)
    if tuple(out.shape) != expected:
        fail("%s: output shape %s, expected %s" % (name, tuple(out.shape), expected))
    if not torch.isfinite(out).all():
        fail("%s: output has non-finite values" % name)
    scores = out[..., 4:]
    if scores.min() < 0 or scores.max() > 1:
        fail("%s: objectness/class columns outside [0, 1]" % name)


def max_diff(a, b):
    return float((a - b).abs().max())


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--onnx", default=DEFAULT_ONNX, help="dynamic-batch YOLOX ONNX file")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="TorchScript file to write")
    parser.add_argument("--pt2", default="", help="also export an AOTInductor package here (torch >= 2.6)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="allowed max |diff| in the checks")
    args = parser.parse_args()

    started = time.time()
    torch.set_grad_enabled(False)
    print("torch %s, onnx %s" % (torch.__version__, onnx.__version__))
    if not os.path.isfile(args.onnx):
        fail("ONNX file not found: %s" % args.onnx)
    model = onnx.load(args.onnx)
    onnx.checker.check_model(model)
    print("read %s" % os.path.abspath(args.onnx))
    module = OnnxGraphModule(model).eval()

    example = fixed_input(1, seed=1)
    traced = torch.jit.trace(module, example, check_trace=False)
    traced.eval()

    for batch in (1, 8, 32):
        x = fixed_input(batch, seed=100 + batch)
        eager = module(x)
        out = traced(x)
        check_output("batch %d" % batch, out, batch)
        diff = max_diff(out, eager)
        if diff > args.tolerance:
            fail("batch %d: traced vs eager max |diff| %.3g > %g" % (batch, diff, args.tolerance))
        worst = 0.0
        for i in (0, batch // 2, batch - 1):
            alone = traced(x[i:i + 1])
            worst = max(worst, max_diff(out[i:i + 1], alone))
        if worst > args.tolerance:
            fail("batch %d: item differs from the same input at batch 1 by %.3g" % (batch, worst))
        print("batch %2d: output %s, traced vs eager max |diff| %.3g, batched vs alone %.3g" % (
            batch, list(out.shape), diff, worst))

    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    tmp = args.output + ".tmp"
    torch.jit.save(traced, tmp)
    os.replace(tmp, args.output)
    reloaded = torch.jit.load(args.output)
    check = fixed_input(2, seed=7)
    diff = max_diff(reloaded(check), module(check))
    if diff > args.tolerance:
        fail("reloaded TorchScript differs from the eager module by %.3g" % diff)
    print("wrote %s (%d bytes), reload check max |diff| %.3g" % (
        os.path.abspath(args.output), os.path.getsize(args.output), diff))

    if args.pt2:
        export_pt2(module, args.pt2)
    print("done in %.1f s" % (time.time() - started))


def export_pt2(module, path):
    """AOTInductor package with a dynamic batch dimension. Needs torch >= 2.6 (torch.export and
    torch._inductor.aoti_compile_and_package) and, for a CUDA package, a GPU and a compiler at export time.
    Not available with Debian's torch 1.13."""
    version = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2])
    if version < (2, 6):
        fail("--pt2 needs torch >= 2.6 (this is %s)" % torch.__version__)
    started = time.time()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    module = module.to(device)
    example = (fixed_input(2, seed=3).to(device),)
    batch = torch.export.Dim("batch", min=1, max=64)
    exported = torch.export.export(module, example, dynamic_shapes={"images": {0: batch}})
    written = torch._inductor.aoti_compile_and_package(exported, package_path=path)
    print("wrote AOTInductor package %s for %s in %.1f s" % (written, device, time.time() - started))


if __name__ == "__main__":
    main()
