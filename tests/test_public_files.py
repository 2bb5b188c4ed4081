"""Tests of the files a public course needs: licences, citation, changelog, README.

They keep the version, the repository and the book's address the same in
every file that states them.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import mlp_course

ROOT = Path(__file__).resolve().parent.parent
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
REPOSITORY = CONFIG["repository"]["url"]
OWNER, NAME = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+)", REPOSITORY).groups()
BOOK_URL = f"https://{OWNER.lower()}.github.io/{NAME}/"
CITATION = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_the_code_licence_is_the_mit_licence_pyproject_names():
    assert 'license = "MIT"' in read("pyproject.toml")
    text = read("LICENSE")
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_the_text_and_figures_are_cc_by_4():
    text = read("LICENSE-CONTENT.md")
    assert "Creative Commons Attribution 4.0 International" in text
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in text
    assert "MIT" in text and "`LICENSE`" in text, "it should say that the code has its own licence"


def test_the_book_footer_states_both_licences():
    footer = CONFIG["html"]["extra_footer"]
    assert "https://creativecommons.org/licenses/by/4.0/" in footer and "CC BY 4.0" in footer
    assert f"{REPOSITORY}/blob/main/LICENSE" in footer and "MIT" in footer


def test_the_introduction_has_a_licence_section():
    intro = read("intro.md")
    assert "\n## Licence\n" in intro
    section = intro.split("\n## Licence\n")[1]
    assert "CC BY 4.0" in section and "MIT" in section and "CITATION.cff" in section


def test_citation_cff_is_complete_and_agrees_with_the_package():
    for key in ("cff-version", "message", "title", "authors", "version", "date-released",
                "license", "repository-code", "url"):
        assert key in CITATION, f"CITATION.cff has no {key!r}"
    assert CITATION["cff-version"] == "1.2.0"
    assert CITATION["title"] == CONFIG["title"]
    assert str(CITATION["version"]) == mlp_course.__version__
    assert CITATION["repository-code"] == REPOSITORY
    assert CITATION["url"] == BOOK_URL
    assert CITATION["license"] == ["MIT", "CC-BY-4.0"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(CITATION["date-released"]))


def test_the_changelog_has_a_section_for_this_version_dated_as_the_citation():
    changelog = read("CHANGELOG.md")
    headings = re.findall(r"^## (.+)$", changelog, flags=re.MULTILINE)
    assert headings[0] == "Unreleased", "new entries go under '## Unreleased', at the top"
    expected = f"{mlp_course.__version__} ({CITATION['date-released']})"
    assert expected in headings, f"CHANGELOG.md should have a section '## {expected}'; it has {headings}"
    versions = [h.split(" ")[0] for h in headings[1:]]
    keys = [tuple(int(part) for part in v.split(".")) for v in versions]
    assert keys == sorted(keys, reverse=True), f"the newest release comes first: {versions}"


def test_the_readme_opens_with_its_two_commands_then_says_what_the_course_is():
    readme = read("README.md")
    title, commands, rest = re.match(r"# (.+)\n\n```\n(.*?)\n```\n\n(.*)", readme, flags=re.DOTALL).groups()
    assert title == CONFIG["title"]
    assert [line.split()[0] for line in commands.splitlines()] == ["scripts/book", "scripts/test"]
    opening = rest.split("\n\n")[0]
    sentences = re.findall(r"[^.!?]+(?:\.(?!\w)|[!?])", opening.replace("\n", " "))
    assert len(sentences) == 2, f"the opening should be two sentences, it has {len(sentences)}: {sentences}"
    assert BOOK_URL in opening, "the opening should link the published book"


def test_the_book_address_is_the_same_everywhere():
    assert CONFIG["html"]["baseurl"] == BOOK_URL
    for name in ("README.md", "CITATION.cff"):
        assert BOOK_URL in read(name), f"{name} should give the book's address {BOOK_URL}"


@pytest.mark.parametrize("name", ["README.md", "intro.md", "CONTRIBUTING.md", "CITATION.cff", "_config.yml",
                                  "LICENSE-CONTENT.md"])
def test_every_link_to_the_repository_names_the_configured_one(name):
    for owner, repo in re.findall(r"github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?(?=[/)\s>\"'`]|$)", read(name)):
        assert (owner, repo) == (OWNER, NAME), f"{name} links github.com/{owner}/{repo}, not {REPOSITORY}"
