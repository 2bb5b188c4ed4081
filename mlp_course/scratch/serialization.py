"""Saving and loading state dicts as ``.npz`` files, with NumPy only.

>>> save(model, "model.npz")                   # doctest: +SKIP
>>> model.load_state_dict(load("model.npz"))  # doctest: +SKIP

The file holds plain arrays and never pickled Python objects, so loading one
cannot run code. To get a PyTorch model with the loaded weights, load them
into a scratch model first, then call ``to_torch(model)``.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mlp_course.scratch.module import Module

# np.savez takes these as arguments, so they cannot be array names.
_RESERVED_NAMES = ("file", "allow_pickle")


def _npz_path(owner: str, path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{owner}: path must be a str or pathlib.Path, got {type(path).__name__}")
    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"{owner}: the file name must end in .npz, got {str(path)!r}")
    return path


def _arrays(obj: Any) -> dict[str, np.ndarray]:
    if isinstance(obj, Module):
        return obj.state_dict()
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: expected a scratch Module or a dict of name -> array, got {type(obj).__name__}")
    arrays = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not key or key in _RESERVED_NAMES:
            raise ValueError(f"save: names must be non-empty strings other than {_RESERVED_NAMES}, got {key!r}")
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(f"save: {key!r} is an array of Python objects ({type(value).__name__}); "
                            "only numeric arrays can be saved without pickle")
        arrays[key] = array
    return arrays


def save(obj: Module | Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write ``obj.state_dict()`` (or a dict of arrays) to the ``.npz`` file ``path``.

    The file is written next to its destination under a temporary name and
    then renamed, so an interrupted save never leaves a half-written file.
    """
    path = _npz_path("save", path)
    arrays = _arrays(obj)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"save: the folder {str(path.parent)!r} does not exist; create it first")
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, allow_pickle=False, **arrays)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def load(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file written by :func:`save`, by name, in file order.

    Pickled arrays are refused (``allow_pickle=False``). Pass the result to
    ``model.load_state_dict``; ``to_torch(model)`` afterwards gives the same
    network in PyTorch.
    """
    path = _npz_path("load", path)
    if not path.is_file():
        raise FileNotFoundError(f"load: no file {str(path)!r}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load: {str(path)!r} is not an .npz archive; write one with save(model, path)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except ValueError as error:
        if "pickle" not in str(error):
            raise ValueError(f"load: {str(path)!r} holds something other than NumPy arrays ({error})") from None
        raise ValueError(f"load: {str(path)!r} holds pickled Python objects, which are not loaded because "
                         "unpickling can run code; only plain numeric arrays are") from None
    except zipfile.BadZipFile as error:
        raise ValueError(f"load: {str(path)!r} is a damaged .npz archive ({error})") from None
    others = [name for name, value in arrays.items() if not isinstance(value, np.ndarray)]
    if others:
        raise ValueError(f"load: {str(path)!r} is a zip archive but {others[0]!r} in it is not a NumPy array; "
                         "it was not written by save()")
    return arrays
