"""Writes the viewer's attention colormap (core/src/colormaps/inferno.json) from matplotlib.

The heatmap layer colours Grad-CAM with matplotlib's "inferno" (van der Walt & Smith, 2015; the
data is CC0): perceptually uniform and monotonic in lightness, so a brighter, warmer colour always
means more attention, also for readers with colour-vision deficiency and in greyscale print.
The table is data, generated here rather than typed in; core/src/colormap.test.ts checks
the properties the viewer relies on.

    /usr/bin/python3 training/scripts/make_colormap.py
"""
import json
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import colormaps

OUT = Path(__file__).resolve().parents[2] / "core/src/colormaps/inferno.json"


def main() -> None:
    rgb = colormaps["inferno"](np.linspace(0.0, 1.0, 256))[:, :3]
    doc = {
        "name": "inferno",
        "source": f"matplotlib {matplotlib.__version__} colormaps['inferno'], 256 samples, sRGB in [0, 1] (CC0)",
        "colours": [[round(float(c), 6) for c in row] for row in rgb],
    }
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
