"""Tiny ONNX models for the decoder-family tests, built with Debian's python3-onnx: each model's outputs are
constant tensors in one decoder family's exact layout, carrying boxes the test planted, so the boxes the
server answers can be checked against boxes computed by hand.

The graph reads its input, so that OpenCV's DNN (4.6) keeps it: images -> GlobalAveragePool -> per output a
1x1 Conv with zero weights and the wanted values as its bias -> Reshape to the output's shape. Zero weights
make the values exact whatever the image is."""
import json
import math
import os
import struct
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZE = 64  # model input: 64x64, NCHW float32


def write_onnx(path, outputs):
    """outputs: [(name, array)] with the batch dimension (1) included."""
    nodes = [helper.make_node("GlobalAveragePool", ["images"], ["pooled"])]
    inits, infos = [], []
    for name, values in outputs:
        values = np.asarray(values, np.float32)
        inits += [numpy_helper.from_array(np.zeros((values.size, 3, 1, 1), np.float32), name + "_w"),
                  numpy_helper.from_array(values.reshape(-1), name + "_b"),
                  numpy_helper.from_array(np.array(values.shape, np.int64), name + "_shape")]
        nodes += [helper.make_node("Conv", ["pooled", name + "_w", name + "_b"], [name + "_flat"], kernel_shape=[1, 1]),
                  helper.make_node("Reshape", [name + "_flat", name + "_shape"], [name])]
        infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(values.shape)))
    graph = helper.make_graph(nodes, "synthetic",
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
                              infos, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_torchscript(path, outputs):
    """The same constant outputs as a TorchScript module (Debian's python3-torch) for the nvidia engine:
    each output is its values plus a zero computed from the input, one row per item of the batch."""
    import torch

    class Constants(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for i, (_, values) in enumerate(outputs):
                self.register_buffer("v%d" % i, torch.tensor(np.asarray(values, np.float32)))

        def forward(self, x):
            zero = (x * 0).sum(dim=[1, 2, 3])  # [N]
            return tuple(v + zero.reshape([-1] + [1] * (v.dim() - 1)) for v in self.buffers())

    example = torch.zeros(1, 3, SIZE, SIZE)
    torch.jit.trace(Constants().eval(), example).save(path)


def write_model(root, name, family, outputs, letterbox="center", decoder=None, labels=None, task=None,
                torchscript=False):
    """models/<name>/ with model.onnx (and model.pt when `torchscript`) and a model.yaml (written as JSON,
    which YAML reads) declaring `outputs` ([(name, array)], batch dimension included) as per-item shapes."""
    folder = os.path.join(root, name)
    os.makedirs(folder)
    write_onnx(os.path.join(folder, "model.onnx"), outputs)
    if torchscript:
        write_torchscript(os.path.join(folder, "model.pt"), outputs)
    config = {
        "name": name,
        "input": {"name": "images", "width": SIZE, "height": SIZE, "layout": "NCHW", "color": "RGB",
                  "dtype": "float32", "scale": 1 / 255.0, "letterbox": letterbox},
        "outputs": [{"name": n, "shape": list(np.asarray(v).shape[1:])} for n, v in outputs],
        "decoder": dict({"family": family, "min_confidence": 0.05}, **(decoder or {})),
        "labels": labels if labels is not None else [name + "/a", name + "/b", name + "/c"],
        "max_batch": 1,
        "artifacts": {"cpu": {"format": "onnx", "path": "model.onnx"}},
    }
    if torchscript:
        config["artifacts"]["nvidia"] = {"format": "torchscript", "path": "model.pt"}
    if task:
        config["task"] = task
    with open(os.path.join(folder, "model.yaml"), "w") as f:
        json.dump(config, f, indent=1)
    return folder


def png(width, height):
    """An RGB PNG of the given size (a colour gradient), encoded with the standard library."""
    rows = b"".join(b"\x00" + bytes((x * 7 + y) % 256 for x in range(width) for _ in range(3)) for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def to_original(box, letterbox, width, height):
    """A model-input box (x1, y1, x2, y2) in original-image pixels, as the letterbox modes define it
    (docs/models.md), clipped to the image."""
    if letterbox == "stretch":
        sx, sy, px, py = SIZE / width, SIZE / height, 0, 0
    else:
        r = min(SIZE / width, SIZE / height)
        sx = sy = r
        if letterbox == "center":
            px = (SIZE - round(width * r)) // 2
            py = (SIZE - round(height * r)) // 2
        else:
            px = py = 0
    x1, y1, x2, y2 = box
    clip = lambda v, hi: min(max(v, 0.0), float(hi))  # noqa: E731
    return [clip((x1 - px) / sx, width), clip((y1 - py) / sy, height),
            clip((x2 - px) / sx, width), clip((y2 - py) / sy, height)]


def logit(p):
    return math.log(p / (1 - p))
