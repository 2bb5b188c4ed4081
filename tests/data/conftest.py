"""Fixtures for the data tests: small generated IDX files and a local HTTP server.

Every test runs with ``MLP_COURSE_DATA`` unset and ``XDG_CACHE_HOME`` in its
own temporary folder, so no test reads or writes the real cache, and the
server listens on 127.0.0.1 only: nothing reaches the network.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from mlp_course.data import DataFile, DatasetSpec

_IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
              np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` written as an (uncompressed) IDX file, independently of the code under test."""
    code = _IDX_CODES[array.dtype]
    header = struct.pack(">HBB", 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def gzipped(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


PARTS = ("train_images", "train_labels", "test_images", "test_labels")
FILE_NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@dataclass
class TinySet:
    """Six training and four test images of 28x28 with labels, and their gzipped IDX files."""

    arrays: dict[str, np.ndarray]   # by part
    files: dict[str, bytes]         # gzipped IDX content by file name

    @classmethod
    def generate(cls, seed: int) -> TinySet:
        rng = np.random.default_rng(seed)
        arrays = {
            "train_images": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
            "train_labels": rng.integers(0, 10, 6).astype(np.uint8),
            "test_images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
            "test_labels": rng.integers(0, 10, 4).astype(np.uint8),
        }
        files = {name: gzipped(idx_bytes(arrays[part])) for part, name in zip(PARTS, FILE_NAMES)}
        return cls(arrays, files)

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.files.items():
            (folder / name).write_bytes(content)
        return folder


def tiny_spec(*sets: TinySet, mirrors: tuple[str, ...] = (), system_folders: tuple[Path, ...] = (),
              system_package: str | None = "dataset-tiny") -> DatasetSpec:
    """A spec named "tiny" that accepts the files of each of ``sets``."""
    files = [
        DataFile(name, tuple(sha256(s.files[name]) for s in sets), sets[0].arrays[part].shape)
        for part, name in zip(PARTS, FILE_NAMES)
    ]
    return DatasetSpec("tiny", "Tiny", tuple(f"class {k}" for k in range(10)), *files,
                       mirrors=mirrors, system_folders=system_folders, system_package=system_package)


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.routes[path] = (behaviour, body)``; records every request path."""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.server.requests.append(self.path)
        behaviour, body = self.server.routes.get(self.path, ("missing", b""))
        if behaviour == "missing":
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if behaviour != "no-length":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour in ("ok", "no-length"):
            self.wfile.write(body)
        elif behaviour == "truncated":  # half the body, then a clean close
            self.wfile.write(body[: len(body) // 2])
        elif behaviour == "drop":  # three quarters of the body, then a reset (RST) instead of a close
            self.wfile.write(body[: 3 * len(body) // 4])
            self.wfile.flush()
            time.sleep(0.2)  # let the client read what came before the reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif behaviour == "stall":  # headers, then nothing until the test ends
            self.wfile.flush()
            self.server.release.wait(10)
        else:
            raise AssertionError(f"unknown behaviour {behaviour!r}")

    def log_message(self, format, *args) -> None:  # keep the test output clean
        pass


class FileServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 (a free port) whose answers each test chooses."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []
        self.release = threading.Event()

    def handle_error(self, request, client_address) -> None:  # a dropped connection is on purpose
        pass

    def mirror(self, name: str) -> str:
        """The base URL of a mirror folder ``/name/``."""
        return f"http://127.0.0.1:{self.server_address[1]}/{name}/"

    def serve(self, mirror: str, files: dict[str, bytes], behaviour: str = "ok") -> str:
        """Serve ``files`` under ``/mirror/`` with ``behaviour``; return the mirror's base URL."""
        for name, content in files.items():
            self.routes[f"/{mirror}/{name}"] = (behaviour, content)
        return self.mirror(mirror)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch) -> Path:
    """No MLP_COURSE_DATA and a private, empty cache: returns the cache folder's parent."""
    monkeypatch.delenv("MLP_COURSE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return tmp_path / "xdg-cache"


@pytest.fixture
def server():
    server = FileServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def tiny() -> TinySet:
    return TinySet.generate(0)


@pytest.fixture
def tiny_other() -> TinySet:
    """A second, different set of the same shapes (a second accepted version of each file)."""
    return TinySet.generate(1)
