"""One patient's anatomy, drawn once so that several images of the patient look alike."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
