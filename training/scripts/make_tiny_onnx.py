"""A tiny model with chestaid-demo's I/O contract, for checking inference backends quickly.

The browser's WebGPU path is checked on SwiftShader here, which is far too slow for
DenseNet-121 at 224 (seconds per run); this model runs in milliseconds yet keeps what matters
to a backend: input `input` [N, 3, 64, 64] float32, outputs `logit` [N, 1] and `cam` [N, 8, 8]
from the same LogitAndCam head as the real export (training/chestaid_train/cam.py), BatchNorm,
and DenseNet's growing Concat, ending in one Concat of nine inputs. Nine inputs plus the output
is ten storage buffers: more than the eight per shader stage that broke the JSEP WebGPU Concat
(shared/notes/environment.md), so a backend that mishandles it fails the parity check.

Writes test/fixtures/tiny/tiny.onnx and tiny.json: the seeded input, the PyTorch outputs and
the tolerances, in the reference format the viewer's inference self-check reads
(extension/src/inference/reference.ts).

    /usr/bin/python3 training/scripts/make_tiny_onnx.py [--out test/fixtures/tiny]

Deterministic: the same torch version writes the same file.
"""
from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

from chestaid_train.cam import LogitAndCam  # noqa: E402
from chestaid_train.export import CAM_NAME, INPUT_NAME, LOGIT_NAME, export_logit_and_cam, sha256_file  # noqa: E402

SIZE = 64
CAM_HW = SIZE // 8
SEED = 0
REFERENCE_FORMAT = "chestaid-inference-reference/1"
# fp32 backends reorder sums differently (threads, GPU reductions); observed differences are
# ~1e-6 on wasm and WebGPU, the JSEP Concat bug is off by > 0.1.
TOLERANCES = {"logit": 1e-4, "cam": 1e-4}


class DenseLayer(nn.Module):
    def __init__(self, channels: int, growth: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels)
        self.conv = nn.Conv2d(channels, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        return self.conv(torch.relu(self.norm(torch.cat(features, 1))))


class TinyFeatures(nn.Module):
    """stem (/4) -> dense block of 8 layers -> transition (/2) -> norm5: [N, 40, 8, 8] at 64."""

    def __init__(self, stem: int = 8, growth: int = 4, layers: int = 8):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.layers = nn.ModuleList(DenseLayer(stem + i * growth, growth) for i in range(layers))
        channels = stem + layers * growth
        self.transition = nn.Sequential(
            nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, channels, 1, bias=False), nn.AvgPool2d(2)
        )
        self.norm5 = nn.BatchNorm2d(channels)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [self.stem(x)]
        for layer in self.layers:
            features.append(layer(features))
        return self.norm5(self.transition(torch.cat(features, 1)))


class TinyNet(nn.Module):
    """`features` and `classifier`, the two attributes LogitAndCam reads from DenseNet-121."""

    def __init__(self):
        super().__init__()
        self.features = TinyFeatures()
        self.classifier = nn.Linear(self.features.out_channels, 1)


def build(seed: int = SEED) -> nn.Module:
    torch.manual_seed(seed)
    net = TinyNet()
    # Fresh BatchNorm is the identity in eval mode; random statistics make the folded constants
    # matter, as they do in a trained model.
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(0.0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.2)
        # Mostly positive weights: the map has both positive regions and ReLU-clipped zeros.
        net.classifier.weight.uniform_(-0.5, 1.0)
    return LogitAndCam(net).eval()


def export(model: nn.Module, path: Path) -> None:
    export_logit_and_cam(model, path, SIZE, CAM_HW)


def widest_concat(path: Path) -> int:
    return max(len(n.input) for n in onnx.load(str(path)).graph.node if n.op_type == "Concat")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test/fixtures/tiny")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "tiny.onnx"

    model = build()
    export(model, onnx_path)
    generator = torch.Generator().manual_seed(SEED)
    x = torch.randn(1, 3, SIZE, SIZE, generator=generator)
    with torch.no_grad():
        logit, cam = model(x)

    concat_inputs = widest_concat(onnx_path)
    if concat_inputs < 9:
        raise SystemExit(f"the widest Concat has {concat_inputs} inputs; the check needs >= 9")
    reference = {
        "format": REFERENCE_FORMAT,
        "generator": "training/scripts/make_tiny_onnx.py",
        "torch": torch.__version__,
        "model": {"file": onnx_path.name, "sha256": sha256_file(onnx_path), "bytes": onnx_path.stat().st_size},
        "widest_concat_inputs": concat_inputs,
        "input": {
            "name": INPUT_NAME,
            "shape": list(x.shape),
            "dtype": "float32-le",
            "seed": SEED,
            "base64": base64.b64encode(x.numpy().astype("<f4").tobytes()).decode("ascii"),
        },
        "outputs": {
            LOGIT_NAME: {"shape": list(logit.shape), "data": [float(v) for v in logit.flatten()]},
            CAM_NAME: {"shape": list(cam.shape), "data": [float(v) for v in cam.flatten()]},
        },
        "tolerances": TOLERANCES,
    }
    (args.out / "tiny.json").write_text(json.dumps(reference, indent=1) + "\n")
    size_kb = onnx_path.stat().st_size / 1024
    print(f"{onnx_path}: {size_kb:.1f} KB, logit {float(logit):.6f}, cam max {float(cam.max()):.6f}, "
          f"widest Concat {concat_inputs} inputs")


if __name__ == "__main__":
    main()
