"""Calibration: turn the model's PNEUMONIA logit into a probability.

Calibration only maps a logit to a probability; comparing that probability with an operating
point is :mod:`chestaid_train.threshold`'s job (STYLE.md 7). Every calibrator is a plain
formula of its stored parameters, because the viewer re-implements it in TypeScript from the
manifest and must give the same numbers:

    none         p = sigmoid(z)
    temperature  p = sigmoid(z / T)                      params {"temperature": T}, T > 0
    platt        p = sigmoid(a * z + b)                  params {"a": a, "b": b}
    isotonic     p = interp(z, x, y), clipped to the     params {"x": [...], "y": [...]}
                 end values outside [x[0], x[-1]]

where sigmoid(t) = 1 / (1 + exp(-t)), evaluated as exp(t) / (1 + exp(t)) for t < 0 so it never
overflows, and interp is piecewise-linear interpolation between the knots (numpy ``np.interp``).

Binary temperature scaling cannot move p = 0.5: z = 0 maps to 0.5 for every T. It only sharpens
or softens the scores around that point, so a prior shift (a site with a different prevalence)
needs Platt's intercept b or isotonic regression.

Fitting is on the ``calib`` split; comparing and selecting is on ``val_report`` (see
:func:`fit_all`), because isotonic regression evaluated on its own fitting data looks almost
perfectly calibrated by construction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from .metrics import (
    _check_same_length,
    _require_both_classes,
    as_finite_1d,
    as_labels,
    brier,
    expected_calibration_error,
    nll,
    roc_auc,
    show,
)

__all__ = [
    "Calibrator",
    "IdentityCalibrator",
    "TemperatureCalibrator",
    "PlattCalibrator",
    "IsotonicCalibrator",
    "CALIBRATORS",
    "FITTED_METHODS",
    "CALIB_SPLIT",
    "REPORT_SPLIT",
    "sigmoid",
    "calibrator_from_params",
    "select_lowest_ece",
    "CalibrationResult",
    "fit_all",
    "calibrator_from_manifest",
]

CALIB_SPLIT = "calib"
REPORT_SPLIT = "val_report"

# Search range for log T. exp(+-7) covers T from ~0.001 to ~1100: a CNN whose logits need a
# temperature outside that is broken, not miscalibrated.
_LOG_T_BOUNDS = (-7.0, 7.0)

# ECEs this close are the same number up to summation order, so the simpler method wins.
_ECE_TIE_TOL = 1e-12


def sigmoid(z) -> np.ndarray:
    """Numerically stable logistic function (``scipy.special.expit``): no overflow warnings
    for large |z|, exact 0.5 at 0."""
    return expit(np.asarray(z, dtype=np.float64))


def _fit_inputs(
    logits, y, z_name: str = "logits", y_name: str = "y", purpose: str = "fitting a calibrator"
) -> tuple[np.ndarray, np.ndarray]:
    z = as_finite_1d(logits, z_name)
    yy = as_labels(y, y_name)
    _check_same_length(z, yy, z_name, y_name)
    _require_both_classes(yy, f"{purpose} ({y_name})")
    return z, yy


def _mean_nll_logit(t: np.ndarray, y: np.ndarray) -> float:
    # -log sigmoid(t) for y = 1 and -log(1 - sigmoid(t)) for y = 0, written as
    # log(1 + e^t) - y t so that large |t| neither overflows nor loses precision.
    return float(np.mean(np.logaddexp(0.0, t) - y * t))


def _finite_number(v, what: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} = {show(v)} is not a number")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError(f"{what} = {show(v)} is not finite")
    return f


def _check_param_keys(params: dict, expected: set, method: str) -> None:
    if not isinstance(params, dict):
        raise ValueError(f"{method} params must be a dict, got {type(params).__name__}")
    if set(params) != expected:
        raise ValueError(
            f"{method} params must have exactly the keys {sorted(expected)}, got {sorted(params)}"
        )


@runtime_checkable
class Calibrator(Protocol):
    """Logit -> calibrated probability of PNEUMONIA, reproducible from ``params()`` alone."""

    method: str

    def fit(self, logits, y) -> "Calibrator": ...

    def predict(self, logits) -> np.ndarray: ...

    def params(self) -> dict: ...

    @classmethod
    def from_params(cls, params: dict) -> "Calibrator": ...


class _Fitted:
    """Shared guard: a calibrator is usable once fitted or rebuilt from parameters."""

    method: ClassVar[str]
    _fitted: bool = False

    def _require_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError(
                f"{self.method} calibrator is not fitted; call fit() or from_params()"
            )


class IdentityCalibrator(_Fitted):
    """No calibration: p = sigmoid(z). The baseline every fitted method is compared with."""

    method: ClassVar[str] = "none"
    _fitted = True

    def fit(self, logits, y) -> "IdentityCalibrator":
        _fit_inputs(logits, y)
        return self

    def predict(self, logits) -> np.ndarray:
        return sigmoid(as_finite_1d(logits, "logits"))

    def params(self) -> dict:
        return {}

    @classmethod
    def from_params(cls, params: dict) -> "IdentityCalibrator":
        _check_param_keys(params, set(), cls.method)
        return cls()


class TemperatureCalibrator(_Fitted):
    """p = sigmoid(z / T) with T > 0 minimising the NLL on the calibration split.

    The search is over log T (bounded Brent, ``scipy.optimize.minimize_scalar``) so that T stays
    positive and the problem is well scaled whether T is 0.3 or 3. If the logits are
    anti-correlated with the labels the optimum runs to the upper bound (p -> 0.5 everywhere);
    that is a model problem for the report to show, not something to hide here.
    """

    method: ClassVar[str] = "temperature"

    def __init__(self, temperature: float | None = None):
        self.temperature = None
        if temperature is not None:
            t = _finite_number(temperature, "temperature")
            if t <= 0.0:
                raise ValueError(f"temperature = {show(temperature)} must be > 0")
            self.temperature = t
            self._fitted = True

    def fit(self, logits, y) -> "TemperatureCalibrator":
        z, yy = _fit_inputs(logits, y)
        res = minimize_scalar(
            lambda log_t: _mean_nll_logit(z * math.exp(-log_t), yy),
            bounds=_LOG_T_BOUNDS,
            method="bounded",
            options={"xatol": 1e-10},
        )
        self.temperature = float(math.exp(res.x))
        self._fitted = True
        return self

    def predict(self, logits) -> np.ndarray:
        self._require_fitted()
        return sigmoid(as_finite_1d(logits, "logits") / self.temperature)

    def params(self) -> dict:
        self._require_fitted()
        return {"temperature": self.temperature}

    @classmethod
    def from_params(cls, params: dict) -> "TemperatureCalibrator":
        _check_param_keys(params, {"temperature"}, cls.method)
        return cls(params["temperature"])


class PlattCalibrator(_Fitted):
    """p = sigmoid(a z + b), the unregularised maximum-likelihood fit on the logits.

    Fitted with ``scipy.optimize.minimize`` (L-BFGS-B, analytic gradient) rather than
    scikit-learn's LogisticRegression, whose way of switching the penalty off has changed
    between the scikit-learn versions this code must run on; both give the same MLE. Platt's
    original label smoothing ((N+ + 1)/(N+ + 2) targets) is deliberately not used: the splits
    here are large enough for the plain MLE. If the calibration split is perfectly separated by
    the logit the MLE does not exist and ``a`` grows until the optimiser stops; the report's
    ECE on ``val_report`` then shows the damage.
    """

    method: ClassVar[str] = "platt"

    def __init__(self, a: float | None = None, b: float | None = None):
        self.a = None
        self.b = None
        if (a is None) != (b is None):
            raise ValueError(f"give both a and b or neither, got a={show(a)}, b={show(b)}")
        if a is not None:
            self.a = _finite_number(a, "platt a")
            self.b = _finite_number(b, "platt b")
            self._fitted = True

    def fit(self, logits, y) -> "PlattCalibrator":
        z, yy = _fit_inputs(logits, y)
        n = z.size

        def objective(theta: np.ndarray):
            t = theta[0] * z + theta[1]
            resid = expit(t) - yy  # d NLL / d t per sample
            grad = np.array([np.dot(resid, z), resid.sum()]) / n
            return _mean_nll_logit(t, yy), grad

        res = minimize(
            objective,
            x0=np.array([1.0, 0.0]),
            jac=True,
            method="L-BFGS-B",
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000},
        )
        if not np.all(np.isfinite(res.x)):
            raise RuntimeError(f"Platt fit diverged: {res.message}")
        self.a, self.b = float(res.x[0]), float(res.x[1])
        self._fitted = True
        return self

    def predict(self, logits) -> np.ndarray:
        self._require_fitted()
        return sigmoid(self.a * as_finite_1d(logits, "logits") + self.b)

    def params(self) -> dict:
        self._require_fitted()
        return {"a": self.a, "b": self.b}

    @classmethod
    def from_params(cls, params: dict) -> "PlattCalibrator":
        _check_param_keys(params, {"a", "b"}, cls.method)
        return cls(params["a"], params["b"])


class IsotonicCalibrator(_Fitted):
    """Monotone non-decreasing step-and-ramp map from logit to probability.

    Fitted with scikit-learn's ``IsotonicRegression(increasing=True, out_of_bounds="clip",
    y_min=0, y_max=1)`` on the logits. Its ``X_thresholds_`` / ``y_thresholds_`` are the knots;
    prediction is ``np.interp`` between them with the end values held outside the range, which
    is what scikit-learn's own ``predict`` computes (equal to rounding, tested) and what the
    viewer implements in TypeScript. Knots are on the logit scale, where scores of confident
    predictions are not squashed against 0 and 1.
    """

    method: ClassVar[str] = "isotonic"

    def __init__(self, x=None, y=None):
        self.x = None
        self.y = None
        if (x is None) != (y is None):
            raise ValueError("give both knot lists x and y or neither")
        if x is not None:
            self.x, self.y = self._check_knots(x, y)
            self._fitted = True

    @classmethod
    def _check_knots(cls, x, y) -> tuple[np.ndarray, np.ndarray]:
        xs = as_finite_1d(x, "isotonic x")
        ys = as_finite_1d(y, "isotonic y")
        _check_same_length(xs, ys, "isotonic x", "isotonic y")
        bad = np.flatnonzero(np.diff(xs) <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise ValueError(
                f"isotonic x[{i}] = {show(xs[i])} is not greater than "
                f"x[{i - 1}] = {show(xs[i - 1])}"
            )
        bad = np.flatnonzero(np.diff(ys) < 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise ValueError(
                f"isotonic y[{i}] = {show(ys[i])} is below y[{i - 1}] = {show(ys[i - 1])}"
            )
        bad = np.flatnonzero((ys < 0) | (ys > 1))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"isotonic y[{i}] = {show(ys[i])} is outside [0, 1]")
        # Own copies: a caller mutating its lists later must not change the calibrator.
        return xs.copy(), ys.copy()

    def fit(self, logits, y) -> "IsotonicCalibrator":
        z, yy = _fit_inputs(logits, y)
        iso = IsotonicRegression(increasing=True, out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(z, yy.astype(np.float64))
        self.x, self.y = self._check_knots(iso.X_thresholds_, iso.y_thresholds_)
        self._fitted = True
        return self

    def predict(self, logits) -> np.ndarray:
        self._require_fitted()
        # np.interp already holds the end values outside [x[0], x[-1]], i.e. clips.
        return np.interp(as_finite_1d(logits, "logits"), self.x, self.y)

    def params(self) -> dict:
        self._require_fitted()
        return {"x": [float(v) for v in self.x], "y": [float(v) for v in self.y]}

    @classmethod
    def from_params(cls, params: dict) -> "IsotonicCalibrator":
        _check_param_keys(params, {"x", "y"}, cls.method)
        return cls(params["x"], params["y"])


CALIBRATORS: dict[str, type] = {
    cls.method: cls
    for cls in (IdentityCalibrator, TemperatureCalibrator, PlattCalibrator, IsotonicCalibrator)
}

# Order is the tie-break: simpler first.
FITTED_METHODS: tuple[str, ...] = ("temperature", "platt", "isotonic")


def calibrator_from_params(method: str, params: dict) -> Calibrator:
    """Rebuild a calibrator of ``method`` from its stored parameters."""
    if method not in CALIBRATORS:
        raise ValueError(
            f"unknown calibration method {method!r}; expected one of {sorted(CALIBRATORS)}"
        )
    return CALIBRATORS[method].from_params(params)


def select_lowest_ece(eces: dict) -> str:
    """The method with the lowest ECE; ties go to the simpler one (temperature < platt <
    isotonic), since extra flexibility that buys nothing on held-out data is just variance."""
    unknown = sorted(set(eces) - set(FITTED_METHODS))
    if unknown:
        raise ValueError(f"cannot select among {unknown}; candidates are {list(FITTED_METHODS)}")
    if not eces:
        raise ValueError("no candidate methods to select from")
    for m, e in eces.items():
        if e is None or not math.isfinite(float(e)):
            raise ValueError(f"ECE of {m} = {show(e)} is not a finite number")
    best = min(float(e) for e in eces.values())
    return next(m for m in FITTED_METHODS if m in eces and float(eces[m]) <= best + _ECE_TIE_TOL)


def _evaluate(cal: Calibrator, z: np.ndarray, y: np.ndarray, n_bins: int) -> dict:
    p = cal.predict(z)
    return {
        "ece": expected_calibration_error(y, p, n_bins=n_bins),
        "brier": brier(y, p),
        "nll": nll(y, p),
        "roc_auc": roc_auc(y, p),
        "n": int(y.size),
    }


@dataclass
class CalibrationResult:
    """All calibrators fitted on ``calib``, their metrics on ``val_report``, the choice.

    ``calibrators`` and ``metrics`` include the uncalibrated baseline ``"none"``, which is
    reported but never selected.
    """

    selected: str
    calibrators: dict
    metrics: dict
    n_bins: int = 15
    selection_metric: ClassVar[str] = "ece"
    selection_split: ClassVar[str] = REPORT_SPLIT
    binning: ClassVar[str] = "equal-width"

    @property
    def selected_calibrator(self) -> Calibrator:
        return self.calibrators[self.selected]

    def to_manifest(self) -> dict:
        """The manifest's calibration section (JSON-safe)::

            {"input": "logit", "selected": m,
             "selection": {"metric": "ece", "split": "val_report", "n_bins": 15,
                           "binning": "equal-width"},
             "methods": {m: {"params": {...}, "metrics": {"ece", "brier", "nll", "roc_auc", "n"}}}}
        """
        return {
            "input": "logit",
            "selected": self.selected,
            "selection": {
                "metric": self.selection_metric,
                "split": self.selection_split,
                "n_bins": int(self.n_bins),
                "binning": self.binning,
            },
            "methods": {
                m: {"params": self.calibrators[m].params(), "metrics": dict(self.metrics[m])}
                for m in ("none",) + FITTED_METHODS
                if m in self.calibrators
            },
        }


def fit_all(logits_calib, y_calib, logits_report, y_report, n_bins: int = 15) -> CalibrationResult:
    """Fit temperature, Platt and isotonic on the calibration split, evaluate them and the
    uncalibrated sigmoid on the report split (ECE, Brier, NLL, ROC-AUC), and select the fitted
    method with the lowest ECE there (ties: temperature < platt < isotonic)."""
    z_c, y_c = _fit_inputs(logits_calib, y_calib, "logits_calib", "y_calib")
    z_r, y_r = _fit_inputs(
        logits_report, y_report, "logits_report", "y_report", purpose="comparing calibrators"
    )

    calibrators: dict = {"none": IdentityCalibrator()}
    for m in FITTED_METHODS:
        calibrators[m] = CALIBRATORS[m]().fit(z_c, y_c)
    metrics = {m: _evaluate(cal, z_r, y_r, n_bins) for m, cal in calibrators.items()}
    selected = select_lowest_ece({m: metrics[m]["ece"] for m in FITTED_METHODS})
    return CalibrationResult(
        selected=selected, calibrators=calibrators, metrics=metrics, n_bins=n_bins
    )


def calibrator_from_manifest(calib_section: dict) -> Calibrator:
    """The selected calibrator, rebuilt from a manifest calibration section."""
    if not isinstance(calib_section, dict):
        raise ValueError(f"calibration section must be a dict, got {type(calib_section).__name__}")
    if calib_section.get("input") != "logit":
        raise ValueError(
            f"calibration input = {calib_section.get('input')!r}; only 'logit' is supported"
        )
    selected = calib_section.get("selected")
    methods = calib_section.get("methods") or {}
    if selected not in methods:
        raise ValueError(f"selected method {selected!r} has no entry in methods {sorted(methods)}")
    return calibrator_from_params(selected, methods[selected]["params"])
