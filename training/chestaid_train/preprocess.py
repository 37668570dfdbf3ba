"""Image -> model tensor. The viewer's core (core/src/preprocess.ts) implements the
same steps from the manifest's `input` section; test/fixtures/parity holds the numbers both
sides must agree on.

The steps, in order:
1. grey values in [0, 1], MONOCHROME2 (bright = dense). For JPEG training data that is u8/255;
   for DICOM it is the modality LUT, then the VOI window, then MONOCHROME1 inversion
   (see dicom.stored_to_unit_float).
2. resize to 224x224 without keeping the aspect ratio (as the original study did), with PIL's
   bilinear filter on a float32 ('F') image. PIL widens the triangle filter by the scale factor
   when shrinking (antialiasing) and computes in double precision for 'F' images, so the result
   is a plain, documented formula the browser can reproduce exactly; torch's and OpenCV's
   resizes differ from it and from each other.
3. training only: rotation within +-5 degrees and light brightness/contrast jitter.
4. grey replicated to 3 channels, ImageNet mean/std normalisation.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_SIZE = 224
# The manifest's name for `resize` below; the resize cache keys its entries with it too.
RESIZE_METHOD = "pil-bilinear-antialias"


def to_unit_float(image: np.ndarray) -> np.ndarray:
    """uint8 (JPEG) grey image -> float32 in [0, 1]. Anything else is refused by name."""
    if image.ndim != 2:
        raise ValueError(f"expected a single-channel 2-D image, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels for a JPEG image, got {image.dtype}")
    return image.astype(np.float32) / 255.0


def resize(unit: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """PIL bilinear (antialiased when shrinking) on float32; returns float32 size x size."""
    if unit.ndim != 2 or unit.dtype != np.float32:
        raise ValueError(f"resize expects a float32 2-D image, got {unit.dtype} {unit.shape}")
    if not np.isfinite(unit).all():
        raise ValueError("image holds non-finite values")
    out = Image.fromarray(unit, mode="F").resize((size, size), Image.BILINEAR)
    return np.asarray(out, dtype=np.float32)


def normalize(unit: np.ndarray) -> torch.Tensor:
    """[H, W] in [0, 1] -> [3, H, W] ImageNet-normalised tensor (grey replicated)."""
    lo, hi = float(unit.min()), float(unit.max())
    if lo < -1e-6 or hi > 1 + 1e-6:
        raise ValueError(f"grey values must lie in [0, 1] before normalising, got [{lo}, {hi}]")
    t = torch.tensor(unit, dtype=torch.float32)  # a copy: the source may be a read-only PIL buffer
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (t.unsqueeze(0).expand(3, -1, -1) - mean) / std


def preprocess(unit: np.ndarray, size: int = INPUT_SIZE) -> torch.Tensor:
    """The deployment path: no augmentation."""
    return normalize(resize(unit, size))


@dataclass(frozen=True)
class AugmentConfig:
    """Bounds of the training augmentation (the original study: +-5 degrees, light jitter)."""

    max_rotation_deg: float = 5.0
    brightness: float = 0.1   # additive shift in [-b, b] of the [0, 1] grey scale
    contrast: float = 0.1     # gain in [1 - c, 1 + c] around the image mean


@dataclass
class AugmentParams:
    rotation_deg: float
    brightness: float
    contrast: float


@dataclass
class Augment:
    """Random rotation and brightness/contrast jitter on a resized [0, 1] grey image.

    Parameters are drawn from `rng` and returned with the image so tests can check the bounds.
    """

    config: AugmentConfig = field(default_factory=AugmentConfig)

    def sample(self, rng: random.Random) -> AugmentParams:
        c = self.config
        return AugmentParams(
            rotation_deg=rng.uniform(-c.max_rotation_deg, c.max_rotation_deg),
            brightness=rng.uniform(-c.brightness, c.brightness),
            contrast=rng.uniform(1 - c.contrast, 1 + c.contrast),
        )

    def apply(self, unit: np.ndarray, p: AugmentParams) -> np.ndarray:
        img = Image.fromarray(unit, mode="F")
        # Rotation leaves corners empty; fill them with the image's edge level rather than
        # black so the model does not learn from a rotation-only artefact.
        fill = float(np.median(np.concatenate([unit[0], unit[-1], unit[:, 0], unit[:, -1]])))
        img = img.rotate(p.rotation_deg, resample=Image.BILINEAR, fillcolor=fill)
        out = np.asarray(img, dtype=np.float32)
        mean = float(out.mean())
        out = (out - mean) * p.contrast + mean + p.brightness
        return np.clip(out, 0.0, 1.0).astype(np.float32)


def imagenet_stats() -> dict:
    return {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}

