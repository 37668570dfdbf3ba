"""How many DICOM images of a folder the committed input check keeps: a held-out check that is never
used to fit it (e.g. the recalibration tests' darkened cohort, build/demo/shifted/dicom).

    cd training && /usr/bin/python3 scripts/input_check_dicoms.py ../build/demo/shifted/dicom \
        [--model-dir ../models/chestaid-demo]

Each file is read as the viewer reads it (VOI window, MONOCHROME1 inverted) and resized to the
model's input size, then scored. Prints the kept count and the score range.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chestaid_train import dicom, input_check, preprocess  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model-dir", type=Path, default=Path(__file__).resolve().parents[2] / "models" / "chestaid-demo")
    args = parser.parse_args(argv)
    import pydicom

    man = json.loads((args.model_dir / "manifest.json").read_text())
    check = input_check.InputCheck(man["input_check"])
    size = int(man["input"]["size"]["height"])
    files = sorted(args.folder.glob("*.dcm"))
    if not files:
        parser.error(f"no .dcm files in {args.folder}")
    scores = np.array([check.score(preprocess.resize(dicom.stored_to_unit_float(pydicom.dcmread(f)), size)) for f in files])
    kept = int((scores <= check.threshold).sum())
    lo, hi = input_check.wilson(kept, len(files))
    print(f"{args.folder}: kept {kept}/{len(files)} ({100 * kept / len(files):.1f} %, 95 % CI {100 * lo:.1f}-{100 * hi:.1f}); "
          f"scores {scores.min():.2f}-{scores.max():.2f} (median {np.median(scores):.2f}), threshold {check.threshold:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
