"""ChestAid training workspace: Kaggle-layout data to a calibrated DenseNet-121 ONNX model.

Module names mirror the viewer's pure core (core/src, @chestaid/core) so a reader can walk from one
side to the other: preprocess, calibration, threshold, cam, export, manifest.
"""

__version__ = "0.1.0"
