"""Tests of the built book in _build/html (run `scripts/book` first).

They check what a reader gets: every chapter is there, math is served by the
book itself (it must work offline) and really renders in a browser, and
exercise solutions are hidden in dropdowns.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
MATHJAX = "_static/mathjax/tex-chtml.js"

if not (HTML / "index.html").exists():
    pytest.skip("the book is not built: run scripts/book first", allow_module_level=True)


def toc_files() -> list[str]:
    """The documents _toc.yml lists, root first, without their suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc.get("parts", toc.get("chapters", [])))
    return found


PAGES = toc_files()


def source_of(doc: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (ROOT / (doc + suffix)).exists():
            return ROOT / (doc + suffix)
    raise FileNotFoundError(doc)


@functools.cache
def soup(doc: str) -> BeautifulSoup:
    return BeautifulSoup((HTML / f"{doc}.html").read_text(encoding="utf-8"), "html.parser")


def local_target(doc: str, src: str) -> Path:
    """The file that a relative `src` on page `doc` points at."""
    return ((HTML / doc).parent / urlsplit(src).path).resolve()


def has_math(doc: str) -> bool:
    return bool(soup(doc).select(".math"))


def test_toc_lists_pages():
    assert len(PAGES) >= 2, "the book should have the introduction and a chapter"


def test_index_exists():
    assert (HTML / "index.html").is_file()


@pytest.mark.parametrize("doc", PAGES)
def test_every_toc_page_is_built(doc):
    assert (HTML / f"{doc}.html").is_file()


@pytest.mark.parametrize("doc", PAGES)
def test_every_page_states_the_licences(doc):
    footer = soup(doc).select_one(".extra_footer")
    assert footer is not None, f"{doc}: no licence footer (html.extra_footer in _config.yml)"
    links = {a.get_text(" ", strip=True): a["href"] for a in footer.select("a[href]")}
    assert links.get("CC BY 4.0") == "https://creativecommons.org/licenses/by/4.0/", links
    assert links.get("MIT licence", "").endswith("/blob/main/LICENSE"), links


@pytest.mark.parametrize("doc", PAGES)
def test_no_script_comes_from_the_network(doc):
    remote = [s["src"] for s in soup(doc).find_all("script", src=True)
              if re.match(r"(https?:)?//", s["src"])]
    assert not remote, f"{doc} loads scripts from the network: {remote}"
    text = (HTML / f"{doc}.html").read_text(encoding="utf-8")
    for cdn in ("cdn.jsdelivr", "mathjax.org", "cdnjs.cloudflare.com/ajax/libs/mathjax"):
        assert cdn not in text, f"{doc} mentions the MathJax CDN {cdn}"


@pytest.mark.parametrize("doc", PAGES)
def test_math_uses_the_local_mathjax(doc):
    scripts = [s["src"] for s in soup(doc).find_all("script", src=True) if "mathjax" in s["src"].lower()]
    if not has_math(doc):
        return
    # Exactly one: a _static/ folder at the book root would make Jupyter Book
    # add all of MathJax's files to every page (see _config.yml).
    assert len(scripts) == 1, f"{doc}: expected one MathJax script, found {scripts}"
    target = local_target(doc, scripts[0])
    assert target == (HTML / MATHJAX).resolve(), f"{doc}: MathJax from {scripts[0]}"
    assert target.is_file()


@pytest.mark.parametrize("doc", PAGES)
def test_images_are_in_the_book(doc):
    for img in soup(doc).find_all("img", src=True):
        if not img["src"].startswith("data:"):
            assert local_target(doc, img["src"]).is_file(), f"{doc}: missing {img['src']}"


@pytest.mark.parametrize("doc", PAGES)
def test_every_output_image_says_what_it_shows(doc):
    """Alt text written from the figure (mlp_course.figure_text), not the file name Sphinx would use."""
    for img in soup(doc).select(".cell_output img"):
        alt = " ".join(img.get("alt", "").split())
        name = Path(urlsplit(img.get("src", "")).path).name
        assert alt and alt != name and not re.fullmatch(r"[\w.-]+\.(png|svg|jpe?g|gif)", alt), \
            f"{doc}: the image {name} has the alt text {alt!r}"
        assert len(alt.split()) >= 3, f"{doc}: the alt text of {name} is too short to describe it: {alt!r}"


@pytest.mark.parametrize("doc", PAGES)
def test_stored_outputs_are_shown(doc):
    source = source_of(doc)
    if source.suffix != ".ipynb":
        return
    import nbformat

    nb = nbformat.read(source, as_version=4)
    if any(cell.get("outputs") for cell in nb.cells):
        assert soup(doc).select(".cell_output"), f"{doc}: the notebook has outputs, the page none"


# A directive opens at the start of a line (a mention in inline code is no exercise).
EXERCISE = re.compile(r"^[`:]{3,}\{exercise(-start)?\}", re.MULTILINE)


def _markdown_of(source: Path) -> str:
    """The Markdown of a page's source: the file itself, or a notebook's markdown cells."""
    if source.suffix != ".ipynb":
        return source.read_text(encoding="utf-8")
    import nbformat

    nb = nbformat.read(source, as_version=4)
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


@pytest.mark.parametrize("doc", PAGES)
def test_exercises_have_hidden_solutions(doc):
    n_source = len(EXERCISE.findall(_markdown_of(source_of(doc))))
    exercises = soup(doc).select(".exercise.admonition")
    solutions = soup(doc).select(".solution.admonition")
    assert len(exercises) == n_source, f"{doc}: {n_source} exercises in the source, {len(exercises)} on the page"
    not_hidden = [s.get("id") for s in solutions if "dropdown" not in s["class"]]
    assert not not_hidden, f"{doc}: solutions not in a dropdown: {not_hidden}"
    if n_source:
        assert solutions, f"{doc}: exercises but no solution"


# --- In a real browser -------------------------------------------------------

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
MATH_PAGES = [doc for doc in PAGES if has_math(doc)]


def rendered_dom(url: str, profile: Path) -> BeautifulSoup:
    """The page's DOM after its scripts ran, as headless Chromium sees it."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/setup installs it when run as root)")
        pytest.skip("chromium is not installed: apt-get install chromium")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         # No network here: stop Chromium's own background requests.
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
         # Virtual time runs fast but waits for MathJax's loads and timers.
         "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120, check=True)
    return BeautifulSoup(result.stdout, "html.parser")


def assert_math_rendered(dom: BeautifulSoup, doc: str) -> None:
    math = dom.select(".math")
    assert math, f"{doc}: no math found in the rendered page"
    raw = [m.get_text()[:60] for m in math if not m.find("mjx-container")]
    assert not raw, f"{doc}: math left as TeX source: {raw}"
    errors = [e.get("data-mjx-error") for e in dom.find_all("mjx-merror")]
    assert not errors, f"{doc}: MathJax errors: {errors}"
    # MathJax shows an unknown macro such as a misspelt \sigam in red.
    undefined = [m.get_text() for m in dom.select('mtext[mathcolor="red"]')
                 if m.get_text().startswith("\\")]
    assert not undefined, f"{doc}: undefined TeX macros: {undefined}"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.parametrize("doc", MATH_PAGES)
def test_math_renders_from_file_url(doc, tmp_path):
    """Opened straight from disk, as a reader opens the built book."""
    dom = rendered_dom((HTML / f"{doc}.html").as_uri(), tmp_path)
    assert_math_rendered(dom, doc)
    # sphinx-togglebutton's script has folded every solution away.
    shown = [s.get("id") for s in dom.select(".solution.admonition")
             if "toggle-hidden" not in s["class"]]
    assert not shown, f"{doc}: solutions shown without a click: {shown}"


def test_math_renders_over_http(tmp_path):
    """Served by a web server, as the published book is."""
    doc = next((d for d in MATH_PAGES if d.startswith("chapters/")), None)
    if doc is None:
        pytest.skip("no chapter has math")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dom = rendered_dom(f"http://127.0.0.1:{server.server_port}/{doc}.html", tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert_math_rendered(dom, doc)
