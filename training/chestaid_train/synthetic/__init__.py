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

The package, one seam a module: ``patient`` (per-patient anatomy), ``primitives`` (grid, soft
edges, ellipses, noise, fans), ``anatomy`` (the normal chest's density layers), ``findings``
(distractors and consolidations), ``exposure`` (density to pixels), ``render`` (one case) and
``kaggle_layout`` (the data set on disk). The public names are re-exported here.
"""

from .exposure import TARGET_MEAN
from .findings import LESION_RADIUS_FRAC, MASK_THRESHOLD
from .kaggle_layout import GENERATOR_VERSION, JPEG_QUALITY, SPLITS, generate_kaggle_layout
from .patient import PatientAnatomy, sample_patient
from .render import SyntheticCase, render_case

__all__ = [
    "GENERATOR_VERSION",
    "SPLITS",
    "JPEG_QUALITY",
    "MASK_THRESHOLD",
    "LESION_RADIUS_FRAC",
    "TARGET_MEAN",
    "PatientAnatomy",
    "SyntheticCase",
    "sample_patient",
    "render_case",
    "generate_kaggle_layout",
]
