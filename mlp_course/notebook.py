"""One call at the top of every chapter: seeds, figure style, print options."""

from __future__ import annotations

import sys

import numpy as np

from mlp_course.seed import seed_everything

#: The colours of lines and classes, C0 to C7: the palette of Okabe and Ito
#: (2008), which readers with any common colour-vision deficiency can tell
#: apart, in the order of matplotlib's default so that C0 is still blue, C1
#: orange, C2 green and C3 red (vermillion); C7 is a neutral grey.
COLOURS: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00",
                            "#CC79A7", "#56B4E9", "#000000", "#7F7F7F")

#: The course's matplotlib style: small PNG figures, a light grid, no top or
#: right frame, fonts that stay readable when the book scales a figure down,
#: and the colour-blind-safe :data:`COLOURS`.
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
    "axes.prop_cycle": f"cycler('color', {list(COLOURS)!r})",
}


def _in_ipython() -> bool:
    """True inside a running IPython kernel or shell (never imports IPython itself)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


def _add_alt_text_to_figures() -> None:
    """Make IPython's PNG formatter for figures write alt text (with the inline
    backend's own options, as ``set_matplotlib_formats`` uses them)."""
    from functools import partial

    from IPython import get_ipython
    from matplotlib.figure import Figure
    from matplotlib_inline.backend_inline import InlineBackend

    from mlp_course.figure_text import png_with_alt_text

    formatter = get_ipython().display_formatter.formatters["image/png"]
    formatter.for_type(Figure, partial(png_with_alt_text, **InlineBackend.instance().print_figure_kwargs))


def setup_notebook(seed: int = 0) -> np.random.Generator:
    """Prepare a chapter notebook and return the seeded course generator.

    * seeds Python, NumPy and PyTorch with :func:`mlp_course.seed.seed_everything`;
    * applies the course's matplotlib style (:data:`RC_PARAMS`);
    * under IPython, makes inline figures PNG (small, and identical from run to run)
      with alt text: a description written from the figure's titles, labels and
      legends (:func:`mlp_course.figure_text.describe_figure`), stored in the PNG
      and in the output's metadata;
    * prints NumPy arrays with 4 decimals and without scientific notation for tiny values.
    """
    rng = seed_everything(seed)

    import matplotlib as mpl

    mpl.rcParams.update(RC_PARAMS)
    if _in_ipython():
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
        _add_alt_text_to_figures()

    np.set_printoptions(precision=4, suppress=True)
    return rng
