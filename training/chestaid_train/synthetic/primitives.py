"""Rendering primitives in anatomical coordinates: the posed pixel grid, soft edges, ellipses,
smooth noise and fans of tapering lines. Plain NumPy, no anatomy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class _Grid:
    """Anatomical coordinates (u, v) of every pixel, after the pose."""

    u: np.ndarray  # float32 HxW
    v: np.ndarray
    px: float  # one pixel in anatomical units

    @staticmethod
    def posed(height: int, width: int, rng: np.random.Generator) -> "_Grid":
        half = height / 2.0
        x = ((np.arange(width, dtype=np.float32) + 0.5) - width / 2.0) / half
        y = ((np.arange(height, dtype=np.float32) + 0.5) - height / 2.0) / half
        theta = math.radians(rng.uniform(-4.0, 4.0))
        scale = rng.uniform(0.93, 1.06)
        dx, dy = rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.04)
        c, s = math.cos(theta) / scale, math.sin(theta) / scale
        xx, yy = x[None, :], y[:, None]
        u = (c * xx + s * yy - dx).astype(np.float32)
        v = (-s * xx + c * yy - dy).astype(np.float32)
        return _Grid(u, v, 1.0 / (half * scale))

    def box(self, u0: float, u1: float, v0: float, v1: float) -> tuple[slice, slice]:
        """Smallest pixel window holding every pixel with u in [u0, u1] and v in [v0, v1].

        Most structures cover a small part of the image; evaluating them only in their window
        is what keeps a 320x320 render near 20 ms. u and v are affine in the pixel indices
        and the rotation is small, so both grow monotonically along rows and columns and each
        row's (column's) extremes sit at its two ends.
        """
        ends_v = self.v[:, [0, -1]]
        rows = np.flatnonzero((ends_v.max(axis=1) >= v0) & (ends_v.min(axis=1) <= v1))
        ends_u = self.u[[0, -1], :]
        cols = np.flatnonzero((ends_u.max(axis=0) >= u0) & (ends_u.min(axis=0) <= u1))
        if rows.size == 0 or cols.size == 0:
            return slice(0, 0), slice(0, 0)
        return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)

    def __getitem__(self, window: tuple[slice, slice]) -> "_Grid":
        return _Grid(self.u[window], self.v[window], self.px)


def _step(z: np.ndarray, softness: float) -> np.ndarray:
    """Soft indicator of z > 0: a linear ramp 3 * ``softness`` wide, for anti-aliased edges.

    A ramp rather than a logistic: it looks the same at these widths and costs a fifth as much.
    """
    out = np.asarray(z, dtype=np.float32) * np.float32(1.0 / (3.0 * softness))
    out += np.float32(0.5)
    return _clip01(out)


def _clip01(x: np.ndarray) -> np.ndarray:
    """In-place clip to [0, 1]; np.clip costs several times more on numpy 1.24."""
    np.minimum(x, 1.0, out=x)
    np.maximum(x, 0.0, out=x)
    return x


def _cap(x: np.ndarray) -> np.ndarray:
    """sqrt(max(1 - x**2, 0)): projected thickness of a rounded body at normalised offset x."""
    t = np.float32(1.0) - x * x
    np.maximum(t, 0.0, out=t)
    return np.sqrt(t, out=t)


def _ellipse(g: _Grid, cu: float, cv: float, a: float, b: float, angle_deg: float = 0.0) -> np.ndarray:
    """Normalised radius (< 1 inside) of a rotated ellipse."""
    t = math.radians(angle_deg)
    du, dv = g.u - np.float32(cu), g.v - np.float32(cv)
    p = (math.cos(t) * du + math.sin(t) * dv) / np.float32(a)
    q = (-math.sin(t) * du + math.cos(t) * dv) / np.float32(b)
    return np.sqrt(p * p + q * q)


def _ellipse_box(g: _Grid, cu: float, cv: float, reach: float) -> tuple[slice, slice]:
    return g.box(cu - reach, cu + reach, cv - reach, cv + reach)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], cell_px: float) -> np.ndarray:
    """Zero-mean, roughly unit-sd noise with features about ``cell_px`` pixels wide.

    A coarse random grid blended up with separable Gaussian weights: two small matrix products,
    far cheaper than filtering full-size noise with a large sigma or spline-resampling it.
    """
    height, width = shape
    gh = max(2, math.ceil(height / cell_px)) + 2
    gw = max(2, math.ceil(width / cell_px)) + 2
    coarse = rng.standard_normal((gh, gw)).astype(np.float32)
    return _blend_matrix(height, gh) @ coarse @ _blend_matrix(width, gw).T


@lru_cache(maxsize=256)
def _blend_matrix(n: int, m: int) -> np.ndarray:
    pos = (np.arange(n, dtype=np.float64) + 0.5) * (m - 2) / max(n, 1) + 0.5
    weights = np.exp(-(((pos[:, None] - np.arange(m)[None, :]) / 0.75) ** 2))
    # Unit L2 norm per row keeps unit variance wherever the coarse grid is sampled.
    weights /= np.sqrt((weights**2).sum(axis=1, keepdims=True))
    out = weights.astype(np.float32)
    out.flags.writeable = False
    return out


def _fan(g: _Grid, hub: tuple[float, float], count: int, width: float, reach: float,
         wobble: np.ndarray) -> np.ndarray:
    """Tapering lines radiating from ``hub``: vessels from a hilum, or bronchi in a consolidation.

    Lines are the spokes of a warped angle. Distance to the nearest spoke is measured in
    anatomical units, so the lines narrow and fade towards ``reach`` as vessels and airways do;
    they never get thinner than a pixel, which would alias into jagged dots.
    ``wobble`` rows are (amplitude, angular frequency, radial frequency, phase) and bend them.
    """
    du, dv = g.u - np.float32(hub[0]), g.v - np.float32(hub[1])
    r = np.sqrt(du * du + dv * dv)
    theta = np.arctan2(dv, du)
    a = theta * np.float32(count / (2.0 * math.pi))
    for amp, m, n, phase in wobble:
        a += np.float32(amp) * np.sin(np.float32(m) * theta + np.float32(n) * r + np.float32(phase))
    off = np.abs(a - np.floor(a) - 0.5) * np.float32(2.0 * math.pi / count) * r
    left = np.maximum(1.0 - r / np.float32(reach), 0.0)
    taper = np.maximum(np.float32(width) * left, np.float32(0.8 * g.px))
    return left * np.exp(-((off / taper) ** 2))


def _wobble(rng: np.random.Generator, terms: int = 2) -> np.ndarray:
    return np.column_stack([
        rng.uniform(0.08, 0.25, terms),
        rng.integers(1, 6, terms),
        rng.uniform(-12.0, 12.0, terms),
        rng.uniform(0.0, 2.0 * math.pi, terms),
    ])
