"""Operating point: where on the calibrated probability a study gets flagged.

Kept apart from calibration (STYLE.md 7): calibration makes the number mean a risk, the
threshold is a clinical choice about that number. The rule everywhere, here and in the viewer,
is "flag iff p >= threshold" on the calibrated probability of PNEUMONIA.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import beta as beta_dist

from .metrics import (
    _check_threshold,
    _confusion_counts,
    _labels_and_probs,
    bootstrap_ci,
    rates,
    show,
)

__all__ = [
    "RULE",
    "LEVEL",
    "RATE_NAMES",
    "clopper_pearson_lower",
    "clopper_pearson_interval",
    "positives_needed",
    "min_flagged_to_prove",
    "threshold_for_sensitivity",
    "threshold_with_proven_sensitivity",
    "operating_point",
    "choose_threshold",
]

RULE = (
    "highest threshold whose one-sided 95 % Clopper-Pearson lower bound on sensitivity on the split "
    "reaches the target"
)
# The point-estimate rule of manifests before schema 1.4.0, kept for reading them and for comparison.
POINT_RULE = "highest threshold whose sensitivity on the split is >= target"
LEVEL = 0.95
RATE_NAMES = ("sensitivity", "specificity", "ppv", "npv", "f1")


def _check_target(target) -> float:
    t = float(target)
    if not math.isfinite(t) or not 0.0 < t <= 1.0:
        raise ValueError(f"target sensitivity = {show(target)} is not in (0, 1]")
    return t


def _check_level(level) -> float:
    v = float(level)
    if not math.isfinite(v) or not 0.0 < v < 1.0:
        raise ValueError(f"confidence level = {show(level)} is not in (0, 1)")
    return v


def _check_counts(k, n) -> tuple[int, int]:
    if isinstance(k, bool) or isinstance(n, bool) or int(k) != k or int(n) != n or not 0 <= k <= n or n < 1:
        raise ValueError(f"need integer counts 0 <= k <= n, n >= 1; got k={show(k)}, n={show(n)}")
    return int(k), int(n)


def clopper_pearson_lower(k: int, n: int, level: float = LEVEL) -> float:
    """One-sided exact (Clopper-Pearson) lower confidence bound on a proportion, k of n.

    The p with P(Binomial(n, p) >= k) = 1 - level, i.e. the (1 - level) quantile of
    Beta(k, n - k + 1) (scipy.stats.beta.ppf); 0 when k = 0. With k = n it is
    (1 - level)^(1/n). Coverage is at least ``level`` for every true proportion.
    """
    k, n = _check_counts(k, n)
    a = 1.0 - _check_level(level)
    return 0.0 if k == 0 else float(beta_dist.ppf(a, k, n - k + 1))


def clopper_pearson_interval(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Two-sided exact (Clopper-Pearson) interval: the alpha/2 quantile of Beta(k, n - k + 1)
    and the 1 - alpha/2 quantile of Beta(k + 1, n - k), with 0 at k = 0 and 1 at k = n."""
    k, n = _check_counts(k, n)
    a = 1.0 - _check_level(level)
    low = 0.0 if k == 0 else float(beta_dist.ppf(a / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta_dist.ppf(1 - a / 2, k + 1, n - k))
    return low, high


def positives_needed(target: float, level: float = LEVEL) -> int:
    """The smallest number of positives n for which flagging all n can prove the target: the
    smallest n with clopper_pearson_lower(n, n, level) = (1 - level)^(1/n) >= target, i.e.
    ceil(ln(1 - level) / ln(target)) (29 for 0.90 at 95 %, 59 for 0.95). A cohort with fewer
    positives cannot prove the target whatever the threshold; with more, a threshold that
    misses some positives may still prove it."""
    tgt = _check_target(target)
    a = 1.0 - _check_level(level)
    if tgt >= 1.0:
        raise ValueError("a sensitivity of 1 can never be proven by a finite sample; choose a target below 1")
    n = max(1, math.ceil(math.log(a) / math.log(tgt)))
    # The closed form and the bound itself may disagree by rounding at an exact integer: settle on the bound.
    while n > 1 and clopper_pearson_lower(n - 1, n - 1, level) >= tgt:
        n -= 1
    while clopper_pearson_lower(n, n, level) < tgt:
        n += 1
    return n


def min_flagged_to_prove(n_pos: int, target: float, level: float = LEVEL) -> int | None:
    """The fewest flagged positives of ``n_pos`` whose lower bound reaches ``target`` (None when
    even all ``n_pos`` do not): a binary search, the bound growing with the count."""
    if clopper_pearson_lower(n_pos, n_pos, level) < target:
        return None
    lo, hi = 0, n_pos  # bound(lo) < target <= bound(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if clopper_pearson_lower(mid, n_pos, level) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def _positive_candidates(yy: np.ndarray, pp: np.ndarray, tgt: float) -> tuple[np.ndarray, np.ndarray, int]:
    """The positives' distinct scores (descending) and how many positives each flags (p >= t)."""
    pos = np.sort(pp[yy == 1])[::-1]
    n_pos = pos.size
    if n_pos == 0:
        raise ValueError(
            f"cannot choose a threshold for sensitivity {tgt}: the split has no positives "
            f"(n={yy.size})"
        )
    candidates = np.unique(pos)[::-1]  # descending
    asc = pos[::-1]
    flagged = asc.size - np.searchsorted(asc, candidates, side="left")
    return candidates, flagged, n_pos


def threshold_for_sensitivity(y, p, target: float = 0.90) -> float:
    """The highest threshold t with sensitivity(p >= t) >= ``target`` on (y, p): the point-estimate
    rule (``POINT_RULE``), reported beside the proven one.

    Sensitivity only changes when t passes a positive's score, so the supremum of the feasible
    thresholds is always one of the positives' distinct scores; those are the candidates, and
    the answer is attained (not a limit). Highest, because among thresholds meeting the
    sensitivity target the highest flags the fewest negatives.
    """
    yy, pp = _labels_and_probs(y, p)
    tgt = _check_target(target)
    candidates, flagged, n_pos = _positive_candidates(yy, pp, tgt)
    # Same arithmetic (count / n_pos compared with target) as metrics.rates.
    ok = np.flatnonzero(flagged / n_pos >= tgt)
    # target <= 1 and the lowest candidate flags every positive, so ok is never empty.
    return float(candidates[ok[0]])


def threshold_with_proven_sensitivity(y, p, target: float = 0.90, level: float = LEVEL) -> dict:
    """The highest threshold t whose one-sided ``level`` Clopper-Pearson lower bound on
    sensitivity(p >= t) reaches ``target`` (``RULE``).

    The candidates are the positives' distinct scores, as for the point rule; the bound grows
    with the number of positives flagged, so the answer is the highest candidate flagging enough.
    Returns ``{"value", "flagged_positives", "n_pos", "sensitivity", "lower_bound"}``.
    Raises ValueError, saying how many positives would be needed (:func:`positives_needed`),
    when even flagging every positive does not prove the target.
    """
    yy, pp = _labels_and_probs(y, p)
    tgt = _check_target(target)
    lvl = _check_level(level)
    candidates, flagged, n_pos = _positive_candidates(yy, pp, tgt)
    k_min = min_flagged_to_prove(n_pos, tgt, lvl)
    if k_min is None:
        raise ValueError(
            f"cannot prove sensitivity >= {tgt} at {lvl:.0%} confidence with {n_pos} positives: even flagging "
            f"all of them gives a Clopper-Pearson lower bound of {clopper_pearson_lower(n_pos, n_pos, lvl):.4f}; "
            f"at least {positives_needed(tgt, lvl)} positives are needed"
        )
    # The bound grows with the count flagged: the first candidate (highest) flagging k_min or more.
    i = int(np.flatnonzero(flagged >= k_min)[0])
    lower_bound = clopper_pearson_lower(int(flagged[i]), n_pos, lvl)
    return {
        "value": float(candidates[i]),
        "flagged_positives": int(flagged[i]),
        "n_pos": int(n_pos),
        "sensitivity": float(flagged[i] / n_pos),
        "lower_bound": float(lower_bound),
    }


def operating_point(y, p, threshold: float, n_boot: int = 1000, seed: int = 0) -> dict:
    """Metrics at ``threshold`` with stratified percentile-bootstrap 95 % intervals.

    Returns::

        {"threshold": t, "n": N, "n_pos": P,
         "confusion": {"tn", "fp", "fn", "tp"},
         "sensitivity" | "specificity" | "ppv" | "npv" | "f1":
             {"value", "ci_low", "ci_high"}   (None where undefined),
         "sensitivity_exact": sensitivity_exact(...)   (exact Clopper-Pearson 95 %; absent without positives),
         "bootstrap": {"n_boot", "seed", "level": 0.95, "method": "percentile",
                       "resampling": "stratified by class"}}

    One seed drives every interval, so all metrics are computed on the same replicates.
    """
    yy, pp = _labels_and_probs(y, p)
    t = _check_threshold(threshold)
    cm = _confusion_counts(yy, pp >= t)
    out: dict = {
        "threshold": t,
        "n": int(yy.size),
        "n_pos": int(yy.sum()),
        "confusion": cm,
    }
    for name in RATE_NAMES:
        out[name] = bootstrap_ci(
            yy,
            pp,
            lambda yb, pb, name=name: rates(_confusion_counts(yb, pb >= t))[name],
            n_boot=n_boot,
            seed=seed,
            alpha=0.05,
        )
    if out["n_pos"] > 0:
        out["sensitivity_exact"] = sensitivity_exact(yy, pp, t)
    out["bootstrap"] = {
        "n_boot": int(n_boot),
        "seed": int(seed),
        "level": 0.95,
        "method": "percentile",
        "resampling": "stratified by class",
    }
    return out


def sensitivity_exact(y, p, threshold: float, level: float = LEVEL) -> dict:
    """Sensitivity at ``threshold`` with its exact two-sided Clopper-Pearson interval:
    ``{"value", "ci_low", "ci_high", "k", "n", "level", "method": "clopper-pearson"}``."""
    yy, pp = _labels_and_probs(y, p)
    t = _check_threshold(threshold)
    n_pos = int(yy.sum())
    if n_pos == 0:
        raise ValueError("sensitivity of a split without positives is undefined")
    k = int(np.sum(pp[yy == 1] >= t))
    low, high = clopper_pearson_interval(k, n_pos, level)
    return {"value": k / n_pos, "ci_low": low, "ci_high": high, "k": k, "n": n_pos,
            "level": float(level), "method": "clopper-pearson"}


def choose_threshold(
    y_report, p_report, target: float, n_boot: int = 1000, seed: int = 0, *,
    level: float = LEVEL, require_proof: bool = True,
) -> dict:
    """Choose the operating threshold on ``val_report`` by ``RULE``.

    Returns ``{"value", "rule", "target_sensitivity", "split": "val_report", "proven": true,
    "proof": {"level", "one_sided": true, "method": "clopper-pearson", "lower_bound",
    "flagged_positives", "n_pos", "positives_needed"}, "point_estimate_threshold",
    "at_threshold": operating_point(...)}``.

    When the split has too few positives to prove the target, ValueError says how many are
    needed; with ``require_proof=False`` (pipeline smoke runs on a handful of images only) the
    threshold falls back to flagging every positive of the split, and ``proven`` is false.
    """
    tgt = _check_target(target)
    lvl = _check_level(level)
    needed = positives_needed(tgt, lvl)
    try:
        found = threshold_with_proven_sensitivity(y_report, p_report, tgt, lvl)
        proven = True
    except ValueError:
        if require_proof:
            raise
        yy, pp = _labels_and_probs(y_report, p_report)
        n_pos = int(yy.sum())
        lowest = float(np.min(pp[yy == 1]))
        found = {"value": lowest, "flagged_positives": n_pos, "n_pos": n_pos, "sensitivity": 1.0,
                 "lower_bound": clopper_pearson_lower(n_pos, n_pos, lvl)}
        proven = False
    value = found["value"]
    at = operating_point(y_report, p_report, value, n_boot=n_boot, seed=seed)
    return {
        "value": value,
        "rule": RULE,
        "target_sensitivity": tgt,
        "split": "val_report",
        "proven": proven,
        "proof": {
            "level": lvl,
            "one_sided": True,
            "method": "clopper-pearson",
            "lower_bound": found["lower_bound"],
            "flagged_positives": found["flagged_positives"],
            "n_pos": found["n_pos"],
            "positives_needed": needed,
        },
        "point_estimate_threshold": threshold_for_sensitivity(y_report, p_report, tgt),
        "at_threshold": at,
    }
