"""Every markdown cell reads right where MyST is not rendered.

Colab and JupyterLab without jupyterlab-myst render a markdown cell as plain
CommonMark (with math). MyST-only markup then shows raw: a directive in a
backtick fence becomes a code block, a role shows as ``{ref}`` before a code
span, a target line ``(label)=`` and a ``%`` comment show as text. So every
markdown cell of every chapter, and ``intro.md``, is parsed here exactly as
those front ends parse it (markdown-it-py's ``commonmark`` preset) and
searched for what would show raw. Colon fences (``:::{exercise}``), Markdown
links, HTML comments and ``$``/``$$`` math are what the course uses instead
(CONTRIBUTING.md, "Markup that reads everywhere").

``problems(text)`` is the detector; the tests at the top check it on small
strings, the tests at the bottom run it on the book.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
# The appendix is read in Colab too.
NOTEBOOKS = CHAPTERS + sorted((ROOT / "appendix").glob("*.ipynb"))

_MD = MarkdownIt("commonmark")


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based, within the cell (or file)
    kind: str
    text: str  # the offending line, shortened

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}: {self.text!r}"


# What each kind of problem is, and what to write instead.
DIRECTIVE_FENCE = "a directive in a backtick fence (Colab shows it as a code block; use a colon fence, :::{name} ... :::)"
ROLE = "a MyST role (Colab shows it raw; use a Markdown link [text](#slug) or plain text)"
XREF_ROLE = "a MyST cross-reference role (Colab shows it raw; use a Markdown link [text](#slug), or $$...$$ math for equations)"
TARGET = "a MyST target line (label)= (Colab shows it raw; link to the heading's slug instead)"
COMMENT = "a MyST % comment (Colab shows it raw; use an HTML comment <!-- ... -->)"
BLOCK_BREAK = "a MyST block break +++ (Colab shows it raw)"
SUBSTITUTION = "a MyST substitution {{ name }} (Colab shows it raw)"
DEFINITION = "a MyST definition-list line ': ...' (Colab shows it raw; use a bullet list)"
FOOTNOTE = "a MyST footnote [^name] (CommonMark has no footnotes; write it in the text)"
EQUATION_LABEL = "a labelled equation $$ ... $$ (label) (Colab shows the label raw; drop it)"
LIST_IN_PARAGRAPH = ("a wrapped line that opens a list ('- ', '+ ', '* ' or '1. ' at its start, even inside "
                     "$$...$$): CommonMark and the book break the sentence there; rewrap the line")
GLUED_FENCE = ("a colon fence ':::' right after text: CommonMark joins it to the paragraph or list item "
               "above; put a blank line before it")

_ROLE = re.compile(r"\{([A-Za-z][\w.:+-]*)\}`")
_XREF_ROLES = {"ref", "numref", "eq", "doc", "download", "term", "cite", "prf:ref", "external"}
_TARGET = re.compile(r"^\s*\([^()\s]+\)=\s*$")
_COMMENT = re.compile(r"^\s*%")
_BLOCK_BREAK = re.compile(r"^\s*\+\+\+")
_SUBSTITUTION = re.compile(r"\{\{.*?\}\}")
_DEFINITION = re.compile(r"^\s*:\s+\S")
_FOOTNOTE = re.compile(r"\[\^[^\]\s]+\]")
_EQUATION_LABEL = re.compile(r"\$\$[ \t]*\([\w.:-]+\)[ \t]*$", re.MULTILINE)
# $$...$$ first (it may span lines), then $...$ within a line.
_LIST_MARKER = re.compile(r"^ {0,3}([-+*]|\d{1,9}[.)])[ \t]+\S")
_FENCE_LINE = re.compile(r"^ {0,3}:{3,}\s*$")

_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.DOTALL)
_INLINE_MATH = re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$")


def _blank(match: re.Match) -> str:
    """The same number of lines, nothing else: masked text keeps its line numbers."""
    return "\n" * match.group(0).count("\n")


def _inline_view(children: list) -> str:
    """A paragraph's or heading's text as CommonMark shows it, one string.

    Code spans become an opaque ``` `c` ``` (their content can hold anything:
    ``{ref}`` inside a code span is how one writes about a role), inline HTML
    is dropped, line breaks are kept so that line numbers stay right.
    """
    parts = []
    for child in children:
        if child.type == "text":
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
        elif child.type == "code_inline":
            parts.append("`c`")
        elif child.type == "html_inline":
            parts.append("\n" * child.content.count("\n"))
        elif child.type == "image":
            parts.append(_inline_view(child.children or []))
        # link_open/link_close, em/strong open/close: only their text shows.
    return "".join(parts)


def _mask_math(text: str) -> str:
    text = _DISPLAY_MATH.sub(_blank, text)
    return _INLINE_MATH.sub("", text)


def problems(markdown: str) -> list[Problem]:
    """What would show raw when ``markdown`` is rendered as plain CommonMark."""
    source_lines = markdown.splitlines()

    def line_text(number: int) -> str:
        return source_lines[number - 1].strip()[:100] if 0 < number <= len(source_lines) else ""

    found: list[Problem] = []
    env: dict = {}
    for token in _MD.parse(markdown, env):
        if token.type == "fence" and token.info.strip().startswith("{"):
            found.append(Problem(token.map[0] + 1, DIRECTIVE_FENCE, line_text(token.map[0] + 1)))
            continue
        if token.type != "inline" or token.map is None:
            continue
        text = _inline_view(token.children or [])
        for match in _EQUATION_LABEL.finditer(text):
            number = token.map[0] + 1 + text.count("\n", 0, match.start())
            found.append(Problem(number, EQUATION_LABEL, line_text(number)))
        # Line-start syntax is read on the line as written ("$x$: ..." is no
        # definition); the rest with math masked (a brace or a % in math is LaTeX).
        for offset, (line, masked) in enumerate(zip(text.split("\n"), _mask_math(text).split("\n"))):
            number = token.map[0] + 1 + offset
            for role in _ROLE.finditer(masked):
                kind = XREF_ROLE if role.group(1) in _XREF_ROLES else ROLE
                found.append(Problem(number, kind, line_text(number)))
            checks = [(_TARGET, line, TARGET), (_COMMENT, masked, COMMENT), (_BLOCK_BREAK, line, BLOCK_BREAK),
                      (_SUBSTITUTION, masked, SUBSTITUTION), (_DEFINITION, line, DEFINITION),
                      (_FOOTNOTE, masked, FOOTNOTE)]
            for pattern, where, kind in checks:
                if pattern.search(where):
                    found.append(Problem(number, kind, line_text(number)))
    # A list that a wrapped line opens: the line before it is paragraph text,
    # not an item, a heading or an introduction ending in a colon.
    for token in _MD.parse(markdown):
        if token.type in ("bullet_list_open", "ordered_list_open") and token.map and token.map[0] > 0:
            before = source_lines[token.map[0] - 1]
            if before.strip() and not _LIST_MARKER.match(before) and not before.lstrip().startswith(
                    ("#", ">")) and not before.rstrip().endswith(":"):
                found.append(Problem(token.map[0] + 1, LIST_IN_PARAGRAPH, line_text(token.map[0] + 1)))
    for number, line in enumerate(source_lines, 1):
        if _FENCE_LINE.match(line) and number > 1 and source_lines[number - 2].strip() and not (
                source_lines[number - 2].lstrip().startswith(":")):
            found.append(Problem(number, GLUED_FENCE, line_text(number)))
    # A footnote definition "[^1]: text" is a link reference definition in
    # CommonMark: it vanishes, and "[^1]" turns into a link.
    for label in env.get("references", {}):
        if label.startswith("^"):
            number = next((i for i, line in enumerate(source_lines, 1)
                           if line.lstrip().lower().startswith(f"[{label}]:")), 0)
            found.append(Problem(number, FOOTNOTE, line_text(number)))
    return sorted(found, key=lambda p: p.line)


def _kinds(markdown: str) -> list[str]:
    return [p.kind for p in problems(markdown)]


# --- The detector ------------------------------------------------------------

@pytest.mark.parametrize("markdown, kind, line", [
    ("Intro.\n\n```{note}\nA note.\n```\n", DIRECTIVE_FENCE, 3),
    ("````{solution-start} ch01-ex-mse\n:class: dropdown\n````\n", DIRECTIVE_FENCE, 1),
    ("~~~{exercise}\n:label: ch01-ex-a\n~~~\n", DIRECTIVE_FENCE, 1),
    ("As {ref}`the section <sec-x>` shows.", XREF_ROLE, 1),
    ("First line.\nSee {numref}`fig-loss`.", XREF_ROLE, 2),
    ("By {eq}`eq-chain`, the gradient is", XREF_ROLE, 1),
    ("Call {doc}`chapters/02_activations`.", XREF_ROLE, 1),
    ("A {math}`x^2` in the text.", ROLE, 1),
    ("A {prf:ref}`thm-1`.", XREF_ROLE, 1),
    ("(sec-softmax)=\n## Softmax\n", TARGET, 1),
    ("Text.\n\n(my.label)=\n", TARGET, 3),
    ("% Reference solution (try the exercise first).\n", COMMENT, 1),
    ("Some text\n% a comment inside a paragraph\nmore text", COMMENT, 2),
    ("- an item\n  % a comment in a list\n", COMMENT, 2),
    ("Before.\n+++\nAfter.", BLOCK_BREAK, 2),
    ("Version {{ version }} of the course.", SUBSTITUTION, 1),
    ("Term\n: its definition", DEFINITION, 2),
    ("A claim.[^1]\n", FOOTNOTE, 1),
    ("A claim.\n\n[^note]: The footnote.\n", FOOTNOTE, 3),
    ("$$\nz = w x + b\n$$ (eq-neuron)\n", EQUATION_LABEL, 3),
    ("# Heading with {ref}`x`", XREF_ROLE, 1),
    ("> quoted {ref}`x`", XREF_ROLE, 1),
    ("Text with {ref}`an unclosed role", XREF_ROLE, 1),
    ("The slope is $a(1\n- a)$ here.", LIST_IN_PARAGRAPH, 2),
    ("It is counted instead of\n1. And then more.", LIST_IN_PARAGRAPH, 2),
    ("$$\nA B\n+ C\n$$", LIST_IN_PARAGRAPH, 3),
    (":::{exercise}\n:label: ch01-ex-a\n\nA question?\n:::", GLUED_FENCE, 5),
])
def test_the_detector_catches_each_kind(markdown, kind, line):
    found = problems(markdown)
    assert [(p.kind, p.line) for p in found] == [(kind, line)], found


def test_each_role_of_a_line_is_reported():
    assert [(p.line, p.kind) for p in problems("A {sub}`2` and a {ref}`x`.")] == [(1, ROLE), (1, XREF_ROLE)]


def test_a_directive_in_a_backtick_fence_is_reported_once_whatever_its_body():
    # The body of a fenced directive is code to CommonMark: a role inside it is
    # not reported again.
    assert _kinds("```{exercise}\n:label: x\n\nSee {ref}`y`.\n```\n") == [DIRECTIVE_FENCE]


def test_several_problems_in_one_cell_each_with_its_line():
    cell = "(sec-a)=\n## A\n\nSee {ref}`sec-a`.\n\n% note to self\n\n```{note}\nhi\n```\n"
    assert [(p.line, p.kind) for p in problems(cell)] == [
        (1, TARGET), (4, XREF_ROLE), (6, COMMENT), (8, DIRECTIVE_FENCE)]


@pytest.mark.parametrize("markdown", [
    "# The neuron\n\nA neuron computes $z = \\mathbf{w}\\cdot\\mathbf{x} + b$.",
    ":::{exercise}\n:label: ch01-ex-bias\n\nChange the bias.\n\n:::\n",
    ":::{solution-start} ch01-ex-bias\n:class: dropdown\n:::\n",
    "::::{solution} ch05-ex-shapes\n:class: dropdown\n\nText.\n\n::::\n",
    "<!-- Reference solution: try the exercise first. -->\n:::{solution-end}\n:::\n",
    "See [the section on softmax](02_activations.ipynb#softmax) and [above](#the-loss).",
    "Write `{ref}` roles nowhere, and `(label)=` neither; `{{ x }}` is code too.",
    "Inline math $y \\in \\{0, 1\\}$ and $\\frac{1}{N}$, display math:\n\n$$\n\\mathbb{E}[X] = \\sum_{i} x_i {p}_i\n$$\n",
    "Math with a brace before a code span: $\\{0, 1\\}$ `y`.",
    "A code block:\n\n```python\n% not a comment\n{ref}`not a role`\n```\n",
    "    indented code {ref}`x`\n    % also code",
    "| a | b |\n|---|---|\n| $\\{1\\}$ | `{ref}` |",
    "Percentages: 50% of the weights, 100 %.",
    "A set $\\{ x : x > 0 \\}$ and a dict `{'a': 1}`; a tuple (1, 2)= no target.",
    "A plain footnote-like bracket [^ not one] and an exponent $x^{[l]}$ and $W^{[1]}$.",
    "A ratio: 3:1, and a label\n:label: in a colon fence",
    "Math first: $\\cos\\theta$: 1 means aligned,\n$d\\hat{Y}$: prediction minus target.",
    "$$\n% a LaTeX comment in display math\nx\n$$",
    "Three steps:\n- one\n- two\n\nText.\n\n1. first\n2. second",
    "- an item that wraps\n  onto a second line\n- another",
    ":::{exercise}\n:label: ch01-ex-a\n\nA question?\n\n:::",
])
def test_clean_markdown_and_colon_fences_pass(markdown):
    assert problems(markdown) == []


def test_a_brace_in_inline_code_or_math_is_not_a_role():
    assert problems("Type `{ref}`, and see $\\mathrm{ref}$.") == []
    assert problems("$\\operatorname{ReLU}$`x`") == []
    assert _kinds("$\\operatorname{ReLU}$ {ref}`x`") == [XREF_ROLE]


# --- The book ------------------------------------------------------------------

def _cells(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks found in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_markdown_cell_reads_as_commonmark(path):
    report = [f"{path.relative_to(ROOT)}, cell {index}, {problem}"
              for index, source in _cells(path) for problem in problems(source)]
    assert not report, "MyST markup that Colab would show raw:\n" + "\n".join(report)


def test_intro_reads_as_commonmark():
    report = [f"intro.md, {problem}" for problem in problems((ROOT / "intro.md").read_text(encoding="utf-8"))]
    assert not report, "MyST markup that Colab would show raw:\n" + "\n".join(report)
