"""Mutation check: plant each bug of ``mutants.py`` in a copy of the package and
check that the tests catch it.

    python tests/mutation/run_mutants.py            # every mutant, two at a time
    python tests/mutation/run_mutants.py -j 1 -k adam   # only mutants whose name contains "adam"
    python tests/mutation/run_mutants.py --list

Each worker gets its own copy of ``mlp_course``, ``tests`` and ``pyproject.toml``
in a temporary directory, and runs ``python -m pytest <the mutant's test files>
-x -q -p no:cacheprovider`` there, so ``import mlp_course`` finds the mutated
copy (the directory is also put first on ``PYTHONPATH``; a check at start-up
makes sure of it). The unmutated copy must pass first. A mutant is *killed*
when pytest reports a failing test (exit status 1), *survives* when every test
passes, and is an *error* for any other outcome (the mutant broke collection,
or timed out). The script exits with status 1 unless every mutant is killed,
and fails at once if a mutation pattern no longer matches the source.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

from mutants import MUTANTS, Mutant  # noqa: E402


@dataclass
class Result:
    mutant: Mutant
    outcome: str  # "killed", "SURVIVED" or "ERROR"
    seconds: float
    detail: str


def check_patterns(mutants: list[Mutant]) -> None:
    """Fail loudly if any pattern does not occur exactly once, or a mutant does not compile."""
    problems = []
    for mutant in mutants:
        path = ROOT / "mlp_course" / mutant.file
        try:
            compile(mutant.apply(path.read_text()), str(path), "exec")
        except (ValueError, SyntaxError, FileNotFoundError) as error:
            problems.append(str(error))
        for test in mutant.tests:
            if not (ROOT / test).is_file():
                problems.append(f"mutant {mutant.name}: test file {test} does not exist")
    if problems:
        sys.exit("mutation patterns out of date:\n  " + "\n  ".join(problems))


def make_workspace(base: Path, index: int) -> Path:
    workspace = base / f"worker{index}"
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis", ".pytest_cache", "book")
    shutil.copytree(ROOT / "mlp_course", workspace / "mlp_course", ignore=ignore)
    shutil.copytree(ROOT / "tests", workspace / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", workspace / "pyproject.toml")
    return workspace


def environment(workspace: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(workspace) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no stale .pyc of a mutated file
    env["HYPOTHESIS_PROFILE"] = "mutation"  # deterministic, no shrinking (see tests/conftest.py)
    return env


def run_pytest(workspace: Path, tests: tuple[str, ...], timeout: float) -> tuple[int | None, str]:
    command = [sys.executable, "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider"]
    try:
        done = subprocess.run(command, cwd=workspace, env=environment(workspace), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout:g}s"
    return done.returncode, done.stdout + done.stderr


def check_workspace(workspace: Path) -> None:
    """The copy is what gets imported, and its unmutated tests pass."""
    probe = subprocess.run([sys.executable, "-c", "import mlp_course; print(mlp_course.__file__)"],
                           cwd=workspace, env=environment(workspace), capture_output=True, text=True)
    imported = Path(probe.stdout.strip()).resolve()
    if not imported.is_relative_to(workspace.resolve()):
        sys.exit(f"the copy is not what gets imported: mlp_course comes from {imported or probe.stderr}")


def first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ")[0].split("::", 1)[-1][:90]
    return output.strip().splitlines()[-1][:90] if output.strip() else ""


def run_mutant(mutant: Mutant, workspaces: queue.Queue, timeout: float) -> Result:
    workspace = workspaces.get()
    path = workspace / "mlp_course" / mutant.file
    original = path.read_text()
    start = time.perf_counter()
    try:
        path.write_text(mutant.apply(original))
        rc, output = run_pytest(workspace, mutant.tests, timeout)
    finally:
        path.write_text(original)
        workspaces.put(workspace)
    seconds = time.perf_counter() - start
    if rc == 1:
        return Result(mutant, "killed", seconds, first_failure(output))
    if rc == 0:
        return Result(mutant, "SURVIVED", seconds, "every test passed")
    return Result(mutant, "ERROR", seconds, f"pytest exit status {rc}: {first_failure(output)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", "--jobs", type=int, default=2, help="mutants run at the same time (default 2)")
    parser.add_argument("-k", "--keyword", default="", help="only mutants whose name contains this")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per mutant")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = parser.parse_args()

    mutants = [m for m in MUTANTS if args.keyword in m.name]
    # Only the selected ones: a file being rewritten elsewhere must not block the others;
    # tests/test_mutants_defined.py still checks them all.
    check_patterns(mutants)
    if args.list:
        for mutant in mutants:
            print(f"{mutant.name:50} {mutant.file:28} {' '.join(mutant.tests)}")
        return 0
    if not mutants:
        sys.exit(f"no mutant name contains {args.keyword!r}")

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlp_course_mutants_") as base:
        workspaces: queue.Queue = queue.Queue()
        for index in range(max(1, args.jobs)):
            workspace = make_workspace(Path(base), index)
            check_workspace(workspace)
            workspaces.put(workspace)
        baseline_tests = tuple(sorted({t for m in mutants for t in m.tests}))
        rc, output = run_pytest(workspaces.queue[0], baseline_tests, args.timeout * 4)
        if rc != 0:
            print(output)
            sys.exit("the unmutated tests do not pass in the copy: fix them before looking for mutants")
        print(f"baseline: {len(baseline_tests)} test files pass on the unmutated copy "
              f"({time.perf_counter() - start:.0f}s)\n")
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(run_mutant, m, workspaces, args.timeout) for m in mutants]
            results = []
            for future in futures:
                result = future.result()
                results.append(result)
                print(f"{result.outcome:8} {result.seconds:5.1f}s  {result.mutant.name:46} {result.detail}", flush=True)

    total = time.perf_counter() - start
    killed = sum(r.outcome == "killed" for r in results)
    bad = [r for r in results if r.outcome != "killed"]
    print(f"\n{killed} of {len(results)} mutants killed in {total:.0f}s"
          + ("" if not bad else "; not killed: " + ", ".join(r.mutant.name for r in bad)))
    return 0 if not bad else 1


if __name__ == "__main__":
    sys.exit(main())
