"""Operating point: where on the calibrated probability a study gets flagged.

Kept apart from calibration (STYLE.md 7): calibration makes the number mean a risk, the
threshold is a clinical choice about that number. The rule everywhere, here and in the viewer,
is "flag iff p >= threshold" on the calibrated probability of PNEUMONIA.
"""

from __future__ import annotations

import math

import numpy as np

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
    "RATE_NAMES",
    "threshold_for_sensitivity",
    "operating_point",
    "choose_threshold",
]

RULE = "highest threshold whose sensitivity on the split is >= target"
RATE_NAMES = ("sensitivity", "specificity", "ppv", "npv", "f1")


def _check_target(target) -> float:
    t = float(target)
    if not math.isfinite(t) or not 0.0 < t <= 1.0:
        raise ValueError(f"target sensitivity = {show(target)} is not in (0, 1]")
    return t


def threshold_for_sensitivity(y, p, target: float = 0.90) -> float:
    """The highest threshold t with sensitivity(p >= t) >= ``target`` on (y, p).

    Sensitivity only changes when t passes a positive's score, so the supremum of the feasible
    thresholds is always one of the positives' distinct scores; those are the candidates, and
    the answer is attained (not a limit). Highest, because among thresholds meeting the
    sensitivity target the highest flags the fewest negatives.

    Near-ties matter in deployment: a study scoring within rounding of t may fall either side
    once the viewer recomputes the probability in floating point of its own.
    """
    yy, pp = _labels_and_probs(y, p)
    tgt = _check_target(target)
    pos = np.sort(pp[yy == 1])[::-1]
    n_pos = pos.size
    if n_pos == 0:
        raise ValueError(
            f"cannot choose a threshold for sensitivity {tgt}: the split has no positives "
            f"(n={yy.size})"
        )
    candidates = np.unique(pos)[::-1]  # descending
    # Number of positives with score >= each candidate; pos is descending, so count via the
    # ascending copy.
    asc = pos[::-1]
    flagged = asc.size - np.searchsorted(asc, candidates, side="left")
    # Same arithmetic (count / n_pos compared with target) as metrics.rates, so the threshold
    # returned here passes the check a reader would do with rates(confusion_at(...)).
    sens = flagged / n_pos
    ok = np.flatnonzero(sens >= tgt)
    # target <= 1 and the lowest candidate flags every positive, so ok is never empty.
    return float(candidates[ok[0]])


def operating_point(y, p, threshold: float, n_boot: int = 1000, seed: int = 0) -> dict:
    """Metrics at ``threshold`` with stratified percentile-bootstrap 95 % intervals.

    Returns::

        {"threshold": t, "n": N, "n_pos": P,
         "confusion": {"tn", "fp", "fn", "tp"},
         "sensitivity" | "specificity" | "ppv" | "npv" | "f1":
             {"value", "ci_low", "ci_high"}   (None where undefined),
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
    out["bootstrap"] = {
        "n_boot": int(n_boot),
        "seed": int(seed),
        "level": 0.95,
        "method": "percentile",
        "resampling": "stratified by class",
    }
    return out


def choose_threshold(
    y_report, p_report, target: float, n_boot: int = 1000, seed: int = 0
) -> dict:
    """Choose the operating threshold on ``val_report`` for a target sensitivity.

    Returns ``{"value", "rule", "target_sensitivity", "split": "val_report",
    "at_threshold": operating_point(...)}``; the rule and split are stored so that a later
    change of threshold (a site recalibrating) can say what it replaced.
    """
    tgt = _check_target(target)
    value = threshold_for_sensitivity(y_report, p_report, tgt)
    return {
        "value": value,
        "rule": RULE,
        "target_sensitivity": tgt,
        "split": "val_report",
        "at_threshold": operating_point(y_report, p_report, value, n_boot=n_boot, seed=seed),
    }
