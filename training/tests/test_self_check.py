"""The manifest's self_check blocks (self_check.py): the probe input is the viewer's, the block is
what onnxruntime-node answers, and it is written only for the bytes the manifest names."""
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import torch

from chestaid_train import export, manifest, self_check

from test_quantize import SIZE, TinyNet

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "models" / "chestaid-demo"
FIXTURE = json.loads((REPO / "test" / "fixtures" / "probe-input.json").read_text())


def test_the_probe_matches_the_shared_fixture():
    x = self_check.probe_input(FIXTURE["dims"]).reshape(-1)
    for i, value in FIXTURE["samples"]:
        assert x[i] == np.float32(value)
    assert x.astype(np.float64).sum() == pytest.approx(FIXTURE["sum"], abs=1e-9)


def test_the_probe_is_bit_for_bit_the_javascript_formula(tmp_path):
    # The same expression as probeInput() in extension/src/inference/reference.ts, by V8's Math.sin/cos.
    out = tmp_path / "probe.f32"
    script = (
        "const n = 3 * 64 * 64; const a = new Float32Array(n);"
        "for (let i = 0; i < n; i++) a[i] = 0.25 + 2 * Math.sin(i * 0.0137) * Math.cos(i * 0.00071);"
        f"require('fs').writeFileSync({json.dumps(str(out))}, Buffer.from(a.buffer));"
    )
    subprocess.run(["node", "-e", script], check=True)
    js = np.fromfile(out, dtype=np.float32)
    np.testing.assert_array_equal(self_check.probe_input([1, 3, 64, 64]).reshape(-1), js)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    torch.manual_seed(5)
    net = TinyNet().eval()
    d = tmp_path_factory.mktemp("tiny-self-check")
    return net, export.export_logit_and_cam(net, d / "model.onnx", SIZE, cam_hw=SIZE // 2)


def test_the_block_is_onnxruntimes_answer_on_the_probe(tiny):
    net, path = tiny
    block = self_check.block(path, SIZE)
    with torch.no_grad():
        logit, cam = net(torch.from_numpy(self_check.probe_input([1, 3, SIZE, SIZE])))
    assert block["probe"] == "chestaid-probe/1"
    assert block["logit"] == pytest.approx(float(logit[0, 0]), abs=1e-4)
    assert block["cam"]["shape"] == [SIZE // 2, SIZE // 2]
    np.testing.assert_allclose(block["cam"]["data"], cam[0].reshape(-1).numpy(), atol=1e-4)
    assert block["tolerances"] == {"logit": 1e-3, "cam": 1e-3}
    assert block["runtime"].startswith("onnxruntime-node ")


def test_int8_weights_get_wider_tolerances_and_unknown_weights_are_refused(tiny):
    _, path = tiny
    assert self_check.block(path, SIZE, "int8")["tolerances"] == {"logit": 1e-2, "cam": 1e-2}
    with pytest.raises(ValueError, match="bfloat16"):
        self_check.block(path, SIZE, "bfloat16")


def test_other_bytes_than_the_manifest_names_are_refused(tmp_path):
    man = json.loads((DEMO / "manifest.json").read_text())
    (tmp_path / "model.onnx").write_bytes(b"not the model")
    with pytest.raises(ValueError, match="not the manifest's"):
        self_check.with_self_checks(man, tmp_path)


def test_the_committed_demo_manifest_holds_a_valid_block_for_every_file():
    man = json.loads((DEMO / "manifest.json").read_text())
    manifest.validate(man)
    assert man["schema_version"] == manifest.SCHEMA_VERSION
    for entry in [man["onnx"], *man["onnx"]["variants"]]:
        block = entry["self_check"]
        assert block["probe"] == self_check.PROBE
        assert len(block["cam"]["data"]) == block["cam"]["shape"][0] * block["cam"]["shape"][1] == 49


def test_the_committed_float_block_is_what_onnxruntime_node_answers_now():
    man = json.loads((DEMO / "manifest.json").read_text())
    fresh = self_check.block(DEMO / "model.onnx", man["input"]["size"]["height"])
    assert fresh["logit"] == pytest.approx(man["onnx"]["self_check"]["logit"], abs=1e-5)
    np.testing.assert_allclose(fresh["cam"]["data"], man["onnx"]["self_check"]["cam"]["data"], atol=1e-5)


def test_the_schema_refuses_a_malformed_block():
    man = json.loads((DEMO / "manifest.json").read_text())
    bad = json.loads(json.dumps(man))
    bad["onnx"]["self_check"]["tolerances"]["logit"] = 0
    with pytest.raises(jsonschema.ValidationError):
        manifest.validate(bad)
    bad = json.loads(json.dumps(man))
    bad["onnx"]["variants"][0]["self_check"]["probe"] = "another-probe"
    with pytest.raises(jsonschema.ValidationError):
        manifest.validate(bad)
