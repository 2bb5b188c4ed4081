"""Tests for scripts/student_version, on a tiny notebook made in memory."""
from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "student_version"
CHAPTERS = sorted((SCRIPT.parent.parent / "chapters").glob("[0-9][0-9]_*.ipynb"))


def load_script():
    """Import the script as a module (it has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("student_version", str(SCRIPT))
    spec = importlib.util.spec_from_loader("student_version", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


sv = load_script()


def stream(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def tiny_notebook() -> nbformat.NotebookNode:
    """A gated solution (three cells tagged `solution`) among four others, with
    the outputs of one run stored, as in a chapter."""
    return new_notebook(cells=[
        new_markdown_cell("# Exercise\nWrite `double`."),
        new_code_cell("def double(x):\n    raise NotImplementedError", execution_count=1),
        new_code_cell("check_function(double, cases)", execution_count=2,
                      outputs=[stream("double is not answered yet: ...\n")]),
        new_markdown_cell("````{solution-start} ex-double\n:class: dropdown\n````",
                          metadata={"tags": ["solution"]}),
        new_code_cell("def double(x):\n    return 2 * x\n\ncheck_function(double, cases)",
                      metadata={"tags": ["solution"]}, execution_count=3,
                      outputs=[stream("\u2713 double passes all 2 test cases.\n")]),
        new_markdown_cell("````{solution-end}\n````", metadata={"tags": ["solution"]}),
        new_code_cell("print(double(21))", metadata={"tags": ["hide-input"]}, execution_count=4,
                      outputs=[stream("42\n")]),
    ])


def test_strip_solutions_removes_exactly_the_tagged_cells():
    nb = tiny_notebook()
    assert sv.strip_solutions(nb) == 3
    assert [c.source.splitlines()[0] for c in nb.cells] == [
        "# Exercise", "def double(x):", "check_function(double, cases)", "print(double(21))"]
    assert not any(sv.is_solution(c) for c in nb.cells)


def test_clear_outputs_empties_every_code_cell_and_keeps_tags():
    nb = tiny_notebook()
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    sv.clear_outputs(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "execution" not in nb.cells[1].metadata
    assert nb.cells[-1].metadata["tags"] == ["hide-input"]
    assert nb.cells[0].source == "# Exercise\nWrite `double`."


def test_strip_solutions_without_solutions_changes_nothing():
    nb = new_notebook(cells=[new_code_cell("1 + 1"), new_markdown_cell("text")])
    before = nbformat.writes(nb)
    assert sv.strip_solutions(nb) == 0
    assert nbformat.writes(nb) == before


def test_write_student_version_writes_valid_copies(tmp_path):
    src = tmp_path / "chapters"
    src.mkdir()
    nbformat.write(tiny_notebook(), src / "01_demo.ipynb")
    out = tmp_path / "student"

    assert sv.main([str(out), str(src / "01_demo.ipynb")]) == 0

    copy = nbformat.read(out / "01_demo.ipynb", as_version=4)
    nbformat.validate(copy)
    assert len(copy.cells) == 4
    text = nbformat.writes(copy)
    for given_away in ("return 2 * x", "solution-start", "solution-end", "\u2713", "not answered"):
        assert given_away not in text, given_away
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in copy.cells if c.cell_type == "code")
    # The original is untouched.
    original = nbformat.read(src / "01_demo.ipynb", as_version=4)
    assert len(original.cells) == 7 and original.cells[4].outputs


def test_the_real_chapters_lose_every_solution_and_output(tmp_path):
    assert CHAPTERS
    removed = sv.write_student_version(CHAPTERS, tmp_path)
    for path in CHAPTERS:
        assert removed[path.name] > 0, f"{path.name}: no solution cell removed"
        copy = nbformat.read(tmp_path / path.name, as_version=4)
        nbformat.validate(copy)
        text = nbformat.writes(copy)
        assert "{solution" not in text, f"{path.name}: a solution directive is left"
        assert not any(c.get("outputs") for c in copy.cells if c.cell_type == "code")


def test_refuses_to_overwrite_the_originals(tmp_path):
    nbformat.write(tiny_notebook(), tmp_path / "01_demo.ipynb")
    with pytest.raises(ValueError, match="originals"):
        sv.write_student_version([tmp_path / "01_demo.ipynb"], tmp_path)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_the_student_version_of_each_chapter_runs_and_every_check_waits_for_an_answer(chapter, tmp_path):
    """What an instructor hands out must run top to bottom without the solutions:
    no cell may need a solution's variables, and every learner check must meet
    its untouched stub (\"not answered yet\"), not an error and not a pass."""
    from nbclient import NotebookClient

    sv.write_student_version([chapter], tmp_path)
    notebook = nbformat.read(tmp_path / chapter.name, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    checks = [c for c in notebook.cells if c.cell_type == "code" and "check_" in c.source
              and any("not answered" in o.get("text", "") or "\u2713" in o.get("text", "") for o in c.outputs)]
    assert checks, f"{chapter.name}: no learner check printed anything"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{chapter.name}: {cell.source[:80]!r} raised"
            assert output.get("name") != "stderr", f"{chapter.name}: stderr in {cell.source[:80]!r}"
            assert "\u2713" not in output.get("text", ""), f"{chapter.name}: a check passed on a stub"
    for cell in checks:
        assert "not answered yet" in "".join(o.get("text", "") for o in cell.outputs)
