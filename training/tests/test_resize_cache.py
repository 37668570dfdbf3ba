"""The resize cache: each source is decoded once, entries hold exactly what a direct resize gives,
and an entry is never trusted once its source or its settings change."""
import os
import pickle

import numpy as np
import pytest
from PIL import Image

from chestaid_train import data, preprocess
from chestaid_train.resize_cache import ResizeCache, decode_and_resize

SIZE = 64


class CountingLoader:
    """data.load_grey, counting the files it decodes."""

    def __init__(self):
        self.calls = []

    def __call__(self, path):
        self.calls.append(path.name)
        return data.load_grey(path)


def _jpeg(path, seed, shape=(300, 260), mode="L"):
    rng = np.random.default_rng(seed)
    grey = (np.linspace(0, 200, shape[1])[None, :] + rng.integers(0, 55, shape)).astype(np.uint8)
    image = Image.fromarray(grey)
    (image.convert("RGB") if mode == "RGB" else image).save(path, quality=90)
    return path


@pytest.fixture
def sources(tmp_path):
    folder = tmp_path / "chest_xray" / "train" / "PNEUMONIA"
    folder.mkdir(parents=True)
    return [_jpeg(folder / f"person{i}_bacteria_{i}.jpeg", i, mode="RGB" if i == 2 else "L") for i in range(1, 5)]


def _records(sources, root):
    return [data.Record(str(p.relative_to(root)), 1, f"person{i}", "train") for i, p in enumerate(sources, 1)]


@pytest.mark.parametrize("size", [SIZE, 224, 500])  # shrinking, the model's size, enlarging
@pytest.mark.parametrize("which", [0, 1])           # a grey JPEG, an RGB-stored one
def test_cached_pixels_equal_a_direct_resize(tmp_path, sources, size, which):
    cache = ResizeCache(tmp_path / "cache")
    direct = preprocess.resize(preprocess.to_unit_float(data.load_grey(sources[which])), size)
    stored = cache.get(sources[which], size, data.load_grey)
    read_back = cache.get(sources[which], size, data.load_grey)
    for unit in (stored, read_back):
        assert unit.dtype == np.float32 and unit.shape == (size, size)
        np.testing.assert_array_equal(unit, direct)


def test_later_epochs_and_runs_do_not_decode_the_sources_again(tmp_path, sources):
    root, folder = tmp_path, tmp_path / "cache"
    records = _records(sources, root)
    loader = CountingLoader()
    first_run = data.XrayDataset(root, records, augment=preprocess.Augment(), size=SIZE, seed=1, loader=loader,
                                 cache=ResizeCache(folder))
    for epoch in (1, 2):
        first_run.set_epoch(epoch)
        for i in range(len(first_run)):
            first_run[i]
    assert sorted(loader.calls) == sorted(p.name for p in sources)

    second_run = data.XrayDataset(root, records, size=SIZE, loader=loader, cache=ResizeCache(folder))
    for i in range(len(second_run)):
        second_run[i]
    assert len(loader.calls) == len(sources)


def test_a_cached_dataset_yields_what_an_uncached_one_does_augmentation_included(tmp_path, sources):
    records = _records(sources, tmp_path)
    kwargs = dict(augment=preprocess.Augment(), size=SIZE, seed=5)
    plain = data.XrayDataset(tmp_path, records, **kwargs)
    cached = data.XrayDataset(tmp_path, records, cache=ResizeCache(tmp_path / "cache"), **kwargs)
    for ds in (plain, cached):
        ds.set_epoch(3)
    for i in range(len(records)):
        cached[i]  # fill the entries, so the comparison below reads them back
    for i in range(len(records)):
        x_plain, y_plain = plain[i]
        x_cached, y_cached = cached[i]
        assert float(y_plain) == float(y_cached)
        np.testing.assert_array_equal(x_plain.numpy(), x_cached.numpy())


def test_a_cached_dataset_survives_the_trip_to_a_dataloader_worker(tmp_path, sources):
    ds = data.XrayDataset(tmp_path, _records(sources, tmp_path), size=SIZE, cache=ResizeCache(tmp_path / "cache"))
    copy = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(copy[1][0].numpy(), ds[1][0].numpy())


def test_a_changed_source_is_decoded_again(tmp_path, sources):
    cache, loader = ResizeCache(tmp_path / "cache"), CountingLoader()
    before = cache.get(sources[0], SIZE, loader)
    stat = sources[0].stat()
    _jpeg(sources[0], seed=99)
    os.utime(sources[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    after = cache.get(sources[0], SIZE, loader)
    assert len(loader.calls) == 2
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, decode_and_resize(sources[0], SIZE, data.load_grey))


def test_each_target_size_and_decoder_has_its_own_entry(tmp_path, sources):
    cache = ResizeCache(tmp_path / "cache")
    entries = {cache.entry(sources[0], SIZE, data.load_grey), cache.entry(sources[0], SIZE + 1, data.load_grey),
               cache.entry(sources[0], SIZE, CountingLoader()), cache.entry(sources[1], SIZE, data.load_grey)}
    assert len(entries) == 4
    assert cache.entry(sources[0], SIZE, data.load_grey) == ResizeCache(tmp_path / "cache").entry(sources[0], SIZE, data.load_grey)


@pytest.mark.parametrize("damage", [b"", b"\x93NUMPY garbage", None])
def test_a_damaged_entry_is_rebuilt_not_trusted(tmp_path, sources, damage):
    cache, loader = ResizeCache(tmp_path / "cache"), CountingLoader()
    good = cache.get(sources[0], SIZE, loader)
    entry = cache.entry(sources[0], SIZE, loader)
    if damage is None:  # a readable array of the wrong shape
        np.save(entry, np.zeros((SIZE, SIZE + 1), np.float32))
    else:
        entry.write_bytes(damage)
    np.testing.assert_array_equal(cache.get(sources[0], SIZE, loader), good)
    assert len(loader.calls) == 2
    np.testing.assert_array_equal(np.load(entry), good)
    assert [p.name for p in entry.parent.iterdir()] == [entry.name]  # no temporary file left behind
