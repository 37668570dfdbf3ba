"""The demo model `chestaid-demo`, its demo studies and the parity fixtures, built from the
synthetic generator on CPU with no download. Everything here is labelled synthetic.

  models/chestaid-demo/         ONNX (fp32 and fp16 weights), manifest, model card, report
  test/demo-studies/            held-out synthetic test images as CR DICOM studies, their lesion
                                masks and index.json (ground truth kept outside the DICOM)
  test/fixtures/parity/         numbers the TypeScript core must reproduce
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import cam as cam_lib, calibration, data, manifest as manifest_lib, pipeline, preprocess, synthetic
from .config import config_from
from .train import load_checkpoint

REPO = Path(__file__).resolve().parents[2]
STUDIES_DIR = REPO / "test" / "demo-studies"
PARITY_DIR = REPO / "test" / "fixtures" / "parity"
CALIBRATION_FIXTURE = REPO / "test" / "fixtures" / "calibration.json"

DEMO_COUNTS = {"train": (450, 1300), "val": (8, 8), "test": (150, 250)}
QUICK_COUNTS = {"train": (24, 40), "val": (4, 4), "test": (12, 12)}
DEMO_SEED = 2026
N_DEMO_STUDIES = 24
# Stored bit depth, photometric interpretation, rescale (slope, intercept) for the demo studies:
# a spread of what a PACS sends, so the viewer's preprocessing meets each case.
STUDY_VARIANTS = [
    (12, "MONOCHROME2", (1.0, 0.0)),
    (12, "MONOCHROME1", (1.0, 0.0)),
    (16, "MONOCHROME2", (1.0, 0.0)),
    (10, "MONOCHROME2", (1.0, 0.0)),
    (12, "MONOCHROME2", (2.0, -1024.0)),
    (8, "MONOCHROME2", (1.0, 0.0)),
]
# Parity cases, by index into the demo studies: pneumonia with each stored variant above, and a
# normal (a map that is often all zero), so the viewer's core meets every path.
PARITY_CASES = (0, 1, 2, 4, 5, 15)
CAM_FIXTURE_SIZE = (60, 52)  # an odd, non-square size: the upsampling formula is size-generic


def build(args) -> None:
    counts = QUICK_COUNTS if args.quick else DEMO_COUNTS
    data_root = Path(args.data)
    marker = data_root / "synthetic.json"
    wanted = {"seed": DEMO_SEED, "counts": {k: list(v) for k, v in counts.items()}}
    if not marker.is_file() or any(json.loads(marker.read_text()).get(k) != v for k, v in wanted.items()):
        if data_root.exists():
            shutil.rmtree(data_root)
        print(f"generating the synthetic set in {data_root} ...", flush=True)
        synthetic.generate_kaggle_layout(data_root, counts, seed=DEMO_SEED, workers=2)

    if args.quick:
        args.epochs = 1
    cfg = config_from(args, data_root, Path(args.run_dir))
    pipeline.run(cfg, model_id="chestaid-demo", model_dir=Path(args.model_dir), version="0.1.0-synthetic",
                 target_sensitivity=args.target_sensitivity, checkpoint=Path(args.checkpoint) if args.checkpoint else None,
                 fp16=not args.no_fp16, int8=not args.no_int8, n_boot=args.bootstrap,
                 # --quick's val_report holds a handful of positives, too few to prove any target.
                 require_proven_threshold=not args.quick)
    if not args.quick:
        write_fixtures_and_studies(Path(args.model_dir), data_root, Path(args.run_dir))


def _pick_demo_cases(records, n: int) -> list:
    """Half pneumonia, half normal, one image per patient, in a fixed order."""
    chosen, seen = [], set()
    for label in (1, 0):
        picked = 0
        for r in sorted(records, key=lambda r: r.path):
            if r.label == label and r.patient not in seen and picked < n // 2:
                chosen.append(r)
                seen.add(r.patient)
                picked += 1
    return chosen


def write_fixtures_and_studies(model_dir: Path, data_root: Path, run_dir: Path,
                               studies_dir: Path = STUDIES_DIR, parity_dir: Path = PARITY_DIR) -> None:
    man = json.loads((model_dir / "manifest.json").read_text())
    manifest_lib.validate(man)
    net = load_checkpoint(run_dir / "checkpoint.pt")
    wrapped = cam_lib.LogitAndCam(net).eval()
    splits = data.load_splits(run_dir / "splits.json")
    cases = _pick_demo_cases(splits["test"], N_DEMO_STUDIES)
    calibrator = calibration.calibrator_from_manifest(man["calibration"])
    threshold = man["thresholds"]["clinical"]["value"]

    for d in (studies_dir, parity_dir):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    (studies_dir / "dicom").mkdir()
    (studies_dir / "masks").mkdir()

    import pydicom

    from . import dicom  # needs pydicom, which the GPU image lacks: imported only here

    index = []
    for i, r in enumerate(cases):
        bits, photometric, rescale = STUDY_VARIANTS[i % len(STUDY_VARIANTS)]
        image = data.load_grey(data_root / r.path)
        name = f"study-{i + 1:02d}"
        uids = dicom.write_cr_study(studies_dir / "dicom" / f"{name}.dcm", image, patient_index=i + 1, seed=DEMO_SEED,
                                    bits_stored=bits, photometric=photometric, rescale=rescale,
                                    study_date=f"202601{(i % 28) + 1:02d}")
        ds = pydicom.dcmread(studies_dir / "dicom" / f"{name}.dcm")
        unit = dicom.stored_to_unit_float(ds)
        x = preprocess.preprocess(unit).unsqueeze(0)
        with torch.no_grad():
            logit, cam_map = wrapped(x)
        logit_v = float(logit[0, 0])
        p = float(calibrator.predict(np.array([logit_v]))[0])
        entry = {
            "name": name,
            "file": f"dicom/{name}.dcm",
            **{k: uids[k] for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")},
            "label": data.CLASSES[r.label],
            "rows": int(image.shape[0]),
            "columns": int(image.shape[1]),
            "bits_stored": bits,
            "photometric": photometric,
            "rescale": list(rescale),
            "source_image": r.path,
            "expected": {"logit": logit_v, "probability": p, "above_threshold": p >= threshold},
        }
        if r.label == 1:
            mask = Image.open(data_root / "masks" / r.official_split / "PNEUMONIA" / (Path(r.path).stem + ".png"))
            mask.save(studies_dir / "masks" / f"{name}.png")
            entry["lesion_mask"] = f"masks/{name}.png"
        index.append(entry)
        if i in PARITY_CASES:
            _write_parity_case(parity_dir, name, entry, unit, x, logit_v, cam_map[0].numpy(), man)

    (studies_dir / "index.json").write_text(json.dumps({
        "note": "Synthetic CR studies generated by ChestAid from held-out synthetic test images; not real patients. "
                "Ground truth is kept here, never in the DICOM.",
        "model": {"id": man["model"]["id"], "sha256": man["onnx"]["sha256"], "threshold": threshold},
        "studies": index,
    }, indent=1) + "\n")
    _write_calibration_fixture(run_dir, man)
    if "input_check" in man:
        from . import input_check

        input_check.write_fixture(man, studies_dir)


def _write_parity_case(parity_dir: Path, name: str, entry: dict, unit: np.ndarray, x: torch.Tensor,
                       logit: float, cam_raw: np.ndarray, man: dict) -> None:
    """One case: DICOM in, every intermediate the viewer computes out."""
    resized = preprocess.resize(unit)
    (parity_dir / f"{name}.resized.f32").write_bytes(resized.astype("<f4").tobytes())
    (parity_dir / f"{name}.input.f32").write_bytes(x.numpy().astype("<f4").tobytes())
    norm = cam_lib.normalise(cam_raw)
    up = cam_lib.upsample(norm, *CAM_FIXTURE_SIZE)
    probs = {m: float(calibration.calibrator_from_manifest({**man["calibration"], "selected": m}).predict(np.array([logit]))[0])
             for m in ("temperature", "platt", "isotonic")}
    doc = {
        "dicom": f"../../demo-studies/{entry['file']}",
        "photometric": entry["photometric"],
        "bits_stored": entry["bits_stored"],
        "rescale": entry["rescale"],
        "resized": {"file": f"{name}.resized.f32", "shape": list(resized.shape), "dtype": "float32-le"},
        "input": {"file": f"{name}.input.f32", "shape": list(x.shape), "dtype": "float32-le"},
        "logit": logit,
        "probability": {"selected": man["calibration"]["selected"], **probs},
        "cam": {"raw": cam_raw.tolist(), "normalised": norm.tolist(),
                "upsampled": {"height": CAM_FIXTURE_SIZE[0], "width": CAM_FIXTURE_SIZE[1], "values": up.round(7).tolist()}},
        "tolerances": {"resized": 1e-5, "input": 1e-4, "logit": 1e-3, "probability": 1e-4, "cam_normalised": 1e-3,
                       "cam_upsampled": 1e-4},
    }
    (parity_dir / f"{name}.json").write_text(json.dumps(doc) + "\n")


def _write_calibration_fixture(run_dir: Path, man: dict) -> None:
    """Logits and labels of calib and val_report with the fitted calibrators, for the viewer's
    recalibration code to reproduce the same fits."""
    scores = np.load(run_dir / "scores.npz")
    doc = {
        "note": "synthetic data; from the chestaid-demo training run",
        "splits": {s: {"logits": scores[f"{s}_logits"].astype(float).tolist(), "y": scores[f"{s}_y"].astype(int).tolist()}
                   for s in ("calib", "val_report")},
        "calibration": man["calibration"],
        "threshold": man["thresholds"]["clinical"],
    }
    CALIBRATION_FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    CALIBRATION_FIXTURE.write_text(json.dumps(doc) + "\n")
