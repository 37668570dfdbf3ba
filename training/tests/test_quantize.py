"""The int8 quantizer (quantize.py) on a tiny conv net, and the int8 variant (int8.py): its own
calibration, fitted on its own logits, and a manifest that refuses one that borrows."""
import json
import shutil
from collections import Counter
from pathlib import Path

import jsonschema
import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

from chestaid_train import calibration, data, export, int8, manifest, quantize

REPO = Path(__file__).resolve().parents[2]
SIZE = 32


class TinyNet(nn.Module):
    """DenseNet's shapes in miniature: conv0+relu, a pre-activation layer (BN, ReLU, conv), a
    concat, a final BN+ReLU and a linear head, with the in-graph Grad-CAM of cam.LogitAndCam."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.norm1 = nn.BatchNorm2d(8)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.norm5 = nn.BatchNorm2d(16)
        self.classifier = nn.Linear(16, 1)

    def forward(self, x):
        x0 = F.relu(self.conv0(x))
        a = F.relu(self.norm5(torch.cat([x0, self.conv1(F.relu(self.norm1(x0)))], 1)))
        logit = self.classifier(torch.flatten(F.adaptive_avg_pool2d(a, 1), 1))
        h, w = a.shape[-2:]
        cam = F.relu(torch.einsum("k,nkhw->nhw", self.classifier.weight[0] / (h * w), a))
        return logit, cam


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory) -> Path:
    torch.manual_seed(3)
    net = TinyNet()
    with torch.no_grad():  # channels whose scales differ by 1000x: one per-tensor scale would crush the small ones
        net.conv0.weight[:4] *= 1e-3
        for bn in (net.norm1, net.norm5):
            bn.running_mean.normal_(0, 0.1)
            bn.running_var.uniform_(0.5, 2)
    d = tmp_path_factory.mktemp("tiny-onnx")
    return export.export_logit_and_cam(net.eval(), d / "model.onnx", SIZE, cam_hw=SIZE // 2)


def _images(n, seed=0):
    return np.random.default_rng(seed).normal(0, 1, (n, 3, SIZE, SIZE)).astype(np.float32)


def test_weights_are_int8_per_output_channel_symmetric():
    w = np.random.default_rng(0).normal(0, 1, (4, 2, 3, 3)).astype(np.float32)
    w[0] *= 1e-3
    q, scales = quantize.weight_params(w)
    assert q.dtype == np.int8 and scales.shape == (4,)
    np.testing.assert_allclose(scales, np.abs(w).reshape(4, -1).max(1) / 127, rtol=1e-6)
    assert (np.abs(q).reshape(4, -1).max(1) == 127).all()  # every channel uses its whole range
    assert (np.abs(q * scales[:, None, None, None] - w).max(axis=(1, 2, 3)) <= scales / 2 * (1 + 1e-5)).all()


def test_an_all_zero_channel_gets_a_usable_scale():
    q, scales = quantize.weight_params(np.zeros((2, 1, 1, 1), np.float32))
    assert (scales > 0).all() and (q == 0).all()


@pytest.mark.parametrize("lo, hi, scale, zp", [(0.0, 2.55, 0.01, 0), (-1.0, 1.55, 0.01, 100), (0.5, 2.55, 0.01, 0), (-2.55, -1.0, 0.01, 255)])
def test_activation_ranges_hold_zero_exactly(lo, hi, scale, zp):
    s, z = quantize.activation_params(lo, hi)
    assert s == pytest.approx(scale, rel=1e-6) and z == zp


def test_activation_tensors_are_each_convs_input_and_output_after_its_relu(tiny_onnx):
    names = quantize.activation_tensors(onnx.load(str(tiny_onnx)))
    assert names[0] == export.INPUT_NAME
    m = onnx.load(str(tiny_onnx))
    producers = {o: n.op_type for n in m.graph.node for o in n.output}
    # conv0's output is read by its Relu alone: quantized after it; conv1's goes into the Concat.
    assert [producers.get(t, "input") for t in names] == ["input", "Relu", "Relu", "Conv"]


def test_the_qdq_graph_is_valid_per_channel_and_close_to_float(tiny_onnx, tmp_path):
    model = onnx.load(str(tiny_onnx))
    before = model.SerializeToString()
    names = quantize.activation_tensors(model)
    ranges = quantize.measure_ranges(tiny_onnx, _images(32, seed=1), names)
    q = quantize.quantize_qdq(model, ranges)
    assert model.SerializeToString() == before, "the float model is left untouched"
    onnx.checker.check_model(q, full_check=True)
    inits = {i.name: numpy_helper.to_array(i) for i in q.graph.initializer}
    convs = [n for n in q.graph.node if n.op_type == "Conv"]
    dq = {n.output[0]: n for n in q.graph.node if n.op_type == "DequantizeLinear"}
    for conv in convs:
        w = dq[conv.input[1]]
        assert inits[w.input[0]].dtype == np.int8 and inits[w.input[1]].shape == (inits[w.input[0]].shape[0],)
        assert [a.i for a in w.attribute if a.name == "axis"] == [0]
        assert dq[conv.input[0]].input[0].endswith("_quantized"), "the activation input goes through Q/DQ"
        if len(conv.input) > 2:
            assert inits[dq[conv.input[2]].input[0]].dtype == np.int32
    ops = Counter(n.op_type for n in q.graph.node)
    assert ops["QuantizeLinear"] == len(names) and ops["Gemm"] == 1 and ops["Einsum"] == 1
    assert not any(i.data_type == onnx.TensorProto.FLOAT and i.name.endswith(".weight") and len(i.dims) == 4
                   for i in q.graph.initializer), "no float conv weight is left"

    path = tmp_path / "q.onnx"
    onnx.save(q, str(path))
    x = _images(16, seed=2)
    ref, out = quantize.run_model(tiny_onnx, x), quantize.run_model(path, x)
    spread = ref["logit"].std()
    assert np.abs(out["logit"] - ref["logit"]).max() <= 0.05 * spread + 1e-3
    assert np.median(int8.cam_correlation(ref["cam"], out["cam"])) >= 0.98
    web = quantize.run_model(path, x[:2], engine="web")
    np.testing.assert_allclose(web["logit"], out["logit"][:2], atol=1e-4)


def test_onnxruntime_fuses_every_conv_into_an_integer_kernel(tiny_onnx, tmp_path):
    model = onnx.load(str(tiny_onnx))
    ranges = quantize.measure_ranges(tiny_onnx, _images(8), quantize.activation_tensors(model))
    onnx.save(quantize.quantize_qdq(model, ranges), str(tmp_path / "q.onnx"))
    quantize.run_node(["run", str(tmp_path / "q.onnx"), *_x_file(tmp_path), str(tmp_path), "--optimized", str(tmp_path / "opt.onnx")])
    ops = Counter(n.op_type for n in onnx.load(str(tmp_path / "opt.onnx")).graph.node)
    assert ops["QLinearConv"] == 2 and ops["Conv"] == 0


def _x_file(tmp_path):
    x = _images(1)
    x.tofile(tmp_path / "x.f32")
    return [str(tmp_path / "x.f32"), ",".join(map(str, x.shape))]


def test_weights_shared_through_identity_nodes_are_quantized_like_their_own(tiny_onnx, tmp_path):
    # torch's exporter shares equal initializers (an untrained layer's zero biases) through Identity.
    model = onnx.load(str(tiny_onnx))
    conv0 = next(n for n in model.graph.node if n.op_type == "Conv")
    shared = onnx.ModelProto()
    shared.CopyFrom(model)
    bias = next(i for i in shared.graph.initializer if i.name == conv0.input[2])
    bias.name = "shared_bias"
    shared.graph.node.insert(0, onnx.helper.make_node("Identity", ["shared_bias"], [conv0.input[2]]))
    ranges = quantize.measure_ranges(tiny_onnx, _images(8), quantize.activation_tensors(model))
    a, b = quantize.quantize_qdq(model, ranges), quantize.quantize_qdq(shared, ranges)
    onnx.save(a, str(tmp_path / "a.onnx"))
    onnx.save(b, str(tmp_path / "b.onnx"))
    x = _images(4, seed=5)
    np.testing.assert_array_equal(quantize.run_model(tmp_path / "a.onnx", x)["logit"], quantize.run_model(tmp_path / "b.onnx", x)["logit"])


def test_a_missing_range_is_refused_by_name(tiny_onnx):
    model = onnx.load(str(tiny_onnx))
    ranges = {t: (0.0, 1.0) for t in quantize.activation_tensors(model)[1:]}
    with pytest.raises(quantize.QuantizationError, match=r"no calibrated range for 1 tensor\(s\), e\.g\. 'input'"):
        quantize.quantize_qdq(model, ranges)


def test_the_calibration_sample_is_drawn_from_train_reproducibly():
    recs = list(range(300))
    a, b = int8.calibration_sample(recs, 128, seed=0), int8.calibration_sample(recs, 128, seed=0)
    assert a == b and len(set(a)) == 128 and a != recs[:128]
    assert int8.calibration_sample(recs[:5], 128) != [] and len(int8.calibration_sample(recs[:5], 128)) == 5
    with pytest.raises(ValueError, match="train split is empty"):
        int8.calibration_sample([])


def test_cam_correlation_of_flat_maps():
    z, one = np.zeros((1, 2, 2)), np.array([[[0.0, 1.0], [0.0, 0.0]]])
    assert int8.cam_correlation(z, z)[0] == 1.0
    assert int8.cam_correlation(z, one)[0] == 0.0
    assert int8.cam_correlation(one, 3 * one)[0] == pytest.approx(1.0)


@pytest.fixture(scope="module")
def variant(tiny_onnx, tiny_dataset, tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("variant")
    shutil.copy(tiny_onnx, model_dir / "model.onnx")
    records = data.scan_kaggle(tiny_dataset)
    pool = [r for r in records if r.official_split != "test"]
    splits = {"train": pool, "calib": pool[::2], "val_report": pool[1::2], "test": [r for r in records if r.official_split == "test"]}
    float_cal = calibration.CALIBRATORS["platt"]().fit(np.array([-1.0, 1.0, -2.0, 2.0]), np.array([0, 1, 0, 1]))
    entry = int8.measure(model_dir, tiny_dataset, splits, float_calibration=(float_cal, 0.5),
                         target_sensitivity=0.9, n_boot=20, require_proof=False, size=SIZE, log=lambda *_: None)
    return model_dir, splits, entry


def test_the_variant_is_calibrated_on_its_own_logits_not_the_float_models(variant, tiny_dataset):
    model_dir, splits, entry = variant
    xs = {k: int8.tensors(tiny_dataset, splits[k], SIZE) for k in ("calib", "val_report")}
    y = {k: np.array([r.label for r in splits[k]]) for k in xs}

    def fitted(path):
        z = {k: quantize.run_model(path, xs[k])["logit"].reshape(-1) for k in xs}
        return calibration.fit_all(z["calib"], y["calib"], z["val_report"], y["val_report"]).to_manifest()

    own, borrowed = fitted(model_dir / int8.FILE), fitted(model_dir / "model.onnx")
    platt = lambda c: [c["methods"]["platt"]["params"][k] for k in ("a", "b")]  # noqa: E731
    assert platt(own) != pytest.approx(platt(borrowed), rel=1e-4), "the test needs models whose logits differ"
    assert platt(entry["calibration"]) == pytest.approx(platt(own), rel=1e-9)
    assert entry["calibration"]["selected"] == own["selected"]
    assert entry["sha256"] == export.sha256_file(model_dir / int8.FILE)
    assert entry["weights"] == "int8" and entry["thresholds"]["clinical"]["split"] == "val_report"
    assert set(entry["gates"]) >= {"roc_auc", "cam_correlation", "decision_agreement", "onnxruntime_web", "pass"}


def _demo_manifest() -> dict:
    return json.loads((REPO / "models" / "chestaid-demo" / "manifest.json").read_text())


def test_the_manifest_takes_the_variant_and_refuses_one_that_borrows(variant):
    _, _, entry = variant
    entry = {**entry, "gates": {**entry["gates"], "pass": True}}
    man = int8.with_variant(_demo_manifest(), entry)
    assert man["schema_version"] == manifest.SCHEMA_VERSION and man["onnx"]["variants"][-1]["file"] == int8.FILE
    assert [v["file"] for v in int8.with_variant(man, entry)["onnx"]["variants"]].count(int8.FILE) == 1
    manifest.validate(man)
    assert "## Variants with their own calibration" in manifest.model_card(man)
    borrowed = {k: v for k, v in entry.items() if k not in ("calibration", "thresholds")}
    with pytest.raises(jsonschema.ValidationError, match="'calibration' is a required property"):
        manifest.validate(int8.with_variant(_demo_manifest(), borrowed))
    with pytest.raises(jsonschema.ValidationError):
        manifest.validate(int8.with_variant(_demo_manifest(), {**entry, "gates": {**entry["gates"], "pass": False}}))
