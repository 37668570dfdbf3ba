"""How long the resize cache takes: N synthetic full-size JPEGs, filled once (decode + resize +
write), then read back as a later epoch would; one process, so per-image figures scale with cores.

usage: python3 scripts/time_resize_cache.py [--n 200] [--side 1024] [--size 224] [--work DIR]
Prints one JSON document. Its `extrapolated_*` figures are linear extrapolations to the 5,856
images of the Kaggle set, not measurements.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from chestaid_train import data  # noqa: E402
from chestaid_train.resize_cache import ResizeCache, decode_and_resize  # noqa: E402

KAGGLE_IMAGES = 5856


def write_jpegs(folder: Path, n: int, side: int, seed: int = 0) -> list[Path]:
    """Grey JPEGs with smooth structure plus noise, so they compress like radiographs, not like flat fields."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side] / side
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        a, b = rng.uniform(2, 8, 2)
        base = 110 + 60 * np.sin(a * np.pi * xx) * np.cos(b * np.pi * yy)
        grey = np.clip(base + rng.normal(0, 12, (side, side)), 0, 255).astype(np.uint8)
        path = folder / f"person{i}_bacteria_{i}.jpeg"
        Image.fromarray(grey).save(path, quality=90)
        paths.append(path)
    return paths


def timed(fn, paths) -> float:
    t0 = time.perf_counter()
    for p in paths:
        fn(p)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--side", type=int, default=1024)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--work")
    args = ap.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="chestaid-cache-timing-"))
    try:
        paths = write_jpegs(work / "jpeg", args.n, args.side)
        cache = ResizeCache(work / "cache")
        uncached = timed(lambda p: decode_and_resize(p, args.size, data.load_grey), paths)
        fill = timed(lambda p: cache.get(p, args.size, data.load_grey), paths)
        reread = timed(lambda p: cache.get(p, args.size, data.load_grey), paths)
        per = {"uncached_decode_and_resize": uncached / args.n, "cache_fill": fill / args.n, "cache_read": reread / args.n}
        report = {
            "images": args.n, "source_side": args.side, "target_size": args.size,
            "jpeg_mib": round(sum(p.stat().st_size for p in paths) / 2**20, 1),
            "cache_mib": round(sum(p.stat().st_size for p in cache.folder.iterdir()) / 2**20, 1),
            "seconds": {"uncached_decode_and_resize": round(uncached, 2), "cache_fill": round(fill, 2),
                        "cache_read": round(reread, 2)},
            "ms_per_image": {k: round(v * 1000, 2) for k, v in per.items()},
            f"extrapolated_seconds_for_{KAGGLE_IMAGES}": {k: round(v * KAGGLE_IMAGES, 1) for k, v in per.items()},
            f"extrapolated_cache_mib_for_{KAGGLE_IMAGES}": round(
                sum(p.stat().st_size for p in cache.folder.iterdir()) / args.n * KAGGLE_IMAGES / 2**20),
        }
        print(json.dumps(report, indent=1))
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
