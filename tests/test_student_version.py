"""Tests for scripts/student_version, on a tiny notebook made in memory."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import re
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
    """An exercise in the course's template among other cells, with the outputs
    of one run stored, as in a chapter: statement, answer cell, check cell,
    written-answer cell, then a gated solution of four cells tagged `solution`."""
    return new_notebook(cells=[
        new_markdown_cell(":::{exercise}\n:label: ch99-ex-double\n\nWrite `double`. Why is it linear?\n:::"),
        new_code_cell("def double(x):\n    raise NotImplementedError(\"replace this line with your code\")",
                      metadata={"tags": ["answer"]}, execution_count=1),
        new_code_cell('check("ch99-ex-double", double)', metadata={"tags": ["check"]}, execution_count=2,
                      outputs=[stream("double is not answered yet: ...\n")]),
        new_markdown_cell("**Your answer.** ...", metadata={"tags": ["answer", "remove-cell"]}),
        new_markdown_cell("<!-- Reference solution: try the exercise first. -->\n"
                          ":::{solution-start} ch99-ex-double\n:class: dropdown\n:::",
                          metadata={"tags": ["solution"]}),
        new_code_cell("def double(x):\n    return 2 * x", metadata={"tags": ["solution"]}, execution_count=3),
        new_code_cell('check("ch99-ex-double", double)', metadata={"tags": ["solution"]}, execution_count=4,
                      outputs=[stream("\u2713 double passes all 2 test cases.\n")]),
        new_markdown_cell(":::{solution-end}\n:::", metadata={"tags": ["solution"]}),
        new_code_cell("print(double(21))", metadata={"tags": ["hide-input"]}, execution_count=5,
                      outputs=[stream("42\n")]),
    ])


def test_strip_solutions_removes_exactly_the_tagged_cells():
    nb = tiny_notebook()
    assert sv.strip_solutions(nb) == 4
    assert [c.source.splitlines()[0] for c in nb.cells] == [
        ":::{exercise}", "def double(x):", 'check("ch99-ex-double", double)', "**Your answer.** ...",
        "print(double(21))"]
    assert [c.metadata.get("tags") for c in nb.cells] == [
        None, ["answer"], ["check"], ["answer", "remove-cell"], ["hide-input"]]
    assert not any(sv.is_solution(c) for c in nb.cells)


def test_clear_outputs_empties_every_code_cell_and_keeps_tags():
    nb = tiny_notebook()
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    sv.clear_outputs(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "execution" not in nb.cells[1].metadata
    assert nb.cells[-1].metadata["tags"] == ["hide-input"]
    assert nb.cells[0].source.startswith(":::{exercise}")
    assert nb.cells[3].metadata["tags"] == ["answer", "remove-cell"]


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
    assert len(copy.cells) == 5
    text = nbformat.writes(copy)
    for given_away in ("return 2 * x", "solution-start", "solution-end", "\u2713", "not answered",
                       "Reference solution"):
        assert given_away not in text, given_away
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in copy.cells if c.cell_type == "code")
    # The original is untouched.
    original = nbformat.read(src / "01_demo.ipynb", as_version=4)
    assert len(original.cells) == 9 and original.cells[6].outputs


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


RUN_TEST = "test_the_student_version_of_each_chapter_runs_and_every_check_waits_for_an_answer"
# Kernels run two at a time, each with half the cores' threads: a kernel alone
# leaves one of two cores mostly idle, and more threads than cores spin.
PARALLEL = 2


@pytest.fixture(scope="module")
def student_runs(request, tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    """The student version of each chapter that this session tests, executed top to
    bottom in a fresh kernel, PARALLEL at a time; a cell that raises keeps its error."""
    import asyncio
    import os

    from nbclient import NotebookClient

    wanted = [item.callspec.params["chapter"] for item in request.session.items
              if item.originalname == RUN_TEST and hasattr(item, "callspec")]
    out = tmp_path_factory.mktemp("student")
    sv.write_student_version(wanted, out)
    notebooks = {p.name: nbformat.read(out / p.name, as_version=4) for p in wanted}
    env = dict(os.environ)
    threads = str(max(1, (os.cpu_count() or 1) // PARALLEL))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(name, threads)

    async def run_all() -> None:
        gate = asyncio.Semaphore(PARALLEL)

        async def run(nb: nbformat.NotebookNode) -> None:
            async with gate:
                client = NotebookClient(nb, timeout=1800, kernel_name="python3", allow_errors=True,
                                        resources={"metadata": {"path": str(out)}})
                await client.async_execute(env=env)

        # The last chapters are the longest: start them first, so that no long one runs alone at the end.
        await asyncio.gather(*(run(nb) for nb in reversed(notebooks.values())))

    asyncio.run(run_all())
    return notebooks


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_the_student_version_of_each_chapter_runs_and_every_check_waits_for_an_answer(chapter, student_runs):
    """What an instructor hands out must run top to bottom without the solutions:
    no cell may need a solution's variables, and every learner check (a cell
    tagged `check`, one call check("label", ...)) must meet its untouched stub
    ("not answered yet"), not an error and not a pass."""
    notebook = student_runs[chapter.name]
    checks = [c for c in notebook.cells if c.cell_type == "code" and "check" in c.metadata.get("tags", [])]
    assert checks, f"{chapter.name}: no check cell (code, tagged 'check') is left in the student version"
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                raise AssertionError(f"{chapter.name}: {cell.source[:80]!r} raised {output.ename}: {output.evalue}")
            assert output.get("name") != "stderr", f"{chapter.name}: stderr in {cell.source[:80]!r}"
            assert "\u2713" not in output.get("text", ""), f"{chapter.name}: a check passed on a stub"
    for cell in checks:
        assert cell.source.lstrip().startswith("check("), f"{chapter.name}: a check cell is not check(...): {cell.source[:80]!r}"
        out = "".join(o.get("text", "") for o in cell.outputs)
        assert "not answered yet" in out, f"{chapter.name}: {cell.source[:80]!r} printed {out!r}"


# --- Nothing left may mention a solution that is not there ---------------------------

# Only cells tagged `solution` may speak of a solution (CONTRIBUTING.md,
# "Exercises"): the student version removes them, and "the solution follows"
# with nothing following is a bug. Each pattern names what it catches; the last
# one catches any other mention of a solution, except the mathematical sense
# ("the solution of the equation").
_MATHS = (r"(?<!closed-form )(?<!exact )(?<!analytic )(?<!numerical )(?<!unique )(?<!least-squares )"
          r"(?<!optimal )(?<!trivial )")
SOLUTION_MENTIONS = [
    ("says a solution follows", r"\bsolutions?\b(?:\s+\w+){0,3}?\s+(?:follows?|below|after\s+(?:it|each|the))\b"),
    ("points to a hidden cell", r"\bhidden\s+cells?\b"),
    ("sends the reader to a solution", r"\bsee\s+the\s+(?:\w+\s+)?solutions?\b"),
    ("mentions a reference solution", r"\breference\s+(?:solutions?|answers?)\b"),
    ("says where solutions are", r"\bsolutions?\b[^.\n]{0,60}\b(?:hidden|dropdowns?|collapsed)\b"),
    ("mentions a solution cell", r"\bsolution\s+cells?\b"),
    ("is the gate of a solution", r"\btry\s+the\s+exercise\s+first\b"),
    ("mentions a solution", _MATHS + r"\bsolutions?\b(?!\s+(?:of|to)\s+(?:the\s+|an?\s+|this\s+|these\s+)?"
                            r"(?:equations?|system|linear|quadratic|differential|problem\s+\$))"),
]
_SOLUTION_PATTERNS = [(why, re.compile(pattern, re.IGNORECASE)) for why, pattern in SOLUTION_MENTIONS]


def solution_mentions(text: str) -> list[tuple[int, str, str]]:
    """(line, what it does, the words) for each place ``text`` speaks of a solution; one per line."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for why, pattern in _SOLUTION_PATTERNS:
            if match := pattern.search(line):
                found.append((number, why, match.group(0)))
                break
    return found


@pytest.mark.parametrize("text, why", [
    ("The solution follows.", "says a solution follows"),
    ("The solutions follow each exercise.", "says a solution follows"),
    ("The reference solution below checks part 1.", "says a solution follows"),
    ("Solutions are below, after a line that says so.", "says a solution follows"),
    ("The test cases (in the hidden cell below) come from PyTorch.", "points to a hidden cell"),
    ("If you are stuck, see the solution.", "sends the reader to a solution"),
    ("Compare with the reference solution.", "mentions a reference solution"),
    ("# never with the reference answer", "mentions a reference solution"),
    ("The solutions are hidden in the book; in a notebook, each", "says where solutions are"),
    ("Each solution sits in a dropdown.", "says where solutions are"),
    ("Run the solution cell.", "mentions a solution cell"),
    ("<!-- Reference solution: try the exercise first. -->", "mentions a reference solution"),
    ("Try the exercise first.", "is the gate of a solution"),
    ("(If it answers `nan`, the solution explains why.)", "mentions a solution"),
    ("3. The solution checks part 1 numerically.", "mentions a solution"),
])
def test_the_solution_detector_catches_each_kind(text, why):
    assert [found[1] for found in solution_mentions(text)] == [why]


@pytest.mark.parametrize("text", [
    "A first cell, hidden in the book, prepares the notebook.",
    "A hidden layer of 512 units; the hidden units start out different.",
    "The solution of the equation $Ax = b$ is unique.",
    "Least squares has a closed-form solution, $w = (X^T X)^{-1} X^T y$.",
    "Each exercise has a check cell below its answer cell.",
    "solution_path = []  # a name, not a word",
    "Until you answer, the check says the exercise is not answered yet.",
])
def test_the_solution_detector_leaves_other_words_alone(text):
    assert solution_mentions(text) == []


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_no_cell_left_in_the_student_version_mentions_a_solution(chapter):
    nb = nbformat.read(chapter, as_version=4)
    report = [f"cell {index} ({cell.cell_type}), line {line}: {why}: {words!r}"
              for index, cell in enumerate(nb.cells) if not sv.is_solution(cell)
              for line, why, words in solution_mentions(cell.source)]
    assert not report, (
        f"{chapter.name}: cells that the student version keeps speak of a solution it does not have "
        f"(tag the sentence's cell 'solution', or reword it):\n  " + "\n  ".join(report))


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_answer_check_and_written_answer_cells_survive_in_the_student_version(chapter, tmp_path):
    """The student version keeps every cell a learner works in, with its tags:
    answer cells, check cells and written-answer cells (which the book removes)."""
    original = nbformat.read(chapter, as_version=4)
    kept = [c for c in original.cells if {"answer", "check"} & set(c.metadata.get("tags", []))
            and not sv.is_solution(c)]
    written = [c for c in kept if c.cell_type == "markdown"]
    assert written, f"{chapter.name}: no written-answer cell (markdown tagged 'answer' and 'remove-cell')"
    sv.write_student_version([chapter], tmp_path)
    copy = nbformat.read(tmp_path / chapter.name, as_version=4)
    left = [(c.cell_type, c.source, c.metadata.get("tags")) for c in copy.cells
            if {"answer", "check"} & set(c.metadata.get("tags", []))]
    assert left == [(c.cell_type, c.source, c.metadata.get("tags")) for c in kept], (
        f"{chapter.name}: the student version lost or changed answer, check or written-answer cells")
    for cell in written:
        assert "remove-cell" in cell.metadata["tags"] and cell.source.startswith("**Your answer.**"), (
            f"{chapter.name}: a written-answer cell is tagged 'answer' and 'remove-cell' and starts with "
            f"'**Your answer.**': {cell.source[:60]!r}")
