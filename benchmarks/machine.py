"""What every benchmark records about where and with what it ran.

The machine (CPU model, cores, memory), the load average, the versions of
Python and of the libraries, and the BLAS that NumPy uses. Used by
``mlp_784_512_10.py`` and ``chapter_times.py``; nothing here measures speed.
"""

from __future__ import annotations

import datetime
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any


def utc_now() -> str:
    """The current time in UTC, ISO 8601, to the second."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def available_cores() -> int:
    """The cores this process may run on (what a thread pool should use)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)  # the value is in KiB
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """CPU model, logical cores (all, and available to this process), RAM and OS."""
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "available_cores": available_cores(),
        "ram_gib": _memory_gib(),
        "system": f"{platform.system()} {platform.release()} ({platform.machine()})",
    }


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages (runnable processes), or ``None``."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def blas_info() -> dict[str, Any]:
    """NumPy's BLAS as built (``np.show_config``) and as loaded (threadpoolctl:
    library, version, threads)."""
    import numpy as np

    built: Any = None
    try:
        built = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # older NumPy without mode="dicts"
        pass
    loaded: list[dict[str, Any]] = []
    try:
        from threadpoolctl import threadpool_info

        keys = ("user_api", "internal_api", "version", "num_threads", "filepath", "architecture")
        loaded = [{key: pool.get(key) for key in keys} for pool in threadpool_info()]
    except ImportError:
        pass
    return {"numpy_build": built, "loaded": loaded}


# Variables that choose the CPU code paths (and so the speed) of NumPy, OpenBLAS
# and PyTorch; scripts/pinned_numerics sets them for the stored notebook outputs.
CODE_PATH_VARIABLES = ("NPY_DISABLE_CPU_FEATURES", "OPENBLAS_CORETYPE", "ATEN_CPU_CAPABILITY", "MKL_CBWR",
                       "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                       "MKL_NUM_THREADS")


def code_path_environment() -> dict[str, str | None]:
    """The value of each of :data:`CODE_PATH_VARIABLES` (``None`` when unset)."""
    return {name: os.environ.get(name) for name in CODE_PATH_VARIABLES}


def versions(*distributions: str) -> dict[str, str | None]:
    """Python's version and each installed distribution's (``None`` if missing)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in distributions:
        found[name] = _version(name)
    return found
