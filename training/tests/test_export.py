import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from chestaid_train import cam, export, model as model_lib

NODE = shutil.which("node")
ORT_RUN = Path(__file__).with_name("ort_run.mjs")


def run_onnxruntime_node(model_path: Path, x: np.ndarray, tmp_path: Path) -> dict:
    """Outputs of onnxruntime-node (the CPU runtime of the viewer's family) for input x."""
    if NODE is None or not (ORT_RUN.parents[2] / "node_modules" / "onnxruntime-node").is_dir():
        pytest.fail("onnxruntime-node is not installed: run `npm install` at the repository root")
    inp = tmp_path / "input.f32"
    inp.write_bytes(np.ascontiguousarray(x, dtype="<f4").tobytes())
    out = subprocess.run([NODE, str(ORT_RUN), str(model_path), str(inp), ",".join(map(str, x.shape))],
                         capture_output=True, text=True, check=True, timeout=120)
    return {k: np.array(v["data"], np.float32).reshape(v["dims"]) for k, v in json.loads(out.stdout).items()}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(1)
    net = model_lib.build_model("none", trainable="all").eval()
    torch.nn.init.normal_(net.classifier.weight, std=0.3)
    path = export.export_onnx(net, tmp_path_factory.mktemp("onnx") / "model.onnx")
    return net, path


def test_onnx_graph_has_the_contracted_inputs_and_outputs(exported):
    _, path = exported
    info = export.describe(path)
    assert info["opset"] == 17
    assert info["inputs"] == {"input": ["N", 3, 224, 224]}
    assert info["outputs"] == {"logit": ["N", 1], "cam": ["N", 7, 7]}
    assert len(info["sha256"]) == 64 and info["bytes"] == path.stat().st_size


def test_onnxruntime_node_matches_pytorch(exported, tmp_path):
    net, path = exported
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        logit, cam_map = cam.LogitAndCam(net)(x)
    out = run_onnxruntime_node(path, x.numpy(), tmp_path)
    np.testing.assert_allclose(out["logit"], logit.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(out["cam"], cam_map.numpy(), atol=1e-5, rtol=1e-4)


def test_fp16_weight_variant_is_half_the_size_and_close(exported, tmp_path):
    net, path = exported
    half = export.to_fp16_weights(path, tmp_path / "model.fp16.onnx")
    assert half.stat().st_size < 0.6 * path.stat().st_size
    onnx.checker.check_model(str(half))
    x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    full, reduced = run_onnxruntime_node(path, x, tmp_path), run_onnxruntime_node(half, x, tmp_path)
    assert abs(float(full["logit"][0, 0] - reduced["logit"][0, 0])) < 2e-2
