"""How long each chapter takes to run from a fresh kernel.

Executes every ``chapters/NN_*.ipynb`` (or the chapters named with
``--chapters``), one at a time, each in a new ``python3`` kernel (the one of
the virtual environment, as ``jupyter kernelspec list`` shows it) started in
``chapters/``, and records the wall-clock seconds from the kernel's start to
the last cell's end. The notebooks are read, never written back: their stored
outputs stay as they are. A chapter that fails is recorded with its error, and
the run goes on.

    python benchmarks/chapter_times.py                  # every chapter
    python benchmarks/chapter_times.py --chapters 01 02 # chapters 1 and 2

writes ``benchmarks/results/chapter_times.json`` (``--output`` elsewhere):
the date, machine, versions, the load average before and after, the values of
the variables that choose code paths (those of ``scripts/pinned_numerics``,
which the kernels inherit), which chapters ran (and whether that is all of
them) and the seconds of each.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402  (benchmarks/machine.py, next to this script)

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "chapter_times.json"
KERNEL = "python3"
TIMEOUT_SECONDS = 1800  # per cell


def all_chapters(folder: Path = CHAPTERS) -> list[Path]:
    """The chapter notebooks ``NN_*.ipynb`` of ``folder``, in order."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def select_chapters(numbers: Sequence[str] | None, folder: Path = CHAPTERS) -> list[Path]:
    """The chapters whose two-digit numbers are given (all when ``None``);
    an unknown or malformed number is an error that lists the chapters there are."""
    chapters = all_chapters(folder)
    if not chapters:
        raise FileNotFoundError(f"no chapter notebooks NN_*.ipynb in {folder}")
    if numbers is None:
        return chapters
    by_number = {path.name[:2]: path for path in chapters}
    chosen = []
    for number in numbers:
        key = number.zfill(2) if number.isdigit() else number
        if key not in by_number:
            raise ValueError(f"no chapter {number!r} in {folder}; the chapters are {sorted(by_number)}")
        if by_number[key] not in chosen:
            chosen.append(by_number[key])
    return sorted(chosen)


def time_notebook(path: Path, kernel_name: str = KERNEL, timeout: int = TIMEOUT_SECONDS) -> dict[str, Any]:
    """Execute a copy of the notebook in memory in a fresh kernel; seconds and status."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, kernel_name=kernel_name, timeout=timeout,
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except Exception as exception:  # a failing cell: record it and go on with the next chapter
        lines = str(exception).strip().splitlines()
        error = f"{type(exception).__name__}: {lines[-1] if lines else ''}"
    seconds = time.perf_counter() - start
    code_cells = sum(cell.cell_type == "code" for cell in notebook.cells)
    return {"notebook": path.name, "seconds": seconds, "code_cells": code_cells, "ok": error is None,
            "error": error}


def _kernel_python(kernel_name: str) -> str | None:
    """The interpreter the kernel starts (the first word of its command line)."""
    try:
        from jupyter_client.kernelspec import get_kernel_spec

        return get_kernel_spec(kernel_name).argv[0]
    except Exception:  # no such kernel: the run itself says so
        return None


def run(numbers: Sequence[str] | None, folder: Path = CHAPTERS, log=print) -> dict[str, Any]:
    """Time the chosen chapters and return the JSON-ready record."""
    chapters = select_chapters(numbers, folder)
    load_before, started = machine.load_average(), machine.utc_now()
    results = []
    for path in chapters:
        result = time_notebook(path)
        results.append(result)
        log(f"{path.name:<40} {result['seconds']:7.1f} s" + ("" if result["ok"] else f"  FAILED: {result['error']}"))
    everything = [path.name for path in all_chapters(folder)]
    import mlp_course

    return {
        "date": started,
        "machine": machine.machine_info(),
        "load_average": {"before": load_before, "after": machine.load_average()},
        "environment": machine.code_path_environment(),
        "versions": {**machine.versions("numpy", "torch", "scikit-learn", "matplotlib", "nbclient", "ipykernel"),
                     "mlp_course": mlp_course.__version__},
        "kernel": {"name": KERNEL, "python": _kernel_python(KERNEL)},
        "chapters_run": [result["notebook"] for result in results],
        "all_chapters": everything,
        "complete": [result["notebook"] for result in results] == everything,
        "chapters": results,
        "total_seconds": sum(result["seconds"] for result in results),
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", nargs="+", metavar="NN", default=None,
                        help="two-digit numbers of the chapters to run (default: all)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="where the JSON goes (default benchmarks/results/chapter_times.json)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result = run(args.chapters)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    ran = ("all chapters" if result["complete"]
           else f"{len(result['chapters_run'])} of {len(result['all_chapters'])} chapters")
    print(f"{ran}: {result['total_seconds']:.1f} s in all; wrote {args.output}")
    failed = [entry["notebook"] for entry in result["chapters"] if not entry["ok"]]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return result


if __name__ == "__main__":
    sys.exit(0 if all(entry["ok"] for entry in main()["chapters"]) else 1)
