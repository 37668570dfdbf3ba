"""Binary metrics for the PNEUMONIA-positive probability.

Everything here takes labels ``y`` in {0, 1} (1 = PNEUMONIA) and probabilities ``p`` of the
positive class, and returns plain Python floats, ints, lists or ``None`` so that results can go
straight into the model manifest: JSON has no NaN, so an undefined quantity (a rate with a zero
denominator, an AUC on a split with one class) is ``None``, never ``float("nan")``.

Inputs are validated up front and never modified; errors name the offending value, because a
silently coerced label or a logit passed where a probability belongs is the usual way a metric
goes wrong without anyone noticing.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

__all__ = [
    "show",
    "as_finite_1d",
    "as_labels",
    "as_probabilities",
    "expected_ece_if_calibrated",
    "roc_auc",
    "pr_auc",
    "brier",
    "nll",
    "expected_calibration_error",
    "ece_upper_bound",
    "reliability_curve",
    "confusion_at",
    "rates",
    "bootstrap_ci",
    "summarize",
]

# log(0) guard for NLL: isotonic calibration legitimately outputs exact 0 and 1.
_NLL_EPS = 1e-15


# --------------------------------------------------------------------------------------------
# Input validation (shared with calibration and threshold)
# --------------------------------------------------------------------------------------------


def show(v) -> str:
    """``repr`` of a value for an error message, numpy scalars as plain Python numbers
    (numpy 2 would otherwise print ``np.float64(nan)``)."""
    return repr(v.item() if isinstance(v, np.generic) else v)


def as_finite_1d(x, name: str) -> np.ndarray:
    """Return ``x`` as a float64 1-D array, raising ``ValueError`` naming the bad value.

    The result may share memory with ``x``; callers must not write into it.
    """
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.complexfloating)
    ):
        raise ValueError(f"{name} must be real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {show(arr[i])} is not finite")
    return arr


def as_labels(y, name: str = "y") -> np.ndarray:
    """Return binary labels as an int64 1-D array; anything other than 0 or 1 is refused."""
    arr = np.asarray(y)
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    values = as_finite_1d(arr, name)
    bad = np.flatnonzero((values != 0) & (values != 1))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {show(arr[i])} is not a binary label (expected 0 or 1)")
    return values.astype(np.int64)


def as_probabilities(p, name: str = "p") -> np.ndarray:
    """Return probabilities as a float64 1-D array; values outside [0, 1] are refused.

    The range check is what catches a logit handed over in place of a probability.
    """
    values = as_finite_1d(p, name)
    bad = np.flatnonzero((values < 0.0) | (values > 1.0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {show(values[i])} is outside [0, 1]")
    return values


def _check_same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} has {a.shape[0]} values but {name_b} has {b.shape[0]}")


def _labels_and_probs(y, p) -> tuple[np.ndarray, np.ndarray]:
    yy = as_labels(y, "y")
    pp = as_probabilities(p, "p")
    _check_same_length(yy, pp, "y", "p")
    return yy, pp


def _require_both_classes(y: np.ndarray, what: str) -> None:
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        only = "positives" if n_pos else "negatives"
        raise ValueError(f"{what} needs both classes, but y has only {only} (n={y.size})")


# --------------------------------------------------------------------------------------------
# Threshold-free metrics
# --------------------------------------------------------------------------------------------


def roc_auc(y, p) -> float:
    """Area under the ROC curve (scikit-learn ``roc_auc_score``)."""
    yy, pp = _labels_and_probs(y, p)
    _require_both_classes(yy, "ROC-AUC")
    return float(roc_auc_score(yy, pp))


def pr_auc(y, p) -> float:
    """Area under the precision-recall curve as average precision (scikit-learn).

    Average precision is the step-wise sum, not the trapezoidal area, which over-states PR
    curves with few positives.
    """
    yy, pp = _labels_and_probs(y, p)
    _require_both_classes(yy, "PR-AUC")
    return float(average_precision_score(yy, pp))


def brier(y, p) -> float:
    """Brier score: mean squared difference between ``p`` and the 0/1 label."""
    yy, pp = _labels_and_probs(y, p)
    return float(brier_score_loss(yy, pp))


def nll(y, p) -> float:
    """Mean negative log-likelihood (log loss) with ``p`` clipped to [1e-15, 1 - 1e-15].

    Implemented here rather than with scikit-learn's ``log_loss`` because its ``eps`` argument
    changed across the versions this code must run on. The clip keeps isotonic calibration's
    exact 0/1 outputs finite; a confident miss then costs about 34.5 nats.
    """
    yy, pp = _labels_and_probs(y, p)
    pc = np.clip(pp, _NLL_EPS, 1.0 - _NLL_EPS)
    return float(-np.mean(yy * np.log(pc) + (1 - yy) * np.log1p(-pc)))


def _bin_index(p: np.ndarray, n_bins: int) -> np.ndarray:
    # Edges are computed as b / n_bins so that a probability written as b / n_bins lands
    # exactly on edge b and goes to the upper bin; floor(p * n_bins) would misplace some of
    # them by one ulp. The last bin is closed so p = 1 is counted.
    edges = np.arange(n_bins + 1, dtype=np.float64) / n_bins
    idx = np.searchsorted(edges, p, side="right") - 1
    return np.clip(idx, 0, n_bins - 1)


def _check_n_bins(n_bins) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {show(n_bins)}")
    return int(n_bins)


def reliability_curve(y, p, n_bins: int = 15) -> dict:
    """Per-bin counts, mean predicted probability and observed positive frequency.

    Bins are those of :func:`expected_calibration_error`. Empty bins have ``None`` for the mean
    and the frequency, so the lists always have ``n_bins`` entries and line up with ``edges``.

    Returns ``{"n_bins", "edges" (n_bins + 1 floats), "count", "mean_p", "frac_pos"}``.
    """
    n_bins = _check_n_bins(n_bins)
    yy, pp = _labels_and_probs(y, p)
    idx = _bin_index(pp, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=pp, minlength=n_bins)
    sum_y = np.bincount(idx, weights=yy.astype(np.float64), minlength=n_bins)
    mean_p: list[Optional[float]] = []
    frac_pos: list[Optional[float]] = []
    for c, sp, sy in zip(count, sum_p, sum_y):
        mean_p.append(float(sp / c) if c else None)
        frac_pos.append(float(sy / c) if c else None)
    return {
        "n_bins": n_bins,
        "edges": [float(e) for e in np.arange(n_bins + 1, dtype=np.float64) / n_bins],
        "count": [int(c) for c in count],
        "mean_p": mean_p,
        "frac_pos": frac_pos,
    }


def expected_calibration_error(y, p, n_bins: int = 15) -> float:
    """Binary expected calibration error of the positive-class probability.

    Bins: ``n_bins`` equal-width bins over [0, 1]; bin ``b`` is ``[b/n, (b+1)/n)`` and the last
    bin is closed, ``[(n-1)/n, 1]``, so ``p = 0`` is in the first bin, ``p = 1`` in the last, and a
    probability exactly on an inner edge ``b/n`` in bin ``b`` (the upper one). Then

        ECE = sum_b (n_b / N) * | mean(y in b) - mean(p in b) |.

    This is the binary ECE on P(PNEUMONIA), not the "confidence" ECE on max(p, 1 - p) used for
    multi-class models; the two differ, so quote which one when comparing with papers.

    ECE can never exceed sqrt(Brier). In each bin, |mean(y - p)| <= sqrt(mean((y - p)^2))
    (Jensen, or Cauchy-Schwarz); the weighted sum of those square roots is at most the square
    root of the weighted sum (Jensen again, sqrt is concave), which is sqrt(Brier). So a report
    of ECE 0.27 with Brier 0.0067 (sqrt = 0.082), as in the original study, cannot be right:
    at least one of the two numbers was computed on something else. See :func:`ece_upper_bound`.
    """
    n_bins = _check_n_bins(n_bins)
    yy, pp = _labels_and_probs(y, p)
    idx = _bin_index(pp, n_bins)
    count = np.bincount(idx, minlength=n_bins)
    # |sum(y - p)| per bin / N equals (n_b / N) * |mean(y) - mean(p)| with no per-bin division.
    gap = np.bincount(idx, weights=yy - pp, minlength=n_bins)
    return float(np.abs(gap).sum() / count.sum())


def expected_ece_if_calibrated(p, n_bins: int = 15, n_draws: int = 1000, seed: int = 0) -> float:
    """The ECE a perfectly calibrated score would show on these cases: the mean ECE over
    ``n_draws`` label sets drawn as y_i ~ Bernoulli(p_i) from the scores themselves.

    ECE is biased upwards at finite n (each bin's |mean(y) - mean(p)| is positive even when
    the expectation of y is p), so an ECE is only informative beside this figure at the same n
    and the same score distribution: 131 perfectly calibrated cases show about 0.06 with 15 bins.
    Computed by simulation, not analytically: draw d uses numbers d*n .. d*n + n - 1 of
    ``Mulberry32(seed)`` and y_i = 1 when u_i < p_i, so the viewer (metrics.ts
    ``expectedEceIfCalibrated``) draws the same labels and gets the same figure.
    """
    from .mulberry import Mulberry32

    n_bins = _check_n_bins(n_bins)
    pp = as_probabilities(p)
    if pp.size == 0:
        raise ValueError("expected ECE of no cases")
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer, got {show(n_draws)}")
    idx = _bin_index(pp, n_bins)
    random = Mulberry32(seed)
    total = 0.0
    for _ in range(int(n_draws)):
        y = (random.take(pp.size) < pp).astype(np.float64)
        gap = np.bincount(idx, weights=y - pp, minlength=n_bins)
        total += float(np.abs(gap).sum() / pp.size)
    return total / int(n_draws)


def ece_upper_bound(brier_score: float) -> float:
    """The largest ECE (any binning) consistent with a Brier score: ``sqrt(brier_score)``.

    Use it to sanity-check reported pairs; see :func:`expected_calibration_error` for the proof.
    """
    b = float(brier_score)
    if not math.isfinite(b) or b < 0.0 or b > 1.0:
        raise ValueError(f"brier_score = {show(brier_score)} is not in [0, 1]")
    return math.sqrt(b)


# --------------------------------------------------------------------------------------------
# Metrics at a threshold
# --------------------------------------------------------------------------------------------


def _check_threshold(threshold) -> float:
    t = float(threshold)
    # The range check catches a logit threshold applied to probabilities.
    if not math.isfinite(t) or t < 0.0 or t > 1.0:
        raise ValueError(f"threshold = {show(threshold)} is not a probability in [0, 1]")
    return t


def _confusion_counts(y: np.ndarray, flagged: np.ndarray) -> dict:
    pos = y == 1
    tp = int(np.count_nonzero(flagged & pos))
    fp = int(np.count_nonzero(flagged & ~pos))
    fn = int(np.count_nonzero(~flagged & pos))
    tn = int(y.size - tp - fp - fn)
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def confusion_at(y, p, threshold: float) -> dict:
    """Confusion matrix for the rule "positive iff p >= threshold".

    ``>=`` matches the viewer: a study scoring exactly the threshold is flagged. Returns
    ``{"tn", "fp", "fn", "tp"}`` as ints.
    """
    yy, pp = _labels_and_probs(y, p)
    t = _check_threshold(threshold)
    return _confusion_counts(yy, pp >= t)


def _ratio(num: int, den: int) -> Optional[float]:
    return float(num / den) if den else None


def rates(cm: dict) -> dict:
    """Sensitivity, specificity, PPV, NPV, F1 and accuracy from a confusion matrix.

    A rate whose denominator is zero (e.g. PPV when nothing is flagged) is ``None``: it is
    undefined, JSON cannot carry NaN, and 0 would wrongly read as "always wrong".
    """
    missing = [k for k in ("tn", "fp", "fn", "tp") if k not in cm]
    if missing:
        raise ValueError(f"confusion matrix is missing {missing}; got keys {sorted(cm)}")
    counts = {}
    for k in ("tn", "fp", "fn", "tp"):
        v = cm[k]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"confusion matrix {k} = {show(v)} is not a non-negative integer")
        counts[k] = int(v)
    tn, fp, fn, tp = counts["tn"], counts["fp"], counts["fn"], counts["tp"]
    return {
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "ppv": _ratio(tp, tp + fp),
        "npv": _ratio(tn, tn + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn),
    }


# --------------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------------


def _stratified_resamples(y: np.ndarray, n_boot: int, seed: int):
    """Yield index arrays that resample positives and negatives separately.

    Keeping the class counts fixed means every replicate has both classes (when the data do),
    so AUCs and sensitivity are defined in every replicate and the interval reflects sampling
    within each class rather than chance swings in prevalence.
    """
    rng = np.random.default_rng(seed)
    strata = [np.flatnonzero(y == c) for c in (0, 1)]
    strata = [s for s in strata if s.size]
    for _ in range(n_boot):
        yield np.concatenate([rng.choice(s, size=s.size, replace=True) for s in strata])


def bootstrap_ci(
    y,
    p,
    fn: Callable[[np.ndarray, np.ndarray], Optional[float]],
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """Percentile bootstrap interval for ``fn(y, p)`` with stratified resampling.

    ``fn`` receives validated arrays (int labels, float probabilities) and returns a float or
    ``None``. Replicates where ``fn`` returns ``None`` (e.g. PPV with nothing flagged) are left
    out of the percentiles; if all are ``None`` the bounds are ``None``. The same ``seed`` gives
    the same replicates, so intervals for several metrics computed with one seed share them.

    Returns ``{"value": fn(y, p), "ci_low", "ci_high"}``.
    """
    yy, pp = _labels_and_probs(y, p)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {show(n_boot)}")
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha = {show(alpha)} is not in (0, 1)")
    value = fn(yy, pp)
    reps = []
    for idx in _stratified_resamples(yy, int(n_boot), seed):
        r = fn(yy[idx], pp[idx])
        if r is not None:
            reps.append(float(r))
    if not reps:
        low = high = None
    else:
        low, high = (float(q) for q in np.percentile(reps, [50.0 * a, 100.0 - 50.0 * a]))
    return {"value": None if value is None else float(value), "ci_low": low, "ci_high": high}


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


def summarize(y, p, n_bins: int = 15) -> dict:
    """Threshold-free summary: ``{"roc_auc", "pr_auc", "brier", "ece", "n", "n_pos"}``.

    The AUCs are ``None`` when the split has only one class (they are undefined there).
    """
    yy, pp = _labels_and_probs(y, p)
    n_pos = int(yy.sum())
    both = 0 < n_pos < yy.size
    return {
        "roc_auc": roc_auc(yy, pp) if both else None,
        "pr_auc": pr_auc(yy, pp) if both else None,
        "brier": brier(yy, pp),
        "ece": expected_calibration_error(yy, pp, n_bins=n_bins),
        "n": int(yy.size),
        "n_pos": n_pos,
    }
