"""Tests of the release packs that scripts/release makes from the built books.

Run after `scripts/book` and `scripts/book --pdf`: the packs are built once,
with `scripts/release --use-built`, into a temporary folder. They check that
each pack holds every chapter, that the student pack gives no solution away,
and that every file names the same version.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

import mlp_course

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
PDF = ROOT / "_build" / "latex" / "mlp-from-first-principles.pdf"
VERSION = mlp_course.__version__
STEM = f"mlp-from-first-principles-v{VERSION}"
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
INSTALL_TAG = f"@v{VERSION}"

if not ((HTML / "index.html").exists() and PDF.exists()):
    reason = "the books are not built: run scripts/book and scripts/book --pdf first"
    if os.environ.get("CI"):
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)


@pytest.fixture(scope="module")
def packs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "release"), "--use-built",
                             "--tag", f"v{VERSION}", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def members(zip_path: Path) -> list[str]:
    return zipfile.ZipFile(zip_path).namelist()


def notebooks_in(zip_path: Path) -> dict[str, nbformat.NotebookNode]:
    with zipfile.ZipFile(zip_path) as archive:
        return {name: nbformat.reads(archive.read(name).decode("utf-8"), as_version=4)
                for name in archive.namelist() if name.endswith(".ipynb")}


def solution_only_lines(chapter: Path) -> set[str]:
    """Lines of code that only the chapter's solution cells hold (a solution may repeat a stub's
    signature and docstring, or a line of the chapter's own code: those lines stay)."""
    nb = json.loads(chapter.read_text(encoding="utf-8"))

    def lines(cells):
        return {line.strip() for cell in cells if cell["cell_type"] == "code"
                for line in "".join(cell["source"]).splitlines() if len(line.strip()) > 12}

    solution = [c for c in nb["cells"] if "solution" in c["metadata"].get("tags", [])]
    others = [c for c in nb["cells"] if "solution" not in c["metadata"].get("tags", [])]
    return lines(solution) - lines(others)


def test_exactly_the_four_packs_and_the_notes(packs):
    assert sorted(p.name for p in packs.iterdir()) == sorted([
        f"{STEM}-html.zip", f"{STEM}.pdf", f"{STEM}-student-notebooks.zip", f"{STEM}-nbgrader-source.zip",
        "RELEASE_NOTES.md"])


def test_the_html_pack_is_the_built_book(packs):
    names = members(packs / f"{STEM}-html.zip")
    assert all(name.startswith(f"{STEM}-html/") for name in names)
    built = sorted([p.relative_to(HTML).as_posix() for p in HTML.rglob("*") if p.is_file()]
                   + ["LICENSE", "LICENSE-CONTENT.md"])
    assert sorted(name.removeprefix(f"{STEM}-html/") for name in names) == built
    for chapter in CHAPTERS:
        assert f"{STEM}-html/chapters/{chapter.stem}.html" in names, f"the HTML pack lacks {chapter.stem}"
    assert f"{STEM}-html/_static/mathjax/tex-chtml.js" in names, "the book's own MathJax, for reading offline"


def test_the_pdf_pack_is_the_built_pdf(packs):
    digest = hashlib.sha256
    assert digest((packs / f"{STEM}.pdf").read_bytes()).digest() == digest(PDF.read_bytes()).digest()


@pytest.mark.parametrize("kind", ["html", "student-notebooks", "nbgrader-source"])
def test_every_zip_carries_the_licences(packs, kind):
    names = members(packs / f"{STEM}-{kind}.zip")
    for licence in ("LICENSE", "LICENSE-CONTENT.md"):
        assert f"{STEM}-{kind}/{licence}" in names, f"the {kind} pack lacks {licence}"
    if kind == "html":
        assert f"{STEM}-html/_static/mathjax/LICENSE" in names, "MathJax's licence travels with MathJax"


def test_the_student_pack_has_every_chapter_and_no_solution(packs):
    zip_path = packs / f"{STEM}-student-notebooks.zip"
    notebooks = notebooks_in(zip_path)
    assert sorted(notebooks) == [f"{STEM}-student-notebooks/{c.name}" for c in CHAPTERS]
    assert f"{STEM}-student-notebooks/README.md" in members(zip_path)
    for chapter in CHAPTERS:
        nb = notebooks[f"{STEM}-student-notebooks/{chapter.name}"]
        nbformat.validate(nb)
        assert not [c for c in nb.cells if "solution" in c.metadata.get("tags", [])], chapter.name
        stored = [c for c in nb.cells if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not stored, f"{chapter.name}: {len(stored)} code cells keep outputs of the reference run"
        student_lines = {line.strip() for c in nb.cells for line in c.source.splitlines()}
        answers = solution_only_lines(chapter)
        assert answers, f"{chapter.name}: no solution code found to look for"
        leaked = sorted(answers & student_lines)
        assert not leaked, f"{chapter.name}: lines of its solutions are in the student version: {leaked[:5]}"
        assert any(INSTALL_TAG in c.source for c in nb.cells), f"{chapter.name}: its set-up cell should install {INSTALL_TAG}"


def test_the_nbgrader_pack_is_a_course_with_one_assignment_per_chapter(packs):
    zip_path = packs / f"{STEM}-nbgrader-source.zip"
    names = members(zip_path)
    top = f"{STEM}-nbgrader-source"
    assert f"{top}/nbgrader_config.py" in names and f"{top}/README.md" in names
    notebooks = notebooks_in(zip_path)
    assert sorted(notebooks) == [f"{top}/source/ch{c.stem}/{c.name}" for c in CHAPTERS]
    for name, nb in notebooks.items():
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded, f"{name} has no graded cell"
        assert any(INSTALL_TAG in c.source for c in nb.cells), f"{name}: its set-up cell should install {INSTALL_TAG}"
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")
    readme = zipfile.ZipFile(zip_path).read(f"{top}/README.md").decode()
    assert f"@v{VERSION}" in readme and f"cd {top}" in readme


def test_links_between_chapters_in_the_nbgrader_pack_lead_to_the_book(packs):
    book = re.search(r"^url: \"(.+)\"$", (ROOT / "CITATION.cff").read_text(), flags=re.MULTILINE).group(1)
    notebooks = notebooks_in(packs / f"{STEM}-nbgrader-source.zip")
    markdown = "\n".join(c.source for nb in notebooks.values() for c in nb.cells if c.cell_type == "markdown")
    local = re.findall(r"\]\((?!https?://)([^)\s]*\.ipynb[^)\s]*)", markdown)
    assert not local, f"links to notebooks lead nowhere in a folder of one chapter: {local[:5]}"
    to_book = re.findall(rf"\]\({re.escape(book)}chapters/(\d\d_\w+)\.html", markdown)
    assert to_book and set(to_book) <= {c.stem for c in CHAPTERS}


def test_nbgrader_makes_a_release_of_the_unzipped_pack(packs, tmp_path):
    with zipfile.ZipFile(packs / f"{STEM}-nbgrader-source.zip") as archive:
        archive.extractall(tmp_path)
    course = tmp_path / f"{STEM}-nbgrader-source"
    venv_bin = Path(sys.executable).parent  # nbgrader runs alembic and the kernel from the PATH
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([str(venv_bin / "nbgrader"), "generate_assignment", "ch01_the_neuron"],
                            cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    released = course / "release" / "ch01_the_neuron" / "01_the_neuron.ipynb"
    text = released.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "raise NotImplementedError" in text and "YOUR ANSWER HERE" in text


def test_the_versions_agree(packs):
    notes = (packs / "RELEASE_NOTES.md").read_text(encoding="utf-8")
    assert notes.startswith(f"# MLP from First Principles v{VERSION}\n")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    section = re.search(rf"^## {re.escape(VERSION)} \(.*?\)\n(.*?)(?=^## |\Z)", changelog,
                        flags=re.MULTILINE | re.DOTALL).group(1).strip()
    assert section in notes
    with zipfile.ZipFile(packs / f"{STEM}-html.zip") as archive:
        versions_page = archive.read(f"{STEM}-html/appendix/versions.html").decode("utf-8")
    assert re.search(rf"mlp.course\D{{0,80}}{re.escape(VERSION)}", versions_page), \
        "the HTML book's versions page should name the release"
    readme = zipfile.ZipFile(packs / f"{STEM}-student-notebooks.zip").read(
        f"{STEM}-student-notebooks/README.md").decode()
    assert f"`mlp-course` {VERSION}" in readme
