"""The input check (input_check.py): descriptor, fit, score, threshold, the manifest section and
the report, and the committed demo manifest's figures and fixture."""
import json
from pathlib import Path

import numpy as np
import pytest

from chestaid_train import input_check as ic
from chestaid_train import manifest as manifest_lib

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "chestaid-demo"


def _square(side=8, value=None, seed=0):
    rng = np.random.default_rng(seed)
    return (np.full((side, side), value, np.float32) if value is not None else rng.random((side, side)).astype(np.float32))


def test_descriptor_averages_cells_counts_the_histogram_and_measures_asymmetry():
    image = np.zeros((8, 8), np.float32)
    image[:, :4], image[:, 4:] = 0.25, 0.75
    d = ic.descriptor(image, grid=2, hist_bins=4)
    # the grid [0.25, 0.75; 0.25, 0.75] standardised by its own mean 0.5 and deviation 0.25
    assert d.tolist() == [-1, 1, -1, 1, 0, 0.5, 0, 0.5, 2]


def test_the_descriptor_reads_the_layout_whatever_the_exposure_and_a_constant_image_as_none():
    r, c = np.mgrid[0:8, 0:8]
    bright = (0.1 + 0.05 * r + 0.05 * c).astype(np.float64)
    np.testing.assert_allclose(ic.descriptor(0.5 * bright, 2, 4)[:4], ic.descriptor(bright, 2, 4)[:4], atol=1e-12)
    assert ic.descriptor(np.full((8, 8), 0.4), 2, 4)[:4].tolist() == [0, 0, 0, 0]


def test_descriptor_puts_one_in_the_last_bin_and_does_not_modify_the_image():
    image = _square(4, 1.0)
    before = image.copy()
    assert ic.descriptor(image, grid=2, hist_bins=4)[4:8].tolist() == [0, 0, 0, 1]
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((224, 200), np.float32), "square image"),
    (np.zeros((30, 30), np.float32), "multiple of 16"),
    (np.full((224, 224), 1.5, np.float32), r"\[0, 1\]"),
    (np.full((224, 224), np.nan, np.float32), "non-finite"),
])
def test_descriptor_refuses_what_is_not_the_resized_grey_image(bad, message):
    with pytest.raises(ValueError, match=message):
        ic.descriptor(bad)


def test_float32_arrays_round_trip_through_base64_and_a_wrong_shape_is_refused():
    a = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    doc = ic.encode_f32(a)
    np.testing.assert_array_equal(ic.decode_f32(doc), a.astype(np.float32))
    with pytest.raises(ValueError, match="needs 15"):
        ic.decode_f32({**doc, "shape": [3, 5]})
    with pytest.raises(ValueError, match="float32-le"):
        ic.decode_f32({**doc, "dtype": "float64"})


def _toy_images(n, seed):
    """Smooth 32 x 32 'radiographs': a bright disc whose radius and brightness vary."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:32, 0:32] / 31.0 - 0.5
    out = []
    for _ in range(n):
        r = rng.uniform(0.25, 0.35)
        out.append(np.clip(0.2 + rng.uniform(0.4, 0.6) * (np.hypot(x, y) < r) + 0.02 * rng.standard_normal((32, 32)),
                           0, 1).astype(np.float32))
    return out


def test_a_fitted_check_keeps_images_like_its_training_set_and_catches_others():
    section = ic.fit(_toy_images(200, 1), n_components=6, grid=8, hist_bins=8)
    section, scores = ic.complete(section, _toy_images(100, 2), {"test": _toy_images(100, 3)},
                                  {"noise": [np.random.default_rng(4).random((32, 32)).astype(np.float32) for _ in range(10)],
                                   "inverted": [1 - im for im in _toy_images(10, 5)]}, target_kept=0.95)
    ev = section["evaluation"]
    assert ev["kept"]["calib+val_report"]["rate"] >= 0.95
    assert ev["kept"]["test"]["rate"] >= 0.85
    assert ev["caught"]["noise"]["rate"] == 1.0 and ev["caught"]["inverted"]["rate"] == 1.0
    # Training images score about 1: the score is divided by the descriptor size.
    assert 0.5 < float(np.median(scores["test"])) < 2.0


@pytest.mark.parametrize("n_held", [3, 7, 50])
@pytest.mark.parametrize("target", [0.9, 0.99])
def test_the_threshold_keeps_the_target_of_the_held_out_images_it_was_set_on(n_held, target):
    section = ic.fit(_toy_images(60, 13), 4, 8, 8)
    section, _ = ic.complete(section, _toy_images(n_held, 14), {}, {}, target_kept=target)
    assert section["evaluation"]["kept"]["calib+val_report"]["rate"] >= target


def test_the_score_is_the_ppca_formula_on_the_stored_float32_parameters():
    section = ic.fit(_toy_images(120, 6), n_components=4, grid=8, hist_bins=8)
    check = ic.InputCheck({**section, "threshold": 1.0})
    image = _toy_images(1, 7)[0]
    z = (ic.descriptor(image, 8, 8) - ic.decode_f32(section["mean"])) / ic.decode_f32(section["scale"])
    v = ic.decode_f32(section["components"])
    t = v @ z
    expected = (np.sum(t ** 2 / ic.decode_f32(section["variances"])) + np.sum((z - v.T @ t) ** 2) / section["residual_variance"]) / z.size
    assert check.score(image) == pytest.approx(expected, rel=1e-12)


def test_fitting_twice_gives_the_same_section():
    images = _toy_images(80, 8)
    assert ic.fit(images, 5, 8, 8) == ic.fit(images, 5, 8, 8)


@pytest.mark.parametrize("n", [1, 7, 100, 266])
@pytest.mark.parametrize("target", [0.5, 0.9, 0.97, 0.99, 1.0])
def test_kept_threshold_is_the_smallest_that_keeps_the_target(n, target):
    scores = np.random.default_rng(n).random(n)
    t = ic.kept_threshold(scores, target)
    assert np.mean(scores <= t) >= target
    below = scores[scores < t]
    if below.size:
        assert np.mean(scores <= below.max()) < target


@pytest.mark.parametrize("scores, target", [([], 0.97), ([1.0, np.nan], 0.97), ([1.0], 0.0), ([1.0], 1.5)])
def test_kept_threshold_refuses_bad_input(scores, target):
    with pytest.raises(ValueError):
        ic.kept_threshold(scores, target)


def test_the_report_section_is_replaced_not_appended(tmp_path):
    section = ic.fit(_toy_images(60, 9), 4, 8, 8)
    section, scores = ic.complete(section, _toy_images(30, 10), {"test": _toy_images(30, 11)},
                                  {"noise": [np.random.default_rng(12).random((32, 32)).astype(np.float32)]})
    (tmp_path / "report.md").write_text("# Report\n\n## Splits\n\ntext\n\n## Later\n\nmore\n")
    ic.write_report_section(tmp_path, section, scores)
    ic.write_report_section(tmp_path, section, scores)
    text = (tmp_path / "report.md").read_text()
    assert text.count(f"## {ic.REPORT_TITLE}") == 1
    assert "## Splits" in text and "## Later" in text and "| noise |" in text
    assert (tmp_path / "report" / "input_check.png").stat().st_size > 1000


def test_the_synthetic_set_is_generated_once_from_the_manifest_settings(tmp_path):
    from chestaid_train import synthetic

    generator = {"seed": 3, "counts": {"train": [2, 2]}, "size": [64, 64], "images_per_patient": [1, 1],
                 "version": synthetic.GENERATOR_VERSION}
    root = tmp_path / "data"
    ic.ensure_synthetic(root, generator)
    marker = root / "synthetic.json"
    stamp = marker.stat().st_mtime_ns
    ic.ensure_synthetic(root, generator)
    assert marker.stat().st_mtime_ns == stamp
    assert len(list((root / "chest_xray").rglob("*.jpeg"))) == 4
    with pytest.raises(ValueError, match="generator version"):
        ic.ensure_synthetic(root, {**generator, "version": "0.0.1"})


# --- the committed demo model ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_manifest():
    man = json.loads((MODEL / "manifest.json").read_text())
    manifest_lib.validate(man)
    return man


def test_the_demo_manifest_keeps_at_least_97_percent_of_test_and_catches_every_class(demo_manifest):
    section = demo_manifest["input_check"]
    ev = section["evaluation"]
    assert ev["kept"]["test"]["rate"] >= ic.KEPT_FLOOR
    from chestaid_train import ood_set

    assert set(ev["caught"]) == set(ood_set.OOD_CLASSES)
    assert all(v["n"] >= 20 for v in ev["caught"].values())
    assert all(v["rate"] >= 0.9 for v in ev["caught"].values())


def test_the_demo_input_check_is_small_and_shown_in_the_report_and_card(demo_manifest):
    assert len(json.dumps(demo_manifest["input_check"])) < 150_000
    report = (MODEL / "report.md").read_text()
    assert f"## {ic.REPORT_TITLE}" in report and (MODEL / "report" / "input_check.png").is_file()
    assert "## Input check" in (MODEL / "MODEL_CARD.md").read_text()


def test_the_fixture_scores_are_what_the_committed_manifest_gives(demo_manifest):
    doc = json.loads(ic.FIXTURE.read_text())
    check = ic.InputCheck(demo_manifest["input_check"])
    assert doc["threshold"] == check.threshold
    for case in doc["images"]:
        raw = np.frombuffer((ic.FIXTURE.parent / case["file"]).read_bytes(), np.uint8).reshape(case["shape"])
        assert check.score(raw.astype(np.float32) / 255.0) == pytest.approx(case["score"], rel=1e-12)
    assert all(s["in_distribution"] for s in doc["studies"])


@pytest.mark.parametrize("size, grid", [(224, 16), (64, 16), (96, 16), (100, 10), (80, 16), (33, 11), (37, 1)])
def test_the_grid_tiles_the_model_input_size_exactly(size, grid):
    assert ic.grid_for(size) == grid


def test_a_check_fitted_at_one_size_refuses_another():
    images = [np.pad(im, 16) for im in _toy_images(40, 15)]  # 64 x 64: a model trained at --image-size 64
    section = ic.fit(images, 4)
    assert section["descriptor"]["image_size"] == 64 and section["descriptor"]["grid"] == 16
    check = ic.InputCheck({**section, "threshold": 1.0})
    check.score(images[0])
    with pytest.raises(ValueError, match="fitted on 64 x 64"):
        check.score(_toy_images(1, 16)[0])


# --- acquisition variation (version 2) --------------------------------------------------------------

def test_an_acquisition_variant_is_a_grey_image_of_the_same_size_and_deterministic_for_a_seed():
    image = _toy_images(1, 17)[0]
    a = ic.acquisition_variant(image, np.random.default_rng(1))
    b = ic.acquisition_variant(image, np.random.default_rng(1))
    assert a.dtype == np.float32 and a.shape == image.shape and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, image)
    variants = ic.with_variants([image, image], copies=2, seed=3)
    assert len(variants) == 6 and np.array_equal(variants[0], image) and np.array_equal(variants[3], image)


def _shifted_chests(tone, n=10, seed=31337):
    """New synthetic chests (a seed neither the demo data nor the recalibration cohort uses) at the
    model's input size after a tone change `tone` of their 8-bit grey levels."""
    from chestaid_train import preprocess
    from chestaid_train.synthetic import render_case

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        u8 = render_case(rng, i % 2).image.astype(np.float64)
        out.append(preprocess.resize(np.ascontiguousarray(tone(u8 / 255.0), dtype=np.float32), 224))
    return out


@pytest.mark.parametrize("name, tone", [
    # the recalibration tests' cohort: grey levels x0.6, stored as 8 bits (make_shifted_cohort.py)
    ("darkened x0.6", lambda x: np.floor(x * 255 * 0.6 + 0.5) / 255),
    ("one stop under", lambda x: x * 0.5),
    ("brighter, clipped", lambda x: np.clip(x * 1.5, 0, 1)),
    ("gamma 1.4", lambda x: x ** 1.4),
    ("gamma 0.7", lambda x: x ** 0.7),
])
def test_the_demo_check_keeps_frontal_chests_whose_exposure_or_tone_differs(demo_manifest, name, tone):
    check = ic.InputCheck(demo_manifest["input_check"])
    scores = [check.score(im) for im in _shifted_chests(tone)]
    assert max(scores) <= check.threshold, f"{name}: scores {np.round(scores, 2)} > {check.threshold:.3f}"


def test_the_demo_check_still_refuses_those_chests_inverted_or_turned(demo_manifest):
    check = ic.InputCheck(demo_manifest["input_check"])
    darker = _shifted_chests(lambda x: x * 0.6, n=6)
    assert all(not check.check(1 - im)["in_distribution"] for im in darker)
    assert all(not check.check(np.ascontiguousarray(np.rot90(im)))["in_distribution"] for im in darker)


def test_the_demo_manifest_records_the_augmentation_and_keeps_acquisition_variants_of_test(demo_manifest):
    section = demo_manifest["input_check"]
    assert section["version"] == ic.VERSION and section["augmentation"] == ic.augmentation_settings()
    assert section["evaluation"]["kept"][ic.TEST_VARIANTS]["rate"] >= ic.KEPT_FLOOR
