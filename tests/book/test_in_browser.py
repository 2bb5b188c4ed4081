"""Every page of the built book, opened in headless Chromium as a reader opens it.

Playwright drives Debian's chromium (never a browser of its own). The pages are
served over HTTP from _build/html on the loopback address; any request that
leaves it is blocked and reported. axe-core, from npm, is injected into each
page to check accessibility. Screenshots go to _build/screenshots/ for a person
to look at.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup

from test_built_book import CHROMIUM, HTML, PAGES, ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = [doc for doc in PAGES if doc.startswith("chapters/")]
PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} (scripts/setup installs it)")
    pytest.skip(what)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site():
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed")
    if CHROMIUM is None:
        _missing("chromium is not installed")
    if not AXE.is_file():
        _missing("axe-core is not installed (npm ci)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Visit:
    """One page opened in a fresh browser context, with what the page reported."""

    def __init__(self, browser, site: str, doc: str, *, dark: bool = False, viewport=DESKTOP, query: str = ""):
        self.doc, self.site = doc, site
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.failed: list[str] = []
        self.context = browser.new_context(color_scheme="dark" if dark else "light", viewport=viewport)
        self.context.route(re.compile(r"^(?!http://127\.0\.0\.1:)"), self._block)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.goto(f"{site}{doc}.html{query}", wait_until="load")
        # MathJax typesets after the load event; wait until it says it is done.
        self.page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")

    def _block(self, route):
        self.outside.append(route.request.url)
        route.abort()

    def axe_violations(self) -> list[dict]:
        # The theme's scripts adjust the page after its load event; let them settle.
        self.page.wait_for_timeout(500)
        self.page.add_script_tag(path=str(AXE))
        return self.page.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']}))
            .violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                   nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))""")

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def visits(browser, site):
    """Each page opened once per mode, on first use (desktop light, phone dark)."""
    opened: dict[tuple[str, str], Visit] = {}

    def visit(doc: str, mode: str = "desktop") -> Visit:
        if (doc, mode) not in opened:
            opened[(doc, mode)] = Visit(browser, site, doc, dark=mode == "phone",
                                        viewport=PHONE if mode == "phone" else DESKTOP)
        return opened[(doc, mode)]

    yield visit
    for opened_visit in opened.values():
        opened_visit.close()


@pytest.mark.parametrize("mode", ["desktop", "phone"])
@pytest.mark.parametrize("doc", PAGES)
def test_no_javascript_error_and_nothing_from_outside(visits, doc, mode):
    visit = visits(doc, mode)
    assert not visit.errors, f"{doc} ({mode}): JavaScript errors in the console: {visit.errors}"
    assert not visit.outside, f"{doc} ({mode}): requests that leave the book: {visit.outside}"
    assert not visit.failed, f"{doc} ({mode}): requests that failed: {visit.failed}"


@pytest.mark.parametrize("doc", PAGES)
def test_all_math_is_typeset(visits, doc):
    state = visits(doc).page.evaluate("""() => ({
        math: document.querySelectorAll('.math').length,
        raw: [...document.querySelectorAll('.math')].filter(m => !m.querySelector('mjx-container'))
                 .map(m => m.textContent.slice(0, 60)),
        errors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error'))})""")
    assert not state["raw"], f"{doc}: math left as TeX: {state['raw'][:5]}"
    assert not state["errors"], f"{doc}: MathJax errors: {state['errors']}"


@pytest.mark.parametrize("doc", PAGES)
def test_every_image_loads(visits, doc):
    broken = visits(doc).page.evaluate("""() => [...document.images]
        .filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.getAttribute('src'))""")
    assert not broken, f"{doc}: images that did not load: {broken}"


@pytest.mark.parametrize("mode", ["desktop", "phone"])
@pytest.mark.parametrize("doc", PAGES)
def test_no_serious_accessibility_violation(visits, doc, mode):
    serious = [v for v in visits(doc, mode).axe_violations() if v["impact"] in ("serious", "critical")]
    assert not serious, f"{doc} ({mode}): axe-core finds {serious}"


@pytest.mark.parametrize("doc", PAGES)
def test_dark_mode_at_phone_width_without_sideways_scrolling(visits, doc):
    state = visits(doc, "phone").page.evaluate("""() => ({
        theme: document.documentElement.dataset.theme,
        background: getComputedStyle(document.body).backgroundColor,
        scroll: document.documentElement.scrollWidth, width: window.innerWidth})""")
    assert state["theme"] == "dark", f"{doc}: a reader who prefers dark gets {state['theme']!r}"
    channels = [int(c) for c in re.findall(r"\d+", state["background"])[:3]]
    assert max(channels) < 80, f"{doc}: the dark page's background is {state['background']}"
    assert state["scroll"] <= state["width"], (
        f"{doc}: at {state['width']} px wide the page is {state['scroll']} px wide and scrolls sideways")


def _ids(path: Path) -> set[str]:
    return {tag["id"] for tag in _soup(path).find_all(id=True)}


@functools.cache
def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.parametrize("doc", PAGES)
def test_internal_links_and_cross_references_resolve(doc):
    page = HTML / f"{doc}.html"
    broken = []
    for link in _soup(page).find_all("a", href=True):
        href = link["href"]
        if re.match(r"[a-z]+:", href):  # http:, https:, mailto:, javascript:
            continue
        target_url, fragment = urldefrag(urljoin(page.as_uri(), href))
        target = Path(urlsplit(target_url).path)
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href} (no file)")
        elif fragment and target.suffix == ".html" and fragment not in _ids(target):
            broken.append(f"{href} (no #{fragment} there)")
    assert not broken, f"{doc}: links that lead nowhere: {broken}"


@pytest.mark.parametrize("doc", CHAPTERS)
def test_chapter_has_launch_buttons_and_download(visits, doc):
    links = visits(doc).page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    stem = Path(doc).name
    assert any("colab.research.google.com" in href and f"{stem}.ipynb" in href for href in links), \
        f"{doc}: no Colab launch button"
    assert any("urlpath=lab" in href and f"{stem}.ipynb" in href for href in links), \
        f"{doc}: no JupyterLab launch button"
    downloads = [href for href in links if href.endswith(f"_sources/{doc}.ipynb")]
    assert downloads, f"{doc}: no download of the notebook"
    assert (HTML / "_sources" / f"{doc}.ipynb").is_file()


@pytest.mark.parametrize("term, doc", [("Wilson", "chapters/14_capstone_fashion_mnist"),
                                       ("momentum", "chapters/12_optimisers_and_schedules"),
                                       ("retain_graph", "chapters/08_pytorch_autograd")])
def test_search_finds_the_chapter(browser, site, term, doc):
    visit = Visit(browser, site, "search", query=f"?q={term}")
    try:
        visit.page.wait_for_selector("#search-results ul.search li", timeout=20_000)
        found = visit.page.evaluate("() => [...document.querySelectorAll('#search-results ul.search li a')]"
                                    ".map(a => a.getAttribute('href'))")
        assert any(doc in href for href in found), f"searching {term!r} does not find {doc}: {found[:10]}"
    finally:
        visit.close()


def test_solutions_are_hidden_until_opened(visits):
    page = visits("chapters/01_the_neuron").page
    solution = page.locator(".solution.admonition").first
    body = solution.locator("section, p").last
    assert "toggle-hidden" in solution.get_attribute("class")
    assert not body.is_visible(), "the first solution of chapter 1 is shown before any click"
    solution.locator(".admonition-title").click()
    body.wait_for(state="visible", timeout=5_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    solution.screenshot(path=str(SCREENSHOTS / "chapter_01_opened_solution.png"))
    solution.locator(".admonition-title").click()
    body.wait_for(state="hidden", timeout=5_000)


@pytest.mark.parametrize("doc, name", [("intro", "introduction"), ("chapters/06_training_from_scratch", "chapter_06")])
def test_screenshots_for_a_person(visits, doc, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for mode in ("desktop", "phone"):
        path = SCREENSHOTS / f"{name}_{mode}.png"
        visits(doc, mode).page.screenshot(path=str(path), full_page=False)
        assert path.stat().st_size > 10_000, f"{path} is too small to show the page"
