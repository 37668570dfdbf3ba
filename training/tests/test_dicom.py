import re

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

from chestaid_train.dicom import (  # noqa: E402
    CR_IMAGE_STORAGE,
    SYNTHETIC_NOTE,
    stored_to_display_u8,
    stored_to_unit_float,
    voi_lut_linear,
    write_cr_study,
)
from chestaid_train.synthetic import render_case  # noqa: E402

UID_SYNTAX = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    # A rendered radiograph with every grey level appended, so round-trips cover 0..255.
    case = render_case(np.random.default_rng(11), 1, (96, 80))
    ramp = np.tile(np.arange(256, dtype=np.uint8).reshape(4, 64), (1, 2))[:, :80]
    ramp = np.concatenate([ramp, np.arange(256, dtype=np.uint8)[:80][None]], axis=0)
    return np.concatenate([case.image, ramp], axis=0)


def write(tmp_path, image, name="study.dcm", **kwargs):
    kwargs.setdefault("patient_index", 1)
    kwargs.setdefault("seed", 0)
    info = write_cr_study(tmp_path / name, image, **kwargs)
    return info, pydicom.dcmread(info["path"], force=False)


def test_written_file_is_a_valid_part10_cr_file(tmp_path, image):
    info, ds = write(tmp_path, image)
    raw = (tmp_path / "study.dcm").read_bytes()
    assert raw[:128] == b"\0" * 128 and raw[128:132] == b"DICM"
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPClassUID == CR_IMAGE_STORAGE
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID == info["SOPInstanceUID"]
    assert ds.SOPClassUID == CR_IMAGE_STORAGE
    assert not ds.is_implicit_VR and ds.is_little_endian


def test_written_file_carries_the_cr_chest_pa_attributes(tmp_path, image):
    info, ds = write(tmp_path, image, patient_index=7, study_date="20260315")
    assert ds.Modality == "CR"
    assert str(ds.PatientName) == "SYNTH^P0007" and ds.PatientID == "SYNTH-P0007"
    assert re.fullmatch(r"\d{8}", ds.PatientBirthDate) and ds.PatientSex in ("M", "F")
    assert ds.StudyDate == "20260315" and re.fullmatch(r"\d{6}", ds.StudyTime)
    assert ds.AccessionNumber == info["AccessionNumber"] and len(ds.AccessionNumber) <= 16
    assert ds.StudyDescription == "CHEST PA (synthetic)"
    assert ds.SeriesDescription
    assert ds.BodyPartExamined == "CHEST" and ds.ViewPosition == "PA"
    assert (ds.Rows, ds.Columns) == image.shape
    assert ds.SamplesPerPixel == 1 and ds.PhotometricInterpretation == "MONOCHROME2"
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 12, 11, 0)
    assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (1.0, 0.0)
    assert (float(ds.WindowCenter), float(ds.WindowWidth)) == (2048.0, 4096.0)
    # About 34 cm across, so the chest is about 30 cm wide.
    assert float(ds.PixelSpacing[0]) * ds.Columns == pytest.approx(340.0, rel=1e-3)
    assert list(ds.ImagerPixelSpacing) == list(ds.PixelSpacing)
    assert ds.BurnedInAnnotation == "NO"
    assert ds.ImageComments == SYNTHETIC_NOTE and ds.DeidentificationMethod == SYNTHETIC_NOTE


@pytest.mark.parametrize("rescale", [(1.0, 0.0), (0.5, -1024.0), (2.0, 7.25)])
@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
@pytest.mark.parametrize("bits", [8, 10, 12, 16])
def test_display_pipeline_gives_back_the_original_image(tmp_path, image, bits, photometric, rescale):
    _, ds = write(tmp_path, image, bits_stored=bits, photometric=photometric, rescale=rescale)
    assert ds.BitsStored == bits and ds.HighBit == bits - 1
    assert int(ds.pixel_array.max()) <= (1 << bits) - 1
    shown = stored_to_display_u8(ds)
    assert shown.dtype == np.uint8
    assert np.abs(shown.astype(int) - image.astype(int)).max() <= 1


def test_monochrome1_stores_inverted_values(tmp_path, image):
    _, mono2 = write(tmp_path, image, name="m2.dcm")
    _, mono1 = write(tmp_path, image, name="m1.dcm", photometric="MONOCHROME1")
    assert np.array_equal(mono1.pixel_array.astype(int), 4095 - mono2.pixel_array.astype(int))
    assert np.array_equal(stored_to_display_u8(mono1), stored_to_display_u8(mono2))


def test_unit_float_is_float32_within_zero_and_one(tmp_path, image):
    _, ds = write(tmp_path, image, bits_stored=10)
    y = stored_to_unit_float(ds)
    assert y.dtype == np.float32 and y.shape == image.shape
    assert y.min() == 0.0 and y.max() == 1.0


@pytest.mark.parametrize("bits", [10, 16])
def test_without_a_window_the_full_stored_range_is_shown(tmp_path, image, bits):
    _, ds = write(tmp_path, image, bits_stored=bits, rescale=(0.5, -1024.0))
    del ds.WindowCenter
    del ds.WindowWidth
    assert np.abs(stored_to_display_u8(ds).astype(int) - image.astype(int)).max() <= 1


def test_writing_does_not_mutate_the_input_image(tmp_path, image):
    before = image.copy()
    write(tmp_path, image, photometric="MONOCHROME1", bits_stored=16)
    assert np.array_equal(image, before)


def test_label_hint_is_returned_but_never_written(tmp_path, image):
    info, ds = write(tmp_path, image, label_hint="PNEUMONIA-ground-truth")
    assert info["label_hint"] == "PNEUMONIA-ground-truth"
    raw = (tmp_path / "study.dcm").read_bytes()
    assert b"PNEUMONIA" not in raw.upper() and b"NORMAL" not in raw.upper()
    assert "PNEUMONIA" not in ds.SeriesDescription.upper()


def test_uids_are_deterministic_for_a_seed_and_unique_across_studies(tmp_path, image):
    kinds = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")
    first, _ = write(tmp_path, image, name="a.dcm", seed=3, patient_index=1)
    again, _ = write(tmp_path, image, name="b.dcm", seed=3, patient_index=1)
    assert [first[k] for k in kinds] == [again[k] for k in kinds]

    uids = []
    for seed, patient, study in [(3, 1, 0), (3, 2, 0), (4, 1, 0), (3, 1, 1), (31, 1, 0), (3, 11, 0)]:
        info, _ = write(tmp_path, image, name="c.dcm", seed=seed, patient_index=patient, study_index=study)
        uids += [info[k] for k in kinds]
    assert len(set(uids)) == len(uids)
    assert all(len(uid) <= 64 and UID_SYNTAX.match(uid) for uid in uids)


@pytest.mark.parametrize(
    "center, width, x, expected",
    [
        # 12-bit full range: c - 0.5 - (w - 1)/2 = 0 and c - 0.5 + (w - 1)/2 = 4095.
        (2048, 4096, -1.0, 0.0),
        (2048, 4096, 0.0, 0.0),
        (2048, 4096, 2047.5, 0.5),
        (2048, 4096, 4095.0, 1.0),
        (2048, 4096, 4096.0, 1.0),
        # PS3.3's own example window: lower bound -160 inclusive, upper bound 239.
        (40, 400, -160.0, 0.0),
        (40, 400, -159.5, 0.5 / 399),
        (40, 400, 239.0, 1.0),
        (40, 400, 238.0, 1.0 - 1.0 / 399),
        (40, 400, 1e6, 1.0),
        # Width 1 is a step at c - 0.5.
        (10, 1, 9.5, 0.0),
        (10, 1, 9.51, 1.0),
    ],
)
def test_voi_linear_matches_the_standard_at_the_boundaries(center, width, x, expected):
    assert voi_lut_linear(np.array([x]), center, width)[0] == pytest.approx(expected, abs=1e-12)


def test_voi_linear_rejects_a_width_below_one():
    with pytest.raises(ValueError, match="0.5"):
        voi_lut_linear(np.zeros(3), 0.0, 0.5)


def monochrome_dataset(**overrides) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.Rows, ds.Columns = 2, 2
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.array([0, 1000, 2000, 4095], dtype="<u2").tobytes()
    for keyword, value in overrides.items():
        setattr(ds, keyword, value)
    return ds


@pytest.mark.parametrize("photometric", ["MONOCHROME2", "MONOCHROME1"])
def test_pixel_padding_is_black_whatever_the_window_and_photometric(photometric):
    plain = stored_to_unit_float(monochrome_dataset(PhotometricInterpretation=photometric))
    padded = stored_to_unit_float(monochrome_dataset(PhotometricInterpretation=photometric, PixelPaddingValue=4095))
    assert padded[1, 1] == 0.0
    assert np.array_equal(padded.ravel()[:3], plain.ravel()[:3])
    ranged = stored_to_unit_float(monochrome_dataset(PhotometricInterpretation=photometric, PixelPaddingValue=0,
                                                     PixelPaddingRangeLimit=1000))
    assert ranged.ravel().tolist()[:2] == [0.0, 0.0]
    assert ranged[1, 0] == plain[1, 0]


def test_a_minimal_monochrome_dataset_is_accepted():
    assert stored_to_display_u8(monochrome_dataset()).tolist() == [[0, 62], [125, 255]]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"PhotometricInterpretation": "RGB", "SamplesPerPixel": 3}, "'RGB'"),
        ({"PhotometricInterpretation": "YBR_FULL_422", "SamplesPerPixel": 3}, "YBR_FULL_422"),
        ({"PhotometricInterpretation": "PALETTE COLOR"}, "PALETTE COLOR"),
        ({"SamplesPerPixel": 3}, "SamplesPerPixel must be 1.*got 3"),
        ({"NumberOfFrames": 2}, "NumberOfFrames 2"),
        ({"VOILUTFunction": "SIGMOID"}, "SIGMOID"),
        ({"RescaleSlope": 0}, "RescaleSlope 0"),
    ],
)
def test_refuses_what_a_radiograph_viewer_cannot_display_naming_the_value(overrides, message):
    with pytest.raises(ValueError, match=message):
        stored_to_unit_float(monochrome_dataset(**overrides))


def test_refuses_a_dataset_without_pixel_data():
    ds = monochrome_dataset()
    del ds.PixelData
    with pytest.raises(ValueError, match="PixelData"):
        stored_to_unit_float(ds)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bits_stored": 11}, "11"),
        ({"photometric": "RGB"}, "RGB"),
        ({"rescale": (0.0, 0.0)}, r"\(0.0, 0.0\)"),
        ({"study_date": "2026-01-01"}, "2026-01-01"),
        ({"study_date": "20260231"}, "20260231"),
        ({"patient_index": -1}, "-1"),
    ],
)
def test_write_rejects_bad_arguments_naming_them(tmp_path, image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        write(tmp_path, image, **kwargs)
    assert not (tmp_path / "study.dcm").exists()


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 3), np.uint8)])
def test_write_rejects_anything_but_a_2d_uint8_image(tmp_path, bad):
    with pytest.raises(ValueError, match=re.escape(str(bad.shape))):
        write_cr_study(tmp_path / "x.dcm", bad, patient_index=0, seed=0)
