import json

import numpy as np
import pytest

from chestaid_train import data


@pytest.mark.parametrize(
    "name, patient",
    [
        ("person1_bacteria_1.jpeg", "person1"),
        ("person1946_virus_3386.jpeg", "person1946"),
        ("IM-0115-0001.jpeg", "IM-0115"),
        ("NORMAL2-IM-1427-0001.jpeg", "NORMAL2-IM-1427"),
        ("NORMAL2-IM-0012-0001.JPG", "NORMAL2-IM-0012"),
    ],
)
def test_reads_the_patient_id_from_kaggle_file_names(name, patient):
    assert data.patient_id_from_filename(name) == patient


def test_refuses_a_file_name_without_a_patient_id():
    with pytest.raises(ValueError, match="scan_0001.jpeg"):
        data.patient_id_from_filename("scan_0001.jpeg")


def _records(n_patients=300, seed=0):
    rng = np.random.default_rng(seed)
    recs, counter = [], 0
    for p in range(n_patients):
        label = int(rng.random() < 0.7)
        split = "val" if p % 97 == 0 else "train"
        for i in range(int(rng.integers(1, 6))):
            counter += 1
            name = f"person{p}_bacteria_{counter}.jpeg" if label else f"IM-{p:04d}-{i + 1:04d}.jpeg"
            recs.append(data.Record(f"chest_xray/{split}/x/{name}", label, data.patient_id_from_filename(name), split))
    for p in range(1000, 1060):
        recs.append(data.Record(f"chest_xray/test/x/IM-{p}-0001.jpeg", p % 2, f"IM-{p}", "test"))
    return recs


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_splits_by_patient_without_leakage(seed):
    recs = _records(seed=seed)
    splits = data.make_splits(recs, seed=seed)
    data.assert_no_patient_leak(splits)
    assert sum(len(v) for v in splits.values()) == len(recs)
    pool = sum(1 for r in recs if r.official_split != "test")
    val = len(splits["calib"]) + len(splits["val_report"])
    assert abs(val / pool - 0.15) < 0.03
    assert {r.official_split for r in splits["test"]} == {"test"}


def test_the_leak_check_catches_a_patient_in_two_splits():
    r = data.Record("a/person1_virus_1.jpeg", 1, "person1", "train")
    with pytest.raises(AssertionError, match="person1"):
        data.assert_no_patient_leak({"train": [r], "test": [r]})


def test_splits_are_reproducible_and_round_trip_through_disk(tmp_path):
    recs = _records()
    a, b = data.make_splits(recs, seed=3), data.make_splits(recs, seed=3)
    assert a == b
    assert data.make_splits(recs, seed=4) != a
    data.save_splits(tmp_path / "splits.json", a, seed=3, data_root=tmp_path)
    assert data.load_splits(tmp_path / "splits.json") == a
    assert json.loads((tmp_path / "splits.json").read_text())["summary"]["train"]["images"] == len(a["train"])


def test_default_fractions_give_the_original_study_sizes_on_kaggle_counts():
    # Kaggle: train 1,341 normal + 3,875 pneumonia images, val 8 + 8; about 1.5 images a patient.
    rng = np.random.default_rng(0)
    recs, counter = [], 0
    for label, total, prefix in ((0, 1349, "IM-"), (1, 3883, "person")):
        made, p = 0, 0
        while made < total:
            k = min(int(rng.integers(1, 3)), total - made)
            for i in range(k):
                counter += 1
                name = f"person{p}_virus_{counter}.jpeg" if label else f"IM-{p:04d}-{i + 1:04d}.jpeg"
                recs.append(data.Record(name, label, data.patient_id_from_filename(name), "train"))
            made, p = made + k, p + 1
    recs += [data.Record(f"IM-9{i}-0001.jpeg", i % 2, f"IM-9{i}", "test") for i in range(624)]
    s = data.make_splits(recs)
    # The original study's train 4,434 is now train + early_stop (early stopping's own 10 %).
    assert abs(len(s["train"]) + len(s["early_stop"]) - 4434) < 40
    assert abs(len(s["calib"]) + len(s["val_report"]) - 782) < 40


def test_dataset_yields_normalised_tensors_and_labels(tiny_dataset):
    recs = data.scan_kaggle(tiny_dataset)
    ds = data.XrayDataset(tiny_dataset, recs[:3])
    x, y = ds[0]
    assert tuple(x.shape) == (3, 224, 224)
    assert float(y) in (0.0, 1.0)
    from chestaid_train.preprocess import IMAGENET_MEAN as m, IMAGENET_STD as sd

    grey = [x[c].numpy() * sd[c] + m[c] for c in range(3)]  # the channels come from one grey image
    np.testing.assert_allclose(grey[0], grey[1], atol=1e-5)
    np.testing.assert_allclose(grey[0], grey[2], atol=1e-5)
    assert len(data.scan_kaggle(tiny_dataset)) == 14 + 26 + 4 + 16


def _kaggle_records(split_names):
    """Records from (official split, file name) pairs, labelled by the name as Kaggle's folders are."""
    return [data.Record(f"chest_xray/{split}/{'NORMAL' if name.upper().startswith(('IM', 'NORMAL2')) else 'PNEUMONIA'}/{name}",
                        0 if name.upper().startswith(("IM", "NORMAL2")) else 1, data.patient_id_from_filename(name), split)
            for split, name in split_names]


# The real naming, with the test folder's own numbering colliding with train's (person1, IM-0001,
# NORMAL2-IM-0001), and one child (person3) with images in both train and val.
KAGGLE_NAMES = (
    [("train", f"person{p}_bacteria_{p}.jpeg") for p in range(1, 9)] + [("train", "person1_virus_6.jpeg")]
    + [("train", f"IM-{p:04d}-0001.jpeg") for p in range(1, 7)] + [("train", "NORMAL2-IM-0001-0001.jpeg")]
    + [("val", "person3_virus_17.jpeg"), ("val", "person9_bacteria_30.jpeg"), ("val", "IM-0007-0001.jpeg")]
    + [("test", "person1_virus_6.jpeg"), ("test", "person2_bacteria_2.jpeg"), ("test", "person100_virus_1.jpeg"),
       ("test", "IM-0001-0001.jpeg"), ("test", "NORMAL2-IM-0001-0001.jpeg"), ("test", "IM-0100-0001.jpeg")]
)


def test_ids_shared_with_the_official_test_folder_are_counted_not_refused():
    recs = _kaggle_records(KAGGLE_NAMES)
    splits = data.make_splits(recs, val_fraction=0.3, seed=0)
    data.assert_no_patient_leak(splits)
    assert sorted(r.path for r in splits["test"]) == sorted(r.path for r in recs if r.official_split == "test")
    assert data.official_id_overlap(recs) == {"train_and_val": 1, "train_val_and_test": 4}


@pytest.mark.parametrize("seed", range(6))
def test_a_child_in_official_train_and_val_stays_on_one_side(seed):
    splits = data.make_splits(_kaggle_records(KAGGLE_NAMES), val_fraction=0.3, seed=seed)
    where = {name for name, part in splits.items() for r in part if r.patient == "person3"}
    assert len(where) == 1


def test_the_test_folder_counts_its_own_patients():
    recs = _kaggle_records(KAGGLE_NAMES)
    summary = data.split_summary(data.make_splits(recs, val_fraction=0.3, seed=0))
    assert summary["test"] == {"images": 6, "patients": 6, "pneumonia": 3}
    pool_patients = {r.patient for r in recs if r.official_split != "test"}
    assert sum(summary[s]["patients"] for s in ("train", "early_stop", "calib", "val_report")) == len(pool_patients)


def test_a_record_from_an_unknown_official_split_is_refused_by_name():
    with pytest.raises(ValueError, match="'holdout'"):
        data.Record("x/person1_virus_1.jpeg", 1, "person1", "holdout").patient_key


def test_early_stopping_gets_its_own_patients_carved_from_train_not_the_calibration_split():
    recs = _records(seed=5)
    splits = data.make_splits(recs, seed=5)
    data.assert_no_patient_leak(splits)
    rest = len(splits["train"]) + len(splits[data.EARLY_STOP_SPLIT])
    assert abs(len(splits[data.EARLY_STOP_SPLIT]) / rest - data.EARLY_STOP_FRACTION) < 0.03
    assert {r.official_split for r in splits[data.EARLY_STOP_SPLIT]} <= {"train", "val"}
    assert {0, 1} <= {r.label for r in splits[data.EARLY_STOP_SPLIT]}


def test_carving_early_stop_leaves_calib_val_report_and_test_as_the_seed_made_them():
    # The carve comes last from the same generator, so the calibration and report splits of a
    # seed are those of the three-way split before it existed.
    import random

    recs = _records(seed=6)
    rng = random.Random(6)
    pool = [r for r in recs if r.official_split in ("train", "val")]
    rest, val = data._split_patients(pool, 0.15, rng)
    val_report, calib = data._split_patients(val, 0.5, rng)
    splits = data.make_splits(recs, seed=6)
    assert splits["calib"] == calib and splits["val_report"] == val_report
    assert sorted(splits["train"] + splits[data.EARLY_STOP_SPLIT], key=lambda r: r.path) == sorted(rest, key=lambda r: r.path)
