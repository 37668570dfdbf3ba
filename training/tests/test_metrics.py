import json
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from chestaid_train.metrics import (
    bootstrap_ci,
    brier,
    confusion_at,
    ece_upper_bound,
    expected_calibration_error,
    nll,
    pr_auc,
    rates,
    reliability_curve,
    roc_auc,
    summarize,
)


def _scores(seed=0, n=500):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    p = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0.0, 1.0)
    return y, p


# ---- threshold-free metrics ------------------------------------------------------------------


def test_standard_metrics_agree_with_scikit_learn():
    y, p = _scores()
    assert roc_auc(y, p) == pytest.approx(roc_auc_score(y, p), abs=1e-15)
    assert pr_auc(y, p) == pytest.approx(average_precision_score(y, p), abs=1e-15)
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p), abs=1e-15)


def test_nll_is_finite_for_confident_outputs_and_matches_the_formula():
    y = np.array([1, 0, 1, 0])
    p = np.array([1.0, 0.0, 0.0, 0.5])  # one confident miss, as isotonic can produce
    value = nll(y, p)
    assert math.isfinite(value)
    expected = (-math.log(1 - 1e-15) * 2 - math.log(1e-15) - math.log(0.5)) / 4
    assert value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("fn", [roc_auc, pr_auc])
def test_aucs_refuse_a_split_with_one_class(fn):
    with pytest.raises(ValueError, match="only negatives"):
        fn([0, 0, 0], [0.1, 0.2, 0.3])


# ---- ECE binning -----------------------------------------------------------------------------


def test_ece_puts_zero_in_the_first_bin_and_one_in_the_closed_last_bin():
    rel = reliability_curve([0, 1], [0.0, 1.0], n_bins=15)
    assert rel["count"][0] == 1 and rel["count"][-1] == 1
    assert sum(rel["count"]) == 2
    assert expected_calibration_error([0, 1], [0.0, 1.0], n_bins=15) == 0.0


@pytest.mark.parametrize("n_bins", [1, 2, 10, 15])
def test_ece_puts_a_probability_on_an_inner_edge_in_the_upper_bin(n_bins):
    for b in range(1, n_bins):
        rel = reliability_curve([1], [b / n_bins], n_bins=n_bins)
        assert rel["count"][b] == 1, (n_bins, b)


def test_ece_weights_each_bins_gap_between_mean_label_and_mean_probability():
    y = np.array([1, 0, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.25])
    # 4 bins: 0.1, 0.2 in [0, 0.25); 0.25 (on the edge, goes up) and 0.3 in [0.25, 0.5).
    expected = 0.5 * abs(0.5 - 0.15) + 0.5 * abs(0.5 - 0.275)
    assert expected_calibration_error(y, p, n_bins=4) == pytest.approx(expected, abs=1e-15)


def test_ece_of_a_perfectly_calibrated_large_sample_is_small():
    rng = np.random.default_rng(3)
    p = rng.random(100_000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(y, p) < 0.01


def test_reliability_curve_reports_empty_bins_as_none_and_lines_up_with_edges():
    rel = reliability_curve([0, 1, 1], [0.05, 0.92, 0.97], n_bins=10)
    assert len(rel["edges"]) == 11 and len(rel["count"]) == len(rel["mean_p"]) == 10
    assert rel["count"] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 2]
    assert rel["mean_p"][1] is None and rel["frac_pos"][1] is None
    assert rel["mean_p"][9] == pytest.approx(0.945)
    assert rel["frac_pos"][9] == 1.0
    json.dumps(rel, allow_nan=False)


# ---- ECE <= sqrt(Brier) ----------------------------------------------------------------------


def _draw(kind, rng):
    n = int(rng.integers(1, 400))
    if kind == "independent":
        return (rng.random(n) < 0.5).astype(int), rng.random(n)
    if kind == "calibrated":
        p = rng.random(n)
        return (rng.random(n) < p).astype(int), p
    if kind == "overconfident_extreme":
        # Hard 0/1 outputs that are often wrong: ECE equals the error rate here.
        return (rng.random(n) < 0.5).astype(int), rng.integers(0, 2, n).astype(float)
    if kind == "inverted":
        p = rng.random(n)
        return (rng.random(n) < 1 - p).astype(int), p
    if kind == "skewed_beta":
        return (rng.random(n) < 0.05).astype(int), rng.beta(0.3, 3.0, n)
    if kind == "on_bin_edges":
        return (rng.random(n) < 0.5).astype(int), rng.integers(0, 16, n) / 15
    if kind == "constant":
        return (rng.random(n) < 0.2).astype(int), np.full(n, rng.random())
    raise AssertionError(kind)


KINDS = ["independent", "calibrated", "overconfident_extreme", "inverted", "skewed_beta",
         "on_bin_edges", "constant"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n_bins", [1, 5, 15, 50])
def test_ece_never_exceeds_sqrt_brier(kind, n_bins):
    rng = np.random.default_rng(1000 * KINDS.index(kind) + n_bins)
    for _ in range(40):
        y, p = _draw(kind, rng)
        ece = expected_calibration_error(y, p, n_bins=n_bins)
        assert ece <= ece_upper_bound(brier(y, p)) + 1e-12, (kind, n_bins, y, p)


def test_overconfident_extreme_outputs_give_ece_equal_to_error_rate():
    y = np.array([1, 0, 1, 0, 1])
    p = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    assert expected_calibration_error(y, p) == pytest.approx(3 / 5)
    assert brier(y, p) == pytest.approx(3 / 5)


def test_the_original_studys_ece_and_brier_pair_is_impossible():
    # Reported together: ECE 0.2723 with Brier 0.0067; sqrt(0.0067) = 0.0819.
    assert 0.2723 > ece_upper_bound(0.0067)


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_ece_upper_bound_refuses_a_brier_outside_zero_one(bad):
    with pytest.raises(ValueError, match="brier_score"):
        ece_upper_bound(bad)


# ---- threshold metrics -----------------------------------------------------------------------


def test_confusion_flags_a_score_exactly_at_the_threshold():
    cm = confusion_at([1, 0, 1, 0], [0.5, 0.5, 0.49, 0.1], 0.5)
    assert cm == {"tn": 1, "fp": 1, "fn": 1, "tp": 1}


def test_rates_from_a_known_confusion_matrix():
    r = rates({"tn": 50, "fp": 10, "fn": 5, "tp": 35})
    assert r["sensitivity"] == pytest.approx(35 / 40)
    assert r["specificity"] == pytest.approx(50 / 60)
    assert r["ppv"] == pytest.approx(35 / 45)
    assert r["npv"] == pytest.approx(50 / 55)
    assert r["f1"] == pytest.approx(70 / 85)
    assert r["accuracy"] == pytest.approx(85 / 100)


@pytest.mark.parametrize(
    "cm, undefined",
    [
        ({"tn": 5, "fp": 0, "fn": 3, "tp": 0}, {"ppv"}),  # nothing flagged
        ({"tn": 0, "fp": 0, "fn": 0, "tp": 4}, {"specificity", "npv"}),  # no negatives
        ({"tn": 4, "fp": 2, "fn": 0, "tp": 0}, {"sensitivity"}),  # no positives
        (
            {"tn": 0, "fp": 0, "fn": 0, "tp": 0},
            {"sensitivity", "specificity", "ppv", "npv", "f1", "accuracy"},
        ),
    ],
)
def test_rates_with_zero_denominators_are_none_not_nan(cm, undefined):
    r = rates(cm)
    assert {k for k, v in r.items() if v is None} == undefined
    json.dumps(r, allow_nan=False)


@pytest.mark.parametrize(
    "cm, match",
    [
        ({"tn": 1, "fp": 1, "fn": 1}, "missing"),
        ({"tn": 1, "fp": -1, "fn": 1, "tp": 1}, "fp = -1"),
        ({"tn": 1.5, "fp": 1, "fn": 1, "tp": 1}, "tn = 1.5"),
    ],
)
def test_rates_refuse_a_malformed_confusion_matrix(cm, match):
    with pytest.raises(ValueError, match=match):
        rates(cm)


@pytest.mark.parametrize("bad", [-0.5, 1.2, 2.3, float("nan")])
def test_confusion_refuses_a_threshold_that_is_not_a_probability(bad):
    with pytest.raises(ValueError, match="threshold"):
        confusion_at([0, 1], [0.2, 0.8], bad)


# ---- bootstrap -------------------------------------------------------------------------------


def _sens_at_half(y, p):
    return rates(confusion_at(y, p, 0.5))["sensitivity"]


@pytest.mark.parametrize("fn", [roc_auc, brier, _sens_at_half])
def test_bootstrap_interval_contains_the_estimate_and_repeats_for_a_seed(fn):
    y, p = _scores(seed=1, n=300)
    a = bootstrap_ci(y, p, fn, n_boot=300, seed=7)
    b = bootstrap_ci(y, p, fn, n_boot=300, seed=7)
    c = bootstrap_ci(y, p, fn, n_boot=300, seed=8)
    assert a == b
    assert a != c
    assert a["ci_low"] <= a["value"] <= a["ci_high"]
    assert a["value"] == fn(y, p)


def test_bootstrap_resamples_each_class_separately():
    y = np.array([1] * 3 + [0] * 97)
    p = np.linspace(0, 1, 100)
    seen = []

    def record(yb, pb):
        seen.append(int(yb.sum()))
        return 0.0

    bootstrap_ci(y, p, record, n_boot=200, seed=0)
    # First call is the point estimate; every replicate keeps exactly 3 positives.
    assert seen == [3] * 201


def test_bootstrap_skips_undefined_replicates_and_reports_none_when_all_are():
    y, p = np.array([0, 1]), np.array([0.1, 0.2])
    out = bootstrap_ci(y, p, lambda yb, pb: None, n_boot=10)
    assert out == {"value": None, "ci_low": None, "ci_high": None}


@pytest.mark.parametrize("kwargs, match", [({"n_boot": 0}, "n_boot"), ({"alpha": 1.0}, "alpha")])
def test_bootstrap_refuses_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_ci([0, 1], [0.1, 0.9], brier, **kwargs)


# ---- summary, validation, no mutation ----------------------------------------------------------


def test_summary_is_plain_json_safe_python():
    y, p = _scores()
    s = summarize(y, p)
    assert set(s) == {"roc_auc", "pr_auc", "brier", "ece", "n", "n_pos"}
    assert all(type(s[k]) is float for k in ("roc_auc", "pr_auc", "brier", "ece"))
    assert type(s["n"]) is int and type(s["n_pos"]) is int
    assert s["n"] == 500 and s["n_pos"] == int(y.sum())
    json.dumps(s, allow_nan=False)


def test_summary_of_a_one_class_split_leaves_the_aucs_undefined():
    s = summarize([0, 0, 0], [0.1, 0.2, 0.3])
    assert s["roc_auc"] is None and s["pr_auc"] is None and s["n_pos"] == 0


@pytest.mark.parametrize(
    "y, p, match",
    [
        ([0, 1, 2], [0.1, 0.2, 0.3], r"y\[2\] = 2 is not a binary label"),
        ([0, 1, 0.5], [0.1, 0.2, 0.3], r"y\[2\] = 0.5 is not a binary label"),
        ([0, 1], [0.1, 1.7], r"p\[1\] = 1.7 is outside \[0, 1\]"),
        ([0, 1], [-2.3, 0.5], r"p\[0\] = -2.3 is outside"),
        ([0, 1], [0.1, float("nan")], r"p\[1\] = nan is not finite"),
        ([0, 1, 1], [0.1, 0.2], "y has 3 values but p has 2"),
        ([[0, 1]], [[0.1, 0.2]], r"y must be 1-D, got shape \(1, 2\)"),
        ([], [], "y is empty"),
        (["a", "b"], [0.1, 0.2], "must be real numbers"),
    ],
)
@pytest.mark.parametrize("fn", [brier, expected_calibration_error, summarize, reliability_curve])
def test_bad_inputs_raise_naming_the_value(fn, y, p, match):
    with pytest.raises(ValueError, match=match):
        fn(y, p)


@pytest.mark.parametrize(
    "call",
    [
        lambda y, p: summarize(y, p),
        lambda y, p: reliability_curve(y, p),
        lambda y, p: confusion_at(y, p, 0.4),
        lambda y, p: bootstrap_ci(y, p, roc_auc, n_boot=20),
    ],
)
def test_metrics_do_not_mutate_their_inputs(call):
    y, p = _scores(seed=2, n=200)
    y0, p0 = y.copy(), p.copy()
    call(y, p)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(p, p0)
