import random

import numpy as np
import pytest
from PIL import Image

from chestaid_train import preprocess


def test_resize_matches_pil_bilinear_on_float_images():
    rng = np.random.default_rng(0)
    img = rng.random((300, 260)).astype(np.float32)
    expected = np.asarray(Image.fromarray(img, mode="F").resize((224, 224), Image.BILINEAR))
    np.testing.assert_array_equal(preprocess.resize(img), expected)


def test_resize_antialiases_when_shrinking():
    # A 1-pixel checkerboard averages out to grey instead of aliasing into stripes.
    board = (np.indices((448, 448)).sum(0) % 2).astype(np.float32)
    out = preprocess.resize(board)
    assert abs(out.mean() - 0.5) < 1e-3 and out.std() < 0.01


def test_normalize_replicates_grey_and_applies_imagenet_stats():
    unit = np.full((4, 4), 0.5, np.float32)
    t = preprocess.normalize(unit)
    for c in range(3):
        expected = (0.5 - preprocess.IMAGENET_MEAN[c]) / preprocess.IMAGENET_STD[c]
        assert np.allclose(t[c].numpy(), expected)


@pytest.mark.parametrize("bad", [np.full((4, 4), 1.5, np.float32), np.full((4, 4), -0.2, np.float32)])
def test_normalize_refuses_values_outside_unit_range_naming_them(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        preprocess.normalize(bad)


def test_to_unit_float_refuses_rgb_and_16_bit():
    with pytest.raises(ValueError, match="shape"):
        preprocess.to_unit_float(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="uint16"):
        preprocess.to_unit_float(np.zeros((4, 4), np.uint16))


def test_augmentation_parameters_stay_within_bounds():
    aug = preprocess.Augment()
    rng = random.Random(0)
    params = [aug.sample(rng) for _ in range(2000)]
    rot = [p.rotation_deg for p in params]
    assert max(map(abs, rot)) <= 5.0 and max(rot) > 4.5 and min(rot) < -4.5
    assert all(abs(p.brightness) <= 0.1 for p in params)
    assert all(0.9 <= p.contrast <= 1.1 for p in params)


def test_augmented_image_stays_in_unit_range_and_input_is_not_mutated():
    rng = np.random.default_rng(1)
    img = rng.random((224, 224)).astype(np.float32)
    before = img.copy()
    aug = preprocess.Augment()
    out = aug.apply(img, preprocess.AugmentParams(rotation_deg=5.0, brightness=0.1, contrast=1.1))
    assert out.min() >= 0 and out.max() <= 1 and out.shape == img.shape
    np.testing.assert_array_equal(img, before)


def test_zero_augmentation_is_the_identity():
    img = np.random.default_rng(2).random((64, 64)).astype(np.float32)
    out = preprocess.Augment().apply(img, preprocess.AugmentParams(0.0, 0.0, 1.0))
    np.testing.assert_allclose(out, img, atol=1e-6)
