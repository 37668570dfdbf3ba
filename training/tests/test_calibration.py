import json
import warnings

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from chestaid_train.calibration import (
    CALIBRATORS,
    Calibrator,
    CalibrationResult,
    IdentityCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    TemperatureCalibrator,
    calibrator_from_manifest,
    calibrator_from_params,
    MIN_ISOTONIC_CASES,
    clip_bounds,
    fit_all,
    one_se_choice,
    select_by_cv,
    sigmoid,
)
from chestaid_train.metrics import expected_calibration_error, expected_ece_if_calibrated
from chestaid_train.mulberry import repeated_stratified_folds

N = 20_000


@pytest.fixture(scope="module")
def logits():
    return np.random.default_rng(0).normal(0.0, 3.0, N)


def _labels(prob, seed):
    return (np.random.default_rng(seed).random(prob.size) < prob).astype(int)


@pytest.fixture(scope="module")
def shifted():
    """Logits from an over-confident model evaluated at a site with lower prevalence: the
    truth is sigmoid(0.5 z - 1), which temperature alone cannot reach."""
    rng = np.random.default_rng(11)
    z_c, z_r = rng.normal(0.0, 3.0, 4000), rng.normal(0.0, 3.0, 4000)
    return z_c, _labels(sigmoid(0.5 * z_c - 1.0), 12), z_r, _labels(sigmoid(0.5 * z_r - 1.0), 13)


# ---- recovering known parameters ---------------------------------------------------------------


def test_temperature_scaling_recovers_a_known_temperature(logits):
    y = _labels(sigmoid(logits / 2.0), 1)
    cal = TemperatureCalibrator().fit(logits, y)
    assert cal.temperature == pytest.approx(2.0, rel=0.05)


def test_platt_recovers_a_known_slope_and_intercept(logits):
    y = _labels(sigmoid(0.5 * logits - 1.0), 2)
    cal = PlattCalibrator().fit(logits, y)
    assert cal.a == pytest.approx(0.5, abs=0.03)
    assert cal.b == pytest.approx(-1.0, abs=0.06)


def test_platt_fit_is_the_maximum_likelihood_solution(logits):
    # At the MLE the score equations hold: sum(p - y) = 0 and sum((p - y) z) = 0.
    y = _labels(sigmoid(0.5 * logits - 1.0), 3)
    cal = PlattCalibrator().fit(logits, y)
    resid = cal.predict(logits) - y
    assert abs(resid.mean()) < 1e-6
    assert abs((resid * logits).mean()) < 1e-6


def test_temperature_scaling_cannot_move_the_midpoint(logits):
    y = _labels(sigmoid(0.5 * logits - 1.0), 4)  # a prior shift that wants p(0) = 0.27
    cal = TemperatureCalibrator().fit(logits, y)
    assert cal.predict(np.array([0.0]))[0] == 0.5
    assert PlattCalibrator().fit(logits, y).predict(np.array([0.0]))[0] < 0.35


def test_isotonic_prediction_equals_scikit_learns_and_is_monotone(logits):
    y = _labels(sigmoid(0.5 * logits - 1.0), 5)
    cal = IsotonicCalibrator().fit(logits, y)
    ref = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0, y_max=1).fit(logits, y)
    rng = np.random.default_rng(6)
    # New points, the knots themselves, and points far outside the fitted range (clipped).
    z = np.sort(np.concatenate([rng.normal(0, 5, 5000), cal.x, [-1e3, -50.0, 50.0, 1e3]]))
    got = cal.predict(z)
    # Equal up to floating-point rounding (scikit-learn interpolates with scipy's interp1d),
    # then clipped to [1/(n+2), 1 - 1/(n+2)].
    lo, hi = 1 / (N + 2), 1 - 1 / (N + 2)
    np.testing.assert_allclose(got, np.clip(ref.predict(z), lo, hi), rtol=0, atol=1e-12)
    assert np.all(np.diff(got) >= 0)
    assert got[0] == max(cal.y[0], lo) and got[-1] == min(cal.y[-1], hi)


# ---- reproducible from parameters ----------------------------------------------------------------


def _fitted(method, logits):
    y = _labels(sigmoid(0.7 * logits + 0.3), 7)
    return CALIBRATORS[method]().fit(logits, y)


@pytest.mark.parametrize("method", sorted(CALIBRATORS))
def test_calibrator_round_trips_exactly_through_json_params(method, logits):
    cal = _fitted(method, logits)
    params = json.loads(json.dumps(cal.params(), allow_nan=False))
    assert params == cal.params()
    rebuilt = calibrator_from_params(method, params)
    assert type(rebuilt) is type(cal) and rebuilt.method == method
    np.testing.assert_array_equal(rebuilt.predict(logits), cal.predict(logits))
    assert rebuilt.params() == cal.params()
    assert isinstance(rebuilt, Calibrator)


@pytest.mark.parametrize(
    "method, formula",
    [
        ("none", lambda z, q: 1 / (1 + np.exp(-z))),
        ("temperature", lambda z, q: 1 / (1 + np.exp(-z / q["temperature"]))),
        ("platt", lambda z, q: 1 / (1 + np.exp(-(q["a"] * z + q["b"])))),
    ],
)
def test_calibrator_matches_the_plain_formula_the_viewer_implements(method, formula, logits):
    cal = _fitted(method, logits)
    z = np.linspace(-30, 30, 601)
    clip = cal.params()["clip"]
    expected = np.clip(formula(z, cal.params()), clip["low"], clip["high"])
    np.testing.assert_allclose(cal.predict(z), expected, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("method", sorted(CALIBRATORS))
def test_a_fitted_calibrator_never_outputs_exactly_0_or_1(method):
    # Separable logits: unclipped, isotonic gives exact 0 and 1 and Platt saturates.
    z = np.r_[np.linspace(-9, -1, 40), np.linspace(1, 9, 40)]
    y = np.r_[np.zeros(40, int), np.ones(40, int)]
    cal = CALIBRATORS[method]().fit(z, y)
    p = cal.predict(np.r_[z, -1e4, 1e4])
    assert cal.params()["clip"] == {"low": 1 / 82, "high": 1 - 1 / 82}
    assert p.min() >= 1 / 82 and p.max() <= 1 - 1 / 82
    assert 0 < p.min() and p.max() < 1


def test_parameters_without_a_clip_are_applied_unclipped_as_older_manifests_were():
    cal = calibrator_from_params("isotonic", {"x": [-1.0, 1.0], "y": [0.0, 1.0]})
    assert cal.predict([-5.0, 5.0]).tolist() == [0.0, 1.0]
    clipped = calibrator_from_params("isotonic", {"x": [-1.0, 1.0], "y": [0.0, 1.0], "clip": clip_bounds(8)})
    assert clipped.predict([-5.0, 5.0]).tolist() == [0.1, 0.9]


@pytest.mark.parametrize("clip, match", [
    ({"low": 0.1}, "exactly the keys"),
    ({"low": 0.6, "high": 0.4}, "0 < low < high < 1"),
    ({"low": 0.0, "high": 1.0}, "0 < low < high < 1"),
    ({"low": "0.1", "high": 0.9}, "clip low = '0.1' is not a number"),
])
def test_a_bad_clip_is_refused_by_value(clip, match):
    with pytest.raises(ValueError, match=match):
        calibrator_from_params("platt", {"a": 1.0, "b": 0.0, "clip": clip})


@pytest.mark.parametrize("method", sorted(CALIBRATORS))
def test_sigmoid_is_stable_for_extreme_logits(method, logits):
    cal = _fitted(method, logits)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = cal.predict(np.array([-1e4, -800.0, 0.0, 800.0, 1e4]))
    assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
    assert np.all(np.diff(p) >= 0)


# ---- selection -------------------------------------------------------------------------------


def test_selection_by_out_of_fold_nll_picks_platt_for_a_prior_shift(shifted):
    result = fit_all(*shifted)
    # sigmoid(0.5 z - 1) is Platt's family and out of temperature's reach; isotonic is allowed
    # (4,000 cases) but cannot beat the right parametric family by more than one SE.
    assert result.selection["isotonic_allowed"]
    assert result.selected == "platt"
    oof = result.selection["oof"]
    assert oof["platt"]["nll"] < oof["temperature"]["nll"] < oof["none"]["nll"]
    z_r, y_r = shifted[2], shifted[3]
    for m, cal in result.calibrators.items():
        assert result.metrics[m]["ece"] == expected_calibration_error(y_r, cal.predict(z_r))
        assert result.metrics[m]["ece_if_calibrated"] == expected_ece_if_calibrated(cal.predict(z_r))
        assert result.metrics[m]["n"] == z_r.size


def test_selection_keeps_the_raw_score_when_it_is_already_calibrated():
    rng = np.random.default_rng(21)
    z = rng.normal(0.0, 2.0, 600)
    y = _labels(sigmoid(z), 22)
    sel = select_by_cv(z, y)
    assert sel["selected"] == "none"
    assert sel["candidates"] == ["none", "temperature", "platt"]


def test_isotonic_is_a_candidate_only_from_1000_cases():
    rng = np.random.default_rng(23)
    z = rng.normal(0.0, 2.0, MIN_ISOTONIC_CASES)
    y = _labels(sigmoid(z), 24)
    assert "isotonic" in select_by_cv(z, y, repeats=1)["candidates"]
    assert "isotonic" not in select_by_cv(z[1:], y[1:], repeats=1)["candidates"]


def test_the_one_se_rule_keeps_the_simpler_method_unless_the_other_wins_by_more_than_one_se():
    simple = np.array([1.0, 1.0, 1.0, 1.0])
    # temperature better by 0.1 on average; differences 0.2, -0.1, 0.3, 0.0: sd 0.1826, SE 0.0913.
    flexible_close = simple - np.array([0.2, -0.1, 0.3, 0.0])
    sq = {"none": np.zeros(4), "temperature": np.zeros(4)}
    out = one_se_choice({"none": simple, "temperature": flexible_close}, sq)
    assert out["best"] == "temperature" and out["selected"] == "temperature"
    assert out["oof"]["none"]["nll_minus_best"] == pytest.approx(0.1)
    assert out["oof"]["none"]["se_of_difference"] == pytest.approx(np.std([0.2, -0.1, 0.3, 0.0], ddof=1) / 2)
    # Differences 0.4, -0.3, 0.3, 0.0: mean 0.1, SE 0.158 > 0.1, so the simpler one stays.
    flexible_noisy = simple - np.array([0.4, -0.3, 0.3, 0.0])
    out = one_se_choice({"none": simple, "temperature": flexible_noisy}, sq)
    assert out["best"] == "temperature" and out["selected"] == "none"


def test_equal_out_of_fold_nll_is_broken_by_brier_then_by_simplicity():
    nll = {"none": np.array([0.5, 0.7]), "temperature": np.array([0.6, 0.6]), "platt": np.array([0.7, 0.5])}
    sq = {"none": np.array([0.2, 0.2]), "temperature": np.array([0.1, 0.2]), "platt": np.array([0.1, 0.2])}
    out = one_se_choice(nll, sq)
    assert out["best"] == "temperature"
    # none ties on NLL (difference 0 <= SE), and the simplest method within one SE is chosen.
    assert out["selected"] == "none"


def test_folds_are_stratified_reproducible_and_differ_between_repeats():
    y = np.array([0] * 23 + [1] * 12)
    folds = repeated_stratified_folds(y, 5, 3, seed=7)
    np.testing.assert_array_equal(folds, repeated_stratified_folds(y, 5, 3, seed=7))
    for row in folds:
        for label, size in ((0, 23), (1, 12)):
            counts = np.bincount(row[y == label], minlength=5)
            assert counts.min() == size // 5 and counts.max() == -(-size // 5)
    assert not np.array_equal(folds[0], folds[1])


def test_selection_refuses_a_class_too_small_to_cross_validate():
    with pytest.raises(ValueError, match="at least 2 cases of each class"):
        select_by_cv([0.1, 0.2, 0.3, 0.4], [0, 0, 0, 1])


def test_expected_ece_of_a_perfect_score_is_far_from_zero_at_131_cases_and_falls_with_n():
    # ECE's finite-sample bias: about sqrt(n_bins / n) in size, so ~30 times smaller n, ~5 times larger.
    rng = np.random.default_rng(25)
    small = expected_ece_if_calibrated(rng.uniform(0.02, 0.98, 131))
    large = expected_ece_if_calibrated(rng.uniform(0.02, 0.98, 4000), n_draws=200)
    assert 0.05 < small < 0.15
    assert large < small / 3
    # Reproducible from the seed, and a different seed draws other labels.
    p = rng.uniform(0, 1, 50)
    assert expected_ece_if_calibrated(p) == expected_ece_if_calibrated(p)
    assert expected_ece_if_calibrated(p, seed=1) != expected_ece_if_calibrated(p)


def test_manifest_section_has_the_agreed_shape_and_rebuilds_the_selected_calibrator(shifted):
    result = fit_all(*shifted)
    section = json.loads(json.dumps(result.to_manifest(), allow_nan=False))
    assert section["input"] == "logit"
    assert section["selected"] == result.selected
    sel = section["selection"]
    assert (sel["metric"], sel["split"], sel["n_bins"], sel["binning"]) == ("oof_nll", "calib", 15, "equal-width")
    assert sel["cv"] == {"folds": 5, "repeats": 10, "seed": 0, "stratified": True, "generator": "mulberry32"}
    assert sel["n"] == shifted[0].size and sel["isotonic_min_cases"] == 1000
    assert set(sel["oof"]) == {"none", "temperature", "platt", "isotonic"}
    assert list(section["methods"]) == ["none", "temperature", "platt", "isotonic"]
    for m, entry in section["methods"].items():
        assert set(entry) == {"params", "metrics"}
        assert entry["params"]["clip"] == clip_bounds(shifted[0].size)
        assert set(entry["metrics"]) == {"ece", "ece_if_calibrated", "brier", "nll", "roc_auc", "n"}
    cal = calibrator_from_manifest(section)
    np.testing.assert_array_equal(
        cal.predict(shifted[2]), result.selected_calibrator.predict(shifted[2])
    )


@pytest.mark.parametrize(
    "section, match",
    [
        ({"input": "probability", "selected": "none", "methods": {}}, "only 'logit'"),
        ({"input": "logit", "selected": "platt", "methods": {"none": {"params": {}}}}, "platt"),
        ({"input": "logit", "selected": "spline", "methods": {"spline": {"params": {}}}},
         "unknown calibration method 'spline'"),
    ],
)
def test_manifest_section_that_does_not_fit_is_refused(section, match):
    with pytest.raises(ValueError, match=match):
        calibrator_from_manifest(section)


def test_calibration_result_is_returned_as_a_dataclass(shifted):
    result = fit_all(*shifted)
    assert isinstance(result, CalibrationResult)
    assert set(result.calibrators) == {"none", "temperature", "platt", "isotonic"}
    assert isinstance(result.calibrators["none"], IdentityCalibrator)


# ---- inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", sorted(CALIBRATORS))
def test_fit_and_predict_do_not_mutate_their_inputs(method, logits):
    z = logits[:2000].copy()
    y = _labels(sigmoid(z), 8)
    z0, y0 = z.copy(), y.copy()
    cal = CALIBRATORS[method]().fit(z, y)
    cal.predict(z)
    np.testing.assert_array_equal(z, z0)
    np.testing.assert_array_equal(y, y0)


def test_fit_all_does_not_mutate_its_inputs(shifted):
    copies = [a.copy() for a in shifted]
    fit_all(*shifted)
    for a, a0 in zip(shifted, copies):
        np.testing.assert_array_equal(a, a0)


def test_isotonic_from_params_keeps_its_own_copy_of_the_knots():
    x, y = [-1.0, 0.0, 2.0], [0.1, 0.4, 0.9]
    cal = IsotonicCalibrator.from_params({"x": x, "y": y})
    x[1], y[1] = 5.0, 0.0
    assert cal.params() == {"x": [-1.0, 0.0, 2.0], "y": [0.1, 0.4, 0.9]}
    # Same for the clip.
    clip = {"low": 0.1, "high": 0.9}
    cal = IsotonicCalibrator.from_params({"x": [-1.0, 2.0], "y": [0.1, 0.9], "clip": clip})
    clip["low"] = 0.3
    assert cal.params()["clip"] == {"low": 0.1, "high": 0.9}


@pytest.mark.parametrize("method", ["temperature", "platt", "isotonic", "none"])
@pytest.mark.parametrize(
    "z, y, match",
    [
        ([0.1, float("nan"), 0.3], [0, 1, 1], r"logits\[1\] = nan is not finite"),
        ([0.1, float("inf")], [0, 1], r"logits\[1\] = inf is not finite"),
        ([0.1, 0.2, 0.3], [0, 1, 2], r"y\[2\] = 2 is not a binary label"),
        ([0.1, 0.2, 0.3], [0, 1], "logits has 3 values but y has 2"),
        ([[0.1, 0.2]], [[0, 1]], "logits must be 1-D"),
        ([0.1, 0.2, 0.3], [1, 1, 1], "only positives"),
        ([0.1, 0.2], [0, 0], "only negatives"),
    ],
)
def test_fit_refuses_bad_input_naming_the_value(method, z, y, match):
    with pytest.raises(ValueError, match=match):
        CALIBRATORS[method]().fit(z, y)


def test_fit_all_names_the_split_with_bad_input(shifted):
    z_c, y_c, z_r, y_r = shifted
    with pytest.raises(ValueError, match="y_report"):
        fit_all(z_c, y_c, z_r, np.zeros_like(y_r))
    with pytest.raises(ValueError, match=r"logits_calib\[0\] = nan"):
        fit_all(np.r_[np.nan, z_c[1:]], y_c, z_r, y_r)


@pytest.mark.parametrize(
    "method, params, match",
    [
        ("temperature", {"temperature": 0.0}, "temperature = 0.0 must be > 0"),
        ("temperature", {"temperature": -1.5}, "temperature = -1.5 must be > 0"),
        ("temperature", {"temperature": "2"}, "temperature = '2' is not a number"),
        ("temperature", {"T": 2.0}, r"exactly the keys \['temperature'\]"),
        ("platt", {"a": 1.0}, r"exactly the keys \['a', 'b'\]"),
        ("platt", {"a": float("inf"), "b": 0.0}, "platt a = inf is not finite"),
        ("isotonic", {"x": [0.0, 0.0], "y": [0.1, 0.2]}, r"isotonic x\[1\] = 0.0 is not greater"),
        ("isotonic", {"x": [0.0, 1.0], "y": [0.3, 0.2]}, r"isotonic y\[1\] = 0.2 is below"),
        ("isotonic", {"x": [0.0, 1.0], "y": [0.3, 1.2]}, r"isotonic y\[1\] = 1.2 is outside"),
        ("isotonic", {"x": [0.0, 1.0], "y": [0.3]}, "isotonic x has 2 values but isotonic y has 1"),
        ("none", {"temperature": 1.0}, "exactly the keys"),
    ],
)
def test_from_params_refuses_parameters_the_viewer_could_not_use(method, params, match):
    with pytest.raises(ValueError, match=match):
        calibrator_from_params(method, params)


@pytest.mark.parametrize("method", ["temperature", "platt", "isotonic"])
def test_predict_before_fit_is_an_error(method):
    with pytest.raises(RuntimeError, match="not fitted"):
        CALIBRATORS[method]().predict([0.0])
