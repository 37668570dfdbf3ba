"""Grad-CAM for DenseNet-121's GAP + linear head, computed without gradients.

Grad-CAM (Selvaraju et al. 2017): alpha_k = mean_ij d y / d A_k[i, j], map = ReLU(sum_k alpha_k A_k),
with A = the last convolutional activations. Here A = relu(features(x)) (1024 x 7 x 7 at 224) and
y = w . mean_ij(A) + b, so d y / d A_k[i, j] = w_k / (h w) for every position: alpha_k = w_k / (h w)
and Grad-CAM = ReLU(sum_k w_k A_k) / (h w), which is CAM (Zhou et al. 2016) up to that constant.
The exported graph therefore returns the map directly, and ONNX Runtime (which has no gradients)
gives the viewer the exact Grad-CAM. `gradcam_autograd` is the reference the tests compare with.

The hook point matters: torchvision's DenseNet applies F.relu(..., inplace=True) after norm5, so
hooking norm5 gives the pre-ReLU tensor and a different map. We recompute the ReLU out of place.

Post-processing is staged as in the viewer's core (cam.ts): ReLU -> normalise -> resize.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn


class LogitAndCam(nn.Module):
    """Wraps the classifier: x -> (logit [N, 1], cam [N, h, w]); cam is the unnormalised Grad-CAM."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.features = model.features
        self.classifier = model.classifier

    def forward(self, x: torch.Tensor):
        a = F.relu(self.features(x))
        logit = self.classifier(torch.flatten(F.adaptive_avg_pool2d(a, 1), 1))
        h, w = a.shape[-2:]
        weights = self.classifier.weight[0] / (h * w)
        cam = F.relu(torch.einsum("k,nkhw->nhw", weights, a))
        return logit, cam


def gradcam_autograd(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Textbook Grad-CAM with autograd, on the same activations; for tests only. Returns [N, h, w]."""
    model.eval()
    a = F.relu(model.features(x))
    a.retain_grad()
    logit = model.classifier(torch.flatten(F.adaptive_avg_pool2d(a, 1), 1))
    logit.sum().backward()
    alpha = a.grad.mean(dim=(2, 3), keepdim=True)
    return F.relu((alpha * a).sum(dim=1)).detach()


def normalise(cam: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Divide by the maximum. An all-zero map (common for clearly negative images with a single
    logit) stays zero instead of becoming NaN."""
    cam = np.maximum(np.asarray(cam, dtype=np.float32), 0)
    peak = float(cam.max()) if cam.size else 0.0
    return cam / peak if peak > eps else np.zeros_like(cam)


def upsample(cam: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic upsampling of a normalised map to the image size, clipped back to [0, 1].

    Bicubic rather than bilinear: a 7x7 map upsampled bilinearly shows diamond artefacts.
    """
    img = Image.fromarray(np.asarray(cam, dtype=np.float32), mode="F").resize((width, height), Image.BICUBIC)
    return np.clip(np.asarray(img, dtype=np.float32), 0.0, 1.0)


def peak_position(cam: np.ndarray, height: int, width: int) -> tuple[int, int]:
    """(row, col) of the map's maximum in image coordinates, after upsampling."""
    up = upsample(normalise(cam), height, width)
    return tuple(int(v) for v in np.unravel_index(int(np.argmax(up)), up.shape))


def pointing_game(cams: list[np.ndarray], masks: list[np.ndarray]) -> float:
    """Fraction of positive images whose CAM peak falls inside the lesion mask (Zhang et al. 2018)."""
    if not cams:
        raise ValueError("pointing game needs at least one image with a lesion mask")
    hits = 0
    for cam, mask in zip(cams, masks):
        r, c = peak_position(cam, *mask.shape)
        hits += bool(mask[r, c])
    return hits / len(cams)
