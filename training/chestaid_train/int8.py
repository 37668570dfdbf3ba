"""The int8 variant of a published model: quantized (quantize.py), then treated as the different
model it is. Its scores never borrow the float model's calibration: the pipeline's own calibrator
selection is fitted on the int8 logits of the same splits (calib, val_report), the clinical
threshold chosen again on its calibrated scores by the same rule, and its metrics measured. Then
the gates against the float model on the test split:

- ROC-AUC (of the logit) within ROC_AUC_MARGIN of the float model's;
- Grad-CAM: median over images of the Pearson correlation of the two 7x7 maps >= CAM_MIN_MEDIAN
  (two all-zero maps agree: 1; one all-zero map against a non-zero one: 0);
- the decision, each model under its own calibration and threshold made by the same procedure,
  the same on >= DECISION_MIN_AGREEMENT of the images. In a training run the float model's are
  the run's own; for a published model whose manifest was calibrated by an older procedure (ECE
  selection, a point-estimate threshold), the float model is recalibrated here on its logits of
  the same splits, and the decision against the manifest's older calibration is reported beside
  (a change of procedure alone moves more decisions than quantization does).

Both models run in onnxruntime-node (ort_node.mjs), the runtime the worker uses; the int8 model
also through onnxruntime-web's wasm build on a few test images (WEB_CHECK_IMAGES), the viewer's.
A variant that fails a gate is not published.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from . import calibration, data, export, manifest as manifest_lib, metrics, quantize, report, self_check, threshold

FILE = "model.int8.onnx"
CALIBRATION_IMAGES = 128
CALIBRATION_SEED = 0
ROC_AUC_MARGIN = 0.005
CAM_MIN_MEDIAN = 0.98
DECISION_MIN_AGREEMENT = 0.98
WEB_CHECK_IMAGES = 4
# onnxruntime-node (x86) and -web (wasm SIMD) requantize with their own integer kernels: a
# rounding step apart here and there, which moves the logit by about 1e-3 (measured: 1.8e-3 on
# the demo model); a graph the web build ran differently would be off by the logit's whole spread.
WEB_LOGIT_TOLERANCE = 1e-2
SPLITS = ("calib", "val_report", "test")
REPORT_TITLE = "int8 variant"


def calibration_sample(records, n: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> list:
    """`n` train records drawn without replacement (all of them when fewer), in drawn order."""
    records = list(records)
    if not records:
        raise ValueError("the train split is empty: nothing to calibrate the activations on")
    pick = np.random.default_rng(seed).permutation(len(records))[: min(n, len(records))]
    return [records[i] for i in pick]


def tensors(root: Path, records, size: int, cache=None) -> np.ndarray:
    """The deployment preprocessing of each record, stacked [N, 3, size, size] float32."""
    ds = data.XrayDataset(root, records, size=size, cache=cache)
    return np.stack([ds[i][0].numpy() for i in range(len(ds))]).astype(np.float32)


def cam_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each pair of maps [N, h, w]; see the module docstring for flat maps."""
    a = a.reshape(len(a), -1).astype(np.float64)
    b = b.reshape(len(b), -1).astype(np.float64)
    out = np.empty(len(a))
    for i, (u, v) in enumerate(zip(a, b)):
        su, sv = u.std(), v.std()
        if su == 0 or sv == 0:
            out[i] = 1.0 if (su == 0 and sv == 0 and np.allclose(u, v)) else 0.0
        else:
            out[i] = float(np.corrcoef(u, v)[0, 1])
    return out


def gates(y: np.ndarray, ref: dict, var: dict) -> dict:
    """The three gates on one split. `ref` and `var`: {"logits" [N], "cams" [N, h, w], "above" [N] bool}."""
    # ROC-AUC of the logit, through the sigmoid (monotone; float64 keeps logits below ~36 apart).
    auc_ref, auc_var = (metrics.roc_auc(y, 1 / (1 + np.exp(-np.asarray(m["logits"], np.float64)))) for m in (ref, var))
    corr = cam_correlation(ref["cams"], var["cams"])
    same = ref["above"] == var["above"]
    out = {
        "n": int(len(y)),
        "roc_auc": {"float32": auc_ref, "int8": auc_var, "difference": auc_var - auc_ref, "max_abs_difference": ROC_AUC_MARGIN,
                    "pass": bool(abs(auc_var - auc_ref) <= ROC_AUC_MARGIN)},
        "cam_correlation": {"median": float(np.median(corr)), "p05": float(np.percentile(corr, 5)), "min": float(corr.min()),
                            "min_median": CAM_MIN_MEDIAN, "pass": bool(np.median(corr) >= CAM_MIN_MEDIAN)},
        "decision_agreement": {"rate": float(same.mean()), "differ": int((~same).sum()), "min_rate": DECISION_MIN_AGREEMENT,
                               "pass": bool(same.mean() >= DECISION_MIN_AGREEMENT)},
        "logit_abs_difference": {"median": float(np.median(np.abs(var["logits"] - ref["logits"]))),
                                 "max": float(np.abs(var["logits"] - ref["logits"]).max())},
    }
    out["pass"] = all(out[k]["pass"] for k in ("roc_auc", "cam_correlation", "decision_agreement"))
    return out


def gates_table(g: dict, split: str = "test") -> str:
    r, c, d = g["roc_auc"], g["cam_correlation"], g["decision_agreement"]
    ok = lambda x: "pass" if x["pass"] else "FAIL"  # noqa: E731
    return "\n".join([
        f"| gate ({split}, n = {g['n']}) | float32 | int8 | measured | bar | |",
        "|---|---|---|---|---|---|",
        f"| ROC-AUC (logit) | {r['float32']:.4f} | {r['int8']:.4f} | difference {r['difference']:+.4f} | within {r['max_abs_difference']} | {ok(r)} |",
        f"| Grad-CAM correlation with float32 | | | median {c['median']:.4f} (5th percentile {c['p05']:.4f}, min {c['min']:.4f}) | median >= {c['min_median']} | {ok(c)} |",
        f"| decision (each under its own calibration and threshold) | | | same on {d['rate']:.2%} ({d['differ']} differ) | >= {d['min_rate']:.0%} | {ok(d)} |",
        f"| reference of the decision gate: {d.get('reference', 'float32')} | | | | | |",
        f"| (not a gate) decision, int8 under the float32 calibration and threshold | | | same on "
        f"{d['under_float_calibration']:.2%} | | |",
    ] + ([f"| (not a gate) decision against float32 under the manifest's older calibration and threshold | | | same on "
          f"{d['against_manifest_float32']:.2%} | | |"] if "against_manifest_float32" in d else []))


def _score(model_path: Path, x: dict, engine: str = "node") -> dict:
    out = {}
    for name, xs in x.items():
        o = quantize.run_model(model_path, xs, engine)
        out[name] = {"logits": o[export.LOGIT_NAME].reshape(-1), "cams": o[export.CAM_NAME]}
    return out


def build(model_dir: Path, root: Path, splits: dict, *, log=print, **kwargs) -> dict | None:
    """measure(), then publish only what passes: the manifest's variant entry, or None (and no
    file left behind) when a gate fails."""
    entry = measure(model_dir, root, splits, log=log, **kwargs)
    if not entry["gates"]["pass"]:
        (Path(model_dir) / FILE).unlink()
        log(f"int8: a gate failed; {FILE} is not published")
        return None
    return entry


def _fit(logits: dict, y: dict, target_sensitivity: float, n_boot: int, require_proof: bool):
    """The pipeline's calibration and threshold, fitted on one model's logits of calib and val_report."""
    cal = calibration.fit_all(logits["calib"], y["calib"], logits["val_report"], y["val_report"])
    p_report = cal.calibrators[cal.selected].predict(logits["val_report"])
    return cal, threshold.choose_threshold(y["val_report"], p_report, target_sensitivity, n_boot=n_boot,
                                           require_proof=require_proof)


def measure(model_dir: Path, root: Path, splits: dict, *, float_calibration=None, deployed=None,
            target_sensitivity: float, n_boot: int = 1000, require_proof: bool = True, size: int = 224,
            cache=None, log=print) -> dict:
    """Quantize model_dir/model.onnx into model_dir/model.int8.onnx, fit its calibration and
    threshold on its own logits, measure it and its gates against the float model. Returns the
    manifest's variant entry, gates included, whether they pass or not.

    `float_calibration`: (calibrator with .predict, threshold) the float model decides with, when
    the same procedure made them (the pipeline's run); None: fitted here on the float model's logits
    of the same splits by the same procedure as the int8 one, so that the decision gate measures
    quantization and nothing else (a manifest calibrated by an older procedure). `deployed`: the
    manifest's own (calibrator, threshold), reported beside the gate when it is not the reference."""

    model_dir, root = Path(model_dir), Path(root)
    src, dst = model_dir / "model.onnx", model_dir / FILE
    sample = calibration_sample(splits["train"])
    log(f"int8: calibrating activation ranges on {len(sample)} train images ...")
    how = quantize.quantize_file(src, dst, tensors(root, sample, size, cache))
    x = {name: tensors(root, splits[name], size, cache) for name in SPLITS}
    log("int8: scoring calib, val_report and test with the float32 and the int8 model (onnxruntime-node) ...")
    ref, var = _score(src, x), _score(dst, x)
    y = {name: np.array([r.label for r in splits[name]]) for name in SPLITS}
    logits = lambda m: {k: m[k]["logits"] for k in SPLITS}  # noqa: E731

    cal, thr = _fit(logits(var), y, target_sensitivity, n_boot, require_proof)
    chosen = cal.calibrators[cal.selected]
    evaluated = report.evaluate_splits({k: {"y": y[k], "logits": var[k]["logits"]} for k in SPLITS}, cal, thr, n_boot=n_boot)
    if float_calibration is None:
        float_cal, float_thr = _fit(logits(ref), y, target_sensitivity, n_boot, require_proof)
        float_calibration = (float_cal.calibrators[float_cal.selected], float_thr["value"])
        reference = "float32 calibrated and thresholded here by the same procedure as int8"
    else:
        reference = "float32 under its manifest calibration and threshold"
    float_calibrator, float_threshold = float_calibration
    ref["test"]["above"] = float_calibrator.predict(ref["test"]["logits"]) >= float_threshold
    var["test"]["above"] = chosen.predict(var["test"]["logits"]) >= thr["value"]
    g = gates(y["test"], ref["test"], var["test"])
    d = g["decision_agreement"]
    d["reference"] = reference
    # Not gates: the int8 logits under the float model's calibration and threshold (what
    # quantization alone changes), and, where it is not the reference, the manifest's own.
    d["under_float_calibration"] = float(((float_calibrator.predict(var["test"]["logits"]) >= float_threshold)
                                          == ref["test"]["above"]).mean())
    if deployed is not None:
        d["against_manifest_float32"] = float(((deployed[0].predict(ref["test"]["logits"]) >= deployed[1])
                                               == var["test"]["above"]).mean())

    web = quantize.run_model(dst, x["test"][:WEB_CHECK_IMAGES], engine="web")
    web_diff = float(np.abs(web[export.LOGIT_NAME].reshape(-1) - var["test"]["logits"][:WEB_CHECK_IMAGES]).max())
    g["onnxruntime_web"] = {"engine": "wasm", "images": int(min(WEB_CHECK_IMAGES, len(x["test"]))),
                            "max_logit_difference_from_node": web_diff, "tolerance": WEB_LOGIT_TOLERANCE,
                            "pass": bool(web_diff <= WEB_LOGIT_TOLERANCE)}
    g["pass"] = g["pass"] and g["onnxruntime_web"]["pass"]
    log(gates_table(g))
    log(f"onnxruntime-web (wasm) on {g['onnxruntime_web']['images']} test images: max |logit - node's| = {web_diff:.2e}")

    hist_counts, edges = np.histogram(chosen.predict(var["test"]["logits"]), bins=10, range=(0.0, 1.0))
    info = export.describe(dst)
    return {
        "file": info["file"], "sha256": info["sha256"], "bytes": info["bytes"], "weights": "int8",
        "quantization": {**how, "calibration_set": {"split": "train", "images": len(sample), "seed": CALIBRATION_SEED,
                                                    "pneumonia": int(sum(r.label for r in sample))},
                         "runtime": "onnxruntime-node"},
        "calibration": {"version": "1", **cal.to_manifest()},
        "thresholds": {"clinical": thr},
        "metrics": manifest_lib.manifest_metrics(evaluated),
        "reference_distribution": {"split": "test", "score": "calibrated", "bin_edges": edges.tolist(), "counts": hist_counts.tolist()},
        "evaluation": {"at_threshold": {"test": evaluated["test"]["at_threshold"]}},
        "gates": {"split": "test", "against": "model.onnx", **g},
    }


def with_variant(man: dict, entry: dict) -> dict:
    """`man` with `entry` in onnx.variants (replacing one of the same file) and the schema version
    that describes variant calibrations."""
    variants = [v for v in man["onnx"].get("variants", []) if v["file"] != entry["file"]] + [entry]
    return {**man, "schema_version": manifest_lib.SCHEMA_VERSION, "onnx": {**man["onnx"], "variants": variants}}


def report_markdown(entry: dict) -> str:
    q, g = entry["quantization"], entry["gates"]
    cs = q["calibration_set"]
    return "\n".join([
        f"## {REPORT_TITLE}", "",
        f"`{entry['file']}` ({entry['bytes'] / 1e6:.1f} MB, sha256 `{entry['sha256']}`): static QDQ quantization, "
        f"{q['weights']}; activations {q['activations']}, ranges {q['ranges']} over {cs['images']} train images "
        f"(seed {cs['seed']}); in float: {q['float']}. Its own calibration: **{entry['calibration']['selected']}** "
        f"(selected on its own calib logits), clinical threshold {entry['thresholds']['clinical']['value']:.4f}.", "",
        gates_table(g), "",
        f"onnxruntime-web (wasm) on {g['onnxruntime_web']['images']} test images: largest logit difference from "
        f"onnxruntime-node {g['onnxruntime_web']['max_logit_difference_from_node']:.1e}.", "",
    ])


def write_report_section(model_dir: Path, entry: dict) -> Path:
    path = Path(model_dir) / "report.md"
    text = path.read_text() if path.is_file() else ""
    block = report_markdown(entry)
    pattern = re.compile(rf"^## {re.escape(REPORT_TITLE)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: block + "\n", text).rstrip("\n") + "\n" if pattern.search(text) else \
        text.rstrip("\n") + ("\n\n" if text else "") + block
    path.write_text(text)
    return path


def add_to_model_dir(model_dir: Path, root: Path, *, n_boot: int = 1000, log=print) -> dict | None:
    """Quantize a published model directory's model.onnx (its manifest.json and splits.json say
    how the float model was calibrated and split) and publish the int8 variant into it."""
    model_dir = Path(model_dir)
    man = json.loads((model_dir / "manifest.json").read_text())
    if man["data"]["synthetic"]:  # the very images the float model was calibrated and tested on
        from .input_check import ensure_synthetic

        ensure_synthetic(Path(root), man["data"]["generator"])
    splits = data.load_splits(model_dir / "splits.json")
    thr = man["thresholds"]["clinical"]
    manifest_cal = (calibration.calibrator_from_manifest(man["calibration"]), thr["value"])
    # A manifest calibrated by an older procedure (ECE selection, a point-estimate threshold) is
    # not compared with an int8 model calibrated by today's: the float model is refitted here.
    current = man["calibration"]["selection"]["metric"] == calibration.CalibrationResult.selection_metric and thr["rule"] == threshold.RULE
    entry = build(model_dir, root, splits, float_calibration=manifest_cal if current else None,
                  deployed=None if current else manifest_cal, target_sensitivity=thr["target_sensitivity"], n_boot=n_boot,
                  require_proof=thr.get("proven", True), size=man["input"]["size"]["height"], log=log)
    if entry is None:
        return None
    # The new bytes need their own self-check block (self_check.py); the others are recomputed alike.
    man = self_check.with_self_checks(with_variant(man, entry), model_dir)
    manifest_lib.write(man, model_dir / "manifest.json")
    (model_dir / "MODEL_CARD.md").write_text(manifest_lib.model_card(man))
    write_report_section(model_dir, entry)
    return entry
