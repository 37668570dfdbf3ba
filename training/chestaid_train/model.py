"""DenseNet-121 with a single-logit head (positive = PNEUMONIA), and partial fine-tuning."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import torch
from torch import nn
from torchvision.models import densenet121

# torchvision's file name for the ImageNet weights; looked for in the torch hub cache first.
IMAGENET_FILE = "densenet121-a639ec97.pth"
IMAGENET_URL = f"https://download.pytorch.org/models/{IMAGENET_FILE}"

# The names of `model.features` children, in order. "head" is the classifier, always trained.
BLOCKS = (
    "conv0", "norm0", "relu0", "pool0",
    "denseblock1", "transition1", "denseblock2", "transition2",
    "denseblock3", "transition3", "denseblock4", "norm5",
)
# The original study fine-tuned the last dense blocks: the early filters are generic edges.
DEFAULT_TRAINABLE = ("denseblock3", "transition3", "denseblock4", "norm5")


class WeightsUnavailable(RuntimeError):
    pass


def _hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def load_imagenet_state(weights_file: str | os.PathLike | None = None, allow_download: bool = False) -> dict:
    """ImageNet weights from a local file, the torch hub cache, or (only when asked) the hub.

    Downloading is opt-in: a hospital network or CI must never reach out silently.
    """
    candidates = [Path(weights_file)] if weights_file else [_hub_checkpoint_dir() / IMAGENET_FILE]
    for c in candidates:
        if c.is_file():
            return _clean_state(torch.load(c, map_location="cpu"))
    if weights_file:
        raise WeightsUnavailable(f"ImageNet weights file not found: {weights_file}")
    if not allow_download:
        raise WeightsUnavailable(
            f"ImageNet weights for DenseNet-121 are not on this machine (looked for {candidates[0]}).\n"
            f"  - put {IMAGENET_FILE} there or pass --weights-file PATH,\n"
            "  - or allow a download from the PyTorch hub with --download-weights (needs network),\n"
            "  - or train from scratch with --weights none (much weaker on real data)."
        )
    try:
        state = torch.hub.load_state_dict_from_url(IMAGENET_URL, map_location="cpu", progress=True)
    except OSError as e:  # URLError is an OSError
        raise WeightsUnavailable(
            f"could not download ImageNet weights from the hub ({e}); offline, use --weights-file or --weights none"
        ) from e
    return _clean_state(state)


def _clean_state(state: dict) -> dict:
    # Old torchvision checkpoints use keys like 'norm.1'; torchvision's own loader renames them.
    import re

    pattern = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")
    out = {}
    for k, v in state.items():
        m = pattern.match(k)
        out[m.group(1) + m.group(2) if m else k] = v
    return out


def build_model(
    weights: str = "imagenet",
    *,
    weights_file: str | None = None,
    allow_download: bool = False,
    trainable: Iterable[str] | str = DEFAULT_TRAINABLE,
) -> nn.Module:
    """DenseNet-121, classifier replaced by Linear(1024, 1).

    weights: "imagenet" (local file / hub cache / opt-in download) or "none" (random init).
    trainable: names from BLOCKS, or "all". Frozen blocks get requires_grad False and stay in
    eval mode (see `set_train_mode`), so their BatchNorm statistics do not drift either.
    """
    model = densenet121(weights=None)
    if weights == "imagenet":
        model.load_state_dict(load_imagenet_state(weights_file, allow_download))
    elif weights != "none":
        raise ValueError(f"weights must be 'imagenet' or 'none', got {weights!r}")
    model.classifier = nn.Linear(model.classifier.in_features, 1)
    freeze(model, trainable)
    return model


def resolve_trainable(trainable: Iterable[str] | str) -> tuple[str, ...]:
    if trainable == "all":
        return BLOCKS
    names = tuple(trainable.split(",")) if isinstance(trainable, str) else tuple(trainable)
    unknown = [n for n in names if n not in BLOCKS]
    if unknown:
        raise ValueError(f"unknown block(s) {unknown}; choose from {', '.join(BLOCKS)} or 'all'")
    return names


def freeze(model: nn.Module, trainable: Iterable[str] | str) -> None:
    names = set(resolve_trainable(trainable))
    model.chestaid_frozen = [n for n in BLOCKS if n not in names]  # read by set_train_mode
    for name, module in model.features.named_children():
        module.requires_grad_(name in names)
    model.classifier.requires_grad_(True)


def set_train_mode(model: nn.Module, training: bool = True) -> nn.Module:
    """model.train(), except that frozen blocks stay in eval mode (BatchNorm stats frozen)."""
    model.train(training)
    core = getattr(model, "module", model)  # unwrap DistributedDataParallel
    if training:
        for name in getattr(core, "chestaid_frozen", ()):
            getattr(core.features, name).eval()
    return model


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]
