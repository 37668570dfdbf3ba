"""The PyTorch eager CPU peer of the benchmark: the original study's stack, through the training
workspace (chestaid_train.model builds the same DenseNet-121 the viewer runs).

Weights: the demo ONNX file's own initializers, copied into the torch modules. The exporter folded
each BatchNorm that follows a convolution (norm0, every norm2) into that convolution's weights and
bias; those convolutions get the folded weights and their BatchNorm becomes the identity plus the
folded bias, so the network computes what the ONNX graph computes. The logit is checked against
the expected one before anything is timed.

A line protocol on stdin/stdout, so run.mjs can interleave this peer with the others round by round:
    ready {"logit": ..., "torch": "1.13.0", ...}       once, after loading
    run <threads>  ->  ms <milliseconds>               one forward pass on <threads> intra-op threads
    quit

    /usr/bin/python3 test/bench/torch_peer.py MODEL.onnx INPUT.f32 EXPECTED_LOGIT
"""
from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from chestaid_train.cam import LogitAndCam  # noqa: E402
from chestaid_train.model import build_model  # noqa: E402

# The logit must match the ONNX graph's to this much (float32 summation order differs).
LOGIT_TOLERANCE = 1e-3


def module_path(node_name: str) -> str:
    """'/features/denseblock1/denselayer1/conv1/Conv' -> 'features.denseblock1.denselayer1.conv1'."""
    return ".".join(node_name.strip("/").split("/")[:-1])


def load_onnx_weights(model: torch.nn.Module, onnx_path: Path) -> None:
    graph = onnx.load(str(onnx_path)).graph
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    modules = dict(model.named_modules())
    state = model.state_dict()
    loaded: set[str] = set()

    def put(key: str, value: torch.Tensor) -> None:
        if state[key].shape != value.shape:
            raise ValueError(f"{key}: torch {tuple(state[key].shape)}, onnx {tuple(value.shape)}")
        state[key] = value.to(state[key].dtype)
        loaded.add(key)

    # Initializers that kept their torch names (BatchNorms before a conv, conv2, the classifier).
    for name, value in init.items():
        if name in state:
            put(name, value)
    # Convolutions named by the exporter (onnx::Conv_N): the node name gives the module; a bias
    # means a BatchNorm was folded in, whose parameters then make it the identity plus that bias.
    for node in graph.node:
        if node.op_type != "Conv" or node.input[1] in state:
            continue
        path = module_path(node.name)
        if not isinstance(modules.get(path), torch.nn.Conv2d):
            raise ValueError(f"ONNX Conv {node.name} does not name a torch convolution ({path})")
        put(f"{path}.weight", init[node.input[1]])
        if len(node.input) > 2:
            norm = path[: -len("conv0")] + "norm0" if path.endswith("conv0") else path[: -len("conv1")] + "norm2"
            eps = modules[norm].eps
            channels = init[node.input[2]].shape[0]
            put(f"{norm}.weight", torch.ones(channels))
            put(f"{norm}.bias", init[node.input[2]])
            put(f"{norm}.running_mean", torch.zeros(channels))
            put(f"{norm}.running_var", torch.full((channels,), 1 - eps))
    missing = [k for k in state if k not in loaded and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"no ONNX weights for {len(missing)} torch tensors, e.g. {missing[:3]}")
    model.load_state_dict(state)


def run_requests() -> Iterator[int]:
    """The bench's requests on stdin, one a line: yields the thread count of each "run THREADS",
    with torch already set to it; ends at "quit" or end of input. Shared with torch_images.py so
    both peers speak the same protocol to their Node drivers."""
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            return
        if words[0] != "run":
            raise SystemExit(f"unknown request {line!r}")
        threads = int(words[1])
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        yield threads


def main() -> None:
    onnx_path, input_path, expected = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
    model = build_model("none")
    load_onnx_weights(model, onnx_path)
    wrapped = LogitAndCam(model).eval()
    x = torch.from_numpy(np.fromfile(input_path, dtype="<f4").reshape(1, 3, 224, 224).copy())
    with torch.inference_mode():
        logit = float(wrapped(x)[0].reshape(-1)[0])
    if abs(logit - expected) > LOGIT_TOLERANCE:
        raise SystemExit(f"PyTorch logit {logit} differs from the expected {expected}: the weights did not load as the ONNX graph has them")
    info = {"logit": logit, "torch": torch.__version__, "parallel": torch.__config__.parallel_info().splitlines()[:3]}
    print("ready", json.dumps(info), flush=True)
    for _threads in run_requests():
        with torch.inference_mode():
            start = time.perf_counter()
            wrapped(x)
            ms = (time.perf_counter() - start) * 1000
        print("ms", ms, flush=True)


if __name__ == "__main__":
    main()
