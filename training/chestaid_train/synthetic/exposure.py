"""Density to pixels: detector response, blur, noise and the tone curve that keeps the mean
intensity on a target drawn from one distribution for both classes."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .primitives import _clip01, _smooth_noise

# One distribution for both classes: the brightness-matching that keeps the mean uninformative.
TARGET_MEAN = (0.50, 0.06, 0.32, 0.68)  # mean, sd, low clip, high clip (fraction of 255)


def _expose(density: np.ndarray, look: np.random.Generator, noise: np.random.Generator) -> np.ndarray:
    """Detector response, blur, noise, then a tone curve that puts the mean on a target."""
    h, w = density.shape
    k = look.uniform(1.3, 2.6)  # penetration: higher is a "whiter", under-penetrated film
    x = (1.0 - np.exp(-k * np.maximum(density, 0.0))) / (1.0 - math.exp(-k * 0.9))
    # Heel effect and scatter: a smooth gradient plus slow blotches.
    rows = np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None]
    cols = np.linspace(-0.5, 0.5, w, dtype=np.float32)[None, :]
    x = x + look.uniform(-0.04, 0.04) * rows + look.uniform(-0.03, 0.03) * cols
    x = x + look.uniform(0.01, 0.03) * _smooth_noise(noise, (h, w), max(h, w) / 4.0)
    x = ndimage.gaussian_filter(x.astype(np.float32), look.uniform(0.4, 1.1))
    # Quantum noise grows where fewer photons arrive, i.e. with density.
    sigma = look.uniform(0.006, 0.025)
    x = x + sigma * (0.5 + x) * noise.standard_normal((h, w), dtype=np.float32)
    lo, hi = look.uniform(-0.02, 0.06), look.uniform(0.92, 1.05)
    x = _clip01((x - lo) / (hi - lo))

    mean, sd, low, high = TARGET_MEAN
    target = float(np.clip(look.normal(mean, sd), low, high))
    x = x ** np.float32(_gamma_for_mean(x, target))
    return np.floor(x * 255.0 + 0.5).astype(np.uint8)


def _gamma_for_mean(x: np.ndarray, target: float) -> float:
    """Solve mean(x ** gamma) = target by bisection on a histogram (x in [0, 1])."""
    counts, edges = np.histogram(x, bins=512, range=(0.0, 1.0))
    centres = (edges[:-1] + edges[1:]) / 2.0
    weights = counts / counts.sum()
    lo, hi = math.log(0.2), math.log(5.0)
    for _ in range(40):
        mid = (lo + hi) / 2.0
        if float(weights @ centres ** math.exp(mid)) > target:
            lo = mid
        else:
            hi = mid
    return math.exp((lo + hi) / 2.0)
