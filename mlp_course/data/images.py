"""The public image loaders: :func:`load_fashion_mnist`, :func:`load_mnist`, :func:`load_dataset`.

Each of the four files of a set is looked for, in order, in
``$MLP_COURSE_DATA/<set>/``, in the course's cache :func:`data_home` ``/<set>/``,
and in the system folders of the set's operating-system package; if none
has a good copy and ``download=True``, it is downloaded into the cache. A
file is used only if its SHA-256 digest is one of those accepted.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np

from mlp_course.data.datasets import FASHION_MNIST, MNIST, DataFile, DatasetSpec
from mlp_course.data.download import download_from_mirrors
from mlp_course.data.idx import read_idx

#: The environment variable naming a folder searched first (one sub-folder per data set).
DATA_ENVIRONMENT_VARIABLE = "MLP_COURSE_DATA"

Split = tuple[np.ndarray, np.ndarray]


class DatasetNotFoundError(FileNotFoundError):
    """No good copy of a data file was found, and downloading was not allowed."""

    def __str__(self) -> str:
        return str(self.args[0])


class CorruptFileWarning(UserWarning):
    """A copy of a data file was found but its digest is wrong; it is not used."""


def data_home() -> Path:
    """The course's cache folder: ``$XDG_CACHE_HOME/mlp_course``, or ``~/.cache/mlp_course``."""
    cache = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG specification says to ignore a relative path.
    base = Path(cache) if cache and Path(cache).is_absolute() else Path.home() / ".cache"
    return base / "mlp_course"


def load_fashion_mnist(*, download: bool = True, progress: bool = True, timeout: float = 30.0) -> tuple[Split, Split]:
    """Fashion-MNIST (Zalando's clothing images): ``(X_train, y_train), (X_test, y_test)``.

    ``X_train`` is uint8 of shape (60000, 28, 28) and ``X_test`` (10000, 28, 28),
    pixels 0-255; the labels are int64, 0-9, indexing :data:`FASHION_MNIST_CLASSES`.
    See the module docstring for where the files are looked for; ``progress``
    shows a progress bar while downloading, ``timeout`` is in seconds.
    """
    return load_dataset(FASHION_MNIST, download=download, progress=progress, timeout=timeout)


def load_mnist(*, download: bool = True, progress: bool = True, timeout: float = 30.0) -> tuple[Split, Split]:
    """The full MNIST handwritten digits: ``(X_train, y_train), (X_test, y_test)``.

    Same shapes and types as :func:`load_fashion_mnist`; label ``k`` is the digit ``k``.
    """
    return load_dataset(MNIST, download=download, progress=progress, timeout=timeout)


def load_dataset(
    spec: DatasetSpec, *, download: bool = True, progress: bool = True, timeout: float = 30.0
) -> tuple[Split, Split]:
    """Load the image set that ``spec`` describes (see :func:`load_fashion_mnist`)."""
    if not isinstance(spec, DatasetSpec):
        raise TypeError(f"load_dataset: spec must be a DatasetSpec, got {type(spec).__name__}")
    for name, value in (("download", download), ("progress", progress)):
        if not isinstance(value, bool):
            raise TypeError(f"load {spec.title}: {name} must be True or False, got {value!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"load {spec.title}: timeout must be a positive number of seconds, got {timeout!r}")
    X_train, y_train, X_test, y_test = (
        _checked_array(spec, file, _file_content(spec, file, download=download, progress=progress, timeout=timeout))
        for file in spec.files
    )
    return (X_train, y_train.astype(np.int64)), (X_test, y_test.astype(np.int64))


def _places(spec: DatasetSpec) -> list[tuple[str, Path | None, str]]:
    """``(kind, folder, note)`` for each place searched, in order; ``folder`` is None when unset."""
    places: list[tuple[str, Path | None, str]] = []
    user = os.environ.get(DATA_ENVIRONMENT_VARIABLE, "")
    if user:
        places.append(("user", Path(user).expanduser() / spec.name, ""))
    else:
        places.append(("user", None, f"${DATA_ENVIRONMENT_VARIABLE} is not set"))
    places.append(("cache", data_home() / spec.name, ""))
    for folder in spec.system_folders:
        places.append(("system", Path(folder), ""))
    return places


def _file_content(spec: DatasetSpec, file: DataFile, *, download: bool, progress: bool, timeout: float) -> bytes:
    """The bytes of the first good copy of ``file``; download it into the cache if allowed and needed."""
    looked: list[str] = []
    for kind, folder, note in _places(spec):
        if folder is None:
            looked.append(f"${DATA_ENVIRONMENT_VARIABLE}/{spec.name}/{file.name}: {note}")
            continue
        path = folder / file.name
        if not path.is_file():
            looked.append(f"{path}: no such file")
            continue
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        if digest in file.sha256:
            return content
        expected = " or ".join(file.sha256)
        if kind == "cache":  # the course's own folder: a bad file there must not stay
            try:
                path.unlink()
                action = "deleted it; looking further (it is downloaded again if download=True)"
                looked.append(f"{path}: wrong SHA-256 digest, deleted")
            except OSError as error:
                action = f"could not delete it ({error}); looking further"
                looked.append(f"{path}: wrong SHA-256 digest, could not be deleted")
        else:
            action = "skipping it and looking further"
            looked.append(f"{path}: wrong SHA-256 digest, skipped")
        warnings.warn(
            f"{spec.title}: {path} has SHA-256 digest {digest}, expected {expected}: "
            f"the file is corrupt or not the official one; {action}.",
            CorruptFileWarning,
            stacklevel=2,
        )
    destination = data_home() / spec.name / file.name
    if not download:
        places = "\n".join(f"  - {place}" for place in looked)
        raise DatasetNotFoundError(
            f"{spec.title}: no good copy of {file.name} was found and download=False. Looked in:\n"
            f"{places}\n{_advice(spec, downloading=False)}"
        )
    download_from_mirrors(
        file.name, spec.mirrors, destination, sha256=file.sha256, progress=progress, timeout=timeout,
        advice=_advice(spec, downloading=True),
    )
    # download_from_mirrors verified the digest while the bytes arrived.
    return destination.read_bytes()


def _advice(spec: DatasetSpec, *, downloading: bool) -> str:
    """What a learner can do when no file was found (``downloading=False``) or the download failed."""
    files = ", ".join(file.name for file in spec.files)
    ways = ["check the internet connection and try again"] if downloading else []
    if spec.system_package:
        ways.append(f"install the package {spec.system_package} (sudo apt install {spec.system_package})")
    ways.append(
        f"put the files ({files}) in a folder FOLDER/{spec.name}/ and set {DATA_ENVIRONMENT_VARIABLE}=FOLDER"
    )
    if not downloading:
        ways.append(f"allow the download (download=True, needs internet) into {data_home() / spec.name}")
    return "To get them: " + "; or ".join(ways) + "."


def _checked_array(spec: DatasetSpec, file: DataFile, content: bytes) -> np.ndarray:
    """Parse ``file`` and check its dtype, shape and (for labels) the class range."""
    array = read_idx(content)
    if array.dtype != np.uint8 or array.shape != file.shape:
        raise ValueError(
            f"{spec.title}: {file.name} holds {array.dtype} of shape {array.shape}, "
            f"expected uint8 of shape {file.shape}"
        )
    if array.ndim == 1 and array.size and int(array.max()) >= len(spec.classes):
        raise ValueError(
            f"{spec.title}: {file.name} has label {int(array.max())}, expected labels 0-{len(spec.classes) - 1}"
        )
    return array
