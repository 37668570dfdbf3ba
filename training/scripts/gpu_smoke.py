"""GPU check of the training workspace, run on a lent GPU machine (torch 2.x) in one go:

1. generate a synthetic set at full size (the Kaggle layout, 320 px images, 224 px model input);
2. train DenseNet-121 with AMP (all blocks) for a few epochs, then one epoch in fp32 and one with
   the default partial fine-tuning, to report images/s and epoch time for each;
3. export ONNX with torch 2.x and check it against PyTorch with onnxruntime, and the exported
   CAM against autograd Grad-CAM.

Prints one JSON document (also written to $OUT/gpu_smoke.json when OUT is set).
usage: python3 scripts/gpu_smoke.py [--scale small|full]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from chestaid_train import cam, export, model as model_lib, synthetic  # noqa: E402
from chestaid_train.train import TrainConfig, load_checkpoint, train  # noqa: E402

SCALES = {
    "small": dict(counts={"train": (12, 28), "val": (2, 2), "test": (4, 4)}, epochs=1, batch=8, workers=0),
    "full": dict(counts={"train": (1000, 2600), "val": (8, 8), "test": (100, 100)}, epochs=3, batch=128, workers=12),
}


def run_training(name, root, work, s, **overrides):
    cfg = TrainConfig(data_root=str(root), out_dir=str(work / name), epochs=s["epochs"], batch_size=s["batch"],
                      lr=1e-3, weights="none", trainable="all", num_workers=s["workers"], progress=False, patience=99)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    t0 = time.perf_counter()
    result = train(cfg)
    return {"config": {k: getattr(cfg, k) for k in ("epochs", "batch_size", "amp", "trainable", "num_workers")},
            "wall_seconds": round(time.perf_counter() - t0, 2), "history": result["history"],
            "checkpoint": str(result["checkpoint"])}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=SCALES, default="full")
    ap.add_argument("--work", default="/tmp/chestaid-gpu-smoke")
    args = ap.parse_args()
    s = SCALES[args.scale]
    work = Path(args.work)
    report = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
              "cuda": torch.cuda.is_available(),
              "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
    t0 = time.perf_counter()
    info = synthetic.generate_kaggle_layout(work / "data", s["counts"], seed=11, workers=max(1, (os.cpu_count() or 2) - 2))
    report["synthetic_seconds"] = round(time.perf_counter() - t0, 2)
    report["synthetic_images"] = sum(a + b for a, b in s["counts"].values())

    report["amp_all_blocks"] = run_training("amp", work / "data", work, s)
    report["fp32_all_blocks"] = run_training("fp32", work / "data", work, {**s, "epochs": 1}, amp=False)
    report["amp_partial_default_blocks"] = run_training(
        "partial", work / "data", work, {**s, "epochs": 1}, trainable=",".join(model_lib.DEFAULT_TRAINABLE))

    net = load_checkpoint(Path(report["amp_all_blocks"]["checkpoint"]))
    onnx_path = export.export_onnx(net, work / "model.onnx")
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        logit, cam_map = cam.LogitAndCam(net)(x)
    grad = cam.gradcam_autograd(net, x)
    report["cam_vs_autograd_max_abs"] = float((cam_map - grad).abs().max())
    report["onnx"] = export.describe(onnx_path)
    try:
        import onnxruntime as ort

        sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        o_logit, o_cam = sess.run(None, {"input": x.numpy()})
        report["onnxruntime"] = {"version": ort.__version__,
                                 "logit_max_abs": float(np.abs(o_logit - logit.numpy()).max()),
                                 "cam_max_abs": float(np.abs(o_cam - cam_map.numpy()).max())}
    except ImportError:
        report["onnxruntime"] = "not installed"
    text = json.dumps(report, indent=1, default=str)
    print(text)
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "gpu_smoke.json").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
