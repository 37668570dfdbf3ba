"""The out-of-distribution test set of the input check (input_check.py): images that are not
frontal chest radiographs, made here or taken from files that installed packages ship, so the
check's caught rate is measured on something other than the data it was fitted on.

Every image is returned as the viewer would see it before resizing: grey, float32 in [0, 1],
MONOCHROME2. A DICOM source goes through the same modality LUT / VOI window / MONOCHROME1 path
as a radiograph (dicom.stored_to_unit_float): that is what happens when such an image reaches the
viewer carrying the tags of an adult frontal chest DX, the case issue 15 reproduced.

Classes (OOD_CLASSES), each `n` images drawn from one seed:

  ct              CT slices shipped by pydicom (CT_small, 693_J2KI, J2K_pixelrep_mismatch), under
                  their own window, no window, and lung / soft-tissue / bone windows
  mr              MR slices: pydicom's MR_small and matplotlib's s1045.ima (a head MR)
  hand            synthetic hand radiographs (bones in soft tissue on air)
  knee            synthetic frontal knee radiographs
  lateral_chest   synthetic lateral chest views
  inverted_chest  synthetic frontal chests with the grey scale inverted (a MONOCHROME1 image
                  read as MONOCHROME2)
  rotated_chest   synthetic frontal chests turned by 90 or 270 degrees
  photo           colour photographs and drawings shipped by matplotlib, as luminance
  noise           white, smooth and salt-and-pepper noise, and constant images
  pattern         checkerboards, stripes, ramps, rings and matplotlib's elevation maps

The sources of ct, mr and photo are few (three CT slices, two MR slices, three pictures), so
their images are variants of them: random crops (60-100 % of each side), flips, quarter turns
and windows. The report says so next to the figures.
"""
from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from .synthetic import render_case
from .synthetic.exposure import _expose

OOD_CLASSES = ("ct", "mr", "hand", "knee", "lateral_chest", "inverted_chest", "rotated_chest", "photo", "noise",
               "pattern")

def _mpl_sample_data() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data"


MPL_SAMPLE_DATA = _mpl_sample_data()
CT_FILES = ("CT_small.dcm", "693_J2KI.dcm", "J2K_pixelrep_mismatch.dcm")
MR_DICOM_FILES = ("MR_small.dcm",)
PHOTO_FILES = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")
ELEVATION_FILES = (("jacksboro_fault_dem.npz", "elevation"), ("topobathy.npz", "topo"))
# (centre, width) in Hounsfield units; None keeps the file's own window (or the full range without one).
CT_WINDOWS = (None, (-600.0, 1500.0), (40.0, 400.0), (400.0, 1800.0))


def _unit(x: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)


def _variant(img: np.ndarray, rng: np.random.Generator, min_crop: float = 0.6) -> np.ndarray:
    """A random crop, flip and quarter turn: more images from a few sources."""
    h, w = img.shape
    ch, cw = (max(8, int(round(s * rng.uniform(min_crop, 1.0)))) for s in (h, w))
    r0, c0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = img[r0:r0 + ch, c0:c0 + cw]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    return np.ascontiguousarray(np.rot90(out, int(rng.integers(0, 4))), dtype=np.float32)


def _dicom_unit(name: str, window: tuple[float, float] | None = None) -> np.ndarray:
    import pydicom
    from pydicom.data import get_testdata_file

    from . import dicom

    path = get_testdata_file(name)
    if path is None:
        raise FileNotFoundError(f"pydicom's test file {name} is not installed")
    ds = pydicom.dcmread(path)
    if window is not None:
        ds.WindowCenter, ds.WindowWidth = window
    return dicom.stored_to_unit_float(ds)


def ct(rng: np.random.Generator) -> np.ndarray:
    name = CT_FILES[int(rng.integers(len(CT_FILES)))]
    return _variant(_dicom_unit(name, CT_WINDOWS[int(rng.integers(len(CT_WINDOWS)))]), rng)


def _head_mr() -> np.ndarray:
    # matplotlib's MRI demo data: 256 x 256 big-endian uint16.
    raw = np.frombuffer(gzip.open(MPL_SAMPLE_DATA / "s1045.ima.gz").read(), dtype=">u2").reshape(256, 256)
    return _unit(raw / raw.max())


def mr(rng: np.random.Generator) -> np.ndarray:
    img = _head_mr() if rng.random() < 0.5 else _dicom_unit(MR_DICOM_FILES[0])
    return _variant(img, rng)


def photo(rng: np.random.Generator) -> np.ndarray:
    name = PHOTO_FILES[int(rng.integers(len(PHOTO_FILES)))]
    with Image.open(MPL_SAMPLE_DATA / name) as im:
        grey = np.asarray(im.convert("L"), dtype=np.float32) / 255.0  # ITU-R 601 luma
    return _variant(grey, rng)


# --- synthetic radiographs of other body parts --------------------------------------------------

def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """x across, y down, in units of half the image height, origin at the centre."""
    half = h / 2.0
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    return (x + 0.5 - w / 2.0) / half, (y + 0.5 - h / 2.0) / half


def _cap(d: np.ndarray) -> np.ndarray:
    """Projected thickness of a rounded body at normalised distance d from its axis."""
    return np.sqrt(np.maximum(1.0 - d * d, 0.0))


def _ellipse(x, y, cx, cy, a, b, angle=0.0) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - cx, y - cy
    return np.sqrt(((c * dx + s * dy) / a) ** 2 + ((-s * dx + c * dy) / b) ** 2)


def _capsule(x, y, p0, p1, r) -> np.ndarray:
    """Distance to the segment p0-p1 over r (< 1 inside)."""
    (x0, y0), (x1, y1) = p0, p1
    vx, vy = x1 - x0, y1 - y0
    t = np.clip(((x - x0) * vx + (y - y0) * vy) / (vx * vx + vy * vy + 1e-12), 0.0, 1.0)
    return np.hypot(x - (x0 + t * vx), y - (y0 + t * vy)) / r


def _exposed(density: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The synthetic chest generator's detector, noise and tone curve, so only anatomy differs."""
    look, noise = (np.random.default_rng(s) for s in rng.integers(0, 2**63 - 1, size=2))
    return _expose(density.astype(np.float32), look, noise).astype(np.float32) / 255.0


def _size(rng: np.random.Generator, base: int = 320) -> tuple[int, int]:
    h = int(base * rng.uniform(0.9, 1.1))
    return h, int(h * rng.uniform(0.75, 1.25))


def hand(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng)
    x, y = _grid(h, w)
    ang = rng.uniform(-0.3, 0.3)
    c, s = math.cos(ang), math.sin(ang)
    x, y = c * x + s * y, -s * x + c * y
    wrist = (rng.uniform(-0.1, 0.1), 0.95)
    soft = 0.25 * _cap(_ellipse(x, y, wrist[0], 0.35, 0.42, 0.5))
    bone = np.zeros_like(x)
    spread = rng.uniform(0.12, 0.22)
    for k in range(5):
        thumb = k == 0
        base_ang = -math.pi / 2 + (k - 2) * spread + (-0.6 if thumb else 0.0)
        start = (wrist[0] + (k - 2) * 0.09, 0.55 if not thumb else 0.65)
        lengths = (0.42, 0.22, 0.14, 0.1) if not thumb else (0.3, 0.2, 0.14)
        p = start
        tip = (p[0] + math.cos(base_ang) * sum(lengths), p[1] + math.sin(base_ang) * sum(lengths))
        soft = np.maximum(soft, 0.22 * _cap(_capsule(x, y, p, tip, 0.075)))
        for j, ln in enumerate(lengths):
            q = (p[0] + math.cos(base_ang) * ln, p[1] + math.sin(base_ang) * ln)
            r = 0.04 - 0.006 * j
            bone = np.maximum(bone, 0.5 * _cap(_capsule(x, y, p, q, r)))
            p = (q[0] + math.cos(base_ang) * 0.025, q[1] + math.sin(base_ang) * 0.025)
    for _ in range(8):  # carpals
        bone = np.maximum(bone, 0.45 * _cap(_ellipse(x, y, wrist[0] + rng.uniform(-0.2, 0.2), rng.uniform(0.6, 0.85),
                                                   0.06, 0.05, rng.uniform(0, math.pi))))
    for dx in (-0.12, 0.12):  # radius and ulna
        bone = np.maximum(bone, 0.5 * _cap(_capsule(x, y, (wrist[0] + dx, 0.92), (wrist[0] + dx * 1.2, 1.6), 0.07)))
    soft = np.maximum(soft, 0.25 * _cap(_capsule(x, y, (wrist[0], 0.9), (wrist[0], 1.6), 0.32)))
    return _exposed(soft + bone, rng)


def knee(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng)
    x, y = _grid(h, w)
    ang = rng.uniform(-0.15, 0.15)
    c, s = math.cos(ang), math.sin(ang)
    x, y = c * x + s * y, -s * x + c * y
    gap = rng.uniform(0.04, 0.09)
    soft = 0.35 * _cap(np.abs(x) / rng.uniform(0.55, 0.75))
    femur = np.maximum(_cap(_capsule(x, y, (0, -1.5), (0, -0.35), 0.2)),
                       np.maximum(_cap(_ellipse(x, y, -0.2, -0.18, 0.2, 0.17)), _cap(_ellipse(x, y, 0.2, -0.18, 0.2, 0.17))))
    tibia = np.maximum(_cap(_capsule(x, y, (0, 0.25), (0, 1.5), 0.17)),
                       _cap(_ellipse(x, y, 0, -0.02 + gap + 0.1, 0.42, 0.12)))
    fibula = _cap(_capsule(x, y, (0.33, 0.2 + gap), (0.3, 1.5), 0.06))
    patella = _cap(_ellipse(x, y, rng.uniform(-0.05, 0.05), -0.3, 0.14, 0.18))
    bone = 0.55 * np.maximum(np.maximum(femur, tibia), fibula) + 0.15 * patella
    if rng.random() < 0.5:
        bone = bone[:, ::-1]
    return _exposed(soft + bone, rng)


def lateral_chest(rng: np.random.Generator) -> np.ndarray:
    """A lateral view: both lungs superimposed in one field, the spine at the back, the heart in
    front, the sternum on the anterior edge; facing left or right."""
    h, w = _size(rng)
    x, y = _grid(h, w)
    ang = rng.uniform(-0.08, 0.08)
    c, s = math.cos(ang), math.sin(ang)
    x, y = (c * x + s * y) / rng.uniform(0.9, 1.1), (-s * x + c * y) / rng.uniform(0.9, 1.1)
    body = 0.55 * _cap(_ellipse(x, y, 0.0, 0.1, rng.uniform(0.7, 0.85), 1.3))
    lungs = 0.35 * _cap(_ellipse(x, y, 0.02, -0.12, 0.5, 0.66)) ** 0.5
    spine = np.zeros_like(x)
    back = rng.uniform(0.5, 0.6)
    for k in range(-6, 8):
        cy = k * 0.15
        spine = np.maximum(spine, _cap(_ellipse(x, y, back, cy, 0.09, 0.06)))
    heart = 0.3 * _cap(_ellipse(x, y, -0.15, 0.25, 0.33, 0.3, 0.5))
    sternum = 0.25 * _cap(_capsule(x, y, (-0.62, -0.55), (-0.55, 0.35), 0.035))
    abdomen = 0.3 * np.clip((y - (0.45 + 0.15 * (x - 0.1) ** 2)) / 0.05, 0.0, 1.0) * (body > 0)
    arms = 0.3 * _cap(_ellipse(x, y, 0.1, -1.0, 0.5, 0.35))
    density = body - lungs + 0.5 * spine + heart + sternum + abdomen + arms
    if rng.random() < 0.5:
        density = density[:, ::-1]
    return _exposed(np.maximum(density, 0.0), rng)


def _chest(rng: np.random.Generator) -> np.ndarray:
    return render_case(rng, int(rng.integers(0, 2)), _size(rng)).image.astype(np.float32) / 255.0


def inverted_chest(rng: np.random.Generator) -> np.ndarray:
    return 1.0 - _chest(rng)


def rotated_chest(rng: np.random.Generator) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(_chest(rng), 1 if rng.random() < 0.5 else 3))


# --- noise and patterns ---------------------------------------------------------------------------

def noise(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng, 256)
    kind = int(rng.integers(4))
    if kind == 0:
        return _unit(rng.random((h, w)))
    if kind == 1:
        field = ndimage.gaussian_filter(rng.standard_normal((h, w)), rng.uniform(2, 30))
        field = (field - field.min()) / (np.ptp(field) + 1e-12)
        return _unit(field)
    if kind == 2:
        img = np.full((h, w), rng.uniform(0.2, 0.8), dtype=np.float32)
        hits = rng.random((h, w))
        img[hits < 0.1] = 0.0
        img[hits > 0.9] = 1.0
        return img
    return np.full((h, w), rng.uniform(0.0, 1.0), dtype=np.float32)


def pattern(rng: np.random.Generator) -> np.ndarray:
    h, w = _size(rng, 256)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    period = rng.uniform(6, 60)
    kind = int(rng.integers(6))
    if kind == 0:
        img = ((x // period + y // period) % 2).astype(np.float32)
    elif kind == 1:
        t = rng.uniform(0, math.pi)
        img = 0.5 + 0.5 * np.sin(2 * math.pi * (x * math.cos(t) + y * math.sin(t)) / period)
    elif kind == 2:
        t = rng.uniform(0, 2 * math.pi)
        img = x * math.cos(t) + y * math.sin(t)
        img = (img - img.min()) / (np.ptp(img) + 1e-12)
    elif kind == 3:
        r = np.hypot(x - rng.uniform(0, w), y - rng.uniform(0, h))
        img = 0.5 + 0.5 * np.cos(2 * math.pi * r / period)
    elif kind == 4:
        img = np.zeros((h, w), dtype=np.float32)
        for _ in range(int(rng.integers(3, 12))):
            r0, c0 = int(rng.integers(0, h)), int(rng.integers(0, w))
            img[r0:r0 + int(rng.integers(10, h // 2)), c0:c0 + int(rng.integers(10, w // 2))] = rng.random()
    else:
        name, key = ELEVATION_FILES[int(rng.integers(len(ELEVATION_FILES)))]
        with np.load(MPL_SAMPLE_DATA / name) as z:
            dem = np.asarray(z[key], dtype=np.float32)
        img = _variant((dem - dem.min()) / (np.ptp(dem) + 1e-12), rng)
    return _unit(img)


GENERATORS: dict[str, Callable[[np.random.Generator], np.ndarray]] = {
    "ct": ct, "mr": mr, "hand": hand, "knee": knee, "lateral_chest": lateral_chest, "inverted_chest": inverted_chest,
    "rotated_chest": rotated_chest, "photo": photo, "noise": noise, "pattern": pattern,
}
assert tuple(GENERATORS) == OOD_CLASSES


def available_classes() -> tuple[str, ...]:
    """The classes whose source files are installed here: ct and mr need pydicom and its test
    files (the GPU image has no pydicom), photo, mr and pattern matplotlib's sample data."""
    missing = set()
    try:
        from pydicom.data import get_testdata_file

        if any(get_testdata_file(f) is None for f in CT_FILES + MR_DICOM_FILES):
            missing |= {"ct", "mr"}
    except ImportError:
        missing |= {"ct", "mr"}
    needed = [f for f in PHOTO_FILES] + [f for f, _ in ELEVATION_FILES] + ["s1045.ima.gz"]
    if not all((MPL_SAMPLE_DATA / f).is_file() for f in needed):
        missing |= {"photo", "pattern", "mr"}
    return tuple(c for c in OOD_CLASSES if c not in missing)


def generate(n_per_class: int = 40, seed: int = 15, classes=OOD_CLASSES) -> dict[str, list[np.ndarray]]:
    """{class: [grey float32 [0, 1] images of various sizes]}; the same for a seed."""
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1, got {n_per_class!r}")
    unknown = sorted(set(classes) - set(OOD_CLASSES))
    if unknown:
        raise ValueError(f"unknown out-of-distribution class(es) {unknown}; expected some of {list(OOD_CLASSES)}")
    out = {}
    for name in classes:
        rng = np.random.default_rng(np.random.SeedSequence([seed, OOD_CLASSES.index(name)]))
        out[name] = [GENERATORS[name](rng) for _ in range(n_per_class)]
    return out
