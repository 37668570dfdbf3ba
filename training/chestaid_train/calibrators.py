"""The calibrators: a logit in, a probability out, each fitted by maximum likelihood and clipped.

``none`` (the sigmoid), temperature, Platt and isotonic, each with ``fit``/``predict``/``params``
and ``from_params``; :mod:`.calibration` chooses between them (out-of-fold NLL) and runs the whole
pass. The viewer applies the same parameters in ``core/src/calibration.ts``.
"""

from __future__ import annotations

import math
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression

from .metrics import as_finite_1d, as_labels, _check_same_length, _require_both_classes, show

# Search range for log T. exp(+-7) covers T from ~0.001 to ~1100: a CNN whose logits need a
# temperature outside that is broken, not miscalibrated.
_LOG_T_BOUNDS = (-7.0, 7.0)

def clip_bounds(n: int) -> dict:
    """The output range of a calibrator fitted on n cases: [1/(n+2), 1 - 1/(n+2)]."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"clip needs the number of fitting cases, a positive integer; got {show(n)}")
    low = 1.0 / (int(n) + 2)
    return {"low": low, "high": 1.0 - low}


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
    if set(params) - {"clip"} != expected:
        raise ValueError(
            f"{method} params must have exactly the keys {sorted(expected)} (and optionally 'clip'), "
            f"got {sorted(params)}"
        )


def _check_clip(clip) -> dict | None:
    if clip is None:
        return None
    if not isinstance(clip, dict) or set(clip) != {"low", "high"}:
        raise ValueError(f"clip must be a dict with exactly the keys 'high' and 'low', got {show(clip)}")
    low = _finite_number(clip["low"], "clip low")
    high = _finite_number(clip["high"], "clip high")
    if not 0.0 < low < high < 1.0:
        raise ValueError(f"clip [{show(low)}, {show(high)}] must satisfy 0 < low < high < 1")
    return {"low": low, "high": high}


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
    """Shared guard (a calibrator is usable once fitted or rebuilt from parameters) and the
    output clip (set by ``fit`` from the number of cases, or read back from ``params``)."""

    method: ClassVar[str]
    _fitted: bool = False
    clip: dict | None = None

    def _require_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError(
                f"{self.method} calibrator is not fitted; call fit() or from_params()"
            )

    def _clipped(self, p: np.ndarray) -> np.ndarray:
        if self.clip is None:
            return p
        return np.clip(p, self.clip["low"], self.clip["high"])

    def _with_clip(self, params: dict) -> dict:
        return {**params, "clip": dict(self.clip)} if self.clip is not None else params


class IdentityCalibrator(_Fitted):
    """No calibration: p = sigmoid(z). The baseline every fitted method is compared with."""

    method: ClassVar[str] = "none"
    _fitted = True

    def fit(self, logits, y) -> "IdentityCalibrator":
        z, _ = _fit_inputs(logits, y)
        self.clip = clip_bounds(z.size)
        return self

    def predict(self, logits) -> np.ndarray:
        return self._clipped(sigmoid(as_finite_1d(logits, "logits")))

    def params(self) -> dict:
        return self._with_clip({})

    @classmethod
    def from_params(cls, params: dict) -> "IdentityCalibrator":
        _check_param_keys(params, set(), cls.method)
        out = cls()
        out.clip = _check_clip(params.get("clip"))
        return out


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
        self.clip = clip_bounds(z.size)
        self._fitted = True
        return self

    def predict(self, logits) -> np.ndarray:
        self._require_fitted()
        return self._clipped(sigmoid(as_finite_1d(logits, "logits") / self.temperature))

    def params(self) -> dict:
        self._require_fitted()
        return self._with_clip({"temperature": self.temperature})

    @classmethod
    def from_params(cls, params: dict) -> "TemperatureCalibrator":
        _check_param_keys(params, {"temperature"}, cls.method)
        out = cls(params["temperature"])
        out.clip = _check_clip(params.get("clip"))
        return out


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
        self.clip = clip_bounds(n)
        self._fitted = True
        return self

    def predict(self, logits) -> np.ndarray:
        self._require_fitted()
        return self._clipped(sigmoid(self.a * as_finite_1d(logits, "logits") + self.b))

    def params(self) -> dict:
        self._require_fitted()
        return self._with_clip({"a": self.a, "b": self.b})

    @classmethod
    def from_params(cls, params: dict) -> "PlattCalibrator":
        _check_param_keys(params, {"a", "b"}, cls.method)
        out = cls(params["a"], params["b"])
        out.clip = _check_clip(params.get("clip"))
        return out


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
        self.clip = clip_bounds(z.size)
        self._fitted = True
        return self

    def predict(self, logits) -> np.ndarray:
        self._require_fitted()
        # np.interp already holds the end values outside [x[0], x[-1]]; the output clip then
        # keeps the 0 and 1 plateaus of a small fit off exact 0 and 1.
        return self._clipped(np.interp(as_finite_1d(logits, "logits"), self.x, self.y))

    def params(self) -> dict:
        self._require_fitted()
        return self._with_clip({"x": [float(v) for v in self.x], "y": [float(v) for v in self.y]})

    @classmethod
    def from_params(cls, params: dict) -> "IsotonicCalibrator":
        _check_param_keys(params, {"x", "y"}, cls.method)
        out = cls(params["x"], params["y"])
        out.clip = _check_clip(params.get("clip"))
        return out


CALIBRATORS: dict[str, type] = {
    cls.method: cls
    for cls in (IdentityCalibrator, TemperatureCalibrator, PlattCalibrator, IsotonicCalibrator)
}

FITTED_METHODS: tuple[str, ...] = ("temperature", "platt", "isotonic")
# Every candidate of the selection, simplest first (the order of the one-standard-error rule).
CANDIDATES: tuple[str, ...] = ("none",) + FITTED_METHODS


def calibrator_from_params(method: str, params: dict) -> Calibrator:
    """Rebuild a calibrator of ``method`` from its stored parameters."""
    if method not in CALIBRATORS:
        raise ValueError(
            f"unknown calibration method {method!r}; expected one of {sorted(CALIBRATORS)}"
        )
    return CALIBRATORS[method].from_params(params)
