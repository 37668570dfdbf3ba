"""The out-of-distribution test set (ood_set.py)."""
import numpy as np
import pytest

from chestaid_train import ood_set


@pytest.fixture(scope="module")
def small_set():
    return ood_set.generate(3, seed=5)


def test_every_class_is_made_here(small_set):
    assert ood_set.available_classes() == ood_set.OOD_CLASSES
    assert tuple(small_set) == ood_set.OOD_CLASSES


@pytest.mark.parametrize("name", ood_set.OOD_CLASSES)
def test_each_class_gives_grey_float32_images_in_unit_range(small_set, name):
    images = small_set[name]
    assert len(images) == 3
    for im in images:
        assert im.ndim == 2 and im.dtype == np.float32 and min(im.shape) >= 8
        assert np.isfinite(im).all() and im.min() >= 0.0 and im.max() <= 1.0


def test_the_set_is_the_same_for_a_seed_and_differs_for_another(small_set):
    again = ood_set.generate(3, seed=5)
    other = ood_set.generate(3, seed=6)
    for name in ood_set.OOD_CLASSES:
        for a, b in zip(small_set[name], again[name]):
            np.testing.assert_array_equal(a, b)
    assert any(a.shape != b.shape or not np.array_equal(a, b)
               for name in ood_set.OOD_CLASSES for a, b in zip(small_set[name], other[name]))


def test_unknown_classes_and_empty_sets_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        ood_set.generate(1, classes=("ct", "ultrasound"))
    with pytest.raises(ValueError, match="n_per_class"):
        ood_set.generate(0)


def test_ct_slices_go_through_the_radiograph_dicom_path():
    # The same VOI path as a radiograph: a soft-tissue window saturates bone to 1 and air to 0.
    img = ood_set._dicom_unit("CT_small.dcm", (40.0, 400.0))
    assert img.dtype == np.float32 and img.min() == 0.0 and img.max() == 1.0
