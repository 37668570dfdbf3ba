import json
import re

import numpy as np
import pytest

from chestaid_train.calibration import fit_all
from chestaid_train.report import (
    DECISION_SUPPORT,
    SYNTHETIC_WARNING,
    evaluate_splits,
    write_report,
)
from chestaid_train.threshold import choose_threshold

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _split(rng, n):
    y = (rng.random(n) < 0.4).astype(int)
    z = rng.normal(0.0, 1.5, n) + np.where(y == 1, 1.8, -1.8) + 0.7
    return {"y": y, "logits": z}


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(0)
    splits = {
        "calib": _split(rng, 300), "val_report": _split(rng, 300), "test": _split(rng, 400),
    }
    vc, vr = splits["calib"], splits["val_report"]
    calibration = fit_all(vc["logits"], vc["y"], vr["logits"], vr["y"])
    p_report = calibration.selected_calibrator.predict(vr["logits"])
    threshold = choose_threshold(vr["y"], p_report, 0.9, n_boot=100)
    return splits, calibration, threshold


@pytest.fixture(scope="module")
def metrics(inputs):
    splits, calibration, threshold = inputs
    return evaluate_splits(splits, calibration, threshold, n_boot=100)


@pytest.fixture(scope="module")
def synthetic_report(inputs, metrics, tmp_path_factory):
    splits, calibration, threshold = inputs
    out = tmp_path_factory.mktemp("synthetic")
    path = write_report(
        out,
        model_id="densenet121-smoke",
        synthetic=True,
        splits=splits,
        calibration=calibration,
        threshold=threshold,
        extra={"Pointing game": "Hit rate 0.62 on 50 boxed studies."},
        metrics=metrics,
    )
    return out, path, path.read_text(encoding="utf-8")


def test_report_writes_markdown_and_every_referenced_png(synthetic_report):
    out, path, text = synthetic_report
    assert path == out / "report.md"
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    names = {f"{kind}_{split}.png" for kind in ("reliability", "roc", "pr")
             for split in ("calib", "val_report", "test")}
    assert {img.split("/")[-1] for img in images} == names
    for img in images:
        assert img.startswith("report/"), "images are embedded by relative path"
        assert (out / img).read_bytes()[:8] == PNG_MAGIC


def test_synthetic_report_carries_the_synthetic_warning_and_decision_support_line(
    synthetic_report,
):
    _, _, text = synthetic_report
    assert SYNTHETIC_WARNING in text
    assert "Trained and evaluated on SYNTHETIC data; these figures say nothing about " \
           "performance on real radiographs" in text
    assert "decision support, not a diagnosis" in text
    # Prominent: before the first section.
    assert text.index(SYNTHETIC_WARNING) < text.index("\n## ")


def test_report_shows_calibration_threshold_and_confusion_numbers(
    synthetic_report, inputs, metrics
):
    _, _, text = synthetic_report
    _, calibration, threshold = inputs
    for section in ("## Calibration methods", "## Operating threshold",
                    "### Confusion matrices at the threshold", "## Pointing game"):
        assert section in text
    assert "before calibration" in text and "after calibration" in text
    assert f">= **{threshold['value']:.4f}**" in text
    assert re.search(rf"\| {calibration.selected} \|[^\n]*\*\*selected\*\*", text)
    for method in ("none", "temperature", "platt", "isotonic"):
        assert f"| {method} |" in text
    sens = metrics["test"]["at_threshold"]["sensitivity"]
    assert f"{sens['value']:.3f} ({sens['ci_low']:.3f} to {sens['ci_high']:.3f})" in text
    c = metrics["test"]["at_threshold"]["confusion"]
    assert f"| PNEUMONIA | {c['tp']} | {c['fn']} |" in text


def test_report_without_synthetic_data_has_no_synthetic_warning(inputs, metrics, tmp_path):
    splits, calibration, threshold = inputs
    text = write_report(
        tmp_path, model_id="m", synthetic=False, splits=splits, calibration=calibration,
        threshold=threshold, metrics=metrics,
    ).read_text(encoding="utf-8")
    assert "SYNTHETIC" not in text
    assert DECISION_SUPPORT in text


def test_evaluate_splits_gives_json_safe_metrics_for_the_manifest(metrics, inputs):
    splits, calibration, threshold = inputs
    assert list(metrics) == ["calib", "val_report", "test"]
    for name, m in metrics.items():
        assert set(m) == {"n", "n_pos", "uncalibrated", "calibrated", "reliability", "at_threshold"}
        assert m["n"] == len(splits[name]["y"])
        assert m["at_threshold"]["threshold"] == threshold["value"]
        assert set(m["reliability"]) == {"uncalibrated", "calibrated"}
    assert metrics["val_report"]["calibrated"]["ece"] == pytest.approx(
        calibration.metrics[calibration.selected]["ece"], abs=1e-15
    )
    # Same seed and n_boot on the same split: the same numbers choose_threshold reported.
    assert metrics["val_report"]["at_threshold"] == threshold["at_threshold"]
    json.dumps(metrics, allow_nan=False)


def test_report_inputs_are_not_mutated(inputs, tmp_path):
    splits, calibration, threshold = inputs
    before = {k: {kk: vv.copy() for kk, vv in v.items()} for k, v in splits.items()}
    threshold_before = json.dumps(threshold, sort_keys=True)
    write_report(tmp_path, model_id="m", synthetic=True, splits={"test": splits["test"]},
                 calibration=calibration, threshold=threshold, n_boot=50)
    for k, v in splits.items():
        for kk in v:
            np.testing.assert_array_equal(v[kk], before[k][kk])
    assert json.dumps(threshold, sort_keys=True) == threshold_before


@pytest.mark.parametrize(
    "splits, match",
    [
        ({}, "non-empty"),
        ({"../evil": {"y": [0, 1], "logits": [0.0, 1.0]}}, r"split name '../evil'"),
        ({"test": {"y": [0, 1]}}, "keys 'y' and 'logits'"),
        ({"test": {"y": [0, 3], "logits": [0.0, 1.0]}}, r"test.y\[1\] = 3"),
        ({"test": {"y": [0, 1], "logits": [0.0, float("nan")]}}, r"test.logits\[1\] = nan"),
        ({"test": {"y": [0, 1, 1], "logits": [0.0, 1.0]}}, "test.y has 3 values"),
    ],
)
def test_bad_splits_are_refused_naming_the_split(inputs, tmp_path, splits, match):
    _, calibration, threshold = inputs
    with pytest.raises(ValueError, match=match):
        write_report(tmp_path, model_id="m", synthetic=True, splits=splits,
                     calibration=calibration, threshold=threshold, n_boot=10)
    assert not (tmp_path / "report.md").exists()
