"""ONNX export: input a normalised [N, 3, 224, 224] float32 tensor, outputs `logit` [N, 1] and
`cam` [N, 7, 7] (unnormalised Grad-CAM, see cam.py). Opset 17, dynamic batch.

The fp16-weights variant stores the weights as float16 with a Cast to float32 in front of each
use: half the download for the browser, same fp32 arithmetic and I/O (a full fp16 graph is
slower on CPU/wasm, which has no fp16 kernels).
"""
from __future__ import annotations

import hashlib
import inspect
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from torch import nn

from .cam import LogitAndCam

OPSET = 17
INPUT_NAME, LOGIT_NAME, CAM_NAME = "input", "logit", "cam"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def export_onnx(model: nn.Module, path: Path, size: int = 224) -> Path:
    """The DenseNet classifier, wrapped to return (logit, cam). DenseNet-121 downsamples by 32."""
    return export_logit_and_cam(LogitAndCam(model).eval(), path, size, cam_hw=size // 32)


def export_logit_and_cam(wrapped: nn.Module, path: Path, size: int, cam_hw: int) -> Path:
    """Any module x -> (logit [N, 1], cam [N, h, w]) as ONNX with the contracted names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # torch >= 2.9 defaults to the dynamo exporter; the TorchScript one gives the same graph on
    # torch 1.13 (Debian) and 2.x, so ask for it where the switch exists.
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad():
        torch.onnx.export(
            wrapped,
            torch.zeros(1, 3, size, size),
            str(path),
            opset_version=OPSET,
            input_names=[INPUT_NAME],
            output_names=[LOGIT_NAME, CAM_NAME],
            dynamic_axes={INPUT_NAME: {0: "N"}, LOGIT_NAME: {0: "N"}, CAM_NAME: {0: "N"}},
            do_constant_folding=True,
            **legacy,
        )
    # The exporter cannot name the map's spatial size (it comes out of a reduction); write it in,
    # so the viewer can read [N, h, w] from the graph as from the manifest.
    m = onnx.load(str(path))
    for out in m.graph.output:
        if out.name == CAM_NAME:
            for d in out.type.tensor_type.shape.dim[1:]:
                d.Clear()
                d.dim_value = cam_hw
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return path


def to_fp16_weights(src: Path, dst: Path, min_elements: int = 64) -> Path:
    """Store large float32 initializers as float16, each followed by a Cast back to float32."""
    model = onnx.load(str(src))
    graph = model.graph
    casts, kept = [], []
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype != np.float32 or arr.size < min_elements:
            kept.append(init)
            continue
        half_name = init.name + "__fp16"
        kept.append(numpy_helper.from_array(arr.astype(np.float16), half_name))
        casts.append(helper.make_node("Cast", [half_name], [init.name], to=onnx.TensorProto.FLOAT, name=half_name + "_cast"))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))
    return Path(dst)


def describe(path: Path) -> dict:
    """What the manifest records about an ONNX file."""
    m = onnx.load(str(path), load_external_data=False)

    def shape(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    return {
        "file": Path(path).name,
        "sha256": sha256_file(path),
        "bytes": Path(path).stat().st_size,
        "opset": max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx")),
        "inputs": {i.name: shape(i) for i in m.graph.input},
        "outputs": {o.name: shape(o) for o in m.graph.output},
    }
