import json

import numpy as np
import pytest

from chestaid_train.metrics import confusion_at, rates
from chestaid_train.threshold import (
    RULE,
    choose_threshold,
    operating_point,
    threshold_for_sensitivity,
)


def _dataset(kind):
    rng = np.random.default_rng({"continuous": 0, "ties": 1, "few_positives": 2}[kind])
    if kind == "continuous":
        y = (rng.random(600) < 0.35).astype(int)
        p = np.clip(rng.normal(0.35 + 0.3 * y, 0.15), 0, 1)
    elif kind == "ties":
        # Isotonic calibration outputs few distinct values, so many positives share a score.
        y = (rng.random(600) < 0.4).astype(int)
        p = np.round(np.clip(rng.normal(0.3 + 0.35 * y, 0.2), 0, 1), 1)
    else:
        y = np.zeros(200, dtype=int)
        y[:7] = 1
        p = rng.random(200)
    return y, p


def _sensitivity(y, p, t):
    return rates(confusion_at(y, p, t))["sensitivity"]


@pytest.mark.parametrize("kind", ["continuous", "ties", "few_positives"])
@pytest.mark.parametrize("target", [0.5, 0.8, 0.85, 0.9, 0.95, 0.99, 1.0])
def test_threshold_meets_the_target_and_is_the_highest_that_does(kind, target):
    y, p = _dataset(kind)
    t = threshold_for_sensitivity(y, p, target)
    assert _sensitivity(y, p, t) >= target
    assert t in set(p[y == 1])
    higher = np.unique(p[y == 1])
    higher = higher[higher > t]
    if higher.size:
        # The next candidate up already misses the target.
        assert _sensitivity(y, p, higher[0]) < target
    else:
        assert t == p[y == 1].max()


def test_a_full_sensitivity_target_puts_the_threshold_at_the_lowest_positive():
    y, p = _dataset("continuous")
    assert threshold_for_sensitivity(y, p, 1.0) == p[y == 1].min()


def test_threshold_is_unaffected_by_negatives_scoring_above_every_positive():
    y = np.array([1, 1, 1, 1, 0, 0])
    p = np.array([0.2, 0.4, 0.6, 0.8, 0.9, 0.95])
    assert threshold_for_sensitivity(y, p, 0.75) == 0.4


def test_threshold_refuses_a_split_without_positives():
    with pytest.raises(ValueError, match="no positives"):
        threshold_for_sensitivity([0, 0, 0], [0.1, 0.5, 0.9], 0.9)


@pytest.mark.parametrize("target", [0.0, -0.1, 1.01, float("nan")])
def test_threshold_refuses_a_target_outside_zero_to_one(target):
    with pytest.raises(ValueError, match="target sensitivity"):
        threshold_for_sensitivity([0, 1], [0.1, 0.9], target)


def test_threshold_refuses_logits_in_place_of_probabilities():
    with pytest.raises(ValueError, match=r"p\[0\] = -2.5 is outside \[0, 1\]"):
        threshold_for_sensitivity([1, 0], [-2.5, 3.0], 0.9)


# ---- operating point ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def op():
    y, p = _dataset("continuous")
    return y, p, operating_point(y, p, 0.5, n_boot=400, seed=3)


def test_operating_point_reports_the_confusion_matrix_and_rates_at_the_threshold(op):
    y, p, out = op
    cm = confusion_at(y, p, 0.5)
    assert out["confusion"] == cm
    assert out["threshold"] == 0.5 and out["n"] == y.size and out["n_pos"] == int(y.sum())
    for name, value in rates(cm).items():
        if name in out:
            assert out[name]["value"] == value


@pytest.mark.parametrize("name", ["sensitivity", "specificity", "ppv", "npv", "f1"])
def test_operating_point_interval_contains_the_estimate(op, name):
    _, _, out = op
    ci = out[name]
    assert set(ci) == {"value", "ci_low", "ci_high"}
    assert 0.0 <= ci["ci_low"] <= ci["value"] <= ci["ci_high"] <= 1.0
    assert ci["ci_low"] < ci["ci_high"]


def test_operating_point_is_deterministic_for_a_seed_and_json_safe(op):
    y, p, out = op
    assert operating_point(y, p, 0.5, n_boot=400, seed=3) == out
    assert operating_point(y, p, 0.5, n_boot=400, seed=4) != out
    assert out["bootstrap"] == {
        "n_boot": 400, "seed": 3, "level": 0.95, "method": "percentile",
        "resampling": "stratified by class",
    }
    json.dumps(out, allow_nan=False)


def test_operating_point_leaves_undefined_rates_as_none():
    out = operating_point([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], 0.9, n_boot=50)
    assert out["ppv"] == {"value": None, "ci_low": None, "ci_high": None}
    json.dumps(out, allow_nan=False)


# ---- choose_threshold -------------------------------------------------------------------------


def test_choose_threshold_records_value_rule_target_split_and_metrics():
    y, p = _dataset("ties")
    out = choose_threshold(y, p, 0.9, n_boot=200, seed=0)
    assert set(out) == {"value", "rule", "target_sensitivity", "split", "at_threshold"}
    assert out["value"] == threshold_for_sensitivity(y, p, 0.9)
    assert out["rule"] == RULE == "highest threshold whose sensitivity on the split is >= target"
    assert out["target_sensitivity"] == 0.9 and out["split"] == "val_report"
    assert out["at_threshold"] == operating_point(y, p, out["value"], n_boot=200, seed=0)
    assert out["at_threshold"]["sensitivity"]["value"] >= 0.9
    json.dumps(out, allow_nan=False)


@pytest.mark.parametrize(
    "call",
    [
        lambda y, p: threshold_for_sensitivity(y, p, 0.9),
        lambda y, p: operating_point(y, p, 0.5, n_boot=50),
        lambda y, p: choose_threshold(y, p, 0.9, n_boot=50),
    ],
)
def test_threshold_functions_do_not_mutate_their_inputs(call):
    y, p = _dataset("continuous")
    y0, p0 = y.copy(), p.copy()
    call(y, p)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(p, p0)
