"""One synthetic radiograph: pose, anatomy, distractors, consolidations (label 1) and exposure."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .anatomy import _anatomy
from .exposure import _expose
from .findings import _consolidations, _distractors
from .patient import PatientAnatomy, sample_patient
from .primitives import _Grid


@dataclass(frozen=True)
class SyntheticCase:
    image: np.ndarray  # uint8 HxW, MONOCHROME2
    mask: np.ndarray | None  # uint8 HxW 0/255 for pneumonia, None for normal
    label: int  # 1 pneumonia, 0 normal
    patient_id: str
    # Soft lung-field mask in [0, 1] (float32 HxW): lets callers check that masks and CAMs fall
    # inside the lungs without re-deriving the anatomy.
    lung_field: np.ndarray | None = field(default=None, repr=False, compare=False)


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
