"""Atomic, verified downloads with a text progress bar: :func:`download_file`, :func:`download_from_mirrors`.

A file is streamed into a temporary file next to its destination and hashed
as it arrives. It is renamed into place only once it is complete and its
SHA-256 digest is one of those accepted; any failure, including Ctrl-C,
removes the temporary file, so a partial or wrong file never takes the
destination's name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

#: Plain HTTP is refused except to this machine, where the tests run their own server.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_CHUNK_SIZE = 1 << 16
_BAR_WIDTH = 24


class DownloadError(OSError):
    """A download failed; ``failures`` lists ``(url, reason)`` for each URL tried."""

    def __init__(self, message: str, failures: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.failures = tuple(failures)

    def __str__(self) -> str:
        return str(self.args[0])


class DownloadWarning(UserWarning):
    """One mirror failed and the next one is tried."""


class ProgressBar:
    """A one-line text progress bar, redrawn in place with ``'\\r'`` (terminals and Jupyter)."""

    def __init__(self, label: str, total: int | None, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label, self.total, self.enabled = label, total, enabled
        self.stream = sys.stderr if stream is None else stream
        self._shown: tuple[int, float] | None = None  # (percent or bytes, time) last drawn

    def line(self, done: int) -> str:
        """The text of the bar after ``done`` bytes."""
        megabytes = f"{done / 1e6:.1f}"
        if not self.total:
            return f"{self.label}  {megabytes} MB"
        fraction = min(done / self.total, 1.0)
        filled = int(fraction * _BAR_WIDTH)
        bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
        return f"{self.label}  [{bar}] {fraction:4.0%}  {megabytes}/{self.total / 1e6:.1f} MB"

    def update(self, done: int) -> None:
        """Redraw when the percentage changes (or every quarter second without a known total)."""
        if not self.enabled:
            return
        now = time.monotonic()
        key = int(100 * done / self.total) if self.total else done
        if self._shown is not None:
            if self.total and key == self._shown[0]:
                return
            if not self.total and now - self._shown[1] < 0.25:
                return
        self._shown = (key, now)
        self.stream.write("\r" + self.line(done))
        self.stream.flush()

    def close(self, done: int) -> None:
        """Draw the final state and end the line."""
        if self.enabled and self._shown is not None:
            self.stream.write("\r" + self.line(done) + "\n")
            self.stream.flush()


def check_url(url: str) -> None:
    """Refuse anything but HTTPS (plain HTTP only to this machine)."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a string, got {type(url).__name__}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return
    raise ValueError(f"download: expected an https:// URL (plain http only to 127.0.0.1), got {url!r}")


def _check_redirect(url: str) -> None:
    """urllib follows redirects on its own: refuse one that leaves HTTPS."""
    try:
        check_url(url)
    except ValueError as error:
        raise DownloadError(f"redirected to {url}, which is not an HTTPS URL") from error


def download_file(
    url: str,
    destination: str | os.PathLike,
    *,
    sha256: Collection[str],
    progress: bool = True,
    timeout: float = 30.0,
) -> str:
    """Download ``url`` to ``destination`` if its SHA-256 digest is in ``sha256``; return the digest.

    ``timeout`` (seconds) applies to connecting and to each read. Raises
    :class:`DownloadError` for an HTTP error, a failed or dropped connection,
    a body shorter or longer than its ``Content-Length``, or a wrong digest;
    in every case (Ctrl-C included) nothing is left at ``destination`` or
    beside it.
    """
    check_url(url)
    if isinstance(sha256, str) or not sha256:
        raise TypeError(f"download_file: sha256 must be a collection of accepted hex digests, got {sha256!r}")
    if not isinstance(progress, bool):
        raise TypeError(f"download_file: progress must be True or False, got {progress!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"download_file: timeout must be a positive number of seconds, got {timeout!r}")
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part", delete=False
    )
    temporary = Path(handle.name)
    try:
        with handle:
            digest = _stream(url, handle, destination.name, progress=progress, timeout=float(timeout))
            handle.flush()
            os.fsync(handle.fileno())
        if digest not in sha256:
            raise DownloadError(
                f"wrong SHA-256 digest {digest}, expected {' or '.join(sorted(sha256))} "
                "(the file is corrupt or not the one expected)"
            )
        os.replace(temporary, destination)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return digest


def _stream(url: str, handle: BinaryIO, label: str, *, progress: bool, timeout: float) -> str:
    """Copy the body of ``url`` into ``handle``; return its SHA-256 hex digest."""
    hasher = hashlib.sha256()
    done, total = 0, None
    request = urllib.request.Request(url, headers={"User-Agent": "mlp-course"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            _check_redirect(response.geturl())
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None and length.strip().isdigit() else None
            bar = ProgressBar(label, total, enabled=progress)
            bar.update(0)
            try:
                while chunk := response.read(_CHUNK_SIZE):
                    handle.write(chunk)
                    hasher.update(chunk)
                    done += len(chunk)
                    bar.update(done)
            finally:
                bar.close(done)
    except DownloadError:
        raise
    except urllib.error.HTTPError as error:
        raise DownloadError(f"HTTP error {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise DownloadError(f"could not connect ({error.reason})") from error
    except http.client.IncompleteRead as error:
        raise DownloadError(f"the connection closed after {done} of {total} bytes (truncated)") from error
    except (http.client.HTTPException, OSError) as error:  # resets, time-outs, bad responses
        expected = f" of {total}" if total is not None else ""
        raise DownloadError(
            f"the connection failed after {done}{expected} bytes ({type(error).__name__}: {error})"
        ) from error
    if total is not None and done != total:
        raise DownloadError(f"received {done} bytes but the server announced {total} (truncated)")
    return hasher.hexdigest()


def download_from_mirrors(
    file_name: str,
    mirrors: Sequence[str],
    destination: str | os.PathLike,
    *,
    sha256: Collection[str],
    progress: bool = True,
    timeout: float = 30.0,
    advice: str = "",
) -> str:
    """Try ``mirrors`` (base URLs) in order for ``file_name``; return the digest of the one saved.

    A mirror that fails gives a :class:`DownloadWarning` and the next is
    tried. When all fail, :class:`DownloadError` names the file, each URL
    with its failure, and ends with ``advice``.
    """
    if not mirrors:
        raise ValueError(f"download_from_mirrors: no mirrors given for {file_name}")
    for base in mirrors:
        check_url(base)
    failures: list[tuple[str, str]] = []
    for index, base in enumerate(mirrors):
        url = urllib.parse.urljoin(base, file_name)
        try:
            return download_file(url, destination, sha256=sha256, progress=progress, timeout=timeout)
        except DownloadError as error:
            failures.append((url, str(error)))
            if index + 1 < len(mirrors):
                warnings.warn(
                    f"Could not download {file_name} from {url}: {error}. Trying the next mirror.",
                    DownloadWarning,
                    stacklevel=2,
                )
    tried = "\n".join(f"  - {url}: {reason}" for url, reason in failures)
    message = f"Could not download {file_name} from any mirror:\n{tried}"
    raise DownloadError(message + (f"\n{advice}" if advice else ""), failures)
