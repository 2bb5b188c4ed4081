"""The chapters that draw graphs still run where Graphviz's `dot` program is missing.

`mlp_course.graphs.show` prints `graphs.DOT_MISSING` instead of a figure where `dot` is not
on the PATH, and a chapter must go on from there. Each chapter whose code calls
`graphs.show(...)` (or `show(...)` imported from `mlp_course.graphs`) runs top to bottom with
nbclient in a fresh kernel whose PATH holds everything the PATH of this process holds except
`dot`: the folders without it as they are, and in place of each folder with it a temporary
folder of links to everything else in it. Python, the kernel and every other program still
start. No cell may raise, and every cell that calls `show` must print the message and draw
nothing.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from mlp_course.graphs import DOT_MISSING

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
GRAPHS_SHOW = re.compile(r"\bgraphs\.show\(")
SHOW_IMPORTED = re.compile(r"^\s*from\s+mlp_course\.graphs\s+import\s+[^\n]*\bshow\b", re.MULTILINE)
BARE_SHOW = re.compile(r"(?<![\w.])show\(")


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def showing_cells(nb) -> list[int]:
    """The indices of the code cells that call mlp_course.graphs.show."""
    code = [(i, _source(c)) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code"]
    bare = any(SHOW_IMPORTED.search(source) for _, source in code)
    return [i for i, source in code if GRAPHS_SHOW.search(source) or (bare and BARE_SHOW.search(source))]


def _chapters_that_show() -> list[Path]:
    return [path for path in CHAPTERS if showing_cells(nbformat.read(path, as_version=4))]


def path_without_dot(folder: Path) -> str:
    """This process's PATH with every folder that holds `dot` replaced by a folder of links to the
    rest of it (made under ``folder``)."""
    parts = []
    for index, entry in enumerate(os.environ.get("PATH", "").split(os.pathsep)):
        if not entry or not os.path.isdir(entry):
            continue
        if not os.path.exists(os.path.join(entry, "dot")):
            parts.append(entry)
            continue
        farm = folder / f"path{index}"
        farm.mkdir()
        for name in os.listdir(entry):
            if name != "dot":
                os.symlink(os.path.join(entry, name), farm / name)
        parts.append(str(farm))
    return os.pathsep.join(parts)


def test_the_path_without_dot_keeps_everything_else(tmp_path):
    path = path_without_dot(tmp_path)
    assert shutil.which("dot", path=path) is None
    for program in ("python", "python3", "jupyter"):
        if shutil.which(program):
            assert shutil.which(program, path=path), f"{program} is missing from the PATH without dot"


def test_the_chapter_detector_finds_the_calls():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from mlp_course import graphs"),
        nbformat.v4.new_code_cell("graphs.show(g, titles=['a']);"),
        nbformat.v4.new_code_cell("plt.show()"),
        nbformat.v4.new_markdown_cell("graphs.show(g)"),
    ])
    assert showing_cells(nb) == [1]
    nb.cells.insert(0, nbformat.v4.new_code_cell("from mlp_course.graphs import show"))
    nb.cells.append(nbformat.v4.new_code_cell("show(g)"))
    assert showing_cells(nb) == [2, 5]


@pytest.mark.parametrize("chapter", _chapters_that_show(), ids=lambda p: p.stem)
def test_the_chapter_runs_without_dot(chapter, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed: cannot run the notebook")
    monkeypatch.setenv("PATH", path_without_dot(tmp_path))
    nb = nbformat.read(chapter, as_version=4)
    expected = showing_cells(nb)
    run = copy.deepcopy(nb)
    # First make sure the kernel really finds no dot; the indices of the chapter's cells move by one.
    run.cells.insert(0, nbformat.v4.new_code_cell(
        "import shutil\nassert shutil.which('dot') is None, shutil.which('dot')"))
    client = nbclient.NotebookClient(run, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(chapter.parent)}})
    client.execute()        # raises CellExecutionError, with the cell, if any cell raises
    cells = run.cells[1:]
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and _source(cell).strip():
            assert cell.execution_count is not None, f"{chapter.name}: cell {index} did not run"
    for index in expected:
        outputs = cells[index].outputs
        printed = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
        assert DOT_MISSING in printed, f"{chapter.name}: cell {index} calls show but printed {printed[:200]!r}"
        images = [o for o in outputs if "image/png" in o.get("data", {})]
        assert not images, f"{chapter.name}: cell {index} drew a figure although dot is missing"
