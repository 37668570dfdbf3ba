import json

import numpy as np
import pytest

from chestaid_train.metrics import confusion_at, rates
from scipy.stats import binomtest

from chestaid_train.threshold import (
    POINT_RULE,
    RULE,
    choose_threshold,
    clopper_pearson_interval,
    clopper_pearson_lower,
    operating_point,
    positives_needed,
    threshold_for_sensitivity,
    threshold_with_proven_sensitivity,
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


def test_choose_threshold_records_value_rule_proof_target_split_and_metrics():
    y, p = _dataset("ties")
    out = choose_threshold(y, p, 0.9, n_boot=200, seed=0)
    assert set(out) == {"value", "rule", "target_sensitivity", "split", "proven", "proof",
                        "point_estimate_threshold", "at_threshold"}
    assert out["value"] == threshold_with_proven_sensitivity(y, p, 0.9)["value"]
    assert out["point_estimate_threshold"] == threshold_for_sensitivity(y, p, 0.9) >= out["value"]
    assert out["rule"] == RULE and "Clopper-Pearson lower bound" in RULE
    assert out["target_sensitivity"] == 0.9 and out["split"] == "val_report" and out["proven"] is True
    assert out["proof"]["lower_bound"] >= 0.9 and out["proof"]["positives_needed"] == 29
    assert out["at_threshold"] == operating_point(y, p, out["value"], n_boot=200, seed=0)
    exact = out["at_threshold"]["sensitivity_exact"]
    assert exact["k"] == out["proof"]["flagged_positives"] and exact["n"] == int(y.sum())
    assert (exact["ci_low"], exact["ci_high"]) == clopper_pearson_interval(exact["k"], exact["n"])
    json.dumps(out, allow_nan=False)


# ---- the proven threshold (Clopper-Pearson) ---------------------------------------------------


@pytest.mark.parametrize("k, n", [(0, 10), (1, 10), (9, 10), (10, 10), (90, 100), (97, 97), (250, 300)])
def test_clopper_pearson_matches_scipys_exact_binomial_interval(k, n):
    ci = binomtest(k, n).proportion_ci(0.95, method="exact")
    low, high = clopper_pearson_interval(k, n)
    assert low == pytest.approx(ci.low, rel=1e-9, abs=1e-300)
    assert high == pytest.approx(ci.high, rel=1e-9)
    # The one-sided 95 % bound is the two-sided 90 % one's lower end.
    one = binomtest(k, n, alternative="greater").proportion_ci(0.95, method="exact").low
    # (binomtest solves the one-sided bound by root finding: equal to 1e-9, not to the last digit.)
    assert clopper_pearson_lower(k, n) == pytest.approx(one, rel=1e-9, abs=1e-300)


def test_clopper_pearson_at_full_sensitivity_is_alpha_to_the_one_over_n():
    for n in (1, 10, 29, 97):
        assert clopper_pearson_lower(n, n) == pytest.approx(0.05 ** (1 / n), rel=1e-12)


@pytest.mark.parametrize("target, needed", [(0.8, 14), (0.9, 29), (0.95, 59), (0.99, 299)])
def test_positives_needed_is_the_smallest_count_whose_perfect_record_proves_the_target(target, needed):
    assert positives_needed(target) == needed
    assert clopper_pearson_lower(needed, needed) >= target > clopper_pearson_lower(needed - 1, needed - 1)


def test_a_target_of_one_can_never_be_proven():
    with pytest.raises(ValueError, match="never be proven"):
        positives_needed(1.0)


@pytest.mark.parametrize("kind", ["continuous", "ties"])
@pytest.mark.parametrize("target", [0.5, 0.8, 0.9])
def test_proven_threshold_is_the_highest_whose_lower_bound_reaches_the_target(kind, target):
    y, p = _dataset(kind)
    out = threshold_with_proven_sensitivity(y, p, target)
    t, n_pos = out["value"], int(y.sum())
    k = int(np.sum(p[y == 1] >= t))
    assert out["flagged_positives"] == k and out["n_pos"] == n_pos
    assert clopper_pearson_lower(k, n_pos) == out["lower_bound"] >= target
    higher = np.unique(p[y == 1])
    higher = higher[higher > t]
    if higher.size:
        assert clopper_pearson_lower(int(np.sum(p[y == 1] >= higher[0])), n_pos) < target
    # Proving costs some threshold: never above the point-estimate rule's.
    assert t <= threshold_for_sensitivity(y, p, target)


def test_too_few_positives_are_refused_with_the_count_needed():
    y, p = _dataset("few_positives")  # 7 positives
    with pytest.raises(ValueError, match="7 positives.*at least 29 positives are needed"):
        threshold_with_proven_sensitivity(y, p, 0.9)
    with pytest.raises(ValueError, match="at least 29"):
        choose_threshold(y, p, 0.9, n_boot=20)


def test_a_smoke_run_may_keep_an_unproven_threshold_that_says_so():
    y, p = _dataset("few_positives")
    out = choose_threshold(y, p, 0.9, n_boot=20, require_proof=False)
    assert out["proven"] is False and out["value"] == p[y == 1].min()
    assert out["proof"]["lower_bound"] == pytest.approx(0.05 ** (1 / 7)) and out["proof"]["positives_needed"] == 29


def test_the_point_rule_is_kept_by_name_for_older_manifests():
    assert POINT_RULE == "highest threshold whose sensitivity on the split is >= target"


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
