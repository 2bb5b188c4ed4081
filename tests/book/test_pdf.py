"""Tests of the PDF book (run `scripts/book --pdf` first).

They read the PDF with poppler's pdftotext, pdfinfo and pdfimages and check
what a reader of the PDF gets: every page of the table of contents, every
figure, every character of the text (XeLaTeX drops a character its font
lacks, and says so in its log), and no reference left unresolved.
"""
from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

import mlp_course
from test_built_book import HTML, PAGES, source_of

ROOT = Path(__file__).resolve().parents[2]
LATEX = ROOT / "_build" / "latex"
PDF = LATEX / "mlp-from-first-principles.pdf"
LOG = PDF.with_suffix(".log")
TEX = PDF.with_suffix(".tex")

if not PDF.exists():
    reason = "the PDF is not built: run scripts/book --pdf first"
    if os.environ.get("CI"):
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


def poppler(tool: str, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: install poppler-utils (scripts/setup does, as root)")
    return subprocess.run([tool, *args], check=True, capture_output=True, text=True, timeout=300).stdout


@functools.cache
def text() -> str:
    """The PDF's text, its lines joined by single spaces (headings and words may break across lines)."""
    raw = poppler("pdftotext", "-enc", "UTF-8", str(PDF), "-")
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", raw))


def plain_quotes(words: str) -> str:
    """Sphinx turns ' and " into typographic quotes: undo that, to compare with the sources."""
    return words.translate(str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}))


def cells(doc: str) -> list[dict]:
    path = source_of(doc)
    if path.suffix == ".ipynb":
        return json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [{"cell_type": "markdown", "source": path.read_text(encoding="utf-8")}]


def source(cell: dict) -> str:
    return "".join(cell["source"])


def title(doc: str) -> str:
    """The page's title: its first level-1 heading, without Markdown code marks."""
    for cell in cells(doc):
        found = re.search(r"^# (.+)$", source(cell), flags=re.MULTILINE) if cell["cell_type"] == "markdown" else None
        if found:
            return found.group(1).replace("`", "").strip()
    raise AssertionError(f"{doc} has no title")


def test_the_pdf_has_every_page_of_the_table_of_contents_in_order():
    positions = []
    for doc in PAGES[1:]:  # the introduction's title is the book's, on the title page
        found = plain_quotes(text()).find(title(doc), positions[-1] if positions else 0)
        assert found >= 0, f"the PDF lacks the title of {doc}, {title(doc)!r} (after the one before it)"
        positions.append(found)


def test_the_page_count_is_sensible():
    pages = int(re.search(r"^Pages:\s+(\d+)", poppler("pdfinfo", str(PDF)), flags=re.MULTILINE).group(1))
    # About 30 pages a chapter; a page count far outside means lost or repeated pages.
    assert 5 * len(PAGES) <= pages <= 100 * len(PAGES), f"{pages} pages for {len(PAGES)} documents"
    assert PDF.stat().st_size < 50e6, f"the PDF is {PDF.stat().st_size / 1e6:.0f} MB"


def test_no_reference_is_left_unresolved():
    where = [text()[max(0, m.start() - 60):m.end() + 20] for m in re.finditer(r"\?\?", text())]
    assert not where, f"unresolved references ('??') in the PDF: {where[:5]}"
    log = LOG.read_text(encoding="utf-8", errors="replace")
    assert not re.search(r"LaTeX Warning: (Reference|Citation) .* undefined", log), "undefined references in the log"


def test_every_figure_is_embedded():
    figures = sum("image/png" in output.get("data", {})
                  for doc in PAGES for cell in cells(doc) for output in cell.get("outputs", []))
    figures += sum(len(re.findall(r"!\[", source(cell))) for doc in PAGES for cell in cells(doc)
                   if cell["cell_type"] == "markdown")
    listed = poppler("pdfimages", "-list", str(PDF)).splitlines()[2:]
    # Each PNG with transparency is embedded as an image and its "smask".
    images = [line for line in listed if line.split()[2] == "image"]
    assert len(images) == figures, f"{len(images)} images in the PDF, {figures} figures in the book's pages"


def test_every_character_of_the_text_is_typeset():
    log = LOG.read_text(encoding="utf-8", errors="replace")
    missing = sorted(set(re.findall(r"Missing character: There is no (.)", log)))
    assert not missing, f"the PDF's fonts lack {missing}: they are left out of the text"
    wanted = set()
    for doc in PAGES:
        for cell in cells(doc):
            body = source(cell)
            if cell["cell_type"] == "markdown":
                # Maths is typeset by TeX from commands, not copied as characters.
                body = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", "", body, flags=re.DOTALL)
            outputs = "".join("".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
                              for o in cell.get("outputs", []))
            wanted |= {ch for ch in unicodedata.normalize("NFC", body + outputs) if ord(ch) > 127}
    lost = sorted(wanted - set(text()))
    assert not lost, f"characters of the book missing from the PDF's text: {lost}"
    for sample in ("✓", "→", "σ", "−"):
        assert sample in wanted, f"the book no longer uses {sample!r}: pick another sample"


def test_the_title_page_names_the_release():
    first_page = poppler("pdftotext", "-f", "1", "-l", "1", str(PDF), "-")
    assert f"Release {mlp_course.__version__}" in first_page, first_page


def test_nothing_runs_off_the_page():
    log = LOG.read_text(encoding="utf-8", errors="replace")
    # A few points past the margin is a long word; a table or a formula past it loses text.
    wide = [float(points) for points in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert max(wide, default=0) < 20, f"{sum(w >= 20 for w in wide)} lines run past the margin, by up to {max(wide):.0f} pt"


def test_exercises_have_the_numbers_of_the_html_book():
    def numbers(words: str) -> set[str]:
        return set(re.findall(r"Exercise (\d+\.\d+)\b(?!\.\d)", words))

    in_html = set().union(*(numbers((HTML / f"{doc}.html").read_text(encoding="utf-8")) for doc in PAGES))
    assert in_html, "no numbered exercise in the HTML book"
    assert numbers(text()) == in_html, f"only in the PDF: {sorted(numbers(text()) - in_html)[:5]}, " \
                                       f"only in the HTML: {sorted(in_html - numbers(text()))[:5]}"
    assert not re.search(r"Exercise \d+\.\d+\.\d+", text()), "exercises numbered per section, not per chapter"


def test_nothing_is_numbered_through_the_whole_book():
    """_ext/course_book.py numbers exercises per chapter in LaTeX; with parts, that would number a
    captioned figure or table, or a numbered equation, through the whole book. The book has none."""
    tex = TEX.read_text(encoding="utf-8")
    numbered = re.findall(r"\\sphinxcaption\b|\\caption\{|\\begin\{(?:equation|align|gather)\}", tex)
    assert not numbered, f"{len(numbered)} numbered captions or equations: check their numbers in the PDF " \
                         f"and the numbering hook of _ext/course_book.py"
