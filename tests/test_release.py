"""Tests of scripts/release that need no built book: its refusals.

tests/book/test_release_packs.py checks the packs it builds from the built book.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mlp_course

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "release"


def load_script():
    """Import the script as a module (it has no .py suffix)."""
    loader = importlib.machinery.SourceFileLoader("release", str(SCRIPT))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader("release", loader))
    loader.exec_module(module)
    return module


release = load_script()
VERSION = mlp_course.__version__


def test_the_version_is_read_from_the_package_source():
    assert release.package_version() == VERSION


def test_the_book_address_follows_from_the_repository():
    assert release.book_url("https://github.com/Some-Owner/some-course") == "https://some-owner.github.io/some-course/"
    with pytest.raises(release.ReleaseError, match="https://github.com/OWNER/NAME"):
        release.book_url("https://gitlab.com/owner/course")


def test_a_tag_must_be_v_plus_the_version():
    release.check_versions(VERSION, f"v{VERSION}")
    release.check_versions(VERSION, None)
    for wrong in (VERSION, f"v{VERSION}.1", "v0.0.0"):
        with pytest.raises(release.ReleaseError, match=f"the tag is '{wrong}', but mlp_course.__version__ is"):
            release.check_versions(VERSION, wrong)


def test_the_citation_must_give_the_same_version(monkeypatch):
    monkeypatch.setattr(release, "citation_version", lambda: "0.0.1")
    with pytest.raises(release.ReleaseError, match=f"CITATION.cff says version '0.0.1', mlp_course.__version__ '{VERSION}'"):
        release.check_versions(VERSION, None)


def test_the_changelog_must_have_a_section_for_the_version():
    section = release.changelog_section(VERSION)
    assert section.strip() and "\n## " not in section, "the section's text, up to the next heading"
    with pytest.raises(release.ReleaseError, match=r"CHANGELOG.md has no section '## 9.9.9 \(YYYY-MM-DD\)'"):
        release.changelog_section("9.9.9")


def test_the_packs_go_outside_the_sources(tmp_path):
    for inside in (ROOT, ROOT / "chapters", ROOT / "release"):
        with pytest.raises(release.ReleaseError, match="outside the repository or under _build/"):
            release.prepare_out_dir(inside)
    crowded = tmp_path / "crowded"
    crowded.mkdir()
    (crowded / "notes.txt").write_text("mine")
    with pytest.raises(release.ReleaseError, match=r"holds files that are not release packs \(notes.txt\)"):
        release.prepare_out_dir(crowded)
    assert (crowded / "notes.txt").read_text() == "mine", "a refused folder is left as it was"


def test_an_earlier_runs_packs_are_replaced(tmp_path):
    old = tmp_path / "mlp-from-first-principles-v0.1.0.pdf"
    old.write_bytes(b"%PDF old")
    (tmp_path / "RELEASE_NOTES.md").write_text("old")
    release.prepare_out_dir(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_zips_list_their_files_in_order_under_one_folder(tmp_path):
    folder = tmp_path / "in"
    (folder / "b").mkdir(parents=True)
    (folder / "b" / "z.txt").write_text("z")
    (folder / "a.txt").write_text("a")
    assert release.zip_folder(folder, tmp_path / "out.zip", "top") == 2
    assert zipfile.ZipFile(tmp_path / "out.zip").namelist() == ["top/a.txt", "top/b/z.txt"]


def test_the_command_refuses_a_wrong_tag_before_writing_anything(tmp_path):
    out = tmp_path / "packs"
    result = subprocess.run([sys.executable, str(SCRIPT), "--use-built", "--tag", "v0.0.0", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2
    assert f"the tag is 'v0.0.0', but mlp_course.__version__ is '{VERSION}'" in result.stderr
    assert not out.exists()


def test_check_only_checks_the_versions(tmp_path):
    ok = subprocess.run([sys.executable, str(SCRIPT), "--check", "--tag", f"v{VERSION}"],
                        capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert ok.returncode == 0 and "agree" in ok.stdout, ok.stderr
    wrong = subprocess.run([sys.executable, str(SCRIPT), "--check", "--tag", "v0.0.0"],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert wrong.returncode == 2 and "the tag is 'v0.0.0'" in wrong.stderr


def test_the_nbgrader_links_point_at_the_book(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "See [chapter 2](02_activations.ipynb#softmax), [chapter 3](03_forward_pass.ipynb) and "
        "[the guide](../appendix/instructors_guide.ipynb).")])
    (tmp_path / "ch").mkdir()
    nbformat.write(nb, tmp_path / "ch" / "01_x.ipynb")
    assert release.link_chapters_to_book(tmp_path, "https://o.github.io/c/") == 2
    text = nbformat.read(tmp_path / "ch" / "01_x.ipynb", as_version=4).cells[0].source
    assert "(https://o.github.io/c/chapters/02_activations.html#softmax)" in text
    assert "(https://o.github.io/c/chapters/03_forward_pass.html)" in text
