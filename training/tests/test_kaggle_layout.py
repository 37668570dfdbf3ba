"""The real Kaggle layout and naming, end to end through the command line (issue 16, item 2).

The official test folder numbers its children independently of train's, so `person1`, `IM-0001`
or `NORMAL2-IM-0007` can name different children in train and test. The synthetic generator numbers
patients continuously and never shows it; this fixture does: tiny JPEGs you could mistake for the
real folders, with colliding ids, a child with images in both official train and val, and the
ImageNet weights read from a local file, as a hospital's ML engineer would run it.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chestaid_train import data, manifest, pipeline
from chestaid_train.resize_cache import ResizeCache, decode_and_resize

TRAINING = Path(__file__).resolve().parents[1]
IMAGE_SIZE = 64  # the model's input side for this run: the smallest that keeps the test quick

# (official folder, class) -> file stems, in the real naming patterns.
LAYOUT = {
    ("train", "PNEUMONIA"): ["person1_bacteria_1", "person1_bacteria_2", "person2_bacteria_3", "person3_virus_7",
                             "person4_bacteria_10", "person5_virus_11", "person6_bacteria_12"],
    ("train", "NORMAL"): ["IM-0115-0001", "IM-0117-0001", "IM-0119-0001", "NORMAL2-IM-0007-0001",
                          "NORMAL2-IM-0010-0001", "NORMAL2-IM-0012-0001"],
    ("val", "PNEUMONIA"): ["person6_bacteria_13", "person1946_bacteria_4874"],  # person6: also in train
    ("val", "NORMAL"): ["NORMAL2-IM-1427-0001", "NORMAL2-IM-1430-0001"],
    # The test folder's own numbering: person1, person3 and NORMAL2-IM-0007 also occur in train.
    ("test", "PNEUMONIA"): ["person1_virus_6", "person3_bacteria_10", "person100_bacteria_475"],
    ("test", "NORMAL"): ["IM-0001-0001", "IM-0003-0001", "NORMAL2-IM-0007-0001"],
}
EXPECTED_OVERLAP = {"train_and_val": 1, "train_val_and_test": 3}


def write_kaggle_layout(root: Path, seed: int = 0) -> list[Path]:
    """24 small grey JPEGs (80 x 96, so the resize does real work); pneumonia ones carry a bright patch."""
    rng = np.random.default_rng(seed)
    paths = []
    for (split, cls), stems in LAYOUT.items():
        folder = root / "chest_xray" / split / cls
        folder.mkdir(parents=True)
        for stem in stems:
            grey = rng.integers(30, 110, (80, 96)).astype(np.uint8)
            if cls == "PNEUMONIA":
                grey[20:60, 10:40] += 120
            Image.fromarray(grey).save(folder / f"{stem}.jpeg", quality=90)
            paths.append(folder / f"{stem}.jpeg")
    return paths


@pytest.fixture(scope="module")
def kaggle_run(tmp_path_factory):
    import torch
    from torchvision.models import densenet121

    base = tmp_path_factory.mktemp("kaggle")
    sources = write_kaggle_layout(base / "data")
    # A DenseNet-121 state dict in torchvision's format stands in for the ImageNet file: the
    # weights path is exercised as on a hospital machine, with no download.
    weights = base / "densenet121-a639ec97.pth"
    torch.manual_seed(0)
    torch.save(densenet121(weights=None).state_dict(), weights)
    res = subprocess.run(
        [sys.executable, "-m", "chestaid_train", "run", "--data", str(base / "data"), "--model-id", "kaggle-layout-test",
         "--run-dir", str(base / "run"), "--model-dir", str(base / "model"),
         "--weights", "imagenet", "--weights-file", str(weights), "--train-blocks", "norm5",
         "--image-size", str(IMAGE_SIZE), "--epochs", "1", "--batch-size", "32", "--num-workers", "0",
         "--val-fraction", "0.5", "--bootstrap", "20", "--no-progress", "--no-fp16", "--allow-unproven-threshold"],
        cwd=TRAINING, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return {"base": base, "sources": sources, "stdout": res.stdout}


def test_colliding_ids_across_official_folders_are_reported_not_refused(kaggle_run):
    man = json.loads((kaggle_run["base"] / "model" / "manifest.json").read_text())
    manifest.validate(man)
    assert man["data"]["official_id_overlap"] == EXPECTED_OVERLAP
    assert man["data"]["dataset"] == pipeline.KAGGLE_NAME and man["data"]["synthetic"] is False
    assert man["training"]["weights"] == "imagenet"
    assert man["input"]["size"] == {"height": IMAGE_SIZE, "width": IMAGE_SIZE}
    assert man["outputs"]["cam"]["shape"][1:] == [IMAGE_SIZE // 32] * 2  # evaluated at the trained size
    assert "3 patient ids of the official test folder also occur in train/val" in kaggle_run["stdout"]
    assert "train/val and test 3" in (kaggle_run["base"] / "model" / "MODEL_CARD.md").read_text()


def test_the_official_test_folder_is_the_test_split_whatever_its_names_say(kaggle_run):
    splits = data.load_splits(kaggle_run["base"] / "run" / "splits.json")
    data.assert_no_patient_leak(splits)
    assert sorted(Path(r.path).name for r in splits["test"]) == sorted(
        f"{stem}.jpeg" for (split, _), stems in LAYOUT.items() if split == "test" for stem in stems)
    sides = {name for name, part in splits.items() for r in part if r.patient == "person6"}
    assert len(sides) == 1 and sides != {"test"}  # the child in official train and val stays on one side


def test_every_image_was_resized_once_into_the_run_cache(kaggle_run):
    cache = ResizeCache(kaggle_run["base"] / "run" / "resize-cache")
    assert len(list(cache.folder.glob("*.npy"))) == len(kaggle_run["sources"])
    for source in kaggle_run["sources"]:
        np.testing.assert_array_equal(np.load(cache.entry(source, IMAGE_SIZE, data.load_grey)),
                                      decode_and_resize(source, IMAGE_SIZE, data.load_grey))


def test_an_image_size_too_small_for_densenet_is_refused_by_value(capsys):
    import argparse

    from chestaid_train.config import add_train_args

    parser = argparse.ArgumentParser()
    add_train_args(parser)
    assert parser.parse_args(["--image-size", "32"]).image_size == 32
    with pytest.raises(SystemExit):
        parser.parse_args(["--image-size", "16"])
    assert "at least 32 px, got 16" in capsys.readouterr().err
