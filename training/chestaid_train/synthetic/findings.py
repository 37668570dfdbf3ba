"""What is drawn on top of the normal anatomy: distractors (bright findings that are not
pneumonia, at the same rates in both classes) and the consolidations that carry the label."""

from __future__ import annotations

import math

import numpy as np

from .anatomy import _Layers
from .patient import PatientAnatomy
from .primitives import _clip01, _ellipse, _ellipse_box, _fan, _Grid, _smooth_noise, _step, _wobble

# Fraction of a lesion's peak density above which a pixel belongs to its mask.
MASK_THRESHOLD = 0.25
# Lesion radius as a fraction of image width; small enough to stay inside a lung field, large
# enough that a 7x7 CAM cell (about 14 % of the width) can land on it.
LESION_RADIUS_FRAC = (0.08, 0.18)


def _distractors(p: PatientAnatomy, g: _Grid, layers: _Layers, rng: np.random.Generator) -> np.ndarray:
    """Bright findings that are not pneumonia, drawn at the same rates for both classes."""
    out = layers.hilum_blobs * np.float32(1.8 if rng.random() < 0.3 else 1.0)
    if rng.random() < 0.3:
        # Prominent perihilar vessels.
        out += layers.vessels * np.float32(rng.uniform(0.8, 1.5))
    # Soft-tissue (breast / pectoral) shadows over both lung bases, sharp lower margin.
    amount = p.soft_tissue_shadow + (rng.uniform(0.03, 0.07) if rng.random() < 0.15 else 0.0)
    if amount > 0.0:
        for i, sign in enumerate((-1.0, 1.0)):
            cu, cv = sign * p.chest_half_width * 0.6, p.dome_v[i] - 0.05
            win = _ellipse_box(g, cu, cv, 0.32)
            r = _ellipse(g[win], cu, cv, 0.30, 0.25)
            out[win] += amount * _step(1.0 - r, 0.05) * (0.4 + 0.6 * np.minimum(r, 1.0))
    if rng.random() < 0.15:
        # Skin fold: a long faint curved edge across the lateral lung.
        sign = -1.0 if rng.random() < 0.5 else 1.0
        cu = sign * p.chest_half_width * rng.uniform(0.55, 0.8)
        win = g.box(cu - 0.3, cu + 0.3, -2.0, 2.0)
        gw = g[win]
        inside = sign * (cu + 0.15 * sign * (gw.v + 0.2) ** 2 - gw.u)
        out[win] += 0.05 * _step(inside, 1.5 * g.px) * _step(0.06 - inside, 0.02) * layers.lungs[win]
    for _ in range(int(rng.random() < 0.15) * int(rng.integers(1, 4))):
        # ECG electrode: small dense disc with a brighter rim, anywhere over the chest.
        cu, cv = rng.uniform(-0.7, 0.7) * p.chest_half_width, rng.uniform(-0.6, 0.5)
        radius = rng.uniform(0.025, 0.04)
        win = _ellipse_box(g, cu, cv, 1.5 * radius)
        r = _ellipse(g[win], cu, cv, radius, radius)
        out[win] += 0.25 * _step(1.0 - r, 0.1) + 0.2 * np.exp(-(((r - 1.0) / 0.15) ** 2))
    return out


def _consolidations(g: _Grid, layers: _Layers, rng: np.random.Generator):
    """One to three consolidations inside the lung fields.

    Returns (density added, how much each pixel hides ribs and vessels, uint8 0/255 mask).
    """
    shape = g.u.shape
    density = np.zeros(shape, np.float32)
    obscure = np.zeros(shape, np.float32)
    mask = np.zeros(shape, bool)
    n_lesions = 1 + int(rng.random() < 0.35) + int(rng.random() < 0.1)
    for _ in range(n_lesions):
        side = 0 if rng.random() < 0.55 else 1
        lung = layers.lung_sides[side]
        candidates = np.flatnonzero(lung > 0.95)
        if candidates.size == 0:
            candidates = np.flatnonzero(layers.lungs > 0.5)
        row, col = divmod(int(candidates[rng.integers(candidates.size)]), shape[1])
        cu, cv = float(g.u[row, col]), float(g.v[row, col])
        lobar = rng.random() < 0.25
        radius = rng.uniform(*LESION_RADIUS_FRAC) * shape[1] * g.px * (1.3 if lobar else 1.0)
        aspect = rng.uniform(0.65, 1.5)
        angle = math.radians(rng.uniform(0.0, 180.0))

        # Past 3.5 radii the thresholded blob is zero even for 4-sigma noise and warp.
        win = _ellipse_box(g, cu, cv, 3.5 * radius)
        gw = g[win]
        wshape = gw.u.shape
        # Domain-warped anisotropic blob times lobulated noise: an irregular, soft outline.
        cell = max(radius / g.px / 2.5, 4.0)
        du = gw.u - cu + 0.25 * radius * _smooth_noise(rng, wshape, cell)
        dv = gw.v - cv + 0.25 * radius * _smooth_noise(rng, wshape, cell)
        p = (math.cos(angle) * du + math.sin(angle) * dv) / (radius * math.sqrt(aspect))
        q = (-math.sin(angle) * du + math.cos(angle) * dv) / (radius / math.sqrt(aspect))
        blob = np.exp(-(p * p + q * q)) * (1.0 + 0.35 * _smooth_noise(rng, wshape, cell * 0.7))
        opacity = _clip01((blob - 0.12) / 0.45)
        opacity = opacity * opacity * (3.0 - 2.0 * opacity)
        if lobar:
            # A fissure gives lobar consolidation one straight, sharp border.
            t = rng.uniform(0.0, 2.0 * math.pi)
            cut = math.cos(t) * (gw.u - cu) + math.sin(t) * (gw.v - cv) + rng.uniform(0.1, 0.5) * radius
            opacity *= _step(cut, 1.2 * g.px)
        # Patchy, as alveolar filling is, then confined to the lung field.
        opacity *= 0.8 + 0.2 * np.tanh(_smooth_noise(rng, wshape, 3.0))
        opacity *= lung[win]
        air = layers.air[win]
        # From barely-there ground glass to dense consolidation (1 would be a white-out): the
        # faint end keeps the task from being trivially separable.
        strength = rng.uniform(0.18, 0.9)
        lesion = strength * air * opacity
        if rng.random() < 0.4:
            # Air bronchograms: dark tubes radiating from the hilum through the dense core.
            tubes = _fan(gw, layers.hila[side], int(rng.integers(14, 24)), 0.018, 1.0, _wobble(rng))
            lesion -= 0.5 * strength * air * tubes * _clip01((opacity - 0.55) / 0.35)

        peak = float(lesion.max()) if lesion.size else 0.0
        if peak <= 0.0:
            continue
        mask[win] |= lesion > MASK_THRESHOLD * peak
        density[win] += lesion
        np.maximum(obscure[win], 0.75 * strength * opacity, out=obscure[win])
    if not mask.any():
        raise RuntimeError("no consolidation landed inside a lung field")
    return density, np.minimum(obscure, 0.9), mask.astype(np.uint8) * np.uint8(255)
