"""Tests for scripts/nbgrader_assignment.

The first part tests the conversion on a small notebook made in memory, whose
checks are registered under a throwaway chapter, ch99 (fast). The second part
runs nbgrader itself on chapters 1, 5 and 8: it writes the source assignment,
generates the release, autogrades four submissions (a correct one, one with a
single wrong answer, an untouched one, one that tampers with the notebook)
and reads every score from the gradebook. Everything is written under pytest's
temporary folder; nothing in the repository.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import dataclasses
import importlib.machinery
import importlib.util
import io
import os
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from mlp_course.exercises import checks, registry
from mlp_course.exercises.checks import RefereeCalled, check_function
from mlp_course.exercises.registry import exercise

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "nbgrader_assignment"
# Chapters 1 and 5 (NumPy, Part I) and 8 (PyTorch, whose checks let answers call torch).
CHAPTERS = [ROOT / "chapters" / name for name in
            ("01_the_neuron.ipynb", "05_backpropagation.ipynb", "08_pytorch_autograd.ipynb")]


def load_script():
    """Import the script as a module (it has no .py suffix), without writing bytecode into scripts/."""
    loader = importlib.machinery.SourceFileLoader("nbgrader_assignment", str(SCRIPT))
    spec = importlib.util.spec_from_loader("nbgrader_assignment", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["nbgrader_assignment"] = module   # its dataclasses look their module up there
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write
    return module


na = load_script()


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


# --------------------------------------------------------------------------
# Part 1: the conversion, on a synthetic chapter
# --------------------------------------------------------------------------


@pytest.fixture
def ch99(monkeypatch):
    """Two checks of a throwaway chapter 99, registered for one test only."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setitem(sys.modules, "mlp_course.exercises.ch99", types.ModuleType("mlp_course.exercises.ch99"))

    @exercise("ch99-ex-double", answers=("double",), points=2)
    def _check_double(double):
        return check_function(double, [((1.5,), 3.0), ((np.arange(3.0),), 2 * np.arange(3.0))], name="double")

    @exercise("ch99-ex-gate/and", answers=("w_and", "b_and"), points=1)
    def _check_and(w_and, b_and):
        if w_and is None or b_and is None:
            return checks.not_answered("the AND neuron")
        bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
        return checks.check_array((bits @ np.asarray(w_and) + b_and >= 0).astype(float),
                                  np.array([0.0, 0.0, 0.0, 1.0]), name="AND neuron")

    @exercise("ch99-ex-gate/or", answers=("w_or", "b_or"), points=3)
    def _check_or(w_or, b_or):
        if w_or is None or b_or is None:
            return checks.not_answered("the OR neuron")
        bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
        return checks.check_array((bits @ np.asarray(w_or) + b_or >= 0).astype(float),
                                  np.array([0.0, 1.0, 1.0, 1.0]), name="OR neuron")


def solution(cell):
    cell.metadata["tags"] = ["solution"]
    return cell


def stream(text: str):
    return new_output("stream", name="stdout", text=text)


DOUBLE_STUB = '''\
def double(x):
    """Twice x."""
    raise NotImplementedError("replace this line with your code")'''

DOUBLE_REFERENCE = '''\
def _twice(x):
    return x + x


def double(x):
    """Twice x."""
    # One line is enough.
    return _twice(x)


print(double(2))'''

GATE_STUB = '''\
bits = [[0, 0], [0, 1], [1, 0], [1, 1]]
# Replace each None: w by two weights, b by a number.
w_and, b_and = None, None
w_or, b_or = None, None
print("set")'''


def synthetic_chapter() -> nbformat.NotebookNode:
    """A chapter in the form CONTRIBUTING.md describes: a function exercise with a
    written part, a two-part value exercise, and a conceptual exercise worth 2 points."""
    return new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        cells=[
            new_markdown_cell("# Demo\n\nWhy it matters."),
            new_code_cell("import numpy as np\n\nfrom mlp_course.exercises import check", execution_count=1),
            new_markdown_cell("## Exercises\n\nEach coding exercise has an answer cell and a check cell."),
            new_markdown_cell(":::{exercise}\n:label: ch99-ex-double\n\nWrite `double(x)`, and say why.\n:::"),
            new_code_cell(DOUBLE_STUB, metadata={"tags": ["answer"]}, execution_count=2),
            new_code_cell('check("ch99-ex-double", double)', metadata={"tags": ["check"]}, execution_count=3,
                          outputs=[stream("double is not answered yet: ...\n")]),
            new_markdown_cell("**Your answer.** …", metadata={"tags": ["answer", "remove-cell"]}),
            solution(new_markdown_cell("<!-- Reference solution: try the exercise first. -->\n"
                                       ":::{solution-start} ch99-ex-double\n:class: dropdown\n:::")),
            solution(new_markdown_cell("Adding `x` to itself doubles it.")),
            solution(new_code_cell(DOUBLE_REFERENCE, execution_count=4, outputs=[stream("4\n")])),
            solution(new_code_cell('check("ch99-ex-double", double)', execution_count=5,
                                   outputs=[stream("\u2713 double passes all 2 test cases.\n")])),
            solution(new_markdown_cell(":::{solution-end}\n:::")),
            new_markdown_cell(":::{exercise}\n:label: ch99-ex-gate\n\nChoose an AND and an OR neuron.\n:::"),
            new_code_cell(GATE_STUB, metadata={"tags": ["answer"]}, execution_count=6),
            new_code_cell('check("ch99-ex-gate/and", w_and, b_and)\ncheck("ch99-ex-gate/or", w_or, b_or)',
                          metadata={"tags": ["check"]}, execution_count=7),
            solution(new_markdown_cell(":::{solution-start} ch99-ex-gate\n:class: dropdown\n:::")),
            solution(new_code_cell("w_and, b_and = np.array([1.0, 1.0]), -1.5\n"
                                   "w_or = np.array([1.0, 1.0])\nb_or = -0.5\n"
                                   'check("ch99-ex-gate/and", w_and, b_and)', execution_count=8)),
            solution(new_markdown_cell(":::{solution-end}\n:::")),
            new_markdown_cell(":::{exercise}\n:label: ch99-ex-why\n\nWhy?\n:::"),
            new_markdown_cell("**Your answer.** …", metadata={"tags": ["answer", "remove-cell"], "points": 2}),
            solution(new_markdown_cell(":::{solution} ch99-ex-why\n:class: dropdown\n\nBecause it is so.\n:::")),
        ])


def nbgrader_cells(nb):
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells if "nbgrader" in cell.metadata}


def test_convert_drops_solutions_and_clears_outputs(ch99):
    original = synthetic_chapter()
    before = nbformat.writes(original)
    converted, summary = na.convert(original, "demo.ipynb")
    assert nbformat.writes(original) == before, "convert changed its input"
    assert not any("solution" in tags(cell) for cell in converted.cells)
    assert len(converted.cells) == len(original.cells) - 9 == len(original.cells) - summary.dropped
    assert all(cell.outputs == [] and cell.execution_count is None
               for cell in converted.cells if cell.cell_type == "code")
    assert (summary.answers, summary.tests, summary.points, summary.written, summary.written_points) == (2, 2, 6, 2, 3)
    nbformat.validate(converted)


def test_a_function_stub_keeps_its_signature_and_gets_the_reference_body(ch99):
    converted, _ = na.convert(synthetic_chapter(), "demo.ipynb")
    cell = nbgrader_cells(converted)["ch99-ex-double-answer"]
    assert cell.source == textwrap.dedent('''\
        def double(x):
            """Twice x."""
            ### BEGIN SOLUTION
            # One line is enough.
            return _twice(x)
            ### END SOLUTION

        ### BEGIN SOLUTION
        def _twice(x):
            return x + x
        ### END SOLUTION''')
    assert cell.metadata["nbgrader"] == {"grade": False, "grade_id": "ch99-ex-double-answer", "locked": False,
                                         "schema_version": 3, "solution": True, "task": False}
    assert tags(cell) == ["answer"]
    # With the markers gone, it is the reference answer, and it passes the check.
    namespace: dict = {}
    exec(na.strip_solution_markers(cell.source), namespace)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert registry.check("ch99-ex-double", namespace["double"])
    assert out.getvalue().startswith("\u2713")


def test_a_value_stub_keeps_its_comments_and_none_lines_and_gets_the_reference_assignments(ch99):
    converted, _ = na.convert(synthetic_chapter(), "demo.ipynb")
    cell = nbgrader_cells(converted)["ch99-ex-gate-answer"]
    assert cell.source == textwrap.dedent('''\
        bits = [[0, 0], [0, 1], [1, 0], [1, 1]]
        # Replace each None: w by two weights, b by a number.
        w_and, b_and = None, None
        w_or, b_or = None, None
        ### BEGIN SOLUTION
        w_and, b_and = np.array([1.0, 1.0]), -1.5
        w_or = np.array([1.0, 1.0])
        b_or = -0.5
        ### END SOLUTION
        print("set")''')


def test_comments_alone_bring_no_extra_solution_region():
    stub = 'def f(x):\n    """Doc."""\n    raise NotImplementedError("replace this line with your code")'
    reference = 'def f(x):\n    """Doc."""\n    return x + 1\n\n# Why: one more.\nf(1)'
    assert na.fill_answer(stub, reference, "answer", "reference") == (
        'def f(x):\n    """Doc."""\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION')


def test_a_stub_may_give_lines_before_its_raise_and_the_reference_must_begin_with_them():
    stub = textwrap.dedent('''\
        def f(x):
            """Doc."""
            y = x + 1   # given
            raise NotImplementedError("replace this line with your code")''')
    reference = textwrap.dedent('''\
        def f(x):
            """Doc."""
            y = x + 1   # given
            # Then double it.
            return 2 * y''')
    assert na.fill_answer(stub, reference, "answer", "reference") == textwrap.dedent('''\
        def f(x):
            """Doc."""
            y = x + 1   # given
            ### BEGIN SOLUTION
            # Then double it.
            return 2 * y
            ### END SOLUTION''')
    with pytest.raises(na.AssignmentError, match=r"reference f\(\) should begin with the 1 line"):
        na.fill_answer(stub, reference.replace("y = x + 1", "y = x + 2"), "answer", "reference")
    with pytest.raises(na.AssignmentError, match=r"the stub f\(\) should end in `raise NotImplementedError"):
        na.find_stubs(ast.parse(stub + "\n    return y"), "answer")


def test_a_class_stub_keeps_its_complete_methods_and_gets_the_reference_bodies_of_the_others():
    stub = textwrap.dedent('''\
        class Scale:
            """Multiplies by k."""

            def __init__(self, k):
                self.k = k

            def forward(self, A):
                raise NotImplementedError("replace this line with your code")

            def backward(self, d_out):
                """The gradient."""
                raise NotImplementedError("replace this line with your code")''')
    reference = textwrap.dedent('''\
        class Scale:
            """Multiplies by k."""

            def __init__(self, k):
                self.k = k
                self.calls = 0

            def forward(self, A):
                self.calls += 1
                return self.k * A

            def backward(self, d_out):
                """The gradient."""
                return self.k * d_out


        check("ch99-ex-scale", Scale)''')
    stubs = na.find_stubs(ast.parse(stub), "answer")
    assert stubs.names == ["Scale"] and [m.name for m in stubs.classes[0][1]] == ["forward", "backward"]
    filled = na.fill_answer(stub, reference, "answer", "reference")
    assert filled == textwrap.dedent('''\
        class Scale:
            """Multiplies by k."""

            def __init__(self, k):
                self.k = k

            def forward(self, A):
                ### BEGIN SOLUTION
                self.calls += 1
                return self.k * A
                ### END SOLUTION

            def backward(self, d_out):
                """The gradient."""
                ### BEGIN SOLUTION
                return self.k * d_out
                ### END SOLUTION''')
    with pytest.raises(na.AssignmentError, match="defines Scale but not as a class"):
        na.fill_answer(stub, "def Scale(k):\n    return k", "answer", "reference")
    with pytest.raises(na.AssignmentError, match=r"defines Scale.backward but not as a function"):
        na.fill_answer(stub, reference.replace("def backward(self, d_out):", "backward = None\n    def _b(self, d_out):"),
                       "answer", "reference")


def test_every_chapter_converts_and_its_filled_answers_pass_where_they_stand_alone():
    """Every chapter becomes an assignment with its registered points; answers that need
    nothing else of their chapter are run and checked."""
    for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb")):
        chapter = nbformat.read(path, as_version=4)
        converted, summary = na.convert(chapter, path.name)
        keys = [key for cell in chapter.cells if na.is_check(cell) and cell.cell_type == "code"
                for key in _keys(cell.source)]
        assert summary.points == sum(registry.get(key).points for key in keys), path.name
        assert summary.answers == summary.tests, path.name
    chapter = nbformat.read(ROOT / "chapters" / "13_regularisation.ipynb", as_version=4)
    converted, _ = na.convert(chapter, "13_regularisation.ipynb")
    answer = _answer_cell_for(converted, "ch13-ex-dropout")
    namespace: dict = {"np": np}
    exec(na.strip_solution_markers(answer.source), namespace)
    with contextlib.redirect_stdout(io.StringIO()):
        registry.grade("ch13-ex-dropout", namespace["InvertedDropout"])


def test_check_cells_become_locked_autograded_cells_with_hidden_grade_calls(ch99):
    converted, _ = na.convert(synthetic_chapter(), "demo.ipynb")
    cells = nbgrader_cells(converted)
    assert cells["ch99-ex-double"].source == (
        'from mlp_course.exercises import check, grade\n\ncheck("ch99-ex-double", double)\n'
        '### BEGIN HIDDEN TESTS\ngrade("ch99-ex-double", double)\n### END HIDDEN TESTS')
    both = cells["ch99-ex-gate_and__ch99-ex-gate_or"]
    assert both.source.splitlines()[2:] == [
        'check("ch99-ex-gate/and", w_and, b_and)', 'check("ch99-ex-gate/or", w_or, b_or)',
        "### BEGIN HIDDEN TESTS",
        'grade("ch99-ex-gate/and", w_and, b_and)', 'grade("ch99-ex-gate/or", w_or, b_or)',
        "### END HIDDEN TESTS"]
    assert cells["ch99-ex-double"].metadata["nbgrader"] == {
        "grade": True, "grade_id": "ch99-ex-double", "locked": True, "points": 2,
        "schema_version": 3, "solution": False, "task": False}
    assert both.metadata["nbgrader"]["points"] == 1 + 3   # the sum of the registered points


def test_written_answers_become_manually_graded_cells_holding_the_reference_text(ch99):
    converted, _ = na.convert(synthetic_chapter(), "demo.ipynb")
    cells = nbgrader_cells(converted)
    double = cells["ch99-ex-double-written"]
    assert double.metadata["nbgrader"] == {"grade": True, "grade_id": "ch99-ex-double-written", "locked": False,
                                           "points": 1, "schema_version": 3, "solution": True, "task": False}
    assert double.source.startswith("**Your answer.** …\n\n### BEGIN SOLUTION\nAdding `x` to itself")
    assert "return _twice(x)" in double.source            # the reference code, for the grader
    assert "solution-start" not in double.source and "<!--" not in double.source
    assert 'check("ch99-ex-double"' not in double.source  # the solution's check call adds nothing
    why = cells["ch99-ex-why-written"]
    assert why.source == "**Your answer.** …\n\n### BEGIN SOLUTION\nBecause it is so.\n### END SOLUTION"
    assert why.metadata["nbgrader"]["points"] == 2          # from the cell's metadata


def test_the_cell_metadata_is_valid_for_nbgrader(ch99):
    format_ = pytest.importorskip("nbgrader.nbgraderformat", reason="nbgrader is not installed")
    converted, _ = na.convert(synthetic_chapter(), "demo.ipynb")
    format_.MetadataValidator().validate_nb(converted)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in converted.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids)) == 6


def test_an_unknown_key_fails_clearly(ch99):
    nb = synthetic_chapter()
    nb.cells[5].source = 'check("ch99-ex-dubble", double)'
    with pytest.raises(na.AssignmentError, match=r"demo.ipynb, cell 5: unknown exercise 'ch99-ex-dubble'"
                                                 r".*Did you mean 'ch99-ex-double'"):
        na.convert(nb, "demo.ipynb")
    nb.cells[5].source = 'check("ch42-ex-double", double)'
    with pytest.raises(na.AssignmentError, match="cell 5: unknown exercise 'ch42-ex-double': no chapter module"):
        na.convert(nb, "demo.ipynb")


def test_a_check_with_the_wrong_number_of_answers_fails_clearly(ch99):
    nb = synthetic_chapter()
    nb.cells[14].source = 'check("ch99-ex-gate/and", w_and)'
    with pytest.raises(na.AssignmentError, match=r"cell 14: .* passes 1 answer\(s\); the check takes 2: w_and, b_and"):
        na.convert(nb, "demo.ipynb")


def test_an_answer_without_a_reference_answer_fails_clearly(ch99):
    nb = synthetic_chapter()
    nb.cells[9].source = "def triple(x):\n    return 3 * x"
    with pytest.raises(na.AssignmentError, match="cell 4: no reference answer for double"):
        na.convert(nb, "demo.ipynb")
    nb = synthetic_chapter()
    nb.cells[16].source = "w_and, b_and = np.array([1.0, 1.0]), -1.5"   # w_or and b_or missing
    with pytest.raises(na.AssignmentError, match="cell 13: no reference answer for w_and, b_and, w_or, b_or"):
        na.convert(nb, "demo.ipynb")


def test_a_check_cell_with_other_code_fails_clearly(ch99):
    nb = synthetic_chapter()
    nb.cells[5].source = 'double = lambda x: 2 * x\ncheck("ch99-ex-double", double)'
    with pytest.raises(na.AssignmentError, match="cell 5: a check cell holds only check"):
        na.convert(nb, "demo.ipynb")


def test_writes_the_source_assignment_and_a_config(ch99, tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    nbformat.write(synthetic_chapter(), chapters / "99_demo.ipynb")
    course = tmp_path / "course"

    assert na.main([str(course), "ps1", str(chapters / "99_demo.ipynb")]) == 0

    written = nbformat.read(course / "source" / "ps1" / "99_demo.ipynb", as_version=4)
    assert set(nbgrader_cells(written)) == {"ch99-ex-double-answer", "ch99-ex-double", "ch99-ex-double-written",
                                            "ch99-ex-gate-answer", "ch99-ex-gate_and__ch99-ex-gate_or",
                                            "ch99-ex-why-written"}
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert config.CourseDirectory.root == str(course)
    assert config.CourseDirectory.db_url == f"sqlite:///{course / 'gradebook.db'}"
    assert config.CourseDirectory.course_id == "mlp-course"
    # An existing config is left alone.
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    assert na.main([str(course), "ps1", str(chapters / "99_demo.ipynb")]) == 0
    assert (course / "nbgrader_config.py").read_text() == "c = get_config()\n"


@pytest.mark.parametrize("inside", ["chapters", "chapters/course"])
def test_refuses_a_course_folder_inside_the_chapters(ch99, tmp_path, capsys, inside):
    with pytest.raises(SystemExit):
        na.main([str(ROOT / inside), "ps1", str(CHAPTERS[0])])
    assert "lies inside" in capsys.readouterr().err
    assert not (ROOT / "chapters" / "source").exists() and not (ROOT / "chapters" / "course").exists()
    (tmp_path / "mine").mkdir()
    nbformat.write(synthetic_chapter(), tmp_path / "mine" / "99_demo.ipynb")
    with pytest.raises(na.AssignmentError, match="lies inside"):
        na.make_assignment(tmp_path / "mine" / "course", "ps1", [tmp_path / "mine" / "99_demo.ipynb"])


def test_a_bad_chapter_writes_nothing(ch99, tmp_path):
    nb = synthetic_chapter()
    nb.cells[5].source = 'check("ch99-ex-nope", double)'
    (tmp_path / "chapters").mkdir()
    nbformat.write(nb, tmp_path / "chapters" / "99_demo.ipynb")
    with pytest.raises(na.AssignmentError, match="unknown exercise"):
        na.make_assignment(tmp_path / "course", "ps1", [tmp_path / "chapters" / "99_demo.ipynb"])
    assert not (tmp_path / "course").exists()


# --------------------------------------------------------------------------
# Part 2: nbgrader, end to end, on chapters 1, 5 and 8
# --------------------------------------------------------------------------

ASSIGNMENT = "ps1"
STUDENTS = ("correct", "one-wrong", "untouched", "tampering")

#: A plausible mistake in chapter 5's tanh exercise: tanh' evaluated at A = tanh(Z) instead of at Z.
WRONG_TANH = '''\
def tanh_layer_backward(A_prev, W, b, dA):
    """Backward pass of A = tanh(A_prev @ W + b): returns (dA_prev, dW, db)."""
    A = np.tanh(A_prev @ W + b)
    dZ = dA * (1 - np.tanh(A) ** 2)   # the derivative at A, not at Z
    return dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)'''

#: A learner who overwrites what the notebook's checks use, and the registered check itself.
TAMPERING = '''\
import dataclasses
from mlp_course.exercises import checks, registry

check = lambda *answers: True      # noqa: E731
grade = lambda *answers: None      # noqa: E731
tanh_cases = []                    # what the chapter's check used before the checks moved into the package
registry._REGISTRY["ch05-ex-tanh"] = dataclasses.replace(
    registry.get("ch05-ex-tanh"), run=lambda *answers: checks.passed("tampered check passes anything"))

''' + WRONG_TANH.replace("np.tanh(A) ** 2", "A")   # another wrong answer: 1 - A instead of 1 - A**2

CHEAT = '''\
def {name}(*args):
    """Returns what the check's own reference computes."""
    from mlp_course.exercises import {chapter}
    return {chapter}.{referee}(*args)'''


def _run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")   # no bytecode caches in the repository
    env.setdefault("OMP_NUM_THREADS", "1")   # small arrays: threads only contend for the 2 shared cores
    # nbgrader calls `alembic` and the kernel from the PATH: the venv's first.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _keys(test_cell_source: str) -> list[str]:
    return re.findall(r'^check\("([^"]+)"', test_cell_source, flags=re.MULTILINE)


def _solution_regions(source: str) -> list[str]:
    return re.findall(r"### BEGIN SOLUTION\n(.*?)\n[ \t]*### END SOLUTION", source, flags=re.DOTALL)


def _referee_that_answers(key: str) -> str | None:
    """The name of a referee of `key`'s chapter module that, called by the answer, would pass
    the check if the check did not refuse it: the cheat is real, only the trap stops it."""
    module_name = f"mlp_course.exercises.{key[:4]}"
    registry.get(key)
    names = sorted(n for n, f in vars(sys.modules[module_name]).items() if getattr(f, "is_referee", False))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checks, "answer_running", lambda *args, **kwargs: contextlib.nullcontext())   # the trap switched off
        for name in names:
            def cheat(*args, _name=name):
                return getattr(sys.modules[module_name], _name)(*args)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    registry.grade(key, cheat)
            except Exception:
                continue
            return name
    return None


@dataclasses.dataclass
class Course:
    root: Path
    source: dict    # notebook stem -> source notebook
    release: dict   # notebook stem -> release notebook
    autograded: dict  # (student, stem) -> autograded notebook
    scores: dict    # (student, stem) -> {grade_id: (auto_score, max_score, needs_manual_grade, cell_type)}
    originals: dict  # stem -> the chapter as committed
    tampered: dict  # grade_id -> what was done to it
    wrong: str      # the grade_id of the one wrong answer


def _answer_cells(nb) -> dict:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "code"}


def _test_cells(nb) -> dict:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"}


def _written_cells(nb) -> dict:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in nb.cells
            if cell.metadata.get("nbgrader", {}).get("solution") and cell.cell_type == "markdown"}


def _answer_cell_for(nb, key: str):
    """The answer cell right above the test cell that checks `key`."""
    previous = None
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code" and key in _keys(cell.source):
            return previous
        if meta.get("solution") and cell.cell_type == "code":
            previous = cell
    raise AssertionError(f"no test cell checks {key}")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    pytest.importorskip("nbgrader", reason="nbgrader is not installed: pip install 'mlp-course[instructor]'")
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("course")
    _run([sys.executable, str(SCRIPT), str(root), ASSIGNMENT, *map(str, CHAPTERS)], cwd=root)
    _run([sys.executable, "-m", "nbgrader", "generate_assignment", ASSIGNMENT], cwd=root)
    stems = [path.stem for path in CHAPTERS]
    source = {s: nbformat.read(root / "source" / ASSIGNMENT / f"{s}.ipynb", as_version=4) for s in stems}
    release = {s: nbformat.read(root / "release" / ASSIGNMENT / f"{s}.ipynb", as_version=4) for s in stems}
    originals = {path.stem: nbformat.read(path, as_version=4) for path in CHAPTERS}

    # The submissions: copies of the release, with answers filled in.
    def correct(stem):
        nb = copy.deepcopy(release[stem])
        reference = _answer_cells(source[stem])
        for grade_id, cell in _answer_cells(nb).items():
            cell.source = na.strip_solution_markers(reference[grade_id].source)
        for cell in _written_cells(nb).values():
            cell.source = "**Your answer.** My own words on this exercise."
        return nb

    submissions = {(student, s): copy.deepcopy(release[s]) if student == "untouched" else correct(s)
                   for student in STUDENTS for s in stems}
    ch05 = "05_backpropagation"
    assert registry.get("ch05-ex-tanh").answers == ("tanh_layer_backward",), \
        "the wrong answers below are written for ch05-ex-tanh(tanh_layer_backward)"
    namespace = {"np": np}
    exec(WRONG_TANH, namespace)
    with pytest.raises(AssertionError):   # the check really rejects it
        registry.grade("ch05-ex-tanh", namespace["tanh_layer_backward"])
    _answer_cell_for(submissions["one-wrong", ch05], "ch05-ex-tanh").source = WRONG_TANH
    _answer_cell_for(submissions["tampering", ch05], "ch05-ex-tanh").source = TAMPERING
    tampered = {"ch05-ex-tanh": "overwrites check, grade and tanh_cases, replaces the registered check"}

    # A function answer that hands back a referee's result.
    cheat = None
    for stem in stems:
        for grade_id, cell in _test_cells(source[stem]).items():
            keys = _keys(cell.source)
            if grade_id in tampered or len(keys) != 1 or len(registry.get(keys[0]).answers) != 1:
                continue
            name = registry.get(keys[0]).answers[0]
            answer = _answer_cell_for(source[stem], keys[0])
            if not re.search(rf"^def {name}\(", answer.source, flags=re.MULTILINE):
                continue
            referee = _referee_that_answers(keys[0])
            if referee:
                cheat = stem, keys[0], CHEAT.format(name=name, chapter=keys[0][:4], referee=referee)
                break
        if cheat:
            break
    assert cheat, "no function exercise of these chapters has a referee that computes its answer"
    stem, key, code = cheat
    namespace = {}
    exec(code, namespace)
    with pytest.raises(RefereeCalled):  # with the trap on, the check refuses it
        registry.grade(key, namespace[registry.get(key).answers[0]])
    _answer_cell_for(submissions["tampering", stem], key).source = code
    tampered[na.grade_id_of([key])] = f"calls the referee: {code.splitlines()[-1].strip()}"

    for (student, stem), nb in submissions.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / f"{stem}.ipynb")

    _run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], cwd=root, timeout=900)

    autograded = {(student, s): nbformat.read(root / "autograded" / student / ASSIGNMENT / f"{s}.ipynb",
                                              as_version=4) for student in STUDENTS for s in stems}
    scores = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        for student in STUDENTS:
            for s in stems:
                notebook = gradebook.find_submission_notebook(s, ASSIGNMENT, student)
                scores[student, s] = {g.name: (g.auto_score, g.max_score, g.needs_manual_grade, g.cell_type)
                                      for g in notebook.grades}
    return Course(root, source, release, autograded, scores, originals, tampered, wrong="ch05-ex-tanh")


def test_the_source_assignment_holds_every_exercise(course):
    checked = sorted(key for nb in course.source.values() for cell in _test_cells(nb).values()
                     for key in _keys(cell.source))
    chapters = [f"ch{path.name[:2]}" for path in CHAPTERS]
    assert checked == sorted(k for chapter in chapters for k in registry.keys(chapter)), "every registered check is graded"
    for stem, nb in course.source.items():
        assert _test_cells(nb), f"{stem}: no autograded cell"
        assert _answer_cells(nb), f"{stem}: no answer cell"
        original_checks = [c for c in course.originals[stem].cells if "check" in tags(c) and "solution" not in tags(c)]
        assert len(_test_cells(nb)) == len(original_checks)
        for grade_id, cell in _test_cells(nb).items():
            keys = _keys(cell.source)
            assert keys and grade_id == "__".join(k.replace("/", "_") for k in keys)
            assert cell.metadata["nbgrader"]["points"] == sum(registry.get(k).points for k in keys)
            assert cell.metadata["nbgrader"]["locked"]
            assert cell.source.startswith("from mlp_course.exercises import check, grade\n")
            for key in keys:
                assert re.search(rf'^grade\("{re.escape(key)}"', cell.source, flags=re.MULTILINE)
        for grade_id, cell in _answer_cells(nb).items():
            assert _solution_regions(cell.source), f"{stem}, {grade_id}: no reference answer"
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_the_release_holds_no_solution(course):
    for stem, nb in course.release.items():
        text = nbformat.writes(nb)
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS", "{solution", "solution-start",
                       "solution-end", "Reference solution"):
            assert marker not in text, f"{stem}: {marker!r} in the release"
        assert not any("solution" in tags(cell) for cell in nb.cells), f"{stem}: a cell tagged solution"
        assert not any(re.search(r"^\s*grade\(", cell.source, flags=re.MULTILINE) for cell in nb.cells), \
            f"{stem}: a grade(...) call in the release"
        # No code of a reference solution, neither the chapter's solution cells nor the answers.
        for cell in course.originals[stem].cells:
            if "solution" in tags(cell) and cell.cell_type == "code" and not na._only_checks(cell.source):
                assert cell.source.strip() not in text, f"{stem}: solution code in the release"
        source_answers = _answer_cells(course.source[stem])
        released = _answer_cells(nb)
        assert set(released) == set(source_answers)
        for grade_id, cell in released.items():
            assert "# YOUR CODE HERE\n" in cell.source and "raise NotImplementedError()" in cell.source
            for region in _solution_regions(source_answers[grade_id].source):
                for line in region.splitlines():
                    if line.strip() and not line.strip().startswith("#"):
                        assert line not in cell.source.splitlines(), f"{stem}, {grade_id}: {line.strip()!r}"
            # Every answer is still a stub: functions that raise, names set to None.
            tree = ast.parse(cell.source)
            stubs = na.find_stubs(tree, grade_id)
            assert stubs.names, f"{stem}, {grade_id}: no stub left"
            for stmt in tree.body:
                if isinstance(stmt, ast.FunctionDef):
                    assert stmt in stubs.functions, f"{stem}, {grade_id}: {stmt.name} is not a stub"
        for grade_id, cell in _written_cells(nb).items():
            assert "YOUR ANSWER HERE" in cell.source
        for grade_id, cell in _test_cells(nb).items():
            assert cell.metadata["nbgrader"]["locked"] and re.search(r"^check\(", cell.source, flags=re.MULTILINE)


def _autograded(course, student):
    """{(stem, grade_id): auto_score} of the autograded cells, and the same for the written ones."""
    code, written = {}, {}
    for stem in course.source:
        for grade_id, (auto, maximum, manual, cell_type) in course.scores[student, stem].items():
            (code if cell_type == "code" else written)[stem, grade_id] = (auto, manual)
    return code, written


def _points(course) -> dict:
    return {(stem, grade_id): sum(registry.get(k).points for k in _keys(cell.source))
            for stem, nb in course.source.items() for grade_id, cell in _test_cells(nb).items()}


def test_every_item_is_worth_its_registered_points(course):
    points = _points(course)
    for student in STUDENTS:
        for stem in course.source:
            for grade_id, (_, maximum, _, cell_type) in course.scores[student, stem].items():
                expected = points[stem, grade_id] if cell_type == "code" else \
                    _written_cells(course.source[stem])[grade_id].metadata["nbgrader"]["points"]
                assert maximum == expected, (student, stem, grade_id)


def test_a_correct_submission_gets_full_marks(course):
    code, written = _autograded(course, "correct")
    assert code == {item: (points, False) for item, points in _points(course).items()}
    assert all(manual for _, manual in written.values()), "written answers wait for a grader"


def test_one_wrong_answer_loses_exactly_its_points(course):
    code, _ = _autograded(course, "one-wrong")
    expected = {item: (0.0 if item[1] == course.wrong else points, False) for item, points in _points(course).items()}
    assert code == expected
    cell = _test_cells(course.autograded["one-wrong", "05_backpropagation"])[course.wrong]
    assert [o.ename for o in cell.outputs if o.output_type == "error"] == ["WrongAnswer"]


def test_an_untouched_submission_gets_zero_without_crashing(course):
    code, written = _autograded(course, "untouched")
    assert code == {item: (0.0, False) for item in _points(course)}
    assert written and all(value == (0.0, False) for value in written.values()), \
        "an unchanged written answer scores 0 without a grader"
    for stem in course.source:
        for grade_id, cell in _test_cells(course.autograded["untouched", stem]).items():
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert "not answered yet" in text, (stem, grade_id)
            assert [o.ename for o in cell.outputs if o.output_type == "error"] == ["NotAnswered"], (stem, grade_id)


def test_tampering_with_the_notebook_earns_nothing(course):
    code, _ = _autograded(course, "tampering")
    expected = {item: (0.0 if item[1] in course.tampered else points, False)
                for item, points in _points(course).items()}
    assert code == expected
    assert len(course.tampered) == 2
    cell = _test_cells(course.autograded["tampering", "05_backpropagation"])["ch05-ex-tanh"]
    # The visible check used the replaced check and passed; the hidden grade reloaded the real one.
    assert "tampered check passes anything" in "".join(o.get("text", "") for o in cell.outputs)
    assert [o.ename for o in cell.outputs if o.output_type == "error"] == ["WrongAnswer"]
    (cheat,) = [item for item in course.tampered if item != "ch05-ex-tanh"]
    (cell,) = [_test_cells(nb)[cheat] for (student, _), nb in course.autograded.items()
               if student == "tampering" and cheat in _test_cells(nb)]
    assert [o.ename for o in cell.outputs if o.output_type == "error"] == ["RefereeCalled"]


def test_nothing_was_written_into_the_repository(course):
    assert ROOT not in course.root.resolve().parents
    for folder in (ROOT, ROOT / "chapters"):
        for name in ("source", "release", "submitted", "autograded", "feedback", "gradebook.db",
                     "nbgrader_config.py", ".nbgrader.log"):
            assert not (folder / name).exists(), f"{folder / name} was written"
