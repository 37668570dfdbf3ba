"""Synthetic paediatric PA chest radiographs with pneumonia lesion masks.

No real radiographs are reachable from this project, so the training pipeline, the tests and the
viewer demo all run on these. They are built to make the metrics mean something:

* Pixel convention is MONOCHROME2 (bright = dense), as in the Kaggle "Chest X-Ray Images
  (Pneumonia)" JPEGs the pipeline is written for.
* The label is carried only by the consolidation. Each image's global tone curve is solved so its
  mean intensity equals a target drawn from one distribution for both classes, and bright
  distractors (prominent hila, soft-tissue shadows, thymus, ECG electrodes, skin folds) occur at
  the same rates in both classes, so neither "brighter image" nor "any bright thing" predicts it.
* Lesions are soft-edged, irregular, clipped to a lung field, 8-18 % of the image width in radius
  and of varying density, large enough for a 7x7 class-activation map to localise.

Anatomy lives in normalised coordinates (u across, v down, both in units of half the image
height, origin at the image centre) so one ``PatientAnatomy`` renders consistently at any image
size, and a pose (rotation, shift, scale) is a change of coordinates rather than a resampling.
u < 0 is image left, the patient's right in a PA view; the heart sits at u > 0.
"""

from __future__ import annotations

import json
import math
import multiprocessing
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

GENERATOR_VERSION = "1.0.0"
SPLITS = ("train", "val", "test")
JPEG_QUALITY = 92

# Fraction of a lesion's peak density above which a pixel belongs to its mask.
MASK_THRESHOLD = 0.25
# Lesion radius as a fraction of image width; small enough to stay inside a lung field, large
# enough that a 7x7 CAM cell (about 14 % of the width) can land on it.
LESION_RADIUS_FRAC = (0.08, 0.18)
# One distribution for both classes: the brightness-matching that keeps the mean uninformative.
TARGET_MEAN = (0.50, 0.06, 0.32, 0.68)  # mean, sd, low clip, high clip (fraction of 255)


@dataclass(frozen=True)
class PatientAnatomy:
    """Per-patient anatomy, so several images of one patient look alike.

    Lengths are in units of half the image height. Per-image variation (pose, inspiration,
    exposure, noise, distractors, lesions) is drawn in ``render_case``, not here.
    """

    patient_id: str
    chest_half_width: float
    neck_half_width: float
    shoulder_v: float
    axilla_gap: float
    arm_width: float
    tissue_density: float
    lung_air: float  # fraction of the local soft-tissue density that aerated lung removes
    lung_center_u: tuple[float, float]  # (right, left) lung, patient sides
    lung_half_width: tuple[float, float]
    lung_apex_v: tuple[float, float]
    dome_v: tuple[float, float]
    dome_depth: tuple[float, float]
    heart_center: tuple[float, float]
    heart_axes: tuple[float, float]
    heart_angle_deg: float
    mediastinum_half_width: float
    thymus: float
    spine_u: float
    spine_half_width: float
    vertebra_period: float
    vertebra_phase: float
    rib_first_v: float
    rib_spacing: float
    rib_curvature: float
    rib_slant: float
    rib_width: float
    clavicle_v: float | None
    hilum_prominence: float
    soft_tissue_shadow: float
    gastric_bubble: float
    texture_seed: int


@dataclass(frozen=True)
class SyntheticCase:
    image: np.ndarray  # uint8 HxW, MONOCHROME2
    mask: np.ndarray | None  # uint8 HxW 0/255 for pneumonia, None for normal
    label: int  # 1 pneumonia, 0 normal
    patient_id: str
    # Soft lung-field mask in [0, 1] (float32 HxW): lets callers check that masks and CAMs fall
    # inside the lungs without re-deriving the anatomy.
    lung_field: np.ndarray | None = field(default=None, repr=False, compare=False)


def sample_patient(rng: np.random.Generator) -> PatientAnatomy:
    """Draw one patient's anatomy."""
    u = rng.uniform
    chest = u(0.78, 0.90)
    right_hw = u(0.27, 0.32)
    left_hw = right_hw * u(0.88, 0.97)
    right_dome = u(0.30, 0.42)
    texture_seed = int(rng.integers(0, 2**62))
    shoulder = u(-0.82, -0.70)
    clavicle = shoulder + u(0.14, 0.22) if rng.random() < 0.85 else None
    return PatientAnatomy(
        patient_id=f"SYN-{texture_seed % 10**8:08d}",
        chest_half_width=chest,
        neck_half_width=u(0.15, 0.21),
        shoulder_v=shoulder,
        axilla_gap=u(0.02, 0.07),
        arm_width=u(0.14, 0.22),
        tissue_density=u(0.50, 0.60),
        lung_air=u(0.55, 0.68),
        lung_center_u=(-chest * u(0.44, 0.50), chest * u(0.44, 0.50)),
        lung_half_width=(right_hw, left_hw),
        lung_apex_v=(u(-0.80, -0.70), u(-0.80, -0.70)),
        dome_v=(right_dome, right_dome + u(0.02, 0.07)),
        dome_depth=(u(0.10, 0.18), u(0.10, 0.18)),
        heart_center=(u(0.06, 0.13), u(0.34, 0.44)),
        heart_axes=(u(0.31, 0.40), u(0.20, 0.26)),
        heart_angle_deg=u(-28.0, -10.0),
        mediastinum_half_width=u(0.08, 0.12),
        thymus=float(rng.uniform(0.0, 1.0) if rng.random() < 0.35 else 0.0),
        spine_u=u(-0.02, 0.02),
        spine_half_width=u(0.055, 0.075),
        vertebra_period=u(0.085, 0.105),
        vertebra_phase=u(0.0, 1.0),
        rib_first_v=u(-0.80, -0.70),
        rib_spacing=u(0.125, 0.155),
        rib_curvature=u(0.80, 1.10),
        rib_slant=u(0.25, 0.40),
        rib_width=u(0.38, 0.50),
        clavicle_v=clavicle,
        hilum_prominence=u(0.7, 1.2),
        soft_tissue_shadow=float(u(0.03, 0.08)) if rng.random() < 0.3 else 0.0,
        gastric_bubble=float(u(0.04, 0.08)) if rng.random() < 0.6 else 0.0,
        texture_seed=texture_seed,
    )


def render_case(
    rng: np.random.Generator,
    label: int,
    size: tuple[int, int] = (320, 320),
    patient: PatientAnatomy | None = None,
) -> SyntheticCase:
    """Render one radiograph of ``patient`` (drawn from ``rng`` if None). ``size`` is (height, width).

    Pose, exposure, noise and distractors come from their own streams split off ``rng`` before
    any lesion is drawn, so the same seed and patient with label 0 and 1 give the same image
    apart from the consolidation (and the global tone curve that keeps the mean on target).
    """
    if label not in (0, 1):
        raise ValueError(f"label must be 0 or 1, got {label!r}")
    height, width = (int(s) for s in size)
    if height < 32 or width < 32:
        raise ValueError(f"size must be at least 32x32, got {size!r}")
    if patient is None:
        patient = sample_patient(rng)
    pose_rng, look_rng, noise_rng, lesion_rng = (
        np.random.default_rng(s) for s in rng.integers(0, 2**63 - 1, size=4)
    )

    grid = _Grid.posed(height, width, pose_rng)
    inspiration = pose_rng.uniform(-0.03, 0.03)
    layers = _anatomy(patient, grid, inspiration)
    distract = _distractors(patient, grid, layers, look_rng)

    density = layers.base + distract
    rib_vessel = layers.ribs + layers.vessels
    mask = None
    if label == 1:
        lesion, obscure, mask = _consolidations(grid, layers, lesion_rng)
        density = density + lesion
        rib_vessel = rib_vessel * (1.0 - obscure)
    density = density + rib_vessel

    image = _expose(density, look_rng, noise_rng)
    return SyntheticCase(
        image=image,
        mask=mask,
        label=int(label),
        patient_id=patient.patient_id,
        lung_field=layers.lungs,
    )


# --- geometry -------------------------------------------------------------------------------


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


# --- anatomy --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layers:
    base: np.ndarray  # soft tissue, air, heart, spine, clavicles: density, bright = dense
    ribs: np.ndarray  # kept apart so a consolidation can partly hide them
    vessels: np.ndarray
    hilum_blobs: np.ndarray
    air: np.ndarray  # density the aerated lung removed; consolidation puts some of it back
    lungs: np.ndarray  # soft union of both lung fields in [0, 1]
    lung_sides: tuple[np.ndarray, np.ndarray]  # (right, left)
    hila: tuple[tuple[float, float], tuple[float, float]]


def _anatomy(p: PatientAnatomy, g: _Grid, inspiration: float) -> _Layers:
    e = 1.3 * g.px
    u, v = g.u, g.v
    au = np.abs(u)

    # Body: neck, shoulders sloping down to the arms, arms beside the chest with an axillary
    # gap. Projected thickness falls off towards each outline.
    chest_hw = np.float32(p.chest_half_width) * (1.0 + 0.05 * np.clip(v, -1.0, 1.0))
    arm_c = p.chest_half_width + p.axilla_gap + p.arm_width / 2.0
    outer = arm_c + p.arm_width / 2.0
    slope = _clip01((au - p.neck_half_width) / (outer - p.neck_half_width))
    shoulders = _step(v - (p.shoulder_v + 0.28 * slope * slope), 0.015)
    outline = np.maximum(_step(p.neck_half_width - au, e), shoulders)
    outline *= _step(outer - au, e)
    # The gap opens below the axilla and widens as the arms hang away from the trunk.
    gap = p.axilla_gap * np.clip((v - p.shoulder_v - 0.25) * 2.0, 0.0, 1.5)
    outline *= 1.0 - _step(au - chest_hw, e) * _step(chest_hw + gap - au, e)
    torso = _cap(u / chest_hw)
    arm = 0.8 * np.sqrt(_cap((au - arm_c) / (p.arm_width / 2.0)))
    neck = np.sqrt(_cap(u / p.neck_half_width))
    body = outline * np.maximum(np.maximum(torso, arm), np.maximum(neck, 0.45))
    base = p.tissue_density * body
    # Abdomen below the domes is thicker than the chest wall above.
    base += 0.06 * _step(v - (max(p.dome_v) + 0.1 + inspiration), 0.08) * torso

    # Mediastinum, optional thymic "sail" (a normal paediatric finding that looks like an upper
    # lobe opacity, so a useful distractor), heart sitting on the left hemidiaphragm.
    carve = np.ones_like(u)
    med_u, med_hw = p.spine_u + 0.02, p.mediastinum_half_width
    win = g.box(med_u - med_hw - 0.25, med_u + med_hw + 0.05, -2.0, 2.0)
    gw = g[win]
    med = _step(med_hw - np.abs(gw.u - med_u), e) * _step(gw.v + 0.95, 0.05)
    if p.thymus > 0.0:
        top, bottom = -0.50, -0.12
        t = _clip01((gw.v - top) / (bottom - top))
        reach = med_hw + (0.05 + 0.12 * p.thymus) * t
        sail = _step(reach - np.abs(gw.u - med_u), e) * _step(gw.v - top, 0.02) * _step(bottom - gw.v, e)
        med = np.maximum(med, sail * (gw.u < med_u))
    carve[win] *= 1.0 - med

    hc_u, hc_v = p.heart_center[0], p.heart_center[1] + inspiration
    win = _ellipse_box(g, hc_u, hc_v, max(p.heart_axes) + 0.03)
    heart_r = _ellipse(g[win], hc_u, hc_v, p.heart_axes[0], p.heart_axes[1], p.heart_angle_deg)
    heart = _step(1.0 - heart_r, e / p.heart_axes[0])
    base[win] += 0.07 * heart * _cap(heart_r)
    carve[win] *= 1.0 - heart

    # Lungs: rounded apex, convex lateral wall, diaphragmatic dome deepest at the costophrenic
    # angle; the mediastinum and heart cut the medial side, which makes the left lung smaller.
    sides = []
    for i in (0, 1):
        cu, hw = p.lung_center_u[i], p.lung_half_width[i]
        apex, dome, depth = p.lung_apex_v[i], p.dome_v[i] + inspiration, p.dome_depth[i]
        win = g.box(cu - hw - 0.03, cu + hw + 0.03, apex - 0.03, dome + depth + 0.03)
        gw = g[win]
        q = _clip01((gw.v - apex) / (dome + depth - apex))
        width = hw * np.sqrt(1.0 - (1.0 - np.minimum(q / 0.45, 1.0)) ** 2) * (0.9 + 0.1 * q)
        field_ = _step(width - np.abs(gw.u - cu), e)
        field_ *= _step(dome + depth * ((gw.u - cu) / hw) ** 2 - gw.v, e)
        field_ *= _step(gw.v - apex, e) * carve[win]
        side = np.zeros_like(u)
        side[win] = field_
        sides.append(side)
    right, left = sides
    lungs = np.maximum(right, left)
    # Aerated lung replaces a fraction of the tissue in the beam, so density never goes
    # negative where the chest is thin; less at apex and base, where soft tissue overlaps.
    top, bottom = min(p.lung_apex_v), max(p.dome_v) + 0.15
    profile = 0.82 + 0.18 * np.sin(np.pi * _clip01((v - top) / (bottom - top)))
    air = (p.lung_air * p.tissue_density) * lungs * profile * body
    base -= air

    if p.gastric_bubble > 0.0:
        bu, bv = p.lung_center_u[1] + 0.05, p.dome_v[1] + inspiration + 0.12 + p.gastric_bubble
        win = _ellipse_box(g, bu, bv, 2.0 * p.gastric_bubble)
        bubble = _ellipse(g[win], bu, bv, p.gastric_bubble * 1.6, p.gastric_bubble)
        base[win] -= 0.25 * _step(1.0 - bubble, 0.15)

    # Spine: band with vertebral bodies, disc spaces and pedicle rings, faint behind the
    # mediastinum as on a well-penetrated film.
    shw = p.spine_half_width
    win = g.box(p.spine_u - shw - 0.02, p.spine_u + shw + 0.02, -2.0, 2.0)
    gw = g[win]
    du = np.abs(gw.u - p.spine_u)
    phase = (gw.v - p.vertebra_phase * p.vertebra_period) / p.vertebra_period
    frac = phase - np.floor(phase)
    disc = np.exp(-(((frac - 0.5) / 0.09) ** 2))
    ring = np.sqrt(((du - 0.65 * shw) / (0.22 * shw)) ** 2 + ((frac - 0.25) / 0.16) ** 2)
    pedicles = np.exp(-(((ring - 0.8) / 0.25) ** 2))
    base[win] += _step(shw - du, e) * (0.06 * (1.0 - 0.4 * disc) + 0.03 * pedicles)

    # Clavicles: S-curved bands from the manubrium out to the shoulders.
    if p.clavicle_v is not None:
        win = g.box(-outer, outer, p.clavicle_v - 0.1, p.clavicle_v + 0.12)
        gw = g[win]
        for sign in (-1.0, 1.0):
            lat = sign * gw.u
            s = _clip01((lat - 0.06) / (p.chest_half_width - 0.08))
            centre = p.clavicle_v + 0.03 - 0.04 * s + 0.03 * np.sin(2.0 * np.pi * s)
            span = _step(lat - 0.06, 0.01) * _step(p.chest_half_width + 0.02 - lat, 0.02)
            d = np.abs(gw.v - centre) / (0.032 - 0.008 * s)
            bone = np.exp(-(d**4)) + 0.5 * np.exp(-(((d - 0.9) / 0.2) ** 2))
            base[win] += 0.09 * span * bone * body[win]

    # Posterior ribs: arcs leaving the spine slightly upwards, then curving down laterally, laid
    # out as one periodic profile in a warped vertical coordinate (one vectorised pass for all
    # ten a side). Anterior ribs run down and inwards, fainter, ending at the costal cartilage.
    ribs = np.zeros_like(u)
    win = g.box(-p.chest_half_width * 1.1, p.chest_half_width * 1.1, p.rib_first_v - 0.1, 2.0)
    gw = g[win]
    s = np.maximum(np.abs(gw.u - p.spine_u) - 0.7 * shw, 0.0)
    lateral_end = p.chest_half_width * (1.0 + 0.05 * np.clip(gw.v, -1.0, 1.0)) - abs(p.spine_u) - 0.03
    w = (gw.v + p.rib_slant * s - p.rib_curvature * s * s - p.rib_first_v) / p.rib_spacing
    k = np.floor(w)
    f = w - k
    soft = 0.8 * g.px / p.rib_spacing
    band = _step(f - 0.03, soft) * _step(p.rib_width - f, soft)
    cortex = np.exp(-(((f - 0.05) / 0.04) ** 2)) + np.exp(-(((f - p.rib_width + 0.02) / 0.04) ** 2))
    posterior = (0.6 * band + 0.4 * cortex) * ((k >= 0) & (k <= 9))
    posterior *= _step(lateral_end - s, 0.03) * _step(s, 0.02)
    wa = (gw.v - 0.6 * (lateral_end - s) - p.rib_first_v - 0.3) / (p.rib_spacing * 1.3)
    fa = wa - np.floor(wa)
    anterior = np.exp(-(((fa - 0.2) / 0.1) ** 2)) * ((wa >= 0) & (wa <= 6))
    anterior *= _step(s - 0.35, 0.05) * _step(lateral_end - s, 0.03)
    ribs[win] = (0.065 * posterior + 0.03 * anterior) * (0.3 + 0.7 * lungs[win]) * body[win]

    # Hila, and vessels fanning out from them that fade towards the periphery.
    hila = ((med_u - med_hw - 0.04, -0.06), (med_u + med_hw + 0.03, -0.09))
    vessel_rng = np.random.default_rng(p.texture_seed)
    blobs = np.zeros_like(u)
    vessels = np.zeros_like(u)
    win = g.box(min(p.lung_center_u[0] - p.lung_half_width[0], hila[0][0]) - 0.03,
                max(p.lung_center_u[1] + p.lung_half_width[1], hila[1][0]) + 0.03,
                min(p.lung_apex_v) - 0.03, max(p.dome_v) + max(p.dome_depth) + inspiration + 0.03)
    gw = g[win]
    tree = np.zeros_like(gw.u)
    for hub in hila:
        tree += _fan(gw, hub, int(vessel_rng.integers(8, 13)), 0.018, 0.55, _wobble(vessel_rng))
        tree += 0.6 * _fan(gw, hub, int(vessel_rng.integers(16, 24)), 0.009, 0.65, _wobble(vessel_rng))
        hub_win = _ellipse_box(g, hub[0], hub[1], 0.3)
        blobs[hub_win] += np.exp(-(_ellipse(g[hub_win], hub[0], hub[1], 0.05, 0.10, 10.0) ** 2))
    vessels[win] = 0.045 * p.hilum_prominence * np.minimum(tree, 1.0) * lungs[win]
    blobs *= 0.07 * p.hilum_prominence

    return _Layers(base, ribs, vessels, blobs, air, lungs, (right, left), hila)


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


# --- exposure -------------------------------------------------------------------------------


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


# --- Kaggle layout --------------------------------------------------------------------------


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
