"""One call at the top of every chapter: seeds, figure style, print options."""

from __future__ import annotations

import sys

import numpy as np

from mlp_course.seed import seed_everything

#: The course's matplotlib style: small PNG figures, a light grid, no top or
#: right frame, fonts that stay readable when the book scales a figure down.
RC_PARAMS: dict[str, object] = {
    "figure.figsize": (6.0, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
}


def _in_ipython() -> bool:
    """True inside a running IPython kernel or shell (never imports IPython itself)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


def setup_notebook(seed: int = 0) -> np.random.Generator:
    """Prepare a chapter notebook and return the seeded course generator.

    * seeds Python, NumPy and PyTorch with :func:`mlp_course.seed.seed_everything`;
    * applies the course's matplotlib style (:data:`RC_PARAMS`);
    * under IPython, makes inline figures PNG (small, and identical from run to run);
    * prints NumPy arrays with 4 decimals and without scientific notation for tiny values.
    """
    rng = seed_everything(seed)

    import matplotlib as mpl

    mpl.rcParams.update(RC_PARAMS)
    if _in_ipython():
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")

    np.set_printoptions(precision=4, suppress=True)
    return rng
