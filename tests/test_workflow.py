"""Tests of the GitHub Actions workflow, which cannot run here.

actionlint checks it as GitHub would read it (syntax, expressions, job links,
the inputs of each action); the tests below check that it does what the README
says: the README's test command on every push and pull request, the book to
GitHub Pages from main only, the release packs on a version tag only.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "book.yml"


def actionlint() -> str:
    """The actionlint binary of the venv (requirements-dev.txt installs it)."""
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: run scripts/setup (requirements-dev.txt installs it)")
    return found


def lint(*paths: Path) -> subprocess.CompletedProcess:
    # -shellcheck= and -pyflakes=: run only actionlint's own rules, the same on
    # every machine, whether or not those tools happen to be installed.
    return subprocess.run([actionlint(), "-no-color", "-shellcheck=", "-pyflakes=", *map(str, paths)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def workflow() -> dict:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def steps_of(job: str) -> list[dict]:
    return workflow()["jobs"][job]["steps"]


def runs_of(job: str) -> str:
    return "\n".join(step.get("run", "") for step in steps_of(job))


def uses_of(job: str) -> list[str]:
    return [step["uses"] for step in steps_of(job) if "uses" in step]


def test_every_workflow_passes_actionlint():
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert files == [WORKFLOW], f"expected the one workflow {WORKFLOW.name}, found {[f.name for f in files]}"
    result = lint(*files)
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("mistake, expected", [
    (("needs: test\n", "needs: tests\n"), "job-needs"),
    (("github.ref_name", "github.ref_nam"), "expression"),
    (("uses: actions/checkout@v4", "uses: actions/checkout@v4\n        with:\n          fetch_depth: 0"),
     "action"),
], ids=["unknown job", "unknown context property", "unknown action input"])
def test_actionlint_rejects_a_broken_copy(tmp_path, mistake, expected):
    """The check above can fail: actionlint finds each of these planted mistakes."""
    old, new = mistake
    text = WORKFLOW.read_text(encoding="utf-8")
    assert old in text, f"the planted mistake needs {old!r} in the workflow"
    broken = tmp_path / "book.yml"
    broken.write_text(text.replace(old, new), encoding="utf-8")
    result = lint(broken)
    assert result.returncode != 0 and f"[{expected}]" in result.stdout, result.stdout + result.stderr


def test_runs_on_every_push_pull_request_and_version_tag():
    triggers = workflow()["on"]
    assert set(triggers) == {"push", "pull_request"}
    assert triggers["push"]["branches"] == ["**"]
    assert triggers["push"]["tags"] == ["v[0-9]+.[0-9]+.[0-9]+"]


def test_git_may_read_the_checkout_in_the_container():
    """As root in a container, git refuses a checkout owned by the runner's user."""
    job = workflow()["jobs"]["test"]
    assert job["container"].startswith("python:3.11-bookworm")
    runs = [step.get("run", "").strip() for step in steps_of("test")]
    uses = [step.get("uses", "") for step in steps_of("test")]
    checkout = next(i for i, u in enumerate(uses) if u.startswith("actions/checkout@"))
    safe = runs.index('git config --global --add safe.directory "$GITHUB_WORKSPACE"')
    assert checkout < safe < runs.index(".ci/run")


def test_a_wrong_tag_fails_before_the_long_test_run():
    steps = steps_of("test")
    runs = [step.get("run", "").strip() for step in steps]
    check = next(i for i, run in enumerate(runs) if "scripts/release --check" in run)
    assert check < runs.index(".ci/run")
    assert steps[check]["if"] == "startsWith(github.ref, 'refs/tags/v')"
    assert '--tag "$GITHUB_REF_NAME"' in runs[check]


def test_the_test_job_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^```\n(?:.*\n)*?(scripts/test)\b", readme, flags=re.MULTILINE)
    assert command, "the README should open with its test command, scripts/test"
    assert (ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip().endswith("scripts/test")
    runs = [step.get("run", "").strip() for step in steps_of("test")]
    assert ".ci/run" in runs, f"the test job should run .ci/run, as CI does; it runs {runs}"


def test_every_torch_install_of_the_test_job_takes_the_cpu_build():
    pin = re.search(r"pip install -q (torch==[\d.]+)", (ROOT / "scripts" / "setup").read_text()).group(1)
    runs = [step.get("run", "").strip() for step in steps_of("test")]
    torch_step = next(i for i, run in enumerate(runs) if "torch" in run)
    assert f"pip install {pin} --index-url https://download.pytorch.org/whl/cpu" in runs[torch_step]
    assert torch_step < runs.index(".ci/run"), "torch must be installed before scripts/setup pins it"
    # The Colab-like venv of tests/test_colab_runtime.py installs the pin again, with plain pip.
    assert workflow()["jobs"]["test"]["env"]["PIP_EXTRA_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"


def test_pip_and_npm_downloads_are_cached():
    steps = steps_of("test")
    node = next(step for step in steps if step.get("uses", "").startswith("actions/setup-node@"))
    assert node["with"]["cache"] == "npm"
    cache = next(step for step in steps if step.get("uses", "").startswith("actions/cache@"))
    assert cache["with"]["path"] == "~/.cache/pip"
    for name in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        assert name in cache["with"]["key"], f"the pip cache key should change with {name}"


def test_pages_publish_the_built_html_from_main_only():
    jobs = workflow()["jobs"]
    on_main = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    upload = next(step for step in steps_of("test")
                  if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html" and upload["if"] == on_main
    pages = jobs["pages"]
    assert pages["needs"] == "test" and pages["if"] == on_main
    assert pages["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(uses.startswith("actions/deploy-pages@") for uses in uses_of("pages"))
    assert workflow()["permissions"] == {"contents": "read"}, "jobs get write access only where they need it"


def test_the_release_attaches_the_packs_of_scripts_release_on_a_tag_only():
    on_tag = "startsWith(github.ref, 'refs/tags/v')"
    build = next(step for step in steps_of("test") if "scripts/release" in step.get("run", ""))
    assert build["if"] == on_tag
    assert '--tag "$GITHUB_REF_NAME"' in build["run"], "the release must check the tag against the version"
    release = workflow()["jobs"]["release"]
    assert release["needs"] == "test" and release["if"] == on_tag
    assert release["permissions"] == {"contents": "write"}
    assert "gh release create" in runs_of("release") and "--verify-tag" in runs_of("release")
    assert "release/*.zip release/*.pdf" in runs_of("release")
    assert "gh release upload" in runs_of("release"), "a re-run replaces the files of the release it made"
