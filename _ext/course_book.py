"""Small fixes to the built book, as a local Sphinx extension (see _config.yml).

* Images of notebook outputs get the alt text stored in their PNG file
  (``mlp_course.figure_text`` writes it from the figure's titles and labels);
  without it Sphinx would use the image's file name.
* A script that two extensions both add is written once: sphinx-thebe's
  inline settings came twice, and the second copy raised a JavaScript error
  ("Identifier 'THEBE_JS_URL' has already been declared") on every page.
* ``static/course_book.css`` and ``static/course_book.js``: link contrast,
  wrapping on narrow screens and button names (each file says why).
* The book's release is ``mlp_course.__version__``, the version its chapters
  install: the PDF's title page shows it.
* In the PDF, the notation table of the introduction gets column widths, so
  that it wraps within the page (a ``tabularcolumns`` directive would do the
  same, but shows as an empty box where GitHub renders intro.md).
* In the PDF, exercises are numbered per chapter as in the HTML book
  (Exercise 1.2, not 1.11.2): Jupyter Book's LaTeX support numbers them per
  section when the book has parts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes

import mlp_course
from mlp_course.figure_text import read_png_description


def _image_file(app: Any, docname: str, uri: str) -> Path | None:
    path = Path(uri)
    for candidate in (path, Path(app.srcdir) / uri, (Path(app.srcdir) / docname).parent / uri):
        if candidate.is_file():
            return candidate
    return None


def add_alt_text(app: Any, doctree: nodes.document, docname: str) -> None:
    for image in doctree.findall(nodes.image):
        if image.get("alt") or not image.get("uri", "").endswith(".png"):
            continue
        found = _image_file(app, docname, image["uri"])
        if found is not None:
            description = read_png_description(found.read_bytes())
            if description:
                image["alt"] = description


def drop_repeated_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    # Two copies may differ in priority, or name no file as None in one and ""
    # in the other: compare what the page gets.
    kept, seen = [], set()
    for script in context.get("script_files") or []:
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    if "script_files" in context:
        context["script_files"] = kept


STATIC = Path(__file__).resolve().parent / "static"


def add_static_files(app: Any) -> None:
    app.config.html_static_path.append(str(STATIC))
    app.add_css_file("course_book.css")
    app.add_js_file("course_book.js")


#: LaTeX column widths of tables, by (document, id of the section that holds the table).
TABLE_COLUMNS = {("intro", "notation"): r"p{0.19\linewidth}p{0.52\linewidth}p{0.21\linewidth}"}


def set_table_columns(app: Any, doctree: nodes.document) -> None:
    for (docname, section_id), spec in TABLE_COLUMNS.items():
        if app.env.docname != docname:
            continue
        section = next((s for s in doctree.findall(nodes.section) if section_id in s["ids"]), None)
        table = next(section.findall(nodes.table), None) if section is not None else None
        if table is None:
            raise ValueError(f"{docname}: no table in a section {section_id!r} to set the columns {spec} of")
        column_spec = addnodes.tabular_col_spec()
        column_spec["spec"] = spec
        table.parent.insert(table.parent.index(table), column_spec)


def set_release(app: Any, config: Any) -> None:
    config.version = config.release = mlp_course.__version__


def number_per_chapter_in_latex(app: Any) -> None:
    # With parts, depth 1 makes LaTeX number captioned figures, tables and
    # numbered equations through the whole book, not per chapter. The book has
    # none today; tests/book/test_pdf.py fails when one appears.
    if app.builder.name == "latex":
        app.config.numfig_secnum_depth = 1


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", set_release)
    app.connect("doctree-read", set_table_columns)
    # After sphinx-jupyterbook-latex's own builder-inited handler (priority 500).
    app.connect("builder-inited", number_per_chapter_in_latex, priority=900)
    app.connect("builder-inited", add_static_files)
    app.connect("doctree-resolved", add_alt_text)
    app.connect("html-page-context", drop_repeated_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
