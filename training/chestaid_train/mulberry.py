"""mulberry32, the seeded generator the viewer's recalibration uses (core/src/recalibration/random.ts).

The calibrator selection's cross-validation folds and the simulated ECE of a perfectly
calibrated score are drawn from this generator, not numpy's, so that Python and TypeScript
make the same folds and the same draws from the same seed and their results can be compared
number for number (test/fixtures/recalibration.json).

mulberry32 (Tommy Ettinger) keeps a 32-bit state that grows by 0x6D2B79F5 per draw and mixes
it with 32-bit multiplications; output k of seed s therefore depends only on s + (k + 1) *
0x6D2B79F5 (mod 2^32), which lets :meth:`Mulberry32.take` draw a block at once with numpy.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Mulberry32", "shuffled", "repeated_stratified_folds"]

_STEP = 0x6D2B79F5
_MASK = 0xFFFFFFFF


def _mix(state: np.ndarray) -> np.ndarray:
    """The output function on uint64 arrays holding 32-bit states (products fit in 64 bits)."""
    t = state
    t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & np.uint64(_MASK)
    t = t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & np.uint64(_MASK))) & np.uint64(_MASK))
    return (t ^ (t >> np.uint64(14))).astype(np.float64) / 4294967296.0


class Mulberry32:
    """Uniform numbers in [0, 1), the same sequence as random.ts ``mulberry32(seed)``."""

    def __init__(self, seed: int):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self._seed = int(seed) & _MASK
        self._drawn = 0

    def take(self, count: int) -> np.ndarray:
        """The next ``count`` numbers."""
        k = np.arange(self._drawn + 1, self._drawn + 1 + int(count), dtype=np.uint64)
        self._drawn += int(count)
        state = (np.uint64(self._seed) + k * np.uint64(_STEP)) & np.uint64(_MASK)
        return _mix(state)

    def __call__(self) -> float:
        return float(self.take(1)[0])

    def index(self, n: int) -> int:
        """A uniform integer in [0, n): floor(u * n), as random.ts ``randomIndex``."""
        return int(self() * n)


def shuffled(items, random: Mulberry32) -> list:
    """Fisher-Yates shuffle of a copy, as random.ts ``shuffled``."""
    out = list(items)
    for i in range(len(out) - 1, 0, -1):
        j = random.index(i + 1)
        out[i], out[j] = out[j], out[i]
    return out


def repeated_stratified_folds(y, k: int, repeats: int, seed: int) -> np.ndarray:
    """Fold numbers (0..k-1), one row per repeat, stratified by class.

    One generator ``Mulberry32(seed)`` serves every repeat in turn. Within a repeat, for the
    negatives then the positives, the cases of that class in their given order are shuffled
    and dealt round-robin: the i-th after shuffling goes to fold i mod k. Each fold then holds
    floor or ceil of n_class / k cases of each class. Same as recalibrate.ts ``repeatedStratifiedFolds``.
    """
    yy = np.asarray(y)
    random = Mulberry32(seed)
    out = np.empty((int(repeats), yy.size), dtype=np.int64)
    for r in range(int(repeats)):
        for label in (0, 1):
            for pos, i in enumerate(shuffled(np.flatnonzero(yy == label).tolist(), random)):
                out[r, i] = pos % k
    return out
