import json
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chestaid_train.synthetic import (
    GENERATOR_VERSION,
    SyntheticCase,
    generate_kaggle_layout,
    render_case,
    sample_patient,
)

# The patterns data.py parses patient ids with; the layout must satisfy them.
PNEUMONIA_NAME = re.compile(r"^(person\d+)_(bacteria|virus)_\d+\.jpe?g$")
NORMAL_NAME = re.compile(r"^((?:NORMAL2-)?IM-\d+)-\d+\.jpe?g$")

SMALL = (128, 128)
COUNTS = {"train": (5, 7), "val": (2, 2), "test": (3, 4)}


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def patient_of(name: str) -> str:
    match = PNEUMONIA_NAME.match(name) or NORMAL_NAME.match(name)
    assert match, name
    return match.group(1)


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("kaggle")
    index = generate_kaggle_layout(root, COUNTS, size=SMALL, seed=7, images_per_patient=(1, 3))
    return root, index


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- render_case ----------------------------------------------------------------------------


def test_same_seed_renders_identical_images_and_masks():
    a = render_case(rng(3), 1, SMALL)
    b = render_case(rng(3), 1, SMALL)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.mask, b.mask)
    assert a.patient_id == b.patient_id


def test_different_seeds_render_different_images():
    assert not np.array_equal(render_case(rng(3), 0, SMALL).image, render_case(rng(4), 0, SMALL).image)


@pytest.mark.parametrize("size", [(128, 128), (120, 150), (160, 140)])
@pytest.mark.parametrize("label", [0, 1])
def test_renders_a_uint8_image_of_the_requested_height_and_width(size, label):
    case = render_case(rng(1), label, size)
    assert isinstance(case, SyntheticCase)
    assert case.image.dtype == np.uint8 and case.image.shape == size
    assert case.label == label
    assert case.lung_field.shape == size


def test_normal_case_has_no_mask():
    assert render_case(rng(5), 0, SMALL).mask is None


@pytest.mark.parametrize("label", [-1, 2, "1"])
def test_rejects_a_label_other_than_0_or_1(label):
    with pytest.raises(ValueError, match=str(label)):
        render_case(rng(0), label, SMALL)


def test_rejects_a_size_too_small_to_hold_the_anatomy():
    with pytest.raises(ValueError, match="16"):
        render_case(rng(0), 0, (16, 64))


@pytest.mark.parametrize("seed", range(24))
def test_pneumonia_mask_is_binary_non_empty_and_inside_a_lung_field(seed):
    case = render_case(rng(seed), 1, (160, 160))
    mask = case.mask
    assert mask.dtype == np.uint8 and mask.shape == case.image.shape
    assert set(np.unique(mask)) <= {0, 255}
    lesion = mask > 0
    # Lesion radius is 8-18 % of the width, clipped to the lung and thresholded at 25 % of peak.
    assert 0.005 <= lesion.mean() <= 0.2
    assert (case.lung_field[lesion] > 0.05).all()


def test_mean_brightness_does_not_separate_the_classes():
    roc_auc_score = pytest.importorskip("sklearn.metrics").roc_auc_score
    labels = [i % 2 for i in range(200)]
    means = [render_case(rng(1000 + i), label, (112, 112)).image.mean() for i, label in enumerate(labels)]
    assert 0.35 <= roc_auc_score(labels, means) <= 0.65


def test_consolidation_is_denser_than_the_same_region_of_the_same_anatomy_without_it():
    gains = []
    for seed in range(12):
        patient = sample_patient(rng(seed))
        normal = render_case(rng(100 + seed), 0, SMALL, patient)
        pneumonia = render_case(rng(100 + seed), 1, SMALL, patient)
        lesion = pneumonia.mask > 0
        gains.append(pneumonia.image[lesion].mean() - normal.image[lesion].mean())
    assert min(gains) > 0
    assert np.median(gains) > 10


def test_images_of_one_patient_look_more_alike_than_images_of_different_patients():
    def corr(a, b):
        return np.corrcoef(a.image.ravel().astype(float), b.image.ravel().astype(float))[0, 1]

    patients = [sample_patient(rng(seed)) for seed in range(6)]
    views = [[render_case(rng(10 * i + j), 0, SMALL, p) for j in range(2)] for i, p in enumerate(patients)]
    same = np.mean([corr(a, b) for a, b in views])
    different = np.mean([corr(views[i][0], views[i + 1][1]) for i in range(len(views) - 1)])
    assert same > different


# --- generate_kaggle_layout -----------------------------------------------------------------


def test_layout_has_the_kaggle_tree_names_and_counts(layout):
    root, _ = layout
    for split, (n_normal, n_pneumonia) in COUNTS.items():
        normal = sorted(p.name for p in (root / "chest_xray" / split / "NORMAL").iterdir())
        pneumonia = sorted(p.name for p in (root / "chest_xray" / split / "PNEUMONIA").iterdir())
        assert len(normal) == n_normal and len(pneumonia) == n_pneumonia
        assert all(NORMAL_NAME.match(name) for name in normal)
        assert all(PNEUMONIA_NAME.match(name) for name in pneumonia)


def test_layout_images_are_grayscale_jpegs_with_slightly_varying_aspect(layout):
    root, _ = layout
    shapes = set()
    for path in (root / "chest_xray").rglob("*.jpeg"):
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "L"
            shapes.add(im.size)
            width, height = im.size
            assert 0.85 <= width / height <= 1.2
    assert len(shapes) > 1


def test_every_pneumonia_image_has_a_same_size_mask_and_normals_have_none(layout):
    root, _ = layout
    for split in COUNTS:
        for path in (root / "chest_xray" / split / "PNEUMONIA").iterdir():
            mask_path = root / "masks" / split / "PNEUMONIA" / f"{path.stem}.png"
            with Image.open(path) as im, Image.open(mask_path) as mask:
                assert mask.size == im.size
                assert np.asarray(mask).max() == 255
        masks = {p.stem for p in (root / "masks" / split / "PNEUMONIA").iterdir()}
        images = {p.stem for p in (root / "chest_xray" / split / "PNEUMONIA").iterdir()}
        assert masks == images
    assert not list((root / "masks").rglob("*IM-*"))


def test_patients_never_straddle_splits_and_some_have_several_images(layout):
    root, _ = layout
    splits = defaultdict(set)
    images = defaultdict(int)
    for path in (root / "chest_xray").rglob("*.jpeg"):
        patient = patient_of(path.name)
        splits[patient].add(path.parts[-3])
        images[patient] += 1
    assert all(len(s) == 1 for s in splits.values())
    assert max(images.values()) > 1


def test_index_records_version_seed_size_counts_and_the_synthetic_note(layout):
    root, index = layout
    on_disk = json.loads((root / "synthetic.json").read_text())
    assert on_disk == index
    assert index["version"] == GENERATOR_VERSION
    assert index["seed"] == 7 and index["size"] == list(SMALL)
    assert index["counts"] == {k: list(v) for k, v in COUNTS.items()}
    assert "synthetic data, not real radiographs" in index["note"]
    assert len(index["images"]) == sum(sum(v) for v in COUNTS.values())
    for record in index["images"]:
        assert (root / record["file"]).is_file()
        assert record["patient_id"] == patient_of(Path(record["file"]).name)
        assert (record["mask"] is not None) == (record["label"] == 1)


def test_layout_is_byte_identical_for_a_seed_whatever_the_worker_count(layout, tmp_path):
    root, _ = layout
    again = tmp_path / "again"
    generate_kaggle_layout(again, COUNTS, size=SMALL, seed=7, images_per_patient=(1, 3), workers=2)
    assert files_under(again) == files_under(root)


def test_another_seed_gives_other_images(tmp_path):
    a = generate_kaggle_layout(tmp_path / "a", {"val": (1, 1)}, size=SMALL, seed=1)
    b = generate_kaggle_layout(tmp_path / "b", {"val": (1, 1)}, size=SMALL, seed=2)
    assert files_under(tmp_path / "a") != files_under(tmp_path / "b")
    assert a["seed"] != b["seed"]


def test_layout_refuses_a_root_that_already_holds_images(layout):
    root, _ = layout
    with pytest.raises(FileExistsError, match="chest_xray"):
        generate_kaggle_layout(root, {"val": (1, 0)}, size=SMALL)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"counts": {"bogus": (1, 1)}}, "bogus"),
        ({"counts": {"val": (1, -2)}}, "-2"),
        ({"counts": {"val": (1, 1)}, "images_per_patient": (3, 2)}, r"\(3, 2\)"),
        ({"counts": {"val": (1, 1)}, "workers": 0}, "0"),
        ({"counts": {"val": (1, 1)}, "seed": -5}, "-5"),
    ],
)
def test_layout_rejects_bad_arguments_naming_them(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_kaggle_layout(tmp_path, size=SMALL, **kwargs)
    assert not (tmp_path / "chest_xray").exists()
