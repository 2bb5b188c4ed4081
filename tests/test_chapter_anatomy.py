"""Every chapter notebook follows the chapter anatomy of CONTRIBUTING.md.

These checks read the stored notebooks (no execution): the book and Colab show
the stored outputs, so they must come from one clean top-to-bottom run.

The exercise template checked here, per exercise (``:::{exercise}`` with a
``:label:``, up to the next exercise):

* a coding exercise has an answer cell (code, tagged ``answer``), followed by
  its check cell (code, tagged ``check``): one call ``check("label", ...)``
  whose key is registered in ``mlp_course.exercises``, stored on the untouched
  stub ("not answered yet");
* its gated solution (cells tagged ``solution``) redefines the answer's names
  in one code cell and re-runs the same ``check(...)``, stored with its "✓";
* a conceptual exercise (no check cell) has a written-answer cell: markdown
  tagged ``answer`` and ``remove-cell``, starting with ``**Your answer.**``;
* no cell outside a solution defines test cases or calls the check
  building blocks (``check_function``, ``check_array``, ...): they live in
  ``mlp_course/exercises/chNN.py``.

Each rule is a function that returns the problems it finds, so the tests at
the end can show on small notebooks made in memory that every rule catches
what it is meant to catch.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))

CHECK_MARK = "\u2713"
NOT_ANSWERED = "not answered yet"
WRITTEN_ANSWER_START = "**Your answer.**"
# The building blocks of a check: only the package calls them (mlp_course/exercises/chNN.py).
BUILDING_BLOCKS = ("check_function", "check_array", "check_scalar", "referee", "grade")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _is(cell: dict, kind: str, tag: str | None = None, without: str | None = None) -> bool:
    return (cell["cell_type"] == kind and (tag is None or tag in _tags(cell))
            and (without is None or without not in _tags(cell)))


def _out(cell: dict) -> str:
    return "".join("".join(o.get("text", "")) for o in cell.get("outputs", []))


def _short(cell: dict, n: int = 60) -> str:
    return repr(_source(cell).strip()[:n])


def _markdown(nb: dict) -> str:
    return "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def package_version() -> str:
    """``__version__`` as written in mlp_course/__init__.py (not whatever is installed)."""
    text = (ROOT / "mlp_course" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match, "mlp_course/__init__.py has no line __version__ = \"X.Y.Z\""
    return match[1]


def expected_install() -> str:
    return f"git+{repository_url()}@v{package_version()}"


# A directive opens with a colon fence (or, before conversion, a backtick fence).
DIRECTIVE = r"(?::{{3,}}|`{{3,}})\{{{}\}}"
EXERCISE = re.compile(DIRECTIVE.format("exercise") + r"[^\n]*\n(?::[\w-]+:[^\n]*\n)*?:label: *([\w-]+)")
SOLUTION_START = re.compile(DIRECTIVE.format("solution-start") + r" *([\w-]+)")
SOLUTION_END = re.compile(DIRECTIVE.format("solution-end"))
SOLUTION_SINGLE = re.compile(DIRECTIVE.format("solution") + r" *([\w-]+)")


# --- Reading a chapter's exercises ------------------------------------------------

@dataclass
class CheckCall:
    """A code cell that is one call check("key", answer, ...)."""

    index: int
    key: str
    call: ast.Call

    @property
    def answer_names(self) -> list[str]:
        return [a.id for a in self.call.args[1:] if isinstance(a, ast.Name)]

    @property
    def signature(self) -> str:
        return ast.dump(self.call)


@dataclass
class Exercise:
    label: str
    index: int  # the statement cell
    cells: list[tuple[int, dict]] = field(default_factory=list)  # statement to the next statement

    def learner(self, kind: str, tag: str) -> list[tuple[int, dict]]:
        return [(i, c) for i, c in self.cells if _is(c, kind, tag, without="solution")]

    @property
    def solution(self) -> list[tuple[int, dict]]:
        return [(i, c) for i, c in self.cells if "solution" in _tags(c)]

    @property
    def is_coding(self) -> bool:
        return bool(self.learner("code", "check"))


def parse_check_cell(cell: dict) -> tuple[str, ast.Call] | str:
    """The key and call of a check cell, or what is wrong with it."""
    try:
        tree = ast.parse(_source(cell))
    except SyntaxError as error:
        return f"is not valid Python ({error.msg})"
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "check"]
    if len(tree.body) != 1 or len(calls) != 1 or not (
            isinstance(tree.body[0], ast.Expr) and tree.body[0].value is calls[0]):
        return 'must be exactly one call check("label", answer, ...)'
    call = calls[0]
    if not call.args or not (isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
        return 'must name its exercise first, as a string: check("chNN-ex-name", ...)'
    return call.args[0].value, call


def exercises(nb: dict) -> list[Exercise]:
    found: list[Exercise] = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown" and (match := EXERCISE.search(_source(cell))):
            found.append(Exercise(match[1], index))
        if found:
            found[-1].cells.append((index, cell))
    return found


def _assigned_names(source: str) -> set[str]:
    """The names a cell defines at top level (functions, classes, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def gated_blocks(nb: dict) -> tuple[list[tuple[str, list[dict]]], list[str]]:
    """The gated solutions, (label, cells from solution-start to solution-end), and problems."""
    cells = nb["cells"]
    blocks, problems = [], []
    for start, cell in enumerate(cells):
        match = SOLUTION_START.search(_source(cell))
        if not match:
            continue
        if cell["cell_type"] != "markdown":
            problems.append(f"cell {start}: solution-start in a code cell")
        for end in range(start + 1, len(cells)):
            text = _source(cells[end])
            if SOLUTION_START.search(text):
                problems.append(f"cell {start}: solution-start {match[1]} is not closed before the next one")
                break
            if SOLUTION_END.search(text):
                blocks.append((match[1], cells[start:end + 1]))
                break
        else:
            problems.append(f"cell {start}: solution-start {match[1]} has no solution-end after it")
    return blocks, problems


# --- The rules ------------------------------------------------------------------------
# Each returns a list of problems, "cell N: what is wrong", empty when all is well.

def exercise_and_solution_problems(nb: dict) -> list[str]:
    text = _markdown(nb)
    labels = [e.label for e in exercises(nb)]
    solutions = SOLUTION_START.findall(text) + SOLUTION_SINGLE.findall(text)
    problems = []
    if len(labels) < 3:
        problems.append(f"{len(labels)} exercises, at least 3 wanted")
    if sorted(labels) != sorted(solutions):
        problems.append(f"exercises {labels} vs solutions {solutions}")
    blocks, block_problems = gated_blocks(nb)
    problems += block_problems
    n_ends = len(SOLUTION_END.findall(text))
    if n_ends != len(blocks):
        problems.append(f"{len(blocks)} solution-start but {n_ends} solution-end")
    for label, cells in blocks:
        untagged = [_short(c) for c in cells if "solution" not in _tags(c)]
        if untagged:
            problems.append(f"cells of the solution to {label} not tagged 'solution': {untagged}")
    # Every solution directive sits in a cell tagged "solution", so the student version drops it.
    for index, cell in enumerate(nb["cells"]):
        if re.search(r"\{solution(?:-start|-end)?\}", _source(cell)) and "solution" not in _tags(cell):
            problems.append(f"cell {index}: untagged solution cell {_short(cell)}")
    if not any(e.is_coding for e in exercises(nb)):
        problems.append("no coding exercise with a check cell")
    return problems


def check_cell_problems(nb: dict, registered) -> list[str]:
    """Check cells: one check("label", ...) call with a registered key of this exercise,
    right after the answer cell, stored on the stub; shown, not hidden."""
    problems = []
    for ex in exercises(nb):
        for index, cell in ex.cells:
            if not _is(cell, "code", "check"):
                continue
            parsed = parse_check_cell(cell)
            if isinstance(parsed, str):
                problems.append(f"cell {index}: the check cell {parsed}: {_short(cell)}")
                continue
            key, call = parsed
            if key.split("/")[0] != ex.label:
                problems.append(f"cell {index}: check({key!r}) sits under exercise {ex.label}; "
                                f"its key should be {ex.label!r} or {ex.label + '/part'!r}")
            error = registered(key, len(call.args) - 1)
            if error:
                problems.append(f"cell {index}: {error}")
            if "solution" in _tags(cell):
                continue
            if {"hide-input", "remove-input", "remove-cell"} & set(_tags(cell)):
                problems.append(f"cell {index}: a learner's check cell must show how the check is called")
            kinds = {o["output_type"] for o in cell.get("outputs", [])}
            out = _out(cell)
            if kinds != {"stream"} or NOT_ANSWERED not in out or CHECK_MARK in out:
                problems.append(f"cell {index}: the learner's check {key} should be stored on the untouched "
                                f"stub, printing '{NOT_ANSWERED}' only; it stored {kinds or 'nothing'}: {out[:120]!r}")
        # A check cell outside every exercise is checked too, for its tag.
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code" and "check" not in _tags(cell) and "solution" not in _tags(cell):
            parsed = parse_check_cell(cell)
            if not isinstance(parsed, str):
                problems.append(f"cell {index}: a check(...) cell must be tagged 'check': {_short(cell)}")
    return problems


def answer_cell_problems(nb: dict) -> list[str]:
    """Answer cells hold a stub and are followed by their check cell; conceptual
    exercises have a written-answer cell."""
    cells = nb["cells"]
    problems = []
    for index, cell in enumerate(cells):
        tags = _tags(cell)
        if "answer" not in tags:
            continue
        if "solution" in tags:
            problems.append(f"cell {index}: an answer cell must not be tagged 'solution' (the student version keeps it)")
        if cell["cell_type"] == "markdown":
            if "remove-cell" not in tags:
                problems.append(f"cell {index}: a written-answer cell is tagged 'answer' and 'remove-cell'")
            if not _source(cell).lstrip().startswith(WRITTEN_ANSWER_START):
                problems.append(f"cell {index}: a written-answer cell starts with {WRITTEN_ANSWER_START!r}: {_short(cell)}")
            continue
        source = _source(cell)
        if "NotImplementedError" not in source and not re.search(r"=\s*None\b|\bNone\s*,|,\s*None\b", source):
            problems.append(f"cell {index}: an answer cell holds a stub (raise NotImplementedError(...) "
                            f"or names set to None): {_short(cell)}")
        if cell.get("outputs"):
            problems.append(f"cell {index}: the answer cell's stub should print nothing")
        if {"hide-input", "remove-input", "remove-cell"} & set(tags):
            problems.append(f"cell {index}: an answer cell must be visible")
        following = next((c for c in cells[index + 1:] if not _is(c, "code", "answer")), None)
        if following is None or not _is(following, "code", "check", without="solution"):
            problems.append(f"cell {index}: the answer cell {_short(cell)} must be followed by its check cell "
                            f"(code, tagged 'check')")
    for ex in exercises(nb):
        checks = ex.learner("code", "check")
        answers = ex.learner("code", "answer")
        written = [(i, c) for i, c in ex.learner("markdown", "answer") if "remove-cell" in _tags(c)]
        if checks and not answers:
            problems.append(f"cell {checks[0][0]}: the check of {ex.label} has no answer cell (code, tagged "
                            f"'answer') above it")
        if not checks and not written:
            problems.append(f"cell {ex.index}: the conceptual exercise {ex.label} has no written-answer cell "
                            f"(markdown tagged 'answer' and 'remove-cell', starting {WRITTEN_ANSWER_START!r})")
        first_solution = min((i for i, _ in ex.solution), default=None)
        for i, _ in checks + answers + written:
            if first_solution is not None and i > first_solution:
                problems.append(f"cell {i}: the answer and check cells of {ex.label} come before its solution")
    return problems


def solution_problems(nb: dict) -> list[str]:
    """Every coding exercise's gated solution redefines the answer names in one cell
    and re-runs the learner's check, stored with its ✓."""
    problems = []
    for ex in exercises(nb):
        for index, cell in ex.learner("code", "check"):
            parsed = parse_check_cell(cell)
            if isinstance(parsed, str):
                continue  # reported by check_cell_problems
            learner = CheckCall(index, *parsed)
            reruns = []
            for i, c in ex.solution:
                if c["cell_type"] == "code" and not isinstance(p := parse_check_cell(c), str) and p[0] == learner.key:
                    reruns.append((CheckCall(i, *p), c))
            if not reruns:
                problems.append(f"cell {index}: the gated solution of {ex.label} does not re-run "
                                f"check({learner.key!r}, ...)")
                continue
            for rerun, c in reruns:
                if rerun.signature != learner.signature:
                    problems.append(f"cell {rerun.index}: the solution's check({learner.key!r}, ...) must be the "
                                    f"learner's call, unchanged")
                out = _out(c)
                if CHECK_MARK not in out or NOT_ANSWERED in out:
                    problems.append(f"cell {rerun.index}: the check of the reference answer to {learner.key} "
                                    f"did not store a pass: {out[:120]!r}")
            first_rerun = min(r.index for r, _ in reruns)
            names = set(learner.answer_names)
            defining = [i for i, c in ex.solution if c["cell_type"] == "code" and i < first_rerun
                        and names <= _assigned_names(_source(c))]
            if names and not defining:
                problems.append(f"cell {first_rerun}: no solution cell of {ex.label} before its check defines "
                                f"all of {sorted(names)} (the reference answer, in one cell)")
            stubs = set().union(*(_assigned_names(_source(c)) for _, c in ex.learner("code", "answer")))
            if names - stubs:
                problems.append(f"cell {index}: the check of {learner.key} takes {sorted(names - stubs)}, "
                                f"which no answer cell of {ex.label} defines")
    return problems


_CASES = re.compile(r"^\s*(\w*cases\w*)\s*(?:=|:)", re.MULTILINE)
_BLOCK_CALL = re.compile(r"\b(" + "|".join(BUILDING_BLOCKS) + r")\s*\(")
_BLOCK_IMPORT = re.compile(r"^\s*from\s+mlp_course\.exercises(?:\.\w+)?\s+import\s+([^\n#]+)", re.MULTILINE)


def _called_building_blocks(source: str) -> list[str]:
    """The building blocks a cell calls (by name or as an attribute), each once, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython syntax (a magic): read the text, comments and all
        return list(dict.fromkeys(_BLOCK_CALL.findall(source)))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in BUILDING_BLOCKS:
                names.append(name)
    return list(dict.fromkeys(names))


def package_side_problems(nb: dict) -> list[str]:
    """No non-solution cell defines test cases, referees, or calls a check's building blocks."""
    problems = []
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or "solution" in _tags(cell):
            continue
        source = _source(cell)
        for name in _called_building_blocks(source):
            problems.append(f"cell {index}: calls {name}(...); the notebook calls only check(key, ...), "
                            f"the cases live in mlp_course/exercises/chNN.py: {_short(cell)}")
        for match in _BLOCK_IMPORT.finditer(source):
            names = {n.strip().split(" as ")[0] for n in match[1].strip("() ").split(",")}
            if names & set(BUILDING_BLOCKS):
                problems.append(f"cell {index}: imports {sorted(names & set(BUILDING_BLOCKS))} from "
                                f"mlp_course.exercises; the notebook needs only check")
        if "@referee" in source:
            problems.append(f"cell {index}: defines a referee; referees live in mlp_course/exercises/chNN.py")
        for match in _CASES.finditer(source):
            problems.append(f"cell {index}: defines test cases ({match[1]}); they live in "
                            f"mlp_course/exercises/chNN.py")
    return problems


def import_problems(nb: dict) -> list[str]:
    """``from mlp_course.exercises import check`` sits in the chapter's first import cell."""
    setup = setup_cell(nb)
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code" or cell is setup or "solution" in _tags(cell):
            continue
        if re.search(r"^\s*(?:import|from)\s", _source(cell), re.MULTILINE):
            if re.search(r"^from mlp_course\.exercises import [^\n]*\bcheck\b", _source(cell), re.MULTILINE):
                return []
            return [f"cell {index}: the chapter's first import cell should import check "
                    f"(from mlp_course.exercises import check): {_short(cell)}"]
    return ["no import cell after the set-up cell"]


def setup_cell(nb: dict) -> dict | None:
    return next((c for c in nb["cells"] if c["cell_type"] == "code" and "setup_notebook" in _source(c)), None)


def setup_problems(nb: dict) -> list[str]:
    cell = setup_cell(nb)
    if cell is None:
        return ["no set-up cell calling setup_notebook"]
    problems = []
    if "remove-cell" not in _tags(cell):
        problems.append("the set-up cell must be tagged remove-cell")
    if cell.get("outputs"):
        problems.append("the set-up cell must print nothing")
    installs = re.findall(r'%pip install[^\n]*?"mlp-course @ (git\+\S+?)"', _source(cell))
    want = expected_install()
    if installs != [want]:
        problems.append(
            f"the set-up cell must install \"mlp-course @ {want}\" (repository.url of _config.yml, at the "
            f"tag v + mlp_course.__version__), once; it installs {installs or 'nothing of that form'}. "
            f"To release: raise __version__ in mlp_course/__init__.py and change the tag in every "
            f"chapter's set-up cell to match (CONTRIBUTING.md, Releases)")
    return problems


def _registered(key: str, n_answers: int) -> str | None:
    """Why the key cannot be checked from a notebook, or None when it can."""
    from mlp_course.exercises import get

    try:
        exercise = get(key)
    except ValueError as error:
        return f"check({key!r}) is not registered in mlp_course.exercises: {error}"
    if len(exercise.answers) != n_answers:
        return (f"check({key!r}, ...) passes {n_answers} answer(s), the registered check takes "
                f"{len(exercise.answers)}: {', '.join(exercise.answers)}")
    return None


# --- The chapters ----------------------------------------------------------------------

def test_there_are_chapters():
    assert CHAPTERS, "no notebooks found in chapters/"


def test_toc_lists_exactly_the_chapters():
    listed = [f for f in _toc_files() if f.startswith("chapters/")]
    on_disk = [f"chapters/{p.stem}" for p in CHAPTERS]
    assert listed == on_disk, f"_toc.yml lists {listed}, chapters/ holds {on_disk}"


@pytest.fixture(params=CHAPTERS, ids=[p.stem for p in CHAPTERS])
def notebook(request) -> tuple[Path, dict]:
    return request.param, _load(request.param)


def _assert_none(path: Path, problems: list[str], what: str) -> None:
    assert not problems, f"{path.name}: {what}:\n  " + "\n  ".join(problems)


def test_title_and_front_matter(notebook):
    path, nb = notebook
    first = _source(nb["cells"][0])
    # The book numbers chapters itself (numbered in _toc.yml): a number in the title would show twice.
    assert re.match(r"# [^\W\d]", first), f"{path.name}: first cell must start with '# Title' (no chapter number)"
    tokens = MarkdownIt().parse(_markdown(nb))
    headings = [t for t in tokens if t.type == "heading_open" and t.tag == "h1"]
    assert len(headings) == 1, f"{path.name}: exactly one H1 (the page title), found {len(headings)}"
    text = _markdown(nb).lower()
    for needed in ("learning objectives", "prerequisites", "estimated time", "summary", "exercises"):
        assert needed in text, f"{path.name}: no '{needed}' section"


def test_prerequisites_link_to_earlier_chapters(notebook):
    """The **Prerequisites.** paragraph above the first code cell links to each earlier chapter
    it names, and every link it holds points to an earlier chapter that exists."""
    path, nb = notebook
    opening = "\n\n".join(_source(c) for c in _leading_markdown(nb))
    match = re.search(r"\*\*Prerequisites\.\*\*(.*?)(?:\n\n|\Z)", opening, flags=re.DOTALL)
    assert match, f"{path.name}: no **Prerequisites.** paragraph above the first code cell"
    targets = re.findall(r"\]\(((\d\d)_[\w-]+\.ipynb)(?:#[\w-]*)?\)", match.group(1))
    number = int(path.name[:2])
    if number == 1:
        return  # the first chapter needs no earlier one
    assert targets, f"{path.name}: the prerequisites link to no earlier chapter"
    for target, target_number in targets:
        assert (path.parent / target).is_file(), f"{path.name}: a prerequisite links to {target}, which does not exist"
        assert int(target_number) < number, f"{path.name}: a prerequisite links to the later {target}"


def _leading_markdown(nb: dict) -> list[dict]:
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            break
        cells.append(cell)
    return cells


def test_setup_cell_is_quiet_and_installs_the_release_of_the_package(notebook):
    path, nb = notebook
    _assert_none(path, setup_problems(nb), "set-up cell")


def test_every_setup_cell_is_the_same():
    cells = {p.name: _source(setup_cell(_load(p)) or {}) for p in CHAPTERS}
    first = next(iter(cells.values()))
    differ = [name for name, source in cells.items() if source != first]
    assert not differ, f"set-up cells differ from {CHAPTERS[0].name}'s: {differ}"


def test_the_release_tag_is_the_package_version():
    """The tag every set-up cell installs is v + __version__: a release raises both together."""
    version = package_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"__version__ {version!r} is not X.Y.Z"
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^name = "mlp-course"$', pyproject, re.MULTILINE), "the set-up cells install 'mlp-course'"
    assert re.search(r'version = \{attr = "mlp_course.__version__"\}', pyproject), (
        "pyproject.toml must take the version from mlp_course.__version__")
    for path in CHAPTERS:
        tags = re.findall(r"git\+\S+?@(v[\w.]+)", _source(setup_cell(_load(path)) or {}))
        assert tags == [f"v{version}"], (
            f"{path.name}: the set-up cell installs {tags}, but mlp_course.__version__ is {version}. "
            f"To release: raise __version__ in mlp_course/__init__.py and change the tag in every "
            f"chapter's set-up cell to v{version} (CONTRIBUTING.md, Releases)")


def test_stored_outputs_come_from_one_clean_run(notebook):
    path, nb = notebook
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and _source(c).strip()]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: execution counts {counts} are not 1..{len(code)}"
    for cell in code:
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"{path.name}: stored error in cell {_short(cell)}"
            if output["output_type"] == "stream":
                assert output["name"] == "stdout", (
                    f"{path.name}: stderr output (a warning?) in cell {_short(cell)}: {''.join(output['text'])[:200]}"
                )
    assert path.stat().st_size < 3_000_000, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"


def test_figures_are_png(notebook):
    path, nb = notebook
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert "image/svg+xml" not in data, f"{path.name}: SVG figure (use PNG: smaller, and nbval skips it)"


def test_exercises_have_solutions_and_a_checked_coding_exercise(notebook):
    path, nb = notebook
    _assert_none(path, exercise_and_solution_problems(nb), "exercises and solutions")


def test_check_cells_call_registered_checks_and_are_stored_on_the_stub(notebook):
    path, nb = notebook
    _assert_none(path, check_cell_problems(nb, _registered), "check cells")


def test_every_registered_check_of_the_chapter_is_called(notebook):
    """A key registered in mlp_course/exercises/chNN.py but called from no check cell is dead."""
    from mlp_course.exercises import keys

    path, nb = notebook
    called = {p[0] for c in nb["cells"] if _is(c, "code", "check")
              and not isinstance(p := parse_check_cell(c), str)}
    unused = sorted(set(keys(f"ch{path.name[:2]}")) - called)
    assert not unused, f"{path.name}: registered checks that no check cell calls: {unused}"


def test_answer_cells_are_followed_by_their_check_and_words_have_a_cell(notebook):
    path, nb = notebook
    _assert_none(path, answer_cell_problems(nb), "answer cells")


def test_gated_solutions_rerun_the_check_on_the_reference_answer(notebook):
    path, nb = notebook
    _assert_none(path, solution_problems(nb), "gated solutions")


def test_the_checks_live_in_the_package(notebook):
    path, nb = notebook
    _assert_none(path, package_side_problems(nb), "checks defined in the notebook")


def test_the_first_import_cell_imports_check(notebook):
    path, nb = notebook
    _assert_none(path, import_problems(nb), "imports")


# --- The rules, on small notebooks made in memory -------------------------------------------

def _md(text: str, *tags: str) -> dict:
    return {"cell_type": "markdown", "metadata": {"tags": list(tags)}, "source": text}


def _code(text: str, *tags: str, out: str | None = None) -> dict:
    outputs = [] if out is None else [{"output_type": "stream", "name": "stdout", "text": out}]
    return {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": text,
            "outputs": outputs, "execution_count": None}


def _mini() -> dict:
    """A coding and a conceptual exercise, in the template."""
    stub = ('def double(x):\n    """Twice x."""\n    raise NotImplementedError("replace this line with your code")\n')
    call = 'check("ch99-ex-double", double)'
    return {"cells": [
        _code(f'try:\n    import mlp_course\nexcept ImportError:\n    %pip install -q "mlp-course @ '
              f'{expected_install()}"\n\nfrom mlp_course import setup_notebook\n\nrng = setup_notebook(seed=0)\n',
              "remove-cell"),
        _code("import numpy as np\n\nfrom mlp_course.exercises import check\n"),
        _md(":::{exercise}\n:label: ch99-ex-double\n\nWrite `double`. Why is it linear?\n:::"),
        _code(stub, "answer"),
        _code(call, "check", out="double is not answered yet: replace ... and run this cell again.\n"),
        _md("**Your answer.** ...", "answer", "remove-cell"),
        _md("<!-- Reference solution: try the exercise first. -->\n:::{solution-start} ch99-ex-double\n"
            ":class: dropdown\n:::", "solution"),
        _code("def double(x):\n    return 2 * x\n", "solution"),
        _code(call, "solution", out="\u2713 double passes all 3 test cases.\n"),
        _md(":::{solution-end}\n:::", "solution"),
        _md(":::{exercise}\n:label: ch99-ex-why\n\nExplain.\n:::"),
        _md("**Your answer.** ...", "answer", "remove-cell"),
        _md(":::{solution} ch99-ex-why\n:class: dropdown\n\nBecause.\n:::", "solution"),
        _md(":::{exercise}\n:label: ch99-ex-more\n\nExplain more.\n:::"),
        _md("**Your answer.** ...", "answer", "remove-cell"),
        _md(":::{solution} ch99-ex-more\n:class: dropdown\n\nBecause.\n:::", "solution"),
    ]}


def _only_double(key: str, n_answers: int) -> str | None:
    if key != "ch99-ex-double":
        return f"check({key!r}) is not registered"
    return None if n_answers == 1 else f"takes 1 answer, got {n_answers}"


def _all_problems(nb: dict) -> list[str]:
    return (exercise_and_solution_problems(nb) + check_cell_problems(nb, _only_double)
            + answer_cell_problems(nb) + solution_problems(nb) + package_side_problems(nb)
            + import_problems(nb) + setup_problems(nb))


def test_the_template_passes_every_rule():
    assert _all_problems(_mini()) == []


def _broken(edit) -> list[str]:
    nb = _mini()
    edit(nb["cells"])
    return _all_problems(nb)


@pytest.mark.parametrize("edit, fragment", [
    # The check cell
    (lambda c: c[4]["metadata"]["tags"].remove("check"), "must be followed by its check cell"),
    (lambda c: c[4].update(source='check("ch99-ex-dbl", double)'), "not registered"),
    (lambda c: c[4].update(source='check("ch99-ex-double", double, 2)'), "takes 1 answer"),
    (lambda c: c[4].update(source='print(1)\ncheck("ch99-ex-double", double)'), "exactly one call"),
    (lambda c: c[4].update(source="check(KEY, double)"), "must name its exercise first"),
    (lambda c: c[4]["outputs"][0].update(text="\u2713 double passes.\n"), "stored on the untouched stub"),
    (lambda c: c[4].update(outputs=[]), "stored on the untouched stub"),
    (lambda c: c[4]["metadata"]["tags"].append("hide-input"), "must show how the check is called"),
    (lambda c: c.insert(5, _code('check("ch99-ex-double", double)', out="x is not answered yet\n")),
     "must be tagged 'check'"),
    # The answer cell
    (lambda c: c[3]["metadata"]["tags"].remove("answer"), "has no answer cell"),
    (lambda c: c[3].update(source="def double(x):\n    return 2 * x\n"), "holds a stub"),
    (lambda c: c.insert(4, _md("Now run the check.")), "must be followed by its check cell"),
    # Written answers
    (lambda c: c.pop(11), "ch99-ex-why has no written-answer cell"),
    (lambda c: c[11]["metadata"]["tags"].remove("remove-cell"), "tagged 'answer' and 'remove-cell'"),
    (lambda c: c[11].update(source="Write here."), "starts with '**Your answer.**'"),
    # The gated solution
    (lambda c: c.pop(8), "does not re-run check('ch99-ex-double'"),
    (lambda c: c[8]["outputs"][0].update(text="double is not answered yet\n"), "did not store a pass"),
    (lambda c: c[8].update(source='check("ch99-ex-double", lambda x: 2 * x)'), "the learner's call, unchanged"),
    (lambda c: c[7].update(source="def twice(x):\n    return 2 * x\n"), "defines all of ['double']"),
    (lambda c: c[8]["metadata"]["tags"].remove("solution"), "not tagged 'solution'"),
    (lambda c: c.pop(9), "has no solution-end"),
    # The checks live in the package
    (lambda c: c.insert(4, _code("double_cases = [(1, 2)]")), "defines test cases"),
    (lambda c: c[4].update(source="check_function(double, double_cases)"), "calls check_function"),
    (lambda c: c[4].update(source="ex.check_array(double(1), 2)"), "calls check_array"),
    (lambda c: c[1].update(source="from mlp_course.exercises import check, check_array\n"), "imports ['check_array']"),
    (lambda c: c[1].update(source="import numpy as np\n"), "first import cell should import check"),
    # The set-up cell
    (lambda c: c[0].update(source=c[0]["source"].replace("@v", "@main#v")), "must install"),
    (lambda c: c[0].update(source=c[0]["source"].replace(package_version(), "0.0.1")), "raise __version__"),
    (lambda c: c[0]["metadata"]["tags"].remove("remove-cell"), "tagged remove-cell"),
])
def test_each_rule_catches_what_it_is_for(edit, fragment):
    problems = _broken(edit)
    assert any(fragment in p for p in problems), f"no problem mentions {fragment!r}: {problems}"
