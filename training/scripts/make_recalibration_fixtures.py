"""Write test/fixtures/recalibration.json: the numbers the viewer's recalibration core
(core/src/recalibration) must reproduce, computed with this workspace's own
calibrators (chestaid_train.calibration), metrics and threshold rule.

Cohorts: the demo model's calib/val_report logits (test/fixtures/calibration.json) and a few
generated ones (heavy ties, a shifted-and-scaled site, a small one, a low-prevalence one, one
large enough for isotonic to be a candidate), each fitted on its "fit" half and scored on its
"eval" half as ``fit_all`` does. Per cohort: the calibrator chosen by cross-validated NLL on the
fit half (``select_by_cv``: its folds, out-of-fold NLL and Brier, best and selected), each
method's clipped parameters, the ECE a perfectly calibrated score would show, and the
thresholds by the point rule and by the Clopper-Pearson proven rule (or the number of positives
it needs). Plus metric-only cases with probabilities exactly on the ECE bin edges, and a table of
Clopper-Pearson bounds.

Deterministic: same code and inputs give byte-identical JSON (pytest checks it).

    PYTHONPATH=training /usr/bin/python3 training/scripts/make_recalibration_fixtures.py [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from chestaid_train.calibration import fit_all
from chestaid_train.metrics import (
    brier,
    expected_calibration_error,
    expected_ece_if_calibrated,
    nll,
    pr_auc,
    reliability_curve,
    roc_auc,
)
from chestaid_train.mulberry import Mulberry32, repeated_stratified_folds
from chestaid_train.threshold import (
    clopper_pearson_interval,
    clopper_pearson_lower,
    positives_needed,
    threshold_for_sensitivity,
    threshold_with_proven_sensitivity,
)

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "test" / "fixtures" / "calibration.json"
OUT = REPO / "test" / "fixtures" / "recalibration.json"
TARGETS = (0.8, 0.9, 0.95)
N_BINS = 15
FOLD_REPEATS_SHOWN = 2  # fold rows written out per cohort (the selection itself uses all repeats)


def _floats(a) -> list:
    return [float(v) for v in a]


def _generated(seed: int, n: int, prevalence: float, shift: float = 0.0, scale: float = 1.0,
               decimals: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a plausible classifier: positives ~ N(1.2, 1.5), negatives ~ N(-1.5, 1.2),
    then a site shift z -> scale * z + shift, optionally rounded to make ties."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < prevalence).astype(np.int64)
    z = np.where(y == 1, rng.normal(1.2, 1.5, n), rng.normal(-1.5, 1.2, n))
    z = scale * z + shift
    if decimals is not None:
        z = np.round(z, decimals)
    return z, y


def _halves(z: np.ndarray, y: np.ndarray) -> dict:
    # Alternate cases: both halves keep both classes for the sizes used here.
    return {"fit": {"logits": _floats(z[0::2]), "y": [int(v) for v in y[0::2]]},
            "eval": {"logits": _floats(z[1::2]), "y": [int(v) for v in y[1::2]]}}


def _proven(y, p, target):
    try:
        return threshold_with_proven_sensitivity(y, p, target)
    except ValueError:
        return {"refused": True, "n_pos": int(np.sum(y)), "positives_needed": positives_needed(target)}


def _case(name: str, split: dict, note: str) -> dict:
    zf = np.asarray(split["fit"]["logits"])
    yf = np.asarray(split["fit"]["y"])
    ze = np.asarray(split["eval"]["logits"])
    ye = np.asarray(split["eval"]["y"])
    res = fit_all(zf, yf, ze, ye, n_bins=N_BINS)
    methods = {}
    for m, cal in res.calibrators.items():
        p = cal.predict(ze)
        methods[m] = {
            "params": cal.params(),
            "p_eval": _floats(p),
            "ece": expected_calibration_error(ye, p, n_bins=N_BINS),
            "ece_10_bins": expected_calibration_error(ye, p, n_bins=10),
            "brier": brier(ye, p),
            "nll": nll(ye, p),
            "roc_auc": roc_auc(ye, p),
            "pr_auc": pr_auc(ye, p),
            "reliability": reliability_curve(ye, p, n_bins=N_BINS),
            "thresholds": {str(t): threshold_for_sensitivity(ye, p, t) for t in TARGETS},
            "proven_thresholds": {str(t): _proven(ye, p, t) for t in TARGETS},
            "ece_if_calibrated": expected_ece_if_calibrated(p, n_bins=N_BINS),
        }
    sel = dict(res.selection)
    sel["folds_shown"] = repeated_stratified_folds(yf, sel["folds"], FOLD_REPEATS_SHOWN, sel["seed"]).tolist()
    return {"name": name, "note": note, **split, "selected": res.selected, "selection": sel, "methods": methods}


def _edge_case() -> dict:
    """Probabilities exactly on the bin edges b/15 (and 0 and 1): the ECE edge convention.
    0.8999999999999999 (one ulp below 0.9) is where floor(p * 10) = 9 misplaces a score that
    belongs in bin 8 of 10."""
    below_09 = float(np.nextafter(0.9, 0.0))
    p = np.concatenate([np.arange(16) / 15.0, np.arange(16) / 15.0, [0.5, 0.5, 1.0 / 3.0, below_09, 0.9]])
    y = np.array([0, 1] * 16 + [1, 0, 1, 1, 0], dtype=np.int64)
    return {"name": "edges", "y": [int(v) for v in y], "p": _floats(p),
            "ece": expected_calibration_error(y, p, n_bins=N_BINS),
            "ece_10_bins": expected_calibration_error(y, p, n_bins=10),
            "reliability_10_bins": reliability_curve(y, p, n_bins=10),
            "brier": brier(y, p), "roc_auc": roc_auc(y, p), "pr_auc": pr_auc(y, p),
            "reliability": reliability_curve(y, p, n_bins=N_BINS),
            "thresholds": {str(t): threshold_for_sensitivity(y, p, t) for t in TARGETS}}


def build() -> dict:
    demo = json.loads(SOURCE.read_text())
    s = demo["splits"]
    cases = [_case("demo", {"fit": s["calib"], "eval": s["val_report"]},
                   "chestaid-demo calib (fit) and val_report (eval) logits, as training fits them")]
    for name, kwargs, note in (
        ("ties", dict(seed=11, n=300, prevalence=0.5, decimals=1), "logits rounded to 0.1: many ties"),
        ("shifted", dict(seed=12, n=300, prevalence=0.5, shift=1.5, scale=0.6),
         "a site whose logits are scaled by 0.6 and shifted by +1.5"),
        ("small", dict(seed=13, n=60, prevalence=0.5), "60 cases, 30 fit / 30 eval"),
        ("low_prevalence", dict(seed=14, n=400, prevalence=0.15), "15 % prevalence"),
        ("large", dict(seed=15, n=2200, prevalence=0.4, shift=-0.8, scale=0.7),
         "1,100 fit cases: isotonic is a candidate"),
    ):
        z, y = _generated(**kwargs)
        cases.append(_case(name, _halves(z, y), note))
    return {
        "note": "generated by training/scripts/make_recalibration_fixtures.py; do not edit",
        "n_bins": N_BINS,
        "targets": list(TARGETS),
        "cases": cases,
        "metric_cases": [_edge_case()],
        "clopper_pearson": [
            {"k": k, "n": n, "lower_95": clopper_pearson_lower(k, n),
             "interval_95": list(clopper_pearson_interval(k, n))}
            for k, n in ((0, 1), (1, 1), (0, 29), (29, 29), (28, 29), (87, 97), (97, 97), (1, 400), (360, 400), (399, 400))
        ],
        "positives_needed": {str(t): positives_needed(t) for t in (0.5, 0.8, 0.85, 0.9, 0.95, 0.99)},
        "mulberry32": {str(seed): Mulberry32(seed).take(5).tolist() for seed in (0, 1, 2026, 4294967295)},
    }


def render() -> str:
    return json.dumps(build(), indent=1, sort_keys=True) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if the file is not current")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is not current; rerun {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
