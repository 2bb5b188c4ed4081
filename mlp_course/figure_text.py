"""Alt text for matplotlib figures, written from the figure's own words.

A figure's title, panel titles, axis labels and legend entries already say
what it shows; :func:`describe_figure` puts them into one sentence-like
string. :func:`png_with_alt_text` renders a figure as PNG with that text in
the file's ``Description`` field, where the book's build finds it and makes
it the image's ``alt`` attribute (see ``_ext/course_book.py``).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zlib
from typing import Any

#: Panels beyond this many are summarised by their distinct titles only.
MAX_PANELS_IN_FULL = 4
#: Legend entries named per panel before "and N more".
MAX_LEGEND_ENTRIES = 6


_GREEK = {name: chr(code) for name, code in (
    ("alpha", 0x3B1), ("beta", 0x3B2), ("gamma", 0x3B3), ("delta", 0x3B4), ("epsilon", 0x3B5),
    ("eta", 0x3B7), ("theta", 0x3B8), ("lambda", 0x3BB), ("mu", 0x3BC), ("pi", 0x3C0),
    ("rho", 0x3C1), ("sigma", 0x3C3), ("tau", 0x3C4), ("phi", 0x3C6), ("Delta", 0x394),
    ("Sigma", 0x3A3), ("nabla", 0x2207), ("times", 0xD7), ("cdot", 0xB7), ("approx", 0x2248),
    ("leq", 0x2264), ("geq", 0x2265), ("ell", 0x2113), ("infty", 0x221E), ("partial", 0x2202),
    ("mid", 0x7C), ("sqrt", 0x221A), ("to", 0x2192), ("rightarrow", 0x2192), ("pm", 0xB1),
    ("prime", 0x2032), ("Vert", 0x2016))}


#: Commands that mathtext prints as their own name (log p, max, Pr).
_OPERATORS = frozenset({"log", "ln", "exp", "Pr", "max", "min", "sin", "cos", "tan", "tanh", "arg", "det"})


def _clean(text: str) -> str:
    """One line, with matplotlib's mathtext turned into plain text: Greek letters
    and a few symbols as characters, other commands (\\mathrm) dropped."""
    text = re.sub(r"\\[,;:! ]", " ", text)  # mathtext's spaces
    text = text.replace("\\|", "\u2016")  # a norm's bars
    text = re.sub(r"\\hat\{?([A-Za-z])\}?", "\\1\u0302", text)  # y hat, as the letter with a circumflex
    text = re.sub(r"\\([A-Za-z]+)", lambda m: _GREEK.get(m.group(1), m.group(1) + " " if m.group(1) in _OPERATORS else ""),
                  text)
    text = text.replace("$", "").replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _legend_labels(ax: Any) -> list[str]:
    legend = ax.get_legend()
    if legend is None:
        return []
    return [label for label in (_clean(t.get_text()) for t in legend.get_texts()) if label]


def _categories(tick_labels: list[Any]) -> list[str]:
    """The tick labels of an axis that names things (bars, rows), not numbers."""
    texts = [_clean(label.get_text()) for label in tick_labels]
    named = [text for text in texts if re.search(r"[A-Za-z]", text)]
    return [text for text in texts if text] if named else []


def _listed(labels: list[str]) -> str:
    """Legend entries in a row: separated by commas, or by semicolons where an entry has a comma."""
    shown = labels[:MAX_LEGEND_ENTRIES]
    more = len(labels) - MAX_LEGEND_ENTRIES
    text = ("; " if any("," in label for label in shown) else ", ").join(shown)
    return text + (f" and {more} more" if more > 0 else "")


def _axes_title(ax: Any) -> str:
    parts = [_clean(ax.get_title(loc)) for loc in ("left", "center", "right")]
    return "; ".join(part for part in parts if part)


def _describe_axes(ax: Any) -> str:
    """``title: x axis ..., y axis ..., legend ...`` for one panel (empty parts left out)."""
    pieces = []
    xlabel, ylabel = _clean(ax.get_xlabel()), _clean(ax.get_ylabel())
    if ax.images and not (xlabel or ylabel):
        pieces.append("an image")
    if xlabel:
        pieces.append(f"x axis {xlabel}")
    if ylabel:
        pieces.append(f"y axis {ylabel}")
    for axis in ("x", "y"):
        categories = _categories(getattr(ax, f"get_{axis}ticklabels")())
        if categories:
            pieces.append(f"{axis} categories {_listed(categories)}")
    labels = _legend_labels(ax)
    if labels:
        pieces.append(f"legend {_listed(labels)}")
    title = _axes_title(ax)
    body = ", ".join(pieces)
    if title and body:
        return f"{title} ({body})"
    return title or body


def _content_axes(fig: Any) -> list[Any]:
    """The visible panels that draw something (colour bars and empty axes left out)."""
    found = []
    for ax in fig.get_axes():
        if not ax.get_visible():
            continue
        if getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>":
            continue
        if ax.lines or ax.collections or ax.images or ax.patches or ax.texts or ax.get_title():
            found.append(ax)
    return found


_OWN_TEXT = "_mlp_course_alt_text"


def set_alt_text(fig: Any, text: str) -> None:
    """Give ``fig`` alt text of its own, in place of the one written from its labels:
    for a figure whose labels do not say what it shows, such as a diagram."""
    if not hasattr(fig, "get_axes"):
        raise TypeError(f"set_alt_text: expected a matplotlib Figure, got {type(fig).__name__}")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"set_alt_text: expected a non-empty string, got {text!r}")
    setattr(fig, _OWN_TEXT, " ".join(text.split()))


def describe_figure(fig: Any) -> str:
    """A one-paragraph description of ``fig`` from its titles, labels and legends
    (or the text given to :func:`set_alt_text`).

    >>> describe_figure(fig)
    'Loss during training (x axis epoch, y axis loss, legend training, validation)'
    """
    if not hasattr(fig, "get_axes"):
        raise TypeError(f"describe_figure: expected a matplotlib Figure, got {type(fig).__name__}")
    if getattr(fig, _OWN_TEXT, None):
        return getattr(fig, _OWN_TEXT)
    suptitle = getattr(fig, "_suptitle", None)
    heading = _clean(suptitle.get_text()) if suptitle is not None else ""
    panels = _content_axes(fig)
    described = [text for text in (_describe_axes(ax) for ax in panels) if text]
    if len(panels) > MAX_PANELS_IN_FULL:
        titles = list(dict.fromkeys(t for t in (_axes_title(ax) for ax in panels) if t))
        summary = f"{len(panels)} panels"
        if titles:
            shown = ", ".join(titles[:12])
            summary += f" titled {shown}" + (" and others" if len(titles) > 12 else "")
        described = [summary]
    elif len(panels) > 1:
        described = [f"{len(panels)} panels: " + "; ".join(described)] if described else []
    figure_legend = [label for legend in getattr(fig, "legends", [])
                     for label in (_clean(t.get_text()) for t in legend.get_texts()) if label]
    if figure_legend:
        described.append(f"legend {_listed(figure_legend)}")
    text = ". ".join(part for part in (heading, *described) if part)
    return text or "A figure without title or axis labels"


def png_with_alt_text(fig: Any, **print_kwargs: Any) -> tuple[str, dict[str, str]] | None:
    """IPython's PNG formatter for a figure, with alt text: the base64 PNG with
    the description stored in the file, and the display metadata
    ``{"alt": description}``; None for a figure with nothing drawn, as IPython's own."""
    from IPython.core.pylabtools import print_figure

    alt = describe_figure(fig)
    metadata = dict(print_kwargs.pop("metadata", None) or {})
    metadata["Description"] = alt
    data = print_figure(fig, "png", base64=True, metadata=metadata, **print_kwargs)
    if data is None:
        return None
    return data, {"alt": alt}


def read_png_description(data: bytes) -> str | None:
    """The ``Description`` text chunk of a PNG file's bytes, or None."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("read_png_description: the bytes are not a PNG file")
    stream = io.BytesIO(data[8:])
    while True:
        header = stream.read(8)
        if len(header) < 8:
            return None
        length, kind = int.from_bytes(header[:4], "big"), header[4:]
        body = stream.read(length)
        stream.read(4)  # the chunk's CRC
        if kind == b"tEXt":
            key, _, value = body.partition(b"\x00")
            if key == b"Description":
                return value.decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\x00")
            if key == b"Description":
                # compression flag, method, language tag, translated keyword, then the text
                flag, rest = rest[0], rest[2:]
                _, _, rest = rest.partition(b"\x00")
                _, _, text = rest.partition(b"\x00")
                if flag == 0:
                    return text.decode("utf-8")
                return zlib.decompress(text).decode("utf-8")
        elif kind == b"IEND":
            return None
