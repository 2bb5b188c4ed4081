"""Every chapter notebook follows the chapter anatomy of the course brief.

These checks read the stored notebooks (no execution): the book and Colab show
the stored outputs, so they must come from one clean top-to-bottom run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _source(cell: dict) -> str:
    return "".join(cell.get("source", ""))


def _tags(cell: dict) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _markdown(nb: dict) -> str:
    return "\n".join(_source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks found in chapters/"


def test_toc_lists_exactly_the_chapters():
    listed = [f for f in _toc_files() if f.startswith("chapters/")]
    on_disk = [f"chapters/{p.stem}" for p in CHAPTERS]
    assert listed == on_disk, f"_toc.yml lists {listed}, chapters/ holds {on_disk}"


@pytest.fixture(params=CHAPTERS, ids=[p.stem for p in CHAPTERS])
def notebook(request) -> tuple[Path, dict]:
    return request.param, _load(request.param)


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


def test_setup_cell_is_quiet_and_installs_the_package_from_the_repository(notebook):
    path, nb = notebook
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    setup = [c for c in nb["cells"] if c["cell_type"] == "code" and "setup_notebook" in _source(c)]
    assert setup, f"{path.name}: no setup cell calling setup_notebook"
    cell = setup[0]
    assert "remove-cell" in _tags(cell), f"{path.name}: the setup cell must be tagged remove-cell"
    assert url in _source(cell), f"{path.name}: the setup cell must install mlp_course from {url}"
    assert not cell["outputs"], f"{path.name}: the setup cell must print nothing"


def test_stored_outputs_come_from_one_clean_run(notebook):
    path, nb = notebook
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and _source(c).strip()]
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: execution counts {counts} are not 1..{len(code)}"
    for cell in code:
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"{path.name}: stored error in cell {_source(cell)[:60]!r}"
            if output["output_type"] == "stream":
                assert output["name"] == "stdout", (
                    f"{path.name}: stderr output (a warning?) in cell {_source(cell)[:60]!r}: {''.join(output['text'])[:200]}"
                )
    assert path.stat().st_size < 3_000_000, f"{path.name} is {path.stat().st_size / 1e6:.1f} MB"


def test_figures_are_png(notebook):
    path, nb = notebook
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            assert "image/svg+xml" not in data, f"{path.name}: SVG figure (use PNG: smaller, and nbval skips it)"


CHECK_CALL = re.compile(r"\bcheck_\w+\(")
DIRECTIVE = r"(?:```|:::)\{{{}\}}"


def _gated_blocks(path: Path, nb: dict) -> list[tuple[str, list[dict]]]:
    """The gated solutions: (label, the cells from solution-start to solution-end)."""
    cells = nb["cells"]
    blocks = []
    for start, cell in enumerate(cells):
        match = re.search(DIRECTIVE.format("solution-start") + r" ([\w-]+)", _source(cell))
        if not match:
            continue
        assert cell["cell_type"] == "markdown", f"{path.name}: solution-start in a code cell"
        for end in range(start + 1, len(cells)):
            text = _source(cells[end])
            assert not re.search(DIRECTIVE.format("solution-start"), text), (
                f"{path.name}: solution-start {match[1]} is not closed before the next one")
            if re.search(DIRECTIVE.format("solution-end"), text):
                break
        else:
            raise AssertionError(f"{path.name}: solution-start {match[1]} has no solution-end after it")
        blocks.append((match[1], cells[start:end + 1]))
    return blocks


def test_exercises_have_solutions_and_a_checked_coding_exercise(notebook):
    path, nb = notebook
    text = _markdown(nb)
    exercises = re.findall(DIRECTIVE.format("exercise") + r"[^\n]*\n:label: ([\w-]+)", text)
    solutions = re.findall(DIRECTIVE.format("solution(?:-start)?") + r" ([\w-]+)", text)
    assert len(exercises) >= 3, f"{path.name}: {len(exercises)} exercises, at least 3 wanted"
    assert sorted(exercises) == sorted(solutions), f"{path.name}: exercises {exercises} vs solutions {solutions}"

    blocks = _gated_blocks(path, nb)
    n_ends = len(re.findall(DIRECTIVE.format("solution-end"), text))
    assert n_ends == len(blocks), f"{path.name}: {len(blocks)} solution-start but {n_ends} solution-end"
    for label, cells in blocks:
        untagged = [_source(c)[:60] for c in cells if "solution" not in _tags(c)]
        assert not untagged, f"{path.name}: cells of the solution to {label} not tagged 'solution': {untagged}"
    # Every solution directive sits in a cell tagged "solution", so the student version drops it.
    for cell in nb["cells"]:
        if re.search(r"\{solution(?:-start|-end)?\}", _source(cell)):
            assert "solution" in _tags(cell), f"{path.name}: untagged solution cell {_source(cell)[:60]!r}"

    # A coding exercise: its reference solution is real code in a gated solution,
    # checked by the same call the learner runs above it.
    solution_code = [c for c in nb["cells"] if c["cell_type"] == "code" and "solution" in _tags(c)]
    assert solution_code, f"{path.name}: no code cell tagged 'solution' (the reference answer of a coding exercise)"
    checked = [label for label, cells in blocks
               if any(c["cell_type"] == "code" and CHECK_CALL.search(_source(c)) for c in cells)]
    assert checked, f"{path.name}: no gated solution runs an exercise check on the reference answer"
    learner_checks = [c for c in nb["cells"] if c["cell_type"] == "code" and "solution" not in _tags(c)
                      and CHECK_CALL.search(_source(c))]
    assert learner_checks, f"{path.name}: no auto-check cell for the learner"
    for cell in learner_checks:
        assert "hide-input" not in _tags(cell) and "remove-input" not in _tags(cell), (
            f"{path.name}: a learner's check cell must show how the check is called: {_source(cell)[:60]!r}")


def test_checks_run_on_the_stub_are_quiet_and_reference_solutions_pass(notebook):
    """In the stored run, the learner's check met the untouched stub ("not answered
    yet", no error), and the same check on the reference solution printed ✓."""
    path, nb = notebook
    for label, cells in _gated_blocks(path, nb):
        for cell in cells:
            if cell["cell_type"] == "code" and CHECK_CALL.search(_source(cell)):
                out = "".join("".join(o.get("text", "")) for o in cell["outputs"])
                assert "\u2713" in out and "not answered" not in out, (
                    f"{path.name}: the check in the solution to {label} did not pass: {out!r}")
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and CHECK_CALL.search(_source(cell)):
            kinds = {o["output_type"] for o in cell["outputs"]}
            assert kinds == {"stream"}, f"{path.name}: a check cell should only print its line, got {kinds}"
        if cell["cell_type"] == "code" and "solution" not in _tags(cell) and CHECK_CALL.search(_source(cell)):
            out = "".join("".join(o.get("text", "")) for o in cell["outputs"])
            assert "not answered yet" in out and "\u2713" not in out, (
                f"{path.name}: the learner's check should meet the stub, not an answer: {out!r}")
