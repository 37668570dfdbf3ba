"""The committed demo model, its demo studies and the parity fixtures agree with each other and
with the code that made them."""
import json
from pathlib import Path

import numpy as np
import pytest

from chestaid_train import calibration, cam, export, manifest, preprocess
from test_export import run_onnxruntime_node

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "chestaid-demo"
STUDIES = REPO / "test" / "demo-studies"
PARITY = REPO / "test" / "fixtures" / "parity"


@pytest.fixture(scope="module")
def man():
    return json.loads((MODEL / "manifest.json").read_text())


def test_demo_manifest_validates_and_names_the_committed_onnx_by_hash(man):
    manifest.validate(man)
    assert man["model"]["id"] == "chestaid-demo"
    assert export.sha256_file(MODEL / man["onnx"]["file"]) == man["onnx"]["sha256"]
    for v in man["onnx"]["variants"]:
        assert export.sha256_file(MODEL / v["file"]) == v["sha256"]


def test_demo_model_is_labelled_synthetic_everywhere(man):
    assert man["data"]["synthetic"] is True
    assert "SYNTHETIC" in man["intended_use"]["disclaimer"]
    for doc in ("MODEL_CARD.md", "report.md"):
        assert "SYNTHETIC" in (MODEL / doc).read_text(), doc


def test_the_model_card_is_the_one_generated_from_the_manifest(man):
    assert (MODEL / "MODEL_CARD.md").read_text() == manifest.model_card(man)


def test_ece_never_exceeds_sqrt_brier_in_the_manifest(man):
    for split, m in man["metrics"].items():
        for ece, brier in ((m["ece"], m["brier"]), (m["ece_uncalibrated"], m["brier_uncalibrated"])):
            assert ece <= np.sqrt(brier) + 1e-12, split
    for name, m in man["calibration"]["methods"].items():
        assert m["metrics"]["ece"] <= np.sqrt(m["metrics"]["brier"]) + 1e-12, name


def _parity_cases():
    return sorted(PARITY.glob("*.json"))


def test_there_are_parity_cases_covering_monochrome1_and_several_bit_depths():
    docs = [json.loads(p.read_text()) for p in _parity_cases()]
    assert len(docs) >= 4
    assert {"MONOCHROME1", "MONOCHROME2"} <= {d["photometric"] for d in docs}
    assert len({d["bits_stored"] for d in docs}) >= 2


@pytest.mark.parametrize("case", _parity_cases(), ids=lambda p: p.stem)
def test_parity_fixture_is_reproduced_from_its_dicom_by_the_python_pipeline(case, man):
    import pydicom

    from chestaid_train import dicom

    doc = json.loads(case.read_text())
    ds = pydicom.dcmread(case.parent / doc["dicom"])
    unit = dicom.stored_to_unit_float(ds)
    resized = np.frombuffer((case.parent / doc["resized"]["file"]).read_bytes(), "<f4").reshape(doc["resized"]["shape"])
    np.testing.assert_allclose(preprocess.resize(unit), resized, atol=1e-6)
    x = np.frombuffer((case.parent / doc["input"]["file"]).read_bytes(), "<f4").reshape(doc["input"]["shape"])
    np.testing.assert_allclose(preprocess.normalize(resized).numpy()[None], x, atol=1e-6)
    cal = calibration.calibrator_from_manifest(man["calibration"])
    assert float(cal.predict(np.array([doc["logit"]]))[0]) == pytest.approx(doc["probability"][man["calibration"]["selected"]], abs=1e-9)
    norm = cam.normalise(np.array(doc["cam"]["raw"], np.float32))
    np.testing.assert_allclose(norm, doc["cam"]["normalised"], atol=1e-6)
    up = doc["cam"]["upsampled"]
    np.testing.assert_allclose(cam.upsample(norm, up["height"], up["width"]), up["values"], atol=1e-6)


@pytest.mark.parametrize("case", _parity_cases(), ids=lambda p: p.stem)
def test_the_committed_onnx_gives_the_fixture_logit_and_cam_in_onnxruntime(case, man, tmp_path):
    doc = json.loads(case.read_text())
    x = np.frombuffer((case.parent / doc["input"]["file"]).read_bytes(), "<f4").reshape(doc["input"]["shape"])
    out = run_onnxruntime_node(MODEL / man["onnx"]["file"], x, tmp_path)
    assert float(out["logit"][0, 0]) == pytest.approx(doc["logit"], abs=1e-4)
    np.testing.assert_allclose(out["cam"][0], doc["cam"]["raw"], atol=1e-5, rtol=1e-4)


def test_demo_studies_cover_both_classes_with_masks_for_every_pneumonia_study():
    index = json.loads((STUDIES / "index.json").read_text())
    studies = index["studies"]
    assert len(studies) >= 20
    assert {s["label"] for s in studies} == {"NORMAL", "PNEUMONIA"}
    assert {"MONOCHROME1", "MONOCHROME2"} <= {s["photometric"] for s in studies}
    assert 12 in {s["bits_stored"] for s in studies}
    for s in studies:
        assert (STUDIES / s["file"]).is_file()
        assert ("lesion_mask" in s) == (s["label"] == "PNEUMONIA")
    assert len({s["StudyInstanceUID"] for s in studies}) == len(studies)


def test_demo_study_files_carry_no_ground_truth():
    for f in (STUDIES / "dicom").glob("*.dcm"):
        raw = f.read_bytes()
        assert b"PNEUMONIA" not in raw and b"NORMAL" not in raw, f.name


def test_calibration_fixture_reproduces_the_manifest_fit(man):
    doc = json.loads((REPO / "test" / "fixtures" / "calibration.json").read_text())
    c, r = doc["splits"]["calib"], doc["splits"]["val_report"]
    refit = calibration.fit_all(np.array(c["logits"]), np.array(c["y"]), np.array(r["logits"]), np.array(r["y"]))
    # A manifest from before schema 1.4.0 chose by ECE on val_report; the current rule (out-of-fold
    # NLL on calib) need not agree with it, so only a 1.4.0 manifest's choice is reproduced.
    if man["calibration"]["selection"]["metric"] == "oof_nll":
        assert refit.selected == man["calibration"]["selected"]
        assert refit.to_manifest()["selection"]["oof"].keys() == man["calibration"]["selection"]["oof"].keys()
    t = man["calibration"]["methods"]["temperature"]["params"]["temperature"]
    assert refit.calibrators["temperature"].params()["temperature"] == pytest.approx(t, rel=1e-6)
