"""The resize cache: each source image is decoded and resized once, then read back.

Decoding a full-size Kaggle JPEG (about 1,000-2,000 px a side) and resizing it with PIL costs more
CPU time than a GPU spends on the image's forward and backward pass; done again every epoch it
starves the GPU. The resize (`preprocess.resize`) is deterministic and the augmentation runs after
it, so its float32 output is stored once and reused by every epoch, every split and every later
run over the same files. An entry holds exactly what a direct resize returns, bit for bit.

An entry is named by the hash of everything that decides its pixels: the source's absolute path,
modification time (ns) and size in bytes, the decoder, the target size, the resize method and the
Pillow version (whose filter it is). A changed or moved file, another size or another Pillow gets a
new entry, so a stale one is never read; old entries are left behind (delete the folder to reclaim
the space: about 196 KiB an image at 224 px). Entries are written to a temporary file and renamed
into place, so DataLoader workers or torchrun ranks filling the same entry do not corrupt it.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import PIL

from . import preprocess

Loader = Callable[[Path], np.ndarray]

# Bump when the entry format or the meaning of a key changes: old entries are then ignored.
FORMAT = 1


def decode_and_resize(source: Path, size: int, loader: Loader) -> np.ndarray:
    """The uncached path: decode, grey [0, 1], resize to size x size (float32)."""
    return preprocess.resize(preprocess.to_unit_float(loader(Path(source))), size)


def decoder_name(loader: Loader) -> str:
    return f"{getattr(loader, '__module__', '?')}.{getattr(loader, '__qualname__', type(loader).__qualname__)}"


class ResizeCache:
    """Resized grey images in `folder`, one `.npy` file per (source file state, size, method)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def key(self, source: Path, size: int, loader: Loader) -> str:
        source = Path(source).resolve()
        st = source.stat()
        fields = {"format": FORMAT, "source": str(source), "mtime_ns": st.st_mtime_ns, "bytes": st.st_size,
                  "decoder": decoder_name(loader), "size": int(size), "method": preprocess.RESIZE_METHOD,
                  "pillow": PIL.__version__}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()

    def entry(self, source: Path, size: int, loader: Loader) -> Path:
        return self.folder / f"{self.key(source, size, loader)}.npy"

    def get(self, source: Path, size: int, loader: Loader) -> np.ndarray:
        """The resized image, from the cache when it holds it, else computed and stored."""
        path = self.entry(source, size, loader)
        cached = _read(path, size)
        if cached is not None:
            return cached
        unit = decode_and_resize(source, size, loader)
        self._write(path, unit)
        return unit

    def _write(self, path: Path, unit: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:16]}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, unit, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _read(path: Path, size: int) -> np.ndarray | None:
    """The entry, or None when it is absent or unreadable (it is then rebuilt, never trusted)."""
    try:
        unit = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):  # FileNotFoundError is an OSError
        return None
    if unit.shape != (size, size) or unit.dtype != np.float32:
        return None
    return unit
