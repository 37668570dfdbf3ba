"""The evaluation report a person reads: report.md plus PNG figures.

:func:`evaluate_splits` computes the numbers (JSON-safe, for the manifest);
:func:`write_report` renders them. Keeping the two apart means the manifest and the report can
never disagree: both come from one metrics dict.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import numpy as np
# Figure objects render through the Agg canvas without pyplot, so importing this module
# neither switches the process-wide backend nor keeps figures alive in pyplot's registry.
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from .calibration import CALIB_SPLIT, REPORT_SPLIT, CalibrationResult, sigmoid
from .metrics import (
    expected_ece_if_calibrated,
    nll,
    _check_same_length,
    as_finite_1d,
    as_labels,
    reliability_curve,
    summarize,
)
from .threshold import RATE_NAMES, operating_point

__all__ = ["SYNTHETIC_WARNING", "DECISION_SUPPORT", "evaluate_splits", "write_report"]

SYNTHETIC_WARNING = (
    "Trained and evaluated on SYNTHETIC data; these figures say nothing about performance on "
    "real radiographs"
)
DECISION_SUPPORT = (
    "ChestAid is decision support, not a diagnosis: the score is a calibrated risk estimate "
    "compared with an operating threshold, and a clinician reads every study."
)

_SPLIT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_RATE_LABELS = {
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "ppv": "PPV",
    "npv": "NPV",
    "f1": "F1",
}


def _split_arrays(splits: dict) -> dict:
    if not isinstance(splits, dict) or not splits:
        raise ValueError("splits must be a non-empty dict of name -> {'y': ..., 'logits': ...}")
    out = {}
    for name, data in splits.items():
        # Split names become file names of the figures.
        if not isinstance(name, str) or not _SPLIT_NAME.match(name):
            raise ValueError(f"split name {name!r} must match [A-Za-z0-9_-]+")
        if not isinstance(data, dict) or set(data) != {"y", "logits"}:
            got = sorted(data) if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"split {name!r} must be a dict with keys 'y' and 'logits', got {got}")
        y = as_labels(data["y"], f"{name}.y")
        z = as_finite_1d(data["logits"], f"{name}.logits")
        _check_same_length(y, z, f"{name}.y", f"{name}.logits")
        out[name] = (y, z)
    return out


def _threshold_value(threshold: dict) -> float:
    if not isinstance(threshold, dict) or "value" not in threshold:
        raise ValueError("threshold must be the dict from choose_threshold(), with a 'value'")
    return float(threshold["value"])


def evaluate_splits(
    splits: dict,
    calibration: CalibrationResult,
    threshold: dict,
    *,
    n_bins: Optional[int] = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Metrics for every split, before and after the selected calibration, and at the threshold.

    ``splits`` maps a split name to ``{"y": labels, "logits": raw logits}``; ``threshold`` is
    :func:`chestaid_train.threshold.choose_threshold`'s dict. Returns, per split::

        {"n", "n_pos",
         "uncalibrated": summarize(y, sigmoid(z)),
         "calibrated": summarize(y, selected.predict(z)),
         "reliability": {"uncalibrated": reliability_curve(...), "calibrated": ...},
         "at_threshold": operating_point(y, calibrated p, threshold)}

    All values are JSON-safe. ``n_bins`` defaults to the one the calibration was selected with.
    """
    arrays = _split_arrays(splits)
    t = _threshold_value(threshold)
    bins = int(calibration.n_bins if n_bins is None else n_bins)
    cal = calibration.selected_calibrator
    out = {}
    for name, (y, z) in arrays.items():
        p_raw = sigmoid(z)
        p_cal = cal.predict(z)
        out[name] = {
            "n": int(y.size),
            "n_pos": int(y.sum()),
            "uncalibrated": {**summarize(y, p_raw, n_bins=bins), "nll": nll(y, p_raw)},
            # ECE beside the ECE a perfectly calibrated score with these scores shows at this n.
            "calibrated": {**summarize(y, p_cal, n_bins=bins), "nll": nll(y, p_cal),
                           "ece_if_calibrated": expected_ece_if_calibrated(p_cal, n_bins=bins)},
            "reliability": {
                "uncalibrated": reliability_curve(y, p_raw, n_bins=bins),
                "calibrated": reliability_curve(y, p_cal, n_bins=bins),
            },
            "at_threshold": operating_point(y, p_cal, t, n_boot=n_boot, seed=seed),
        }
    return out


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _reliability_png(path: Path, split: str, rel_raw: dict, rel_cal: dict, method: str) -> None:
    fig = Figure(figsize=(5.0, 6.0))
    ax, axh = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], ls="--", color="0.5", lw=1, label="perfect calibration")
    for rel, label, style in (
        (rel_raw, "uncalibrated (sigmoid of logit)", "o-"),
        (rel_cal, f"calibrated ({method})", "s-"),
    ):
        pts = [(m, f) for m, f in zip(rel["mean_p"], rel["frac_pos"]) if m is not None]
        if pts:
            xs, ys = zip(*pts)
            ax.plot(xs, ys, style, ms=4, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed frequency of PNEUMONIA")
    ax.set_title(f"Reliability, {split} ({rel_cal['n_bins']} equal-width bins)")
    ax.legend(loc="upper left", fontsize=8)
    edges = np.asarray(rel_cal["edges"])
    width = edges[1] - edges[0]
    for rel, label in ((rel_raw, "uncalibrated"), (rel_cal, method)):
        axh.bar(edges[:-1], rel["count"], width=width, align="edge", alpha=0.5, label=label)
    axh.set_xlabel("predicted probability of PNEUMONIA")
    axh.set_ylabel("count")
    axh.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def _roc_png(path: Path, split: str, y, p_raw, p_cal, method: str, op: dict) -> None:
    fig = Figure(figsize=(5.0, 5.0))
    ax = fig.subplots()
    for p, label in ((p_raw, "uncalibrated"), (p_cal, f"calibrated ({method})")):
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=label)
    sens, spec = op["sensitivity"]["value"], op["specificity"]["value"]
    if sens is not None and spec is not None:
        ax.plot([1 - spec], [sens], "k*", ms=12, label=f"operating point t={op['threshold']:.3f}")
    ax.plot([0, 1], [0, 1], ls=":", color="0.6", lw=1)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(f"ROC, {split}")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def _pr_png(path: Path, split: str, y, p_raw, p_cal, method: str, op: dict) -> None:
    fig = Figure(figsize=(5.0, 5.0))
    ax = fig.subplots()
    for p, label in ((p_raw, "uncalibrated"), (p_cal, f"calibrated ({method})")):
        prec, rec, _ = precision_recall_curve(y, p)
        ax.plot(rec, prec, label=label)
    sens, ppv = op["sensitivity"]["value"], op["ppv"]["value"]
    if sens is not None and ppv is not None:
        ax.plot([sens], [ppv], "k*", ms=12, label=f"operating point t={op['threshold']:.3f}")
    ax.axhline(float(np.mean(y)), ls=":", color="0.6", lw=1, label="prevalence")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall (sensitivity)")
    ax.set_ylabel("precision (PPV)")
    ax.set_title(f"Precision-recall, {split}")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    return f"{float(v):.{digits}f}"


def _fmt_ci(d: dict) -> str:
    if d["value"] is None:
        return "n/a"
    if d["ci_low"] is None:
        return _fmt(d["value"], 3)
    return f"{d['value']:.3f} ({d['ci_low']:.3f} to {d['ci_high']:.3f})"


def _fmt_params(method: str, params: dict) -> str:
    clip = params.get("clip")
    tail = f"; clipped to [{clip['low']:.4f}, {clip['high']:.4f}]" if clip else ""
    if method == "none":
        return "p = sigmoid(z)" + tail
    if method == "temperature":
        return f"T = {params['temperature']:.4f}" + tail
    if method == "platt":
        return f"a = {params['a']:.4f}, b = {params['b']:.4f}" + tail
    if method == "isotonic":
        return f"{len(params['x'])} knots on the logit scale" + tail
    return str(params)


def _fmt_exact(e: Optional[dict]) -> str:
    if not e:
        return "n/a"
    return f"{e['value']:.3f} ({e['k']}/{e['n']}; {e['ci_low']:.3f}-{e['ci_high']:.3f})"


def _table(header: list, rows: list) -> list:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def write_report(
    out_dir: Path,
    *,
    model_id: str,
    synthetic: bool,
    splits: dict,
    calibration: CalibrationResult,
    threshold: dict,
    extra: Optional[dict] = None,
    metrics: Optional[dict] = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> Path:
    """Write ``out_dir/report.md`` and ``out_dir/report/*.png``; return the report.md path.

    ``metrics`` is :func:`evaluate_splits`' output; pass the dict already written into the
    manifest so that both show the same numbers (computed here if omitted, with ``n_boot`` and
    ``seed``). ``extra`` maps section titles to markdown text appended as sections.
    """
    if not isinstance(synthetic, bool):
        raise ValueError(f"synthetic must be True or False, got {synthetic!r}")
    if extra is not None and not isinstance(extra, dict):
        raise ValueError(f"extra must be a dict of title -> markdown, got {type(extra).__name__}")
    arrays = _split_arrays(splits)
    t = _threshold_value(threshold)
    if metrics is None:
        metrics = evaluate_splits(splits, calibration, threshold, n_boot=n_boot, seed=seed)
    missing = sorted(set(arrays) - set(metrics))
    if missing:
        raise ValueError(f"metrics has no entry for splits {missing}")
    for name in arrays:
        at = metrics[name]["at_threshold"]["threshold"]
        if at != t:
            raise ValueError(
                f"metrics for {name} were computed at threshold {at}, not at {t}; "
                "rerun evaluate_splits with this threshold"
            )

    out_dir = Path(out_dir)
    fig_dir = out_dir / "report"
    fig_dir.mkdir(parents=True, exist_ok=True)
    method = calibration.selected
    cal = calibration.selected_calibrator

    figures: list[tuple[str, str]] = []
    for name, (y, z) in arrays.items():
        m = metrics[name]
        rel = m["reliability"]
        _reliability_png(
            fig_dir / f"reliability_{name}.png",
            name,
            rel["uncalibrated"],
            rel["calibrated"],
            method,
        )
        figures.append((f"Reliability diagram, {name}", f"report/reliability_{name}.png"))
        if 0 < m["n_pos"] < m["n"]:
            p_raw, p_cal = sigmoid(z), cal.predict(z)
            op = m["at_threshold"]
            _roc_png(fig_dir / f"roc_{name}.png", name, y, p_raw, p_cal, method, op)
            _pr_png(fig_dir / f"pr_{name}.png", name, y, p_raw, p_cal, method, op)
            figures.append((f"ROC curve, {name}", f"report/roc_{name}.png"))
            figures.append((f"Precision-recall curve, {name}", f"report/pr_{name}.png"))

    md: list[str] = [f"# ChestAid evaluation report: {model_id}", ""]
    if synthetic:
        md += [f"> **WARNING: {SYNTHETIC_WARNING}.**", ""]
    md += [f"> {DECISION_SUPPORT}", ""]

    md += ["## Splits", ""]
    md += _table(
        ["split", "n", "PNEUMONIA", "prevalence"],
        [
            [name, m["n"], m["n_pos"], _fmt(m["n_pos"] / m["n"], 3)]
            for name, m in ((k, metrics[k]) for k in arrays)
        ],
    )
    md += [""]

    n_bins = metrics[next(iter(arrays))]["reliability"]["calibrated"]["n_bins"]
    md += [
        "## Discrimination and calibration per split",
        "",
        f"Before: p = sigmoid(logit). After: the selected calibrator ({method}). "
        f"ECE: binary, {n_bins} equal-width bins on P(PNEUMONIA); ECE can never "
        "exceed sqrt(Brier).",
        "",
    ]
    for name in arrays:
        m = metrics[name]
        md += [f"### {name}", ""]
        if name == CALIB_SPLIT:
            md += [
                f"The calibrator was fitted on {name}, so its after-calibration numbers here are "
                "in-sample and flatter than on any other split.",
                "",
            ]
        md += _table(
            ["", "ROC-AUC", "PR-AUC", "Brier", "NLL", "ECE", "ECE if perfectly calibrated"],
            [
                [label, _fmt(s["roc_auc"]), _fmt(s["pr_auc"]), _fmt(s["brier"]), _fmt(s.get("nll")), _fmt(s["ece"]),
                 _fmt(s.get("ece_if_calibrated"))]
                for label, s in (
                    ("before calibration", m["uncalibrated"]),
                    (f"after calibration ({method})", m["calibrated"]),
                )
            ],
        )
        md += [""]

    cm = calibration.to_manifest()
    sel = cm["selection"]
    md += [
        "## Calibration methods",
        "",
        f"Selected on {CALIB_SPLIT} ({sel['n']} cases) by out-of-fold NLL: {sel['cv']['repeats']} repeats of "
        f"stratified {sel['cv']['folds']}-fold cross-validation (folds from mulberry32, seed {sel['cv']['seed']}). "
        f"Rule: {sel['rule']}. Lowest out-of-fold NLL: {sel['best']}; selected: **{method}**."
        + ("" if sel["isotonic_allowed"] else
           f" Isotonic was not a candidate: {sel['n']} cases, under {sel['isotonic_min_cases']}.")
        + (f" **Selection skipped: {sel['skipped']}.**" if "skipped" in sel else ""),
        "",
    ]
    md += _table(
        ["method", f"OOF NLL ({CALIB_SPLIT})", "minus best", "SE of difference", f"OOF Brier ({CALIB_SPLIT})"],
        [[mname, _fmt(o["nll"], 4), _fmt(o["nll_minus_best"], 4), _fmt(o["se_of_difference"], 4), _fmt(o["brier"], 4)]
         for mname, o in sel["oof"].items()],
    )
    md += [
        "",
        f"Every method refitted on all of {CALIB_SPLIT} and reported on {REPORT_SPLIT} (not used for the choice). "
        "'ECE if calibrated' is the mean ECE of labels drawn as Bernoulli(p) from the method's own scores "
        "(1,000 draws, mulberry32 seed 0): an ECE near it is what perfect calibration looks like at this n.",
        "",
    ]
    md += _table(
        ["method", "parameters", f"ECE ({REPORT_SPLIT})", "ECE if calibrated", f"Brier ({REPORT_SPLIT})",
         f"NLL ({REPORT_SPLIT})", "selected"],
        [
            [
                mname,
                _fmt_params(mname, entry["params"]),
                _fmt(entry["metrics"]["ece"]),
                _fmt(entry["metrics"].get("ece_if_calibrated")),
                _fmt(entry["metrics"]["brier"]),
                _fmt(entry["metrics"]["nll"]),
                "**selected**" if mname == method else "",
            ]
            for mname, entry in cm["methods"].items()
        ],
    )
    md += [""]

    target = threshold.get("target_sensitivity")
    md += [
        "## Operating threshold",
        "",
        f"Flag a study when the calibrated probability is >= **{t:.4f}**. "
        f"Rule: {threshold.get('rule', 'n/a')}"
        + (f" (target sensitivity {target:g})" if target is not None else "")
        + f", chosen on {threshold.get('split', 'n/a')}.",
        "",
    ]
    proof = threshold.get("proof")
    if proof:
        md += [
            f"On {threshold.get('split', 'n/a')} it flags {proof['flagged_positives']} of {proof['n_pos']} positives; "
            f"the one-sided {proof['level']:.0%} Clopper-Pearson lower bound on sensitivity is "
            f"**{proof['lower_bound']:.4f}**"
            + (" (reaches the target)." if threshold.get("proven") else
               f": the target is NOT proven (at least {proof['positives_needed']} positives are needed; "
               "smoke run only).")
            + (f" The point-estimate rule would have chosen {threshold['point_estimate_threshold']:.4f}."
               if threshold.get("point_estimate_threshold") is not None else ""),
            "",
        ]
    md += [
        "Sensitivity with its exact (Clopper-Pearson) two-sided 95 % interval:",
        "",
    ]
    md += _table(
        ["split", "positives flagged", "sensitivity (exact 95 % CI)"],
        [[name, (metrics[name]["at_threshold"].get("sensitivity_exact") or {}).get("k", "n/a"),
          _fmt_exact(metrics[name]["at_threshold"].get("sensitivity_exact"))] for name in arrays],
    )
    md += [
        "",
        "Below, values with stratified percentile-bootstrap 95 % confidence intervals. The threshold "
        f"was chosen on {threshold.get('split', 'n/a')}; the other splits show how the choice holds up.",
        "",
    ]
    md += _table(
        ["split", "n"] + [_RATE_LABELS[r] for r in RATE_NAMES],
        [
            [name, metrics[name]["n"]]
            + [_fmt_ci(metrics[name]["at_threshold"][r]) for r in RATE_NAMES]
            for name in arrays
        ],
    )
    md += ["", "### Confusion matrices at the threshold", ""]
    for name in arrays:
        c = metrics[name]["at_threshold"]["confusion"]
        md += [f"**{name}**", ""]
        md += _table(
            ["", "flagged", "not flagged"],
            [["PNEUMONIA", c["tp"], c["fn"]], ["NORMAL", c["fp"], c["tn"]]],
        )
        md += [""]

    md += ["## Figures", ""]
    for title, rel_path in figures:
        md += [f"![{title}]({rel_path})", ""]

    for title, body in (extra or {}).items():
        md += [f"## {title}", "", str(body).rstrip(), ""]

    path = out_dir / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    return path
