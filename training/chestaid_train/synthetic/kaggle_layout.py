"""The Kaggle "Chest X-Ray Images (Pneumonia)" folder layout: plan the patients and file names,
render and write each image (in a spawn pool when asked), index the set in synthetic.json."""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from .findings import MASK_THRESHOLD
from .patient import sample_patient
from .render import render_case

GENERATOR_VERSION = "1.0.0"
SPLITS = ("train", "val", "test")
JPEG_QUALITY = 92


@dataclass(frozen=True)
class _Job:
    root: str
    split: str
    klass: str
    stem: str
    patient_id: str
    patient_serial: int
    image_index: int
    height: int
    width: int
    seed: int


def generate_kaggle_layout(
    root: Path,
    counts: dict[str, tuple[int, int]],
    size: tuple[int, int] = (320, 320),
    seed: int = 0,
    images_per_patient: tuple[int, int] = (1, 3),
    workers: int = 1,
) -> dict:
    """Write ``root/chest_xray/{split}/{NORMAL,PNEUMONIA}/*.jpeg`` with Kaggle file names.

    ``counts`` maps split -> (n_normal, n_pneumonia); ``size`` is the nominal (height, width).
    File names carry patient ids the way the Kaggle set does (``IM-0115-0001.jpeg``,
    ``NORMAL2-IM-1427-0001.jpeg``, ``person1_bacteria_1.jpeg``); all images of a patient share
    one split and one ``PatientAnatomy``. Masks go to ``root/masks/<split>/PNEUMONIA/<stem>.png``.
    Every image has its own seed, so the output is byte-identical for a seed whatever ``workers``.
    Returns the index also written to ``root/synthetic.json``.
    """
    root = Path(root)
    unknown = sorted(set(counts) - set(SPLITS))
    if unknown:
        raise ValueError(f"unknown split(s) {unknown}; expected a subset of {list(SPLITS)}")
    for split, pair in counts.items():
        if len(pair) != 2 or any(int(n) != n or n < 0 for n in pair):
            raise ValueError(f"counts[{split!r}] must be two non-negative ints, got {pair!r}")
    lo, hi = images_per_patient
    if not 1 <= lo <= hi:
        raise ValueError(f"images_per_patient must satisfy 1 <= low <= high, got {images_per_patient!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed!r}")

    existing = root / "chest_xray"
    if existing.is_dir() and any(p.is_file() for p in existing.rglob("*")):
        # Stale files from another seed or counts would silently join the data set.
        raise FileExistsError(f"{existing} already holds images; generate into an empty root")
    jobs = _plan(root, counts, size, seed, (int(lo), int(hi)))
    for split in counts:
        for klass in ("NORMAL", "PNEUMONIA"):
            (root / "chest_xray" / split / klass).mkdir(parents=True, exist_ok=True)
        (root / "masks" / split / "PNEUMONIA").mkdir(parents=True, exist_ok=True)

    if workers == 1 or len(jobs) < 2:
        records = [_run_job(job) for job in jobs]
    else:
        # spawn, not fork: callers often have torch's thread pools running, and forking a
        # threaded process can deadlock. Output does not depend on the start method.
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            records = pool.map(_run_job, jobs, chunksize=max(1, len(jobs) // (workers * 8)))

    index = {
        "generator": "chestaid_train.synthetic",
        "version": GENERATOR_VERSION,
        "note": "synthetic data, not real radiographs",
        "seed": int(seed),
        "size": [int(n) for n in size],
        "counts": {split: [int(n) for n in counts[split]] for split in counts},
        "images_per_patient": [int(lo), int(hi)],
        "mask_threshold": MASK_THRESHOLD,
        "images": records,
    }
    (root / "synthetic.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    return index


def _plan(root: Path, counts, size, seed: int, per_patient: tuple[int, int]) -> list[_Job]:
    """Assign images to patients and Kaggle-style names; patients never straddle splits."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    jobs: list[_Job] = []
    serial = 0
    normal_no = 0
    person_no = 0
    image_counter = 0
    for split in (s for s in SPLITS if s in counts):
        for klass, n in zip(("NORMAL", "PNEUMONIA"), counts[split]):
            remaining = int(n)
            while remaining > 0:
                k = min(int(rng.integers(per_patient[0], per_patient[1] + 1)), remaining)
                remaining -= k
                serial += 1
                height = int(round(size[0] * rng.uniform(0.95, 1.08)))
                width = int(round(height * size[1] / size[0] * rng.uniform(0.9, 1.15)))
                if klass == "NORMAL":
                    normal_no += int(rng.integers(1, 4))
                    pid = f"{'NORMAL2-' if rng.random() < 0.4 else ''}IM-{normal_no:04d}"
                    stems = [f"{pid}-{j + 1:04d}" for j in range(k)]
                else:
                    person_no += int(rng.integers(1, 3))
                    pid = f"person{person_no}"
                    kind = "bacteria" if rng.random() < 0.65 else "virus"
                    stems = []
                    for _ in range(k):
                        image_counter += 1
                        stems.append(f"{pid}_{kind}_{image_counter}")
                for j, stem in enumerate(stems):
                    jobs.append(_Job(str(root), split, klass, stem, pid, serial, j, height, width, seed))
    return jobs


def _run_job(job: _Job) -> dict:
    patient_rng = np.random.default_rng(np.random.SeedSequence([job.seed, 1, job.patient_serial]))
    patient = replace(sample_patient(patient_rng), patient_id=job.patient_id)
    image_seed = np.random.SeedSequence([job.seed, 2, job.patient_serial, job.image_index])
    image_rng = np.random.default_rng(image_seed)
    label = 1 if job.klass == "PNEUMONIA" else 0
    case = render_case(image_rng, label, (job.height, job.width), patient)

    root = Path(job.root)
    rel_image = Path("chest_xray") / job.split / job.klass / f"{job.stem}.jpeg"
    Image.fromarray(case.image).save(root / rel_image, format="JPEG", quality=JPEG_QUALITY)
    rel_mask = None
    if case.mask is not None:
        rel_mask = Path("masks") / job.split / "PNEUMONIA" / f"{job.stem}.png"
        Image.fromarray(case.mask).save(root / rel_mask, format="PNG")
    return {
        "file": rel_image.as_posix(),
        "split": job.split,
        "label": label,
        "patient_id": job.patient_id,
        "mask": rel_mask.as_posix() if rel_mask else None,
        "height": job.height,
        "width": job.width,
    }
