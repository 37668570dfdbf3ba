import os
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(TESTS.parent))

from _netguard import install  # noqa: E402

# In-process: no connection at all, not even loopback.
install(allow_loopback=False)
# Subprocesses (torchrun workers, the CLI) get the loopback-only guard through sitecustomize.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(TESTS / "netguard"), str(TESTS.parent), os.environ.get("PYTHONPATH", "")]
).rstrip(os.pathsep)
# Keep torch from reaching a hub even if a test forgets to pass weights="none".
os.environ.setdefault("TORCH_HOME", str(TESTS / ".torch-home-does-not-exist"))

REPO = TESTS.parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A tiny synthetic set in the Kaggle layout, shared by the slow end-to-end tests."""
    from chestaid_train import synthetic

    root = tmp_path_factory.mktemp("tiny-data")
    synthetic.generate_kaggle_layout(
        root, {"train": (14, 26), "val": (2, 2), "test": (8, 8)}, size=(160, 160), seed=7, images_per_patient=(1, 2)
    )
    return root
