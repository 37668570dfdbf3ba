"""One run: train -> calibrate -> choose the threshold -> evaluate -> export -> manifest.

Run artefacts (checkpoint, splits, history) go to `run_dir`; what the viewer and a person need
(ONNX, manifest, model card, report) is published to `model_dir` (models/<model-id>/).
"""
from __future__ import annotations

import datetime as _dt
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader

from . import calibration, cam as cam_lib, data, export, input_check, int8 as int8_lib, manifest as manifest_lib, preprocess, report, self_check, threshold
from .resize_cache import ResizeCache
from .train import TrainConfig, load_checkpoint, resize_cache_for, train

KAGGLE_NAME = "Kaggle Chest X-Ray Images (Pneumonia), Kermany et al. 2018"
REFERENCE_BINS = 10
# Where and how this machine keeps files: no bearing on the model (a resize cache entry is the
# direct resize, bit for bit), so they stay out of the manifest.
LOCAL_SETTINGS = ("data_root", "out_dir", "resize_cache", "resize_cache_dir")


@torch.no_grad()
def infer(net, root: Path, records, batch_size: int = 32, device: str | torch.device = "cpu",
          cache: ResizeCache | None = None, size: int = preprocess.INPUT_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """(logits [N], unnormalised Grad-CAM [N, h, w]) in record order, with the deployment preprocessing."""
    wrapped = cam_lib.LogitAndCam(net).to(device).eval()
    loader = DataLoader(data.XrayDataset(root, records, size=size, cache=cache), batch_size=batch_size, shuffle=False)
    logits, cams = [], []
    for x, _ in loader:
        lg, cm = wrapped(x.to(device))
        logits.append(lg.view(-1).float().cpu())
        cams.append(cm.float().cpu())
    return torch.cat(logits).numpy(), torch.cat(cams).numpy()


def lesion_masks(root: Path, records) -> list[np.ndarray | None]:
    """The synthetic generator's masks (root/masks/<split>/PNEUMONIA/<stem>.png); None where absent."""
    out = []
    for r in records:
        p = Path(root) / "masks" / r.official_split / data.CLASSES[1] / (Path(r.path).stem + ".png")
        out.append(np.asarray(Image.open(p).convert("L")) > 127 if r.label == 1 and p.is_file() else None)
    return out


def device_uid(sha256: str) -> str:
    """A DICOM UID for the model (Contributing Equipment in AI results): 2.25 + the hash's first 128 bits."""
    return "2.25." + str(int(sha256[:32], 16))


def dataset_provenance(root: Path) -> tuple[str, bool, dict]:
    marker = Path(root) / "synthetic.json"
    if marker.is_file():
        info = json.loads(marker.read_text())
        return f"ChestAid synthetic chest radiographs (generator {info.get('generator_version', '?')}, seed {info.get('seed')})", True, info
    return KAGGLE_NAME, False, {}


def run(
    cfg: TrainConfig,
    *,
    model_id: str,
    model_dir: Path,
    version: str = "0.1.0",
    target_sensitivity: float = 0.90,
    checkpoint: Path | None = None,
    fp16: bool = True,
    int8: bool = True,
    n_boot: int = 1000,
    require_proven_threshold: bool = True,
) -> dict | None:
    """``require_proven_threshold=False`` lets a smoke run whose val_report has too few positives to
    prove the target sensitivity finish, with ``thresholds.clinical.proven`` false (the demo's --quick).
    ``int8``: also publish the int8 variant (int8.py), with its own calibration and threshold,
    if it passes its gates against this float model."""
    run_dir = Path(cfg.out_dir)
    root = Path(cfg.data_root)
    if checkpoint is None:
        result = train(cfg)
        if not result["dist"].main:
            return None  # rank 0 alone calibrates, evaluates and exports
        checkpoint = result["checkpoint"]
        splits, train_info = result["splits"], {k: result[k] for k in ("best_epoch", "best_val_auc", "pos_weight")}
        device = result["device"]
    else:
        splits = data.load_splits(run_dir / "splits.json")
        train_info = {}
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net = load_checkpoint(Path(checkpoint))

    scored = {}
    cache = resize_cache_for(cfg)
    for name in ("calib", "val_report", "test"):  # early_stop is training's: not scored here
        recs = splits[name]
        logits, cams = infer(net, root, recs, cfg.batch_size, device, cache, cfg.size)
        scored[name] = {"y": np.array([r.label for r in recs]), "logits": logits, "cams": cams, "records": recs}

    cal = calibration.fit_all(scored["calib"]["logits"], scored["calib"]["y"],
                              scored["val_report"]["logits"], scored["val_report"]["y"])
    chosen = cal.calibrators[cal.selected]
    for s in scored.values():
        s["p"] = chosen.predict(s["logits"])
    thr = threshold.choose_threshold(scored["val_report"]["y"], scored["val_report"]["p"], target_sensitivity, n_boot=n_boot,
                                     require_proof=require_proven_threshold)
    arrays = {k: {"y": v["y"], "logits": v["logits"]} for k, v in scored.items()}
    evaluated = report.evaluate_splits(arrays, cal, thr, n_boot=n_boot)

    test = scored["test"]
    masks = lesion_masks(root, test["records"])
    pos = [i for i, m in enumerate(masks) if m is not None]
    pointing = cam_lib.pointing_game([test["cams"][i] for i in pos], [masks[i] for i in pos]) if pos else None

    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = export.export_onnx(net, model_dir / "model.onnx", cfg.size)
    onnx_info = export.describe(onnx_path)
    variants = []
    if fp16:
        variants.append({**_file_entry(export.describe(export.to_fp16_weights(onnx_path, model_dir / "model.fp16.onnx"))), "weights": "float16"})
    if int8:
        entry = int8_lib.build(model_dir, root, splits, float_calibration=(chosen, thr["value"]),
                               target_sensitivity=target_sensitivity, n_boot=n_boot,
                               require_proof=require_proven_threshold, size=cfg.size, cache=cache)
        if entry is not None:
            variants.append(entry)

    dataset_name, synthetic, synth_info = dataset_provenance(root)
    hist_counts, edges = np.histogram(test["p"], bins=REFERENCE_BINS, range=(0.0, 1.0))
    train_config = json.loads((run_dir / "train_config.json").read_text()) if (run_dir / "train_config.json").is_file() else asdict(cfg)
    man = {
        "schema_version": manifest_lib.SCHEMA_VERSION,
        "model": {
            "id": model_id,
            "version": version,
            "architecture": "densenet121",
            "task": "binary",
            "labels": {"positive": "PNEUMONIA", "negative": "NORMAL"},
            "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
            "device_uid": device_uid(onnx_info["sha256"]),
        },
        "onnx": {**_file_entry(onnx_info), "weights": "float32", "opset": onnx_info["opset"], "variants": variants},
        "input": manifest_lib.input_spec(cfg.size),
        "outputs": manifest_lib.output_spec(tuple(test["cams"].shape[-2:])),
        "calibration": {"version": "1", **cal.to_manifest()},
        "thresholds": {"clinical": thr},
        "metrics": manifest_lib.manifest_metrics(evaluated),
        "data": {
            "dataset": dataset_name,
            "synthetic": synthetic,
            "splits": data.split_summary(splits),
            "patient_level_split": True,
            "split_seed": cfg.seed,
            "official_id_overlap": data.official_id_overlap(r for part in splits.values() for r in part),
            # The generator's settings, not its per-image index (that stays in synthetic.json).
            **({"generator": {k: v for k, v in synth_info.items() if k != "images"}} if synthetic else {}),
        },
        "training": {**{k: v for k, v in train_config.items() if k not in LOCAL_SETTINGS}, **train_info},
        "reference_distribution": {"split": "test", "score": "calibrated", "bin_edges": edges.tolist(), "counts": hist_counts.tolist()},
        "evaluation": {"at_threshold": {k: evaluated[k]["at_threshold"] for k in ("test",)},
                       "reliability": {k: v["reliability"] for k, v in evaluated.items()},
                       "pointing_game": pointing, "pointing_game_n": len(pos)},
        "intended_use": {
            "summary": manifest_lib.INTENDED_USE,
            "disclaimer": manifest_lib.DISCLAIMER + (" " + manifest_lib.SYNTHETIC_WARNING if synthetic else ""),
            "out_of_scope": manifest_lib.OUT_OF_SCOPE,
            "patient_age": manifest_lib.PATIENT_AGE,
            "view_positions": manifest_lib.VIEW_POSITIONS,
            "body_parts": manifest_lib.BODY_PARTS,
        },
    }
    # Model-independent: fitted on the images alone (input_check.py).
    man["input_check"], check_scores = input_check.measure(root, splits, cache, cfg.size)
    # What each in-browser engine must reproduce before the viewer trusts it (self_check.py).
    man = self_check.with_self_checks(man, model_dir)
    manifest_lib.write(man, model_dir / "manifest.json")
    (model_dir / "MODEL_CARD.md").write_text(manifest_lib.model_card(man))
    extra = {"Grad-CAM pointing game (test)": (
        f"Fraction of test pneumonia images whose CAM peak falls inside the lesion mask: **{pointing:.3f}** "
        f"(n = {len(pos)})." if pointing is not None else "No lesion masks with this data set.")}
    report.write_report(model_dir, model_id=model_id, synthetic=synthetic, splits=arrays, calibration=cal,
                        threshold=thr, extra=extra, metrics=evaluated)
    input_check.write_report_section(model_dir, man["input_check"], check_scores)
    for v in variants:
        if v.get("weights") == "int8":
            int8_lib.write_report_section(model_dir, v)
    warning = input_check.kept_warning(man["input_check"])
    if warning:
        print(f"warning: {warning}", flush=True)
    for name in ("history.csv", "splits.json"):
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, model_dir / name)
    np.savez_compressed(run_dir / "scores.npz", **{f"{k}_{f}": v[f] for k, v in scored.items() for f in ("y", "logits", "p", "cams")})
    return man


def _file_entry(info: dict) -> dict:
    return {k: info[k] for k in ("file", "sha256", "bytes")}
