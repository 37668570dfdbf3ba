"""The self-check block of each ONNX file in a manifest (schema 1.6.0): what onnxruntime-node
answers for the deterministic probe input, which every in-browser engine must reproduce before
the viewer trusts it (extension/src/inference/selfCheck.ts).

The probe (PROBE "chestaid-probe/1") is extension/src/inference/reference.ts probeInput(): element
i of the [1, 3, H, W] input is 0.25 + 2 sin(0.0137 i) cos(0.00071 i), computed in float64 and
rounded to float32. test/fixtures/probe-input.json holds sampled values of it that both sides
test against (tests/test_self_check.py here, reference.test.ts there).

    python3 -m chestaid_train self-check [--model-dir models/chestaid-demo]

adds the block to every ONNX file of a published model directory; the model bytes are not touched.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import export, manifest as manifest_lib, quantize

PROBE = "chestaid-probe/1"
# Engines sum in other orders than onnxruntime-node's AVX kernels: float weights agree to about
# 1e-5 (TensorFlow.js wasm: logit 2.4e-6, CAM 8.4e-7). An int8 model is requantized by each
# runtime's own integer kernels, a rounding step apart here and there (int8.py: about 1e-3 on the
# logit between onnxruntime-node and -web), so it is given ten times the room.
TOLERANCES = {"float32": {"logit": 1e-3, "cam": 1e-3}, "float16": {"logit": 1e-3, "cam": 1e-3}, "int8": {"logit": 1e-2, "cam": 1e-2}}


def probe_input(dims) -> np.ndarray:
    """The probe tensor of shape `dims` (float32), the same values as probeInput() in TypeScript."""
    count = int(np.prod(dims))
    i = np.arange(count, dtype=np.float64)
    return (0.25 + 2 * np.sin(i * 0.0137) * np.cos(i * 0.00071)).astype(np.float32).reshape(dims)


def onnxruntime_node_version() -> str:
    package = Path(quantize.ORT_NODE).resolve().parents[2] / "node_modules" / "onnxruntime-node" / "package.json"
    return json.loads(package.read_text())["version"] if package.is_file() else "unknown"


def block(model_path: Path, size: int, weights: str = "float32") -> dict:
    """The self_check block of one ONNX file: its outputs on the probe by onnxruntime-node."""
    if weights not in TOLERANCES:
        raise ValueError(f"no self-check tolerances for {weights!r} weights (known: {', '.join(TOLERANCES)})")
    out = quantize.run_model(Path(model_path), probe_input([1, 3, size, size]))
    logit = np.asarray(out["logit"], dtype=np.float32).reshape(-1)
    cam = np.asarray(out["cam"], dtype=np.float32)
    if logit.size != 1 or cam.ndim != 3 or cam.shape[0] != 1:
        raise ValueError(f"{model_path}: expected logit [1, 1] and cam [1, h, w], got {list(np.shape(out['logit']))} and {list(cam.shape)}")
    return {
        "probe": PROBE,
        "logit": float(logit[0]),
        "cam": {"shape": [int(cam.shape[1]), int(cam.shape[2])], "data": [float(v) for v in cam[0].reshape(-1)]},
        "tolerances": dict(TOLERANCES[weights]),
        "runtime": f"onnxruntime-node {onnxruntime_node_version()}",
    }


def with_self_checks(man: dict, model_dir: Path) -> dict:
    """`man` with a self_check block on onnx and on each of onnx.variants (computed from the files in
    `model_dir`, each checked against its manifest sha256 first), and the schema version that has it."""
    size = int(man["input"]["size"]["height"])

    def checked(entry: dict) -> dict:
        path = Path(model_dir) / entry["file"]
        digest = export.sha256_file(path)
        if digest != entry["sha256"]:
            raise ValueError(f"{path} hashes to {digest}, not the manifest's {entry['sha256']}: refusing to describe other bytes")
        return {**entry, "self_check": block(path, size, entry.get("weights", "float32"))}

    onnx = checked(man["onnx"])
    if "variants" in man["onnx"]:
        onnx["variants"] = [checked(v) for v in man["onnx"]["variants"]]
    return {**man, "schema_version": manifest_lib.SCHEMA_VERSION, "onnx": onnx}


def add_to_model_dir(model_dir: Path) -> dict:
    model_dir = Path(model_dir)
    man = with_self_checks(json.loads((model_dir / "manifest.json").read_text()), model_dir)
    manifest_lib.write(man, model_dir / "manifest.json")
    return man
