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

Every fitted calibrator clips its output to [1/(n+2), 1 - 1/(n+2)], n = the cases it was
fitted on (``params["clip"] = {"low", "high"}``; the viewer applies the same clip). n cases
cannot support a probability closer to 0 or 1 than that (the Laplace estimate of a class seen
n times in n), and an exact 0 or 1 makes one miss cost an infinite log-loss. Parameters without
a clip (manifests written before 1.4.0) are applied unclipped, as they were.

Selection (:func:`select_by_cv`) is by a proper scoring rule, on the ``calib`` split only:

1. Candidates, simplest first: none < temperature < platt < isotonic; isotonic only when the
   split has at least ``MIN_ISOTONIC_CASES`` (1,000) cases (scikit-learn's own warning: below
   that it overfits).
2. Repeated stratified k-fold cross-validation (``CV_REPEATS`` = 10 repeats of ``CV_FOLDS`` = 5
   folds, folds dealt by :func:`chestaid_train.mulberry.repeated_stratified_folds` from
   ``CV_SEED`` = 0). Each case gets, per repeat, the probability of the calibrator fitted on the
   other four folds (clipped for that fit's n); its loss per method is the mean over repeats of
   its negative log-likelihood (and of its squared error, for Brier).
3. The best method has the lowest out-of-fold NLL (the mean over cases); NLLs within
   ``NLL_TIE_TOL`` (1e-9) of each other tie, and a tie goes to the lower out-of-fold Brier, then
   to the simpler method.
4. One-standard-error rule: the selected method is the simplest one whose out-of-fold NLL exceeds
   the best's by at most one standard error of the difference, SE = sd(d) / sqrt(n) with
   d_i = loss_i(simpler) - loss_i(best) over the n cases and sd with n - 1 in the denominator.
   A more flexible method must win by more than that to be chosen. (This SE treats the n
   per-case differences as independent, which cross-validation does not make them exactly;
   it is a stated convention, the usual one of the "one-standard-error rule".)

The selected and the other methods are then refitted on the whole ``calib`` split and all are
reported on ``val_report`` (ECE with the ECE a perfectly calibrated score would show, Brier,
NLL, ROC-AUC): held-out figures, not used for the choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .metrics import (
    brier,
    expected_calibration_error,
    expected_ece_if_calibrated,
    nll,
    roc_auc,
    show,
)
from .calibrators import (
    clip_bounds,
    sigmoid,
    _fit_inputs,
    Calibrator,
    IdentityCalibrator,
    TemperatureCalibrator,
    PlattCalibrator,
    IsotonicCalibrator,
    CALIBRATORS,
    FITTED_METHODS,
    CANDIDATES,
    calibrator_from_params,
)
from .mulberry import repeated_stratified_folds

__all__ = [
    "Calibrator",
    "IdentityCalibrator",
    "TemperatureCalibrator",
    "PlattCalibrator",
    "IsotonicCalibrator",
    "CALIBRATORS",
    "FITTED_METHODS",
    "CANDIDATES",
    "CV_FOLDS",
    "CV_REPEATS",
    "CV_SEED",
    "MIN_ISOTONIC_CASES",
    "SELECTION_RULE",
    "clip_bounds",
    "select_by_cv",
    "one_se_choice",
    "CALIB_SPLIT",
    "REPORT_SPLIT",
    "sigmoid",
    "calibrator_from_params",
    "CalibrationResult",
    "fit_all",
    "calibrator_from_manifest",
]

CALIB_SPLIT = "calib"
REPORT_SPLIT = "val_report"


# Selection by out-of-fold NLL (see the module docstring for the rule).
CV_FOLDS = 5
CV_REPEATS = 10
CV_SEED = 0
MIN_ISOTONIC_CASES = 1000
# Out-of-fold NLLs this close are the same number up to the fits' convergence tolerances (the
# viewer's Newton and this L-BFGS-B agree to about 1e-10 on them), so Brier decides.
NLL_TIE_TOL = 1e-9
SELECTION_RULE = (
    "lowest out-of-fold NLL over repeated stratified k-fold cross-validation on the calibration split "
    "(NLLs within 1e-9 tie: lower out-of-fold Brier, then the simpler method), then the simplest method "
    "(none < temperature < platt < isotonic) whose out-of-fold NLL exceeds the best's by at most one "
    "standard error of the per-case difference; isotonic only with >= 1000 cases"
)


def _per_case_losses(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-case negative log-likelihood and squared error (p is clipped, so never 0 or 1)."""
    yf = y.astype(np.float64)
    return -(yf * np.log(p) + (1.0 - yf) * np.log1p(-p)), (p - yf) ** 2


def _count(v, what: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{what} must be an integer >= {minimum}, got {show(v)}")
    return int(v)


def select_by_cv(
    logits,
    y,
    *,
    folds: int = CV_FOLDS,
    repeats: int = CV_REPEATS,
    seed: int = CV_SEED,
    min_isotonic_cases: int = MIN_ISOTONIC_CASES,
) -> dict:
    """Choose a calibrator by out-of-fold NLL on one split (the rule in the module docstring).

    Returns (JSON-safe)::

        {"selected": m, "best": m_lowest_nll, "n": n, "candidates": [...],
         "isotonic_allowed": bool, "folds": k, "repeats": r, "seed": s,
         "oof": {m: {"nll", "brier", "nll_minus_best", "se_of_difference"}}}

    ``nll_minus_best`` and ``se_of_difference`` are 0 for the best method itself.
    """
    z, yy = _fit_inputs(logits, y, purpose="selecting a calibrator")
    k = _count(folds, "folds", 2)
    r = _count(repeats, "repeats", 1)
    n = z.size
    smaller_class = int(min(yy.sum(), n - yy.sum()))
    if smaller_class < 2:
        raise ValueError(
            f"selecting a calibrator by cross-validation needs at least 2 cases of each class, but the "
            f"split has {smaller_class} of one class (n={n}): every fold's fitting part must hold both"
        )
    candidates = [m for m in CANDIDATES if m != "isotonic" or n >= min_isotonic_cases]
    fold_rows = repeated_stratified_folds(yy, k, r, seed)
    loss = {m: np.zeros(n) for m in candidates}
    sq = {m: np.zeros(n) for m in candidates}
    for row in fold_rows:
        for f in range(k):
            held = row == f
            if not held.any():
                continue
            for m in candidates:
                p = CALIBRATORS[m]().fit(z[~held], yy[~held]).predict(z[held])
                l, s = _per_case_losses(yy[held], p)
                loss[m][held] += l
                sq[m][held] += s
    for m in candidates:
        loss[m] /= r
        sq[m] /= r
    decision = one_se_choice(loss, sq)
    return {
        **decision,
        "n": int(n),
        "candidates": candidates,
        "isotonic_allowed": "isotonic" in candidates,
        "folds": k,
        "repeats": r,
        "seed": int(seed),
    }


def one_se_choice(nll_per_case: dict, sq_per_case: dict) -> dict:
    """Steps 3 and 4 of the rule on per-case out-of-fold losses, candidates in the dicts' order
    (simplest first): ``{"selected", "best", "oof": {m: {"nll", "brier", "nll_minus_best",
    "se_of_difference"}}}``."""
    candidates = list(nll_per_case)
    if not candidates or list(sq_per_case) != candidates:
        raise ValueError(f"need the same non-empty candidates for NLL and Brier, got {candidates} and {list(sq_per_case)}")
    loss = {m: np.asarray(nll_per_case[m], dtype=np.float64) for m in candidates}
    n = loss[candidates[0]].size
    mean_nll = {m: float(np.mean(loss[m])) for m in candidates}
    mean_brier = {m: float(np.mean(np.asarray(sq_per_case[m], dtype=np.float64))) for m in candidates}
    lowest = min(mean_nll.values())
    tied = [m for m in candidates if mean_nll[m] <= lowest + NLL_TIE_TOL]
    lowest_brier = min(mean_brier[m] for m in tied)
    best = next(m for m in tied if mean_brier[m] <= lowest_brier)

    oof: dict = {}
    selected = None
    for m in candidates:
        d = loss[m] - loss[best]
        diff = float(np.mean(d))
        se = float(np.std(d, ddof=1) / math.sqrt(n)) if n > 1 else 0.0
        oof[m] = {"nll": mean_nll[m], "brier": mean_brier[m], "nll_minus_best": diff, "se_of_difference": se}
        if selected is None and diff <= se:
            selected = m
    # best itself has diff 0 <= se, so something simpler than or equal to best is always selected.
    return {"selected": selected, "best": best, "oof": oof}


def _evaluate(cal: Calibrator, z: np.ndarray, y: np.ndarray, n_bins: int) -> dict:
    p = cal.predict(z)
    return {
        "ece": expected_calibration_error(y, p, n_bins=n_bins),
        # The ECE labels drawn from these very scores would show: the floor ECE cannot go below at this n.
        "ece_if_calibrated": expected_ece_if_calibrated(p, n_bins=n_bins),
        "brier": brier(y, p),
        "nll": nll(y, p),
        "roc_auc": roc_auc(y, p),
        "n": int(y.size),
    }


@dataclass
class CalibrationResult:
    """Every candidate fitted on ``calib``, the cross-validated choice, their metrics on ``val_report``.

    ``calibrators`` and ``metrics`` hold all four methods (isotonic is fitted and reported even
    where too few cases make it ineligible); ``selection`` is :func:`select_by_cv`'s record.
    """

    selected: str
    calibrators: dict
    metrics: dict
    selection: dict
    n_bins: int = 15
    selection_metric: ClassVar[str] = "oof_nll"
    selection_split: ClassVar[str] = CALIB_SPLIT
    binning: ClassVar[str] = "equal-width"

    @property
    def selected_calibrator(self) -> Calibrator:
        return self.calibrators[self.selected]

    def to_manifest(self) -> dict:
        """The manifest's calibration section (JSON-safe)::

            {"input": "logit", "selected": m,
             "selection": {"metric": "oof_nll", "split": "calib", "rule": SELECTION_RULE,
                           "cv": {"folds", "repeats", "seed", "stratified": true, "generator": "mulberry32"},
                           "tie_break": "brier", "best": m, "isotonic_min_cases": 1000,
                           "isotonic_allowed": bool, "n": n, "oof": {m: {...}},
                           "n_bins": 15, "binning": "equal-width", "report_split": "val_report",
                           "ece_if_calibrated": {"method": "simulation", "draws", "seed", "generator"}},
             "methods": {m: {"params": {..., "clip": {"low", "high"}},
                             "metrics": {"ece", "ece_if_calibrated", "brier", "nll", "roc_auc", "n"}}}}

        ``metrics`` are on ``val_report``; ``n_bins`` and ``binning`` are the ECE's.
        """
        s = self.selection
        return {
            "input": "logit",
            "selected": self.selected,
            "selection": {
                "metric": self.selection_metric,
                "split": self.selection_split,
                "rule": SELECTION_RULE,
                "cv": {"folds": s["folds"], "repeats": s["repeats"], "seed": s["seed"],
                       "stratified": True, "generator": "mulberry32"},
                "tie_break": "brier",
                "best": s["best"],
                "isotonic_min_cases": MIN_ISOTONIC_CASES,
                "isotonic_allowed": s["isotonic_allowed"],
                "n": s["n"],
                "oof": s["oof"],
                **({"skipped": s["skipped"]} if "skipped" in s else {}),
                "n_bins": int(self.n_bins),
                "binning": self.binning,
                "report_split": REPORT_SPLIT,
                "ece_if_calibrated": dict(ECE_IF_CALIBRATED),
            },
            "methods": {
                m: {"params": self.calibrators[m].params(), "metrics": dict(self.metrics[m])}
                for m in CANDIDATES
                if m in self.calibrators
            },
        }


# How metrics.expected_ece_if_calibrated computes its figure (its defaults).
ECE_IF_CALIBRATED = {
    "method": "simulation: labels drawn as Bernoulli(p) from the calibrated scores themselves, mean ECE",
    "draws": 1000,
    "seed": 0,
    "generator": "mulberry32",
}


def fit_all(
    logits_calib,
    y_calib,
    logits_report,
    y_report,
    n_bins: int = 15,
    *,
    folds: int = CV_FOLDS,
    repeats: int = CV_REPEATS,
    seed: int = CV_SEED,
    min_isotonic_cases: int = MIN_ISOTONIC_CASES,
) -> CalibrationResult:
    """Select the calibrator by cross-validated NLL on the calibration split
    (:func:`select_by_cv`), fit every method on the whole split, and report them all, and the
    uncalibrated sigmoid, on the report split (ECE beside the ECE if calibrated, Brier, NLL,
    ROC-AUC). The report split plays no part in the choice."""
    z_c, y_c = _fit_inputs(logits_calib, y_calib, "logits_calib", "y_calib")
    z_r, y_r = _fit_inputs(
        logits_report, y_report, "logits_report", "y_report", purpose="reporting calibrators"
    )
    smaller_class = int(min(y_c.sum(), y_c.size - y_c.sum()))
    if smaller_class >= 2:
        selection = select_by_cv(
            z_c, y_c, folds=folds, repeats=repeats, seed=seed, min_isotonic_cases=min_isotonic_cases
        )
    else:
        # Smoke runs on a handful of images: one case of a class cannot be cross-validated, and
        # nothing can be learnt from it, so the raw score stays, and the record says why.
        selection = {
            "selected": "none", "best": "none", "n": int(y_c.size), "candidates": ["none"],
            "isotonic_allowed": False, "folds": int(folds), "repeats": int(repeats), "seed": int(seed), "oof": {},
            "skipped": f"calib has {smaller_class} case(s) of one class: too few to cross-validate; 'none' kept",
        }
    calibrators: dict = {m: CALIBRATORS[m]().fit(z_c, y_c) for m in CANDIDATES}
    metrics = {m: _evaluate(cal, z_r, y_r, n_bins) for m, cal in calibrators.items()}
    return CalibrationResult(
        selected=selection["selected"],
        calibrators=calibrators,
        metrics=metrics,
        selection=selection,
        n_bins=n_bins,
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
