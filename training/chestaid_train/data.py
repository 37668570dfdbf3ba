"""The Kaggle "Chest X-Ray Images (Pneumonia)" layout, patient-level splits and the Dataset.

Layout: chest_xray/{train,val,test}/{NORMAL,PNEUMONIA}/*.jpeg (Kermany et al. 2018).
The official val split holds 16 images, too few to calibrate or choose a threshold on, so it is
pooled with train and validation is carved out of that pool BY PATIENT: the file names carry the
child's id, and images of one child in two splits would leak. Validation is then split, again by
patient, into `calib` (fits and selects the calibrator) and `val_report` (reports the calibrator
and picks the threshold without bias). Last, `early_stop` is carved from what is left for
training, by patient (`EARLY_STOP_FRACTION`, 10 % of its images): the split early stopping and
the learning-rate schedule are to watch, so that the checkpoint is not chosen on the calibration
cases. It is carved after the other two, so that a seed gives the same `calib`, `val_report` and
`test` as before it existed. The official test split is kept as it is.

Patient ids are grouped within the official train and val folders together: a child with
images in both stays on one side of the project's split (should two different children share a
number there, grouping them costs only split granularity). The official test folder stays the
test split whatever its file names say: its personN numbering is independent of train's, so
`test/PNEUMONIA/person1_virus_6.jpeg` is not the child of `train/PNEUMONIA/person1_bacteria_1.jpeg`,
and the published test split is what keeps the figures comparable with published ones. Ids shared
across the two numberings are counted (`official_id_overlap`, reported in the manifest), not matched.

The defaults (15 % of the pool's patients to validation) give sizes like the original study's
train 4,434 / val 782 / test 624 on the real data.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
from PIL import Image

from . import preprocess
from .resize_cache import ResizeCache, decode_and_resize

CLASSES = ("NORMAL", "PNEUMONIA")  # index = label
OFFICIAL_SPLITS = ("train", "val", "test")
SPLITS = ("train", "early_stop", "calib", "val_report", "test")
EARLY_STOP_SPLIT = "early_stop"
EARLY_STOP_FRACTION = 0.10
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}

# The numbering an official folder's patient ids belong to (see the module docstring).
ID_NUMBERING = {"train": "train+val", "val": "train+val", "test": "test"}

_PNEUMONIA_NAME = re.compile(r"^(person\d+)_(?:bacteria|virus)_\d+$", re.IGNORECASE)
_NORMAL_NAME = re.compile(r"^((?:NORMAL2-)?IM-\d+)-\d+$", re.IGNORECASE)


def patient_id_from_filename(name: str) -> str:
    """`person1_bacteria_1.jpeg` -> `person1`; `NORMAL2-IM-1427-0001.jpeg` -> `NORMAL2-IM-1427`.

    Pneumonia and normal ids live in different name spaces, so the class is not needed.
    A name in neither pattern is refused: guessing would risk a silent leak.
    """
    stem = Path(name).stem
    for pattern in (_PNEUMONIA_NAME, _NORMAL_NAME):
        m = pattern.match(stem)
        if m:
            return m.group(1)
    raise ValueError(f"cannot read a patient id from file name {name!r}")


@dataclass(frozen=True)
class Record:
    path: str          # relative to the dataset root (the folder holding chest_xray/)
    label: int         # 1 = PNEUMONIA
    patient: str
    official_split: str

    @property
    def patient_key(self) -> str:
        """The patient as far as the data set can tell: the file-name id within its numbering
        (`train+val:person1`, `test:person1`). Splits and leak checks compare this, never `patient`."""
        try:
            return f"{ID_NUMBERING[self.official_split]}:{self.patient}"
        except KeyError:
            raise ValueError(f"{self.path}: official split {self.official_split!r} is not one of {OFFICIAL_SPLITS}") from None


def scan_kaggle(root: Path) -> list[Record]:
    """All images under root/chest_xray (or root itself if it is the chest_xray folder)."""
    root = Path(root)
    base = root / "chest_xray" if (root / "chest_xray").is_dir() else root
    if not all((base / s).is_dir() for s in ("train", "test")):
        raise FileNotFoundError(
            f"{root} does not hold the Kaggle layout chest_xray/{{train,val,test}}/{{NORMAL,PNEUMONIA}}"
        )
    records = []
    for split in OFFICIAL_SPLITS:
        for label, cls in enumerate(CLASSES):
            folder = base / split / cls
            if not folder.is_dir():
                continue
            for f in sorted(folder.iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    records.append(Record(str(f.relative_to(root)), label, patient_id_from_filename(f.name), split))
    if not records:
        raise FileNotFoundError(f"no images found under {base}")
    return records


def _split_patients(
    records: Sequence[Record], fraction: float, rng: random.Random, at_least_one: bool = False
) -> tuple[list[Record], list[Record]]:
    """Move about `fraction` of the IMAGES to the second part, whole patients at a time,
    separately per class so both parts keep the class balance. With `at_least_one`, a class with
    two or more patients always gives the second part one (tiny data sets round to nothing)."""
    first, second = [], []
    for label in (0, 1):
        by_patient: dict[str, list[Record]] = {}
        for r in records:
            if r.label == label:
                by_patient.setdefault(r.patient_key, []).append(r)
        patients = sorted(by_patient)
        rng.shuffle(patients)
        total = sum(len(v) for v in by_patient.values())
        target, taken = round(total * fraction), 0
        for p in patients:
            group = by_patient[p]
            if taken < target and abs(taken + len(group) - target) <= abs(taken - target):
                second.extend(group)
                taken += len(group)
            else:
                first.extend(group)
        if at_least_one and taken == 0 and len(patients) >= 2:
            group = by_patient[patients[0]]
            for r in group:
                first.remove(r)
            second.extend(group)
    return first, second


def make_splits(
    records: Sequence[Record], *, val_fraction: float = 0.15, calib_fraction: float = 0.5, seed: int = 42,
    early_stop_fraction: float = EARLY_STOP_FRACTION,
) -> dict[str, list[Record]]:
    """train / early_stop / calib / val_report from the pooled official train+val, test as shipped."""
    if not 0 < val_fraction < 1 or not 0 < calib_fraction < 1 or not 0 < early_stop_fraction < 1:
        raise ValueError(f"fractions must lie in (0, 1): val={val_fraction}, calib={calib_fraction}, "
                         f"early_stop={early_stop_fraction}")
    rng = random.Random(seed)
    pool = [r for r in records if r.official_split in ("train", "val")]
    test = [r for r in records if r.official_split == "test"]
    rest, val = _split_patients(pool, val_fraction, rng)
    val_report, calib = _split_patients(val, calib_fraction, rng)
    train, early_stop = _split_patients(rest, early_stop_fraction, rng, at_least_one=True)
    splits = {"train": train, EARLY_STOP_SPLIT: early_stop, "calib": calib, "val_report": val_report, "test": test}
    for name, part in splits.items():
        if not part:
            raise ValueError(f"split {name!r} is empty: the data set is too small for these fractions")
    return splits


def assert_no_patient_leak(splits: dict[str, Sequence[Record]]) -> None:
    seen: dict[str, str] = {}
    for name, part in splits.items():
        for r in part:
            other = seen.setdefault(r.patient_key, name)
            if other != name:
                raise AssertionError(f"patient {r.patient_key} is in both {other} and {name}")


def official_id_overlap(records: Iterable[Record]) -> dict:
    """File-name ids that occur in more than one official folder, counted by what they mean:
    `train_and_val`: one numbering, so one child, kept on one side of the patient split;
    `train_val_and_test`: two independent numberings, so only counted (test stays the test split)."""
    ids: dict[str, set[str]] = {s: set() for s in OFFICIAL_SPLITS}
    for r in records:
        ids[r.official_split].add(r.patient)
    return {"train_and_val": len(ids["train"] & ids["val"]),
            "train_val_and_test": len((ids["train"] | ids["val"]) & ids["test"])}


def split_summary(splits: dict[str, Sequence[Record]]) -> dict:
    return {
        name: {"images": len(part), "patients": len({r.patient_key for r in part}), "pneumonia": sum(r.label for r in part)}
        for name, part in splits.items()
    }


def save_splits(path: Path, splits: dict[str, Sequence[Record]], *, seed: int, data_root: Path, **params) -> None:
    """Written next to the run so that it can be reproduced, and read back by `load_splits`."""
    doc = {
        "seed": seed,
        "data_root": str(data_root),
        "params": params,
        "summary": split_summary(splits),
        "splits": {k: [asdict(r) for r in v] for k, v in splits.items()},
    }
    Path(path).write_text(json.dumps(doc, indent=1))


def load_splits(path: Path) -> dict[str, list[Record]]:
    doc = json.loads(Path(path).read_text())
    return {k: [Record(**r) for r in v] for k, v in doc["splits"].items()}


def load_grey(path: Path) -> np.ndarray:
    """JPEG/PNG -> uint8 grey. Kaggle's files are mostly grey; a few are stored as RGB."""
    with Image.open(path) as im:
        return np.asarray(im.convert("L"), dtype=np.uint8)


class XrayDataset:
    """Map-style dataset: (normalised [3, 224, 224] tensor, float label).

    Augmentation draws from a per-item RNG seeded by (epoch seed, index), so a run is
    reproducible whatever the number of DataLoader workers. With a `cache`, each file is decoded
    and resized once (resize_cache.py) and augmentation runs on the stored result, as without.
    """

    def __init__(
        self,
        root: Path,
        records: Sequence[Record],
        *,
        augment: preprocess.Augment | None = None,
        size: int = preprocess.INPUT_SIZE,
        seed: int = 0,
        loader: Callable[[Path], np.ndarray] = load_grey,
        cache: ResizeCache | None = None,
    ):
        self.root = Path(root)
        self.records = list(records)
        self.augment = augment
        self.size = size
        self.seed = seed
        self.loader = loader
        self.cache = cache
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        import torch

        r = self.records[i]
        source = self.root / r.path
        if self.cache is not None:
            unit = self.cache.get(source, self.size, self.loader)
        else:
            unit = decode_and_resize(source, self.size, self.loader)
        if self.augment is not None:
            rng = random.Random(self.seed * 1_000_003 + self.epoch * 100_003 + i)
            unit = self.augment.apply(unit, self.augment.sample(rng))
        return preprocess.normalize(unit), torch.tensor(float(r.label))

    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.records], dtype=np.int64)


def class_counts(records: Iterable[Record]) -> tuple[int, int]:
    labels = [r.label for r in records]
    return labels.count(0), labels.count(1)
