"""Static int8 quantization of the exported ONNX graph, in the QDQ format.

QDQ: QuantizeLinear/DequantizeLinear pairs around float operators, which onnxruntime's graph
optimizer fuses into integer kernels (DQ -> Conv -> Q becomes QLinearConv; Relu -> Q folds into
the Q when its zero point is the type's minimum), on the CPU provider and in onnxruntime-web's
wasm build alike. A runtime that does not fuse still runs the graph, in float.

What is quantized, and how:
- Conv weights: int8, per output channel, symmetric ([-127, 127], zero point 0): DenseNet's
  filters differ in scale by orders of magnitude within a layer, which one per-tensor scale
  would crush.
- Conv biases: int32 with scale = input scale x weight scale per channel (the integer kernel's
  own accumulator scale, as onnxruntime's quantizer writes them).
- Activations: uint8 per tensor, asymmetric, on each Conv's input and on its output (after its
  Relu when the Relu is the output's only reader, so the fused Q can take over the Relu).
  Ranges: the minimum and maximum over the calibration images (MinMax, onnxruntime's default).
  Not a percentile: Grad-CAM here is a weighted sum of the last block's largest activations, and
  a percentile clips exactly those peaks; min/max keeps them and pays in resolution, which
  uint8's 256 steps per tensor leave ample on 64-128 images.
- Left in float: BatchNormalization (DenseNet's norm1 sits behind a Concat and before a Relu, so it
  cannot fold into a Conv), Concat, pooling, and the head: norm5, its Relu, the pooling, the
  classifier Gemm (1024 x 1, negligible work) and the in-graph Grad-CAM, whose weights are the
  classifier's: the map stays the exact Grad-CAM of the activations the integer convolutions give.

Activation ranges need a runtime: the graph is run with the tensors to calibrate exposed as extra
outputs, by onnxruntime-node (ort_node.mjs), so the ranges are measured on the very graph that is
quantized, names and all, with no mapping from PyTorch modules to ONNX tensor names to get wrong.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ORT_NODE = Path(__file__).with_name("ort_node.mjs")
UINT8_LEVELS = 255
INT8_MAX = 127
FORMAT = {
    "format": "qdq",
    "weights": "int8, per output channel, symmetric (Conv)",
    "bias": "int32, scale = input scale x weight scale",
    "activations": "uint8, per tensor, asymmetric (each Conv's input and output)",
    "ranges": "min-max",
    "float": "BatchNormalization, Concat, pooling, norm5 and the head (classifier Gemm, Grad-CAM)",
}


class QuantizationError(ValueError):
    pass


def _consumers(graph: onnx.GraphProto) -> dict[str, list[onnx.NodeProto]]:
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    return readers


def materialized(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` in which every Identity of an initializer is an initializer of its own.
    The exporter shares equal initializers (an untrained layer's zero biases, say) through Identity
    nodes; quantizing a weight needs its values under the name the Conv reads."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {i.name: i for i in m.graph.initializer}
    kept = []
    for node in m.graph.node:
        if node.op_type == "Identity" and node.input[0] in inits:
            copy = onnx.TensorProto()
            copy.CopyFrom(inits[node.input[0]])
            copy.name = node.output[0]
            inits[copy.name] = copy
            m.graph.initializer.append(copy)
        else:
            kept.append(node)
    del m.graph.node[:]
    m.graph.node.extend(kept)
    return m


def activation_tensors(model: onnx.ModelProto) -> list[str]:
    """The activations that get a QDQ pair, in graph order: each Conv's input and its output, the
    latter taken after its Relu when that Relu is the output's only reader."""
    graph = materialized(model).graph
    initializers = {i.name for i in graph.initializer}
    readers = _consumers(graph)
    out: list[str] = []
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        if node.input[1] not in initializers:
            raise QuantizationError(f"Conv {node.name!r} has a weight that is not an initializer ({node.input[1]!r})")
        y = node.output[0]
        after = readers.get(y, [])
        if len(after) == 1 and after[0].op_type == "Relu":
            y = after[0].output[0]
        for t in (node.input[0], y):
            if t not in out:
                out.append(t)
    return out


def with_outputs(model: onnx.ModelProto, names: list[str]) -> onnx.ModelProto:
    """A copy of `model` that also returns `names` (float tensors of any shape), to measure them."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    present = {o.name for o in m.graph.output}
    m.graph.output.extend(helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in names if n not in present)
    return m


def run_node(args: list[str]) -> str:
    node = shutil.which("node")
    if node is None:
        raise QuantizationError("node is not on PATH: onnxruntime-node (the repository's node_modules) runs the calibration")
    done = subprocess.run([node, str(ORT_NODE), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise QuantizationError(f"ort_node.mjs {args[0]} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def _write_inputs(x: np.ndarray, path: Path) -> str:
    x = np.ascontiguousarray(x, dtype=np.float32)
    x.tofile(path)
    return ",".join(str(d) for d in x.shape)


def measure_ranges(model_path: Path, x: np.ndarray, names: list[str]) -> dict[str, tuple[float, float]]:
    """Min and max of each tensor in `names` over the images `x` [N, C, H, W], by onnxruntime-node."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        probe = tmp / "probe.onnx"
        onnx.save(with_outputs(onnx.load(str(model_path)), names), str(probe))
        shape = _write_inputs(x, tmp / "x.f32")
        (tmp / "names.json").write_text(json.dumps(names))
        ranges = json.loads(run_node(["ranges", str(probe), str(tmp / "x.f32"), shape, str(tmp / "names.json")]))
    return {k: (float(lo), float(hi)) for k, (lo, hi) in ranges.items()}


def run_model(model_path: Path, x: np.ndarray, engine: str = "node") -> dict[str, np.ndarray]:
    """Every output of `model_path` for the images `x` [N, C, H, W], by onnxruntime (node or web)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shape = _write_inputs(x, tmp / "x.f32")
        dims = json.loads(run_node(["run", str(model_path), str(tmp / "x.f32"), shape, str(tmp), "--engine", engine]))
        return {name: np.fromfile(tmp / f"{name}.f32", dtype=np.float32).reshape([len(x), *d[1:]])
                for name, d in dims.items()}


def activation_params(lo: float, hi: float) -> tuple[float, int]:
    """uint8 scale and zero point for the range [lo, hi], widened to hold 0 (padding and Relu's
    zeros must be exact)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise QuantizationError(f"activation range [{lo}, {hi}] is not finite")
    if hi == lo:
        return 1.0, 0
    scale = (hi - lo) / UINT8_LEVELS
    return float(np.float32(scale)), int(np.clip(round(-lo / scale), 0, UINT8_LEVELS))


def weight_params(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 per-output-channel symmetric quantization of a Conv weight [M, C/g, kh, kw]: (q, scales)."""
    amax = np.abs(w.reshape(w.shape[0], -1)).max(axis=1)
    scales = np.where(amax > 0, amax / INT8_MAX, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scales.reshape(-1, *[1] * (w.ndim - 1))), -INT8_MAX, INT8_MAX).astype(np.int8)
    return q, scales


def quantize_qdq(model: onnx.ModelProto, ranges: dict[str, tuple[float, float]]) -> onnx.ModelProto:
    """The QDQ int8 model of `model` (left untouched), given the activation ranges of
    activation_tensors(model)."""
    names = activation_tensors(model)
    missing = [n for n in names if n not in ranges]
    if missing:
        raise QuantizationError(f"no calibrated range for {len(missing)} tensor(s), e.g. {missing[0]!r}")
    m = materialized(model)
    graph = m.graph
    inits = {i.name: i for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    consts: list[onnx.TensorProto] = []
    head: list[onnx.NodeProto] = []  # weight and bias DequantizeLinear: before every node
    act = {}
    for t in names:
        if t in outputs:
            raise QuantizationError(f"tensor {t!r} is a graph output: its readers outside the graph would get quantized values")
        scale, zp = activation_params(*ranges[t])
        act[t] = scale
        consts += [numpy_helper.from_array(np.array(scale, np.float32), f"{t}_scale"),
                   numpy_helper.from_array(np.array(zp, np.uint8), f"{t}_zero_point")]

    def dq_of(t: str) -> str:
        return f"{t}_dequantized"

    made: set[str] = set()
    for node in graph.node:
        if node.op_type != "Conv":
            continue
        x, w_name = node.input[0], node.input[1]
        w = numpy_helper.to_array(inits[w_name]).astype(np.float32)
        q, sw = weight_params(w)
        qw = f"{w_name}_quantized"
        if qw not in made:  # a weight two Convs share is quantized once
            made.add(qw)
            consts += [numpy_helper.from_array(q, qw), numpy_helper.from_array(sw, f"{qw}_scale"),
                       numpy_helper.from_array(np.zeros_like(sw, dtype=np.int8), f"{qw}_zero_point")]
            head.append(helper.make_node("DequantizeLinear", [qw, f"{qw}_scale", f"{qw}_zero_point"], [dq_of(qw)],
                                         name=f"{qw}_DequantizeLinear", axis=0))
        node.input[1] = dq_of(qw)
        if len(node.input) > 2 and node.input[2]:
            b_name = node.input[2]
            b = numpy_helper.to_array(inits[b_name]).astype(np.float64)
            sb = (np.float64(act[x]) * sw.astype(np.float64)).astype(np.float32)
            qb_values = np.round(b / sb)
            if np.abs(qb_values).max(initial=0) > np.iinfo(np.int32).max:
                raise QuantizationError(f"bias {b_name!r} does not fit int32 at scale input x weight")
            qb = f"{node.output[0]}_bias_quantized"  # its scale is this Conv's input's: one per Conv
            consts += [numpy_helper.from_array(qb_values.astype(np.int32), qb), numpy_helper.from_array(sb, f"{qb}_scale"),
                       numpy_helper.from_array(np.zeros(sb.shape, np.int32), f"{qb}_zero_point")]
            head.append(helper.make_node("DequantizeLinear", [qb, f"{qb}_scale", f"{qb}_zero_point"], [dq_of(qb)],
                                         name=f"{qb}_DequantizeLinear", axis=0))
            node.input[2] = dq_of(qb)

    def qdq(t: str) -> list[onnx.NodeProto]:
        q = f"{t}_quantized"
        return [helper.make_node("QuantizeLinear", [t, f"{t}_scale", f"{t}_zero_point"], [q], name=f"{t}_QuantizeLinear"),
                helper.make_node("DequantizeLinear", [q, f"{t}_scale", f"{t}_zero_point"], [dq_of(t)], name=f"{t}_DequantizeLinear")]

    quantized = set(names)
    for node in graph.node:  # every reader of a quantized tensor reads its dequantized copy
        for i, name in enumerate(node.input):
            if name in quantized:
                node.input[i] = dq_of(name)
    graph_inputs = {i.name for i in graph.input}
    nodes = list(head) + [n for t in names if t in graph_inputs for n in qdq(t)]
    for node in graph.node:
        nodes.append(node)
        nodes += [n for t in node.output if t in quantized for n in qdq(t)]
    del graph.node[:]
    graph.node.extend(nodes)
    read = {name for n in graph.node for name in n.input} | {o.name for o in graph.output}
    kept = [i for i in graph.initializer if i.name in read]  # the float weights the Convs no longer read go
    del graph.initializer[:]
    graph.initializer.extend(kept + consts)
    onnx.checker.check_model(m)
    return m


def quantize_file(src: Path, dst: Path, calibration_images: np.ndarray) -> dict:
    """Calibrate on `calibration_images` (normalised [N, 3, H, W]) and write the int8 model to
    `dst`; returns what the manifest records about how."""
    model = onnx.load(str(src))
    names = activation_tensors(model)
    ranges = measure_ranges(Path(src), calibration_images, names)
    onnx.save(quantize_qdq(model, ranges), str(dst))
    return {**FORMAT, "quantized_tensors": len(names), "quantized_convs": sum(n.op_type == "Conv" for n in model.graph.node)}
