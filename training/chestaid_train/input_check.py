"""The input check: does an image look like the frontal chest radiographs the model was trained
on? The viewer's core (core/src/inputCheck.ts) computes the same score from the manifest's
`input_check` section; test/fixtures/input-check.json holds the numbers both sides must agree on.

It is model-independent on purpose: it reads the resized grey image the model sees (224 x 224,
[0, 1], MONOCHROME2, after the VOI window and before the ImageNet normalisation), never the
network's features. The demo model's checkpoint is not kept (only its ONNX, whose outputs are the
logit and the CAM), the model is retrained (issue 16) and may run as int8 or on another engine
(issue 19); none of that moves this check, and its statistics can be fitted again from the data
alone.

Method (probabilistic PCA on a small descriptor, Tipping and Bishop 1999):

1. descriptor: the image area-averaged to GRID x GRID (each cell the mean of a 224/GRID square),
   standardised by the grid's own mean and standard deviation (version 2: the layout, whatever the
   exposure or contrast), its grey-level histogram in HIST_BINS equal bins of [0, 1] (fractions), and one left-right
   asymmetry value, the mean |g - mirror(g)| over the standardised grid. D = GRID**2 + HIST_BINS + 1 values.
2. each value standardised by the training split's mean and standard deviation (the standard
   deviation floored at a fraction of the median one, so a value that never varies in training
   cannot make the score divide by zero).
3. score = (sum_i t_i**2 / lambda_i + |r|**2 / sigma2) / D, where t are the coordinates in the top
   k principal components (variances lambda_i), r is what those components leave unexplained and
   sigma2 the mean variance of the discarded components: the Mahalanobis distance inside the
   principal subspace plus the normalised reconstruction residual, i.e. PPCA's negative
   log-likelihood up to constants, divided by D so that a typical training image scores about 1.
   Version 2 fits on each training image and AUGMENT_COPIES acquisition variants of it (exposure,
   tone curve, window, blur, noise, pose; see acquisition_variant) and sets the threshold on the
   held-out images with their variants, so that another site's exposure is not "out of distribution".
4. threshold: the smallest score that keeps at least TARGET_KEPT of the in-distribution held-out
   images (calib and val_report pooled, never used to fit); an image scoring above it is "outside
   what this model was trained on". The kept rate on test and the caught rate of each class of
   ood_set.py are measured and stored with it.

The parameters are stored as base64 float32 little-endian arrays: both sides compute in double
precision from the same float32 numbers, and the section stays small (about 40 KB).
"""
from __future__ import annotations

import base64
import json
import math
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from . import data, ood_set, preprocess

METHOD = "ppca-descriptor"
VERSION = "2"
GRID = 16
HIST_BINS = 16
N_COMPONENTS = 16
# The issue asks that at least 97 % of the in-distribution TEST images be kept. A threshold set at
# exactly 97 % of 266 held-out images kept 94.8-96.8 % of the demo's test images (measured with 8
# to 48 components), so the rule aims at 99 % of the held-out images; KEPT_FLOOR is the promise,
# checked on test by the report and the tests.
TARGET_KEPT = 0.99
KEPT_FLOOR = 0.97
SCALE_FLOOR = 0.05  # of the median standard deviation
GRID_SD_FLOOR = 1e-6  # a constant image's grid stays all zeros instead of dividing by zero
FIT_SPLIT = "train"
THRESHOLD_SPLITS = ("calib", "val_report")
REPORT_TITLE = "Input check (out of distribution)"
# Acquisition variation (version 2). Version 1 was fitted on the training images as generated, all
# with one exposure and tone curve, so an image from a site that exposes or processes differently
# scored as if it were another kind of image (the recalibration tests' darkened cohort, a grey gain of
# 0.6, scored 3.0-5.1 against a threshold of 2.52, while CT scored 16 and a lateral view 25). The fit
# and the threshold now see each image also as another site could have acquired it: a generic
# range, set without looking at the shifted cohort or the out-of-distribution set (which are only
# measured), of one photographic stop of exposure either way, a tone curve (gamma 2/3 to 3/2), a
# window/level change, a little blur and noise, and a small pose change (within the few degrees and
# per cent a frontal positioning varies). A lateral view, CT, MR, a photo or an inverted or turned
# chest is none of these.
AUGMENT_COPIES = 2  # acquisition variants of each fit / threshold image, besides the image itself
AUGMENT_SEED = 1503
EXPOSURE_STOPS = 1.0  # grey gain 2**U(-1, 1), clipped to [0, 1]
GAMMA_RANGE = (2 / 3, 3 / 2)  # log-uniform
LEVEL_SHIFT = 0.08  # window centre moved by U(-0.08, 0.08)
WIDTH_RANGE = (0.8, 1.25)  # window width multiplied by a log-uniform factor
BLUR_SIGMA = 1.0  # Gaussian blur of U(0, 1) pixels at the model's input size
NOISE_SD = 0.02  # Gaussian noise of U(0, 0.02) grey levels
POSE = {"degrees": 4.0, "shift": 0.04, "scale": (0.95, 1.05)}


def grid_for(size: int, wanted: int = GRID) -> int:
    """The largest grid up to `wanted` whose cells tile a size x size image exactly (16 for 224)."""
    return next(g for g in range(min(wanted, size), 0, -1) if size % g == 0)


def descriptor_size(grid: int = GRID, hist_bins: int = HIST_BINS) -> int:
    return grid * grid + hist_bins + 1


def descriptor(image: np.ndarray, grid: int = GRID, hist_bins: int = HIST_BINS) -> np.ndarray:
    """The resized grey image (square, its side a multiple of `grid`; 224 x 224 for the model)
    -> float64 [grid**2 + hist_bins + 1]. The image is not modified."""
    image = np.asarray(image)
    if image.ndim != 2 or image.shape[0] != image.shape[1] or image.shape[0] % grid:
        raise ValueError(f"the input check reads a square image whose side is a multiple of {grid}, got shape {image.shape}")
    size = image.shape[0]
    x = image.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError("image holds non-finite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"grey values must lie in [0, 1], got [{lo}, {hi}]")
    cell = size // grid
    g = x.reshape(grid, cell, grid, cell).mean(axis=(1, 3))
    # The layout, not the exposure (version 2): the grid standardised by its own mean and standard
    # deviation, so a darker, brighter or lower-contrast chest keeps its pattern while a flat image
    # (constant, or fine noise the area average flattens) shows none or a random one.
    g = (g - g.mean()) / max(float(g.std()), GRID_SD_FLOOR)
    bins = np.clip(np.floor(x * hist_bins), 0, hist_bins - 1).astype(np.int64)
    hist = np.bincount(bins.ravel(), minlength=hist_bins) / x.size
    asym = np.abs(g - g[:, ::-1]).mean()
    return np.concatenate([g.ravel(), hist, [asym]])


def acquisition_variant(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`image` (the resized grey image, [0, 1]) as a site with another exposure, tone curve, window,
    sharpness, noise and positioning could have produced it (the ranges above). float32, [0, 1]."""
    from scipy import ndimage

    x = np.asarray(image, dtype=np.float64)
    side = x.shape[0]
    # pose: a small rotation, shift and zoom about the centre, edges continued
    a = math.radians(rng.uniform(-POSE["degrees"], POSE["degrees"]))
    zoom = rng.uniform(*POSE["scale"])
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) / zoom
    centre = np.array([(side - 1) / 2, (side - 1) / 2])
    offset = centre - rot @ centre + rng.uniform(-POSE["shift"], POSE["shift"], 2) * side
    x = ndimage.affine_transform(x, rot, offset=offset, order=1, mode="nearest")
    # exposure, then the processing's tone curve and window
    x = np.clip(x * 2.0 ** rng.uniform(-EXPOSURE_STOPS, EXPOSURE_STOPS), 0, 1)
    x = x ** math.exp(rng.uniform(math.log(GAMMA_RANGE[0]), math.log(GAMMA_RANGE[1])))
    width = math.exp(rng.uniform(math.log(WIDTH_RANGE[0]), math.log(WIDTH_RANGE[1])))
    x = np.clip((x - 0.5 - rng.uniform(-LEVEL_SHIFT, LEVEL_SHIFT)) / width + 0.5, 0, 1)
    # detector sharpness and noise
    x = ndimage.gaussian_filter(x, rng.uniform(0, BLUR_SIGMA), mode="nearest")
    x = x + rng.normal(0, rng.uniform(0, NOISE_SD), x.shape)
    return np.clip(x, 0, 1).astype(np.float32)


def with_variants(images: Sequence[np.ndarray], copies: int = AUGMENT_COPIES, seed: int = AUGMENT_SEED) -> list[np.ndarray]:
    """Each image followed by `copies` acquisition variants of it (deterministic for the seed)."""
    rng = np.random.default_rng(seed)
    out = []
    for im in images:
        out.append(np.asarray(im, dtype=np.float32))
        out += [acquisition_variant(im, rng) for _ in range(copies)]
    return out


def encode_f32(a: np.ndarray) -> dict:
    a = np.asarray(a, dtype="<f4")
    return {"dtype": "float32-le", "shape": list(a.shape), "base64": base64.b64encode(a.tobytes()).decode("ascii")}


def decode_f32(doc: dict) -> np.ndarray:
    if doc.get("dtype") != "float32-le":
        raise ValueError(f"expected a float32-le array, got dtype {doc.get('dtype')!r}")
    a = np.frombuffer(base64.b64decode(doc["base64"], validate=True), dtype="<f4")
    shape = tuple(int(n) for n in doc["shape"])
    if a.size != math.prod(shape):
        raise ValueError(f"array holds {a.size} values; its shape {list(shape)} needs {math.prod(shape)}")
    return a.reshape(shape).astype(np.float64)


class InputCheck:
    """The scoring half: built from the manifest section, as the viewer builds it."""

    def __init__(self, section: dict):
        if section.get("version") != VERSION:
            raise ValueError(f"input_check version {section.get('version')!r} is not the one this code computes "
                             f"({VERSION}); its scores would mean something else")
        d = section["descriptor"]
        self.grid, self.hist_bins = int(d["grid"]), int(d["histogram_bins"])
        self.image_size = d.get("image_size")
        self.mean = decode_f32(section["mean"])
        self.scale = decode_f32(section["scale"])
        self.components = decode_f32(section["components"])
        self.variances = decode_f32(section["variances"])
        self.residual_variance = float(section["residual_variance"])
        self.threshold = float(section["threshold"])
        n = descriptor_size(self.grid, self.hist_bins)
        if self.mean.shape != (n,) or self.scale.shape != (n,) or self.components.shape[1:] != (n,):
            raise ValueError(f"input_check arrays do not match a descriptor of {n} values")
        if self.variances.shape != self.components.shape[:1]:
            raise ValueError("input_check holds one variance per component")

    def score(self, image: np.ndarray) -> float:
        if self.image_size is not None and np.shape(image) != (self.image_size, self.image_size):
            raise ValueError(f"the input check was fitted on {self.image_size} x {self.image_size} images, "
                             f"got shape {np.shape(image)}")
        z = (descriptor(image, self.grid, self.hist_bins) - self.mean) / self.scale
        t = self.components @ z
        r = z - self.components.T @ t
        return float((np.sum(t * t / self.variances) + r @ r / self.residual_variance) / z.size)

    def check(self, image: np.ndarray) -> dict:
        s = self.score(image)
        return {"in_distribution": s <= self.threshold, "score": s, "threshold": self.threshold}


def fit(train_images: Sequence[np.ndarray], n_components: int = N_COMPONENTS, grid: int | None = None,
        hist_bins: int = HIST_BINS) -> dict:
    """Mean, scale and principal components of the training descriptors (no threshold yet). The
    grid defaults to grid_for(the images' side)."""
    side = int(np.asarray(train_images[0]).shape[0])
    grid = grid_for(side) if grid is None else grid
    x = np.stack([descriptor(im, grid, hist_bins) for im in train_images])
    n, dim = x.shape
    if not 0 < n_components < min(n, dim):
        raise ValueError(f"n_components must lie in (0, {min(n, dim)}), got {n_components}")
    mean = x.mean(axis=0)
    sd = x.std(axis=0, ddof=1)
    scale = np.maximum(sd, SCALE_FLOOR * float(np.median(sd)))
    # Standardise with the float32 values the manifest will hold, so the fit sees what scoring sees.
    mean32, scale32 = mean.astype("<f4").astype(np.float64), scale.astype("<f4").astype(np.float64)
    z = (x - mean32) / scale32
    eigval, eigvec = np.linalg.eigh(np.cov(z, rowvar=False))
    order = np.argsort(eigval)[::-1]
    eigval, eigvec = eigval[order], eigvec[:, order]
    components = eigvec[:, :n_components].T
    # The sign of an eigenvector is arbitrary; fix it so refits give the same file.
    components *= np.where(components[np.arange(n_components), np.abs(components).argmax(axis=1)] < 0, -1.0, 1.0)[:, None]
    return {
        "method": METHOD,
        "version": VERSION,
        "descriptor": {
            "image": "the resized grey image the model sees (input.size), in [0, 1], before normalisation",
            "image_size": side,
            "grid": grid,
            "histogram_bins": hist_bins,
            "definition": f"[mean of each {side // grid}x{side // grid} cell of a "
                          f"{grid}x{grid} grid, row-major, standardised by the grid's own mean and (population) "
                          f"standard deviation floored at {GRID_SD_FLOOR:g}; fraction of pixels in each of {hist_bins} equal bins of "
                          "[0, 1] (bin floor(v * bins), the last bin closed); mean |g - g mirrored left-right| "
                          "over the grid]",
        },
        "score": "(sum(t_i^2 / variances_i) + |z - components^T t|^2 / residual_variance) / D, with "
                 "z = (descriptor - mean) / scale, t = components z and D the descriptor size",
        "fit_split": FIT_SPLIT,
        "n_fit": int(n),
        "mean": encode_f32(mean),
        "scale": encode_f32(scale),
        "components": encode_f32(components),
        "variances": encode_f32(eigval[:n_components]),
        "residual_variance": float(np.float32(eigval[n_components:].mean())),
    }


def kept_threshold(scores: Sequence[float], target_kept: float = TARGET_KEPT) -> float:
    """The smallest threshold t with at least `target_kept` of `scores` <= t."""
    s = np.sort(np.asarray(scores, dtype=np.float64))
    if s.size == 0 or not np.isfinite(s).all():
        raise ValueError("the threshold needs at least one finite held-out score")
    if not 0 < target_kept <= 1:
        raise ValueError(f"target_kept must lie in (0, 1], got {target_kept!r}")
    return float(s[math.ceil(target_kept * s.size - 1e-9) - 1])


def wilson(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95 % Wilson interval of a proportion k / n."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def _rate(flags: Sequence[bool]) -> dict:
    k, n = int(sum(bool(f) for f in flags)), len(flags)
    lo, hi = wilson(k, n)
    return {"n": n, "count": k, "rate": k / n if n else None, "ci_low": lo, "ci_high": hi}


def complete(section: dict, held_out: Sequence[np.ndarray], in_distribution: dict[str, Sequence[np.ndarray]],
             out_of_distribution: dict[str, Sequence[np.ndarray]], target_kept: float = TARGET_KEPT,
             ood_note: str = "") -> tuple[dict, dict]:
    """Set the threshold on `held_out` and measure: kept per in-distribution split, caught per
    out-of-distribution class. Returns (the manifest section, the scores for the report figure)."""
    check = InputCheck({**section, "threshold": 0.0})
    held_scores = [check.score(im) for im in held_out]
    # Kept as a double: rounding it to float32 could drop the held-out image it was set on.
    thr = kept_threshold(held_scores, target_kept)
    section = {**section, "threshold": thr, "target_kept": target_kept,
               "threshold_split": "+".join(THRESHOLD_SPLITS),
               "rule": f"smallest score keeping at least {100 * target_kept:g} % of the in-distribution held-out images"}
    scores = {"held_out": held_scores}
    kept = {"+".join(THRESHOLD_SPLITS): _rate([s <= thr for s in held_scores])}
    for name, images in in_distribution.items():
        scores[name] = [check.score(im) for im in images]
        kept[name] = _rate([s <= thr for s in scores[name]])
    caught = {}
    for name, images in out_of_distribution.items():
        scores[f"ood:{name}"] = [check.score(im) for im in images]
        caught[name] = _rate([s > thr for s in scores[f"ood:{name}"]])
    section["evaluation"] = {"kept": kept, "caught": caught,
                             **({"out_of_distribution_set": ood_note} if ood_note else {})}
    return section, scores


# --- report ---------------------------------------------------------------------------------------

def _pct(r: dict) -> str:
    return f"{100 * r['rate']:.1f} % ({r['count']}/{r['n']}; 95 % CI {100 * r['ci_low']:.1f}-{100 * r['ci_high']:.1f})"


def report_markdown(section: dict, figure: str | None = None) -> str:
    ev = section["evaluation"]
    lines = [f"## {REPORT_TITLE}", "",
             f"Method `{section['method']}` version {section['version']}: a {section['descriptor']['grid']}x"
             f"{section['descriptor']['grid']} area-averaged image, a {section['descriptor']['histogram_bins']}-bin "
             "histogram and a left-right asymmetry value, standardised, scored by probabilistic PCA "
             f"({len(decode_f32(section['variances']))} components, fitted on `{section['fit_split']}`, "
             f"n = {section['n_fit']}). Model-independent: it reads the resized grey image, not the network.", "",
             f"Threshold **{section['threshold']:.4f}**: {section['rule']} (`{section['threshold_split']}`).", "",
             "| in-distribution split | kept |", "|---|---|"]
    lines += [f"| {k} | {_pct(v)} |" for k, v in ev["kept"].items()]
    lines += ["", "| out-of-distribution class | caught |", "|---|---|"]
    lines += [f"| {k} | {_pct(v)} |" for k, v in ev["caught"].items()]
    if ev.get("out_of_distribution_set"):
        lines += ["", ev["out_of_distribution_set"]]
    if figure:
        lines += ["", f"![Input check scores]({figure})"]
    return "\n".join(lines) + "\n"


def scores_png(path: Path, scores: dict, threshold: float) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    names = list(scores)
    data = [np.log10(np.maximum(scores[n], 1e-3)) for n in names]
    ax.boxplot(data, vert=False, showfliers=True)
    # Set apart from boxplot: its `labels` argument was renamed in matplotlib 3.9.
    ax.set_yticks(range(1, len(names) + 1), [n.replace("ood:", "") for n in names])
    ax.axvline(math.log10(threshold), color="crimson", linestyle="--", label=f"threshold {threshold:.3f}")
    ax.set_xlabel("log10 score (above the line: outside what the model was trained on)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return Path(path)


def write_report_section(model_dir: Path, section: dict, scores: dict) -> Path:
    """Put the section into model_dir/report.md (replacing an earlier one) with its figure."""
    model_dir = Path(model_dir)
    (model_dir / "report").mkdir(parents=True, exist_ok=True)
    scores_png(model_dir / "report" / "input_check.png", scores, section["threshold"])
    report = model_dir / "report.md"
    text = report.read_text() if report.is_file() else ""
    block = report_markdown(section, "report/input_check.png")
    pattern = re.compile(rf"^## {re.escape(REPORT_TITLE)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: block + "\n", text).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + block
    report.write_text(text)
    return report


# --- from a data set to the manifest section --------------------------------------------------------

OOD_PER_CLASS = 40
OOD_SEED = 15
FIXTURE = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "input-check.json"


def resized_images(root: Path, records, cache=None, size: int = preprocess.INPUT_SIZE) -> list[np.ndarray]:
    """The deployment resize of each record's image (through the resize cache when given)."""
    from .resize_cache import decode_and_resize

    root = Path(root)
    if cache is not None:
        return [cache.get(root / r.path, size, data.load_grey) for r in records]
    return [decode_and_resize(root / r.path, size, data.load_grey) for r in records]


def ood_images(classes, size: int = preprocess.INPUT_SIZE, n_per_class: int = OOD_PER_CLASS,
               seed: int = OOD_SEED) -> dict[str, list[np.ndarray]]:
    return {k: [preprocess.resize(np.ascontiguousarray(im, dtype=np.float32), size) for im in v]
            for k, v in ood_set.generate(n_per_class, seed, classes).items()}


def ood_note(classes, n_per_class: int = OOD_PER_CLASS, seed: int = OOD_SEED) -> str:
    missing = [c for c in ood_set.OOD_CLASSES if c not in classes]
    return (f"Out-of-distribution set: chestaid_train.ood_set, {n_per_class} images a class, seed {seed}. The ct, mr and "
            "photo classes are crops, flips, turns and windows of few sources (3 CT slices, 2 MR slices, 3 pictures); "
            "hand, knee, lateral, inverted and rotated chests are synthetic; none comes from a real patient."
            + (f" Not measured here (source files not installed): {', '.join(missing)}." if missing else ""))


def measure(root: Path, splits: dict, cache=None, size: int = preprocess.INPUT_SIZE,
            n_components: int = N_COMPONENTS) -> tuple[dict, dict]:
    """Fit on train, set the threshold on calib + val_report, measure on test and the OOD set, all
    at the model's input size (the image the viewer's check reads)."""
    train = with_variants(resized_images(root, splits[FIT_SPLIT], cache, size), seed=AUGMENT_SEED)
    section = fit(train, min(n_components, len(train) - 2))
    section["n_fit"] = len(splits[FIT_SPLIT])
    section["augmentation"] = augmentation_settings()
    held = with_variants([im for s in THRESHOLD_SPLITS for im in resized_images(root, splits[s], cache, size)],
                         seed=AUGMENT_SEED + 1)
    test = resized_images(root, splits["test"], cache, size)
    # The test split as generated (the promise) and one acquisition variant of each test image,
    # drawn with a seed neither the fit nor the threshold used.
    rng = np.random.default_rng(AUGMENT_SEED + 2)
    classes = ood_set.available_classes()
    return complete(section, held, {"test": test, TEST_VARIANTS: [acquisition_variant(im, rng) for im in test]},
                    ood_images(classes, size), ood_note=ood_note(classes))


TEST_VARIANTS = "test_acquisition_variants"


def augmentation_settings() -> dict:
    return {"copies": AUGMENT_COPIES, "seed": AUGMENT_SEED, "exposure_stops": EXPOSURE_STOPS,
            "gamma": list(GAMMA_RANGE), "level_shift": LEVEL_SHIFT, "width": list(WIDTH_RANGE),
            "blur_sigma_px": BLUR_SIGMA, "noise_sd": NOISE_SD, "pose": {**POSE, "scale": list(POSE["scale"])},
            "note": f"the fit ({FIT_SPLIT}) and the threshold ({'+'.join(THRESHOLD_SPLITS)}) images each with "
                    f"{AUGMENT_COPIES} acquisition variants (input_check.acquisition_variant); n_fit counts the "
                    "images before augmentation"}


def kept_warning(section: dict) -> str | None:
    test = section["evaluation"]["kept"].get("test")
    if test and test["rate"] < KEPT_FLOOR:
        return (f"the input check keeps {100 * test['rate']:.1f} % of the in-distribution test images, below the "
                f"{100 * KEPT_FLOOR:g} % it promises")
    return None


def write_fixture(man: dict, studies_dir: Path, path: Path = FIXTURE, n_chest: int = 2) -> Path:
    """Scores the viewer's core must reproduce: one image of each out-of-distribution class and
    `n_chest` in-distribution chests (stored as 224 x 224 uint8, read as value / 255 by both sides),
    and every demo study (read from its DICOM as the viewer reads it)."""
    import pydicom

    from . import dicom

    check = InputCheck(man["input_check"])
    size = int(man["input"]["size"]["height"])
    img_dir = path.parent / "input-check"
    if img_dir.exists():
        for f in img_dir.iterdir():
            f.unlink()
    img_dir.mkdir(parents=True, exist_ok=True)
    images = []
    ood = ood_set.generate(1, OOD_SEED + 1)
    index = json.loads((Path(studies_dir) / "index.json").read_text())
    chests = [(f"chest-{i + 1}", "in_distribution", Path(studies_dir) / s["file"]) for i, s in
              enumerate(index["studies"][:n_chest])]
    # The first chest also darkened as the recalibration tests' cohort is (grey levels x0.6): kept.
    darkened = ("chest-1-darkened", "in_distribution",
                dicom.stored_to_unit_float(pydicom.dcmread(chests[0][2])) * np.float32(0.6)) if chests else None
    sources = [(f"ood-{k}", k, v[0]) for k, v in ood.items()] + chests + ([darkened] if darkened else [])
    for name, klass, src in sources:
        unit = dicom.stored_to_unit_float(pydicom.dcmread(src)) if isinstance(src, Path) else np.asarray(src, np.float32)
        u8 = np.floor(preprocess.resize(np.ascontiguousarray(unit, dtype=np.float32), size) * 255.0 + 0.5).astype(np.uint8)
        (img_dir / f"{name}.u8").write_bytes(u8.tobytes())
        r = check.check(u8.astype(np.float32) / 255.0)
        images.append({"name": name, "class": klass, "file": f"input-check/{name}.u8", "shape": list(u8.shape),
                       "score": r["score"], "in_distribution": r["in_distribution"]})
    studies = []
    for s in index["studies"]:
        unit = dicom.stored_to_unit_float(pydicom.dcmread(Path(studies_dir) / s["file"]))
        r = check.check(preprocess.resize(unit, size))
        studies.append({"name": s["name"], "file": f"../demo-studies/{s['file']}", "score": r["score"],
                        "in_distribution": r["in_distribution"]})
    doc = {
        "note": "Input-check scores from training/chestaid_train/input_check.py for the viewer's core to reproduce. "
                "Images are input.size x input.size uint8 row-major, read as value / 255 (float32).",
        "manifest": "models/chestaid-demo/manifest.json",
        "threshold": check.threshold,
        # Relative: the same float32 image on both sides differs only by summation order; a study
        # goes through both sides' DICOM and resize code, equal to 1e-5 per pixel.
        "tolerances": {"score_same_image": 1e-9, "score_from_dicom": 1e-3},
        "images": images,
        "studies": studies,
    }
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


def refresh_model_dir(model_dir: Path, data_root: Path, studies_dir: Path | None = None,
                      fixture: Path | None = FIXTURE) -> dict:
    """`python3 -m chestaid_train input-check`: add (or replace) the manifest's input_check
    section of an existing model, without retraining: the check does not depend on the model.
    A synthetic model's data are generated again with the settings its manifest records; other
    data must be at `data_root`. Only `schema_version` and `input_check` change in the manifest;
    report.md gets its input-check section, MODEL_CARD.md is generated again."""
    from . import manifest as manifest_lib

    model_dir = Path(model_dir)
    man = json.loads((model_dir / "manifest.json").read_text())
    manifest_lib.validate(man)
    generator = man["data"].get("generator")
    if man["data"].get("synthetic") and generator:
        ensure_synthetic(Path(data_root), generator)
    splits_file = model_dir / "splits.json"
    if not splits_file.is_file():
        raise FileNotFoundError(f"{splits_file} is missing: the input check needs the model's own splits")
    splits = data.load_splits(splits_file)
    summary = data.split_summary(splits)
    if summary != man["data"]["splits"]:
        raise ValueError(f"{splits_file} does not describe the splits the manifest reports: {summary} vs {man['data']['splits']}")
    missing = [r.path for part in splits.values() for r in part if not (Path(data_root) / r.path).is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} images of the splits are missing under {data_root}, e.g. {missing[0]}")
    size = man["input"]["size"]
    if size["height"] != size["width"]:
        raise ValueError(f"the input check reads a square input; the manifest's is {size['height']} x {size['width']}")
    section, scores = measure(Path(data_root), splits, size=int(size["height"]))
    man["schema_version"] = manifest_lib.SCHEMA_VERSION
    man["input_check"] = section
    manifest_lib.write(man, model_dir / "manifest.json")
    (model_dir / "MODEL_CARD.md").write_text(manifest_lib.model_card(man))
    write_report_section(model_dir, section, scores)
    if studies_dir is not None and fixture is not None and (Path(studies_dir) / "index.json").is_file():
        write_fixture(man, Path(studies_dir), fixture)
    return section


def ensure_synthetic(root: Path, generator: dict) -> None:
    """The synthetic set a manifest describes, generated into `root` unless it is already there."""
    import shutil

    from . import synthetic

    if generator.get("version") != synthetic.GENERATOR_VERSION:
        raise ValueError(f"the manifest's data came from generator version {generator.get('version')!r}; "
                         f"this one is {synthetic.GENERATOR_VERSION}: its images would differ")
    keys = ("seed", "counts", "size", "images_per_patient", "version")
    marker = root / "synthetic.json"
    if marker.is_file():
        have = json.loads(marker.read_text())
        if all(have.get(k) == generator.get(k) for k in keys):
            return
    if root.exists():
        shutil.rmtree(root)
    print(f"generating the synthetic set in {root} ...", flush=True)
    synthetic.generate_kaggle_layout(root, {k: tuple(v) for k, v in generator["counts"].items()},
                                     size=tuple(generator["size"]), seed=int(generator["seed"]),
                                     images_per_patient=tuple(generator["images_per_patient"]), workers=2)
