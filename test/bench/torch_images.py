"""The PyTorch eager peer of the worker benchmark (test/bench/worker.mjs): the same DenseNet-121
with the demo ONNX file's weights (torch_peer.load_onnx_weights), scoring the same images the
worker scores, one forward pass each at batch 1, as an eager PyTorch triage script would.

The images arrive as the tensors the worker's preprocessing built (one .f32 file each), so both
sides score identical inputs; each logit is checked against the worker's before anything is timed.

    ready {"torch": ..., "images": N}          once, after loading and checking every logit
    run <threads>  ->  ms [m1, m2, ...]          one round: every image once, milliseconds each
    quit

    /usr/bin/python3 test/bench/torch_images.py MODEL.onnx LIST.json
LIST.json: [{"tensor": "path.f32", "logit": <the worker's logit>}, ...]
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from torch_peer import LOGIT_TOLERANCE, LogitAndCam, build_model, load_onnx_weights, run_requests  # noqa: E402


def main() -> None:
    onnx_path, list_path = Path(sys.argv[1]), Path(sys.argv[2])
    items = json.loads(list_path.read_text())
    model = build_model("none")
    load_onnx_weights(model, onnx_path)
    wrapped = LogitAndCam(model).eval()
    tensors = [torch.from_numpy(np.fromfile(item["tensor"], dtype="<f4").reshape(1, 3, 224, 224).copy()) for item in items]
    worst = 0.0
    with torch.inference_mode():
        for item, x in zip(items, tensors):
            logit = float(wrapped(x)[0].reshape(-1)[0])
            worst = max(worst, abs(logit - item["logit"]))
    if worst > LOGIT_TOLERANCE:
        raise SystemExit(f"PyTorch logits differ from the worker's by up to {worst}: not the same model or inputs")
    print("ready", json.dumps({"torch": torch.__version__, "images": len(items), "worstLogitDiff": worst}), flush=True)
    for _threads in run_requests():
        times = []
        with torch.inference_mode():
            for x in tensors:
                start = time.perf_counter()
                wrapped(x)
                times.append((time.perf_counter() - start) * 1000)
        print("ms", json.dumps(times), flush=True)


if __name__ == "__main__":
    main()
