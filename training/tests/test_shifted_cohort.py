"""The darkened test cohort of the recalibration e2e test (training/scripts/make_shifted_cohort.py)."""

import csv
import importlib.util
import json

import numpy as np
import pydicom
import pytest

from conftest import REPO


def _script():
    path = REPO / "training" / "scripts" / "make_shifted_cohort.py"
    spec = importlib.util.spec_from_file_location("make_shifted_cohort", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _grey(path):
    ds = pydicom.dcmread(str(path))
    return ds, ds.pixel_array.astype(np.float64) / ((1 << int(ds.BitsStored)) - 1)


def test_writes_labelled_darkened_cr_studies_and_the_admin_csv(tmp_path):
    mod = _script()
    dicom, labels = tmp_path / "dicom", tmp_path / "labels"
    assert mod.main(["--dicom-dir", str(dicom), "--labels-dir", str(labels), "--n", "4", "--gain", "0.5", "--seed", "3"]) == 0
    index = json.loads((labels / "index.json").read_text())
    assert [s["label"] for s in index["studies"]] == ["NORMAL", "PNEUMONIA", "NORMAL", "PNEUMONIA"]
    rows = list(csv.DictReader((labels / "cohort.csv").open()))
    assert [r["SOPInstanceUID"] for r in rows] == [s["SOPInstanceUID"] for s in index["studies"]]
    assert {r["label"] for r in rows} == {"normal", "pneumonia"}
    for study in index["studies"]:
        ds, grey = _grey(dicom / study["file"])
        assert ds.Modality == "CR" and ds.SOPInstanceUID == study["SOPInstanceUID"]
        assert "darkened" in ds.StudyDescription and "not a real patient" in ds.ImageComments
        # Gain 0.5: nothing brighter than half the range (plus rounding) is left.
        assert grey.max() <= 0.5 + 1 / 255
        # Ground truth never goes into the DICOM.
        assert "PNEUMONIA" not in str(ds).upper() and "NORMAL" not in str(ds).upper()


def test_is_deterministic_and_a_second_run_writes_nothing(tmp_path):
    mod = _script()
    args = ["--dicom-dir", str(tmp_path / "d"), "--labels-dir", str(tmp_path / "l"), "--n", "2", "--seed", "5"]
    mod.main(args)
    first = (tmp_path / "d" / "shifted-001.dcm").read_bytes()
    stamp = (tmp_path / "l" / "index.json").stat().st_mtime_ns
    mod.main(args)
    assert (tmp_path / "l" / "index.json").stat().st_mtime_ns == stamp
    (tmp_path / "l" / "index.json").unlink()
    mod.main(args)
    assert (tmp_path / "d" / "shifted-001.dcm").read_bytes() == first


@pytest.mark.parametrize("bad", [["--n", "3"], ["--gain", "0"], ["--gain", "1.5"]])
def test_refuses_bad_arguments(tmp_path, bad):
    with pytest.raises(SystemExit):
        _script().main(["--dicom-dir", str(tmp_path / "d"), "--labels-dir", str(tmp_path / "l"), *bad])
