"""The IDX file format of MNIST and Fashion-MNIST: :func:`read_idx`.

An IDX file is a four-byte magic number (two zero bytes, a type code, the
number of dimensions), then one big-endian 32-bit size per dimension, then the
values in C order. The files are usually distributed gzipped.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

#: IDX type codes and the big-endian NumPy type each one stands for.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """The bytes are not a well-formed IDX file (or gzipped IDX file)."""


def read_idx(source: bytes | bytearray | memoryview | str | os.PathLike) -> np.ndarray:
    """Parse an IDX file, gzipped or not, into a NumPy array.

    ``source`` is the file's content (bytes) or its path. The array has the
    shape the header gives and the header's type in native byte order; it is
    a writable copy, not a view of ``source``.

    Raises :class:`IDXError` (a ``ValueError``) for a bad magic number, an
    unknown type code, a truncated header or a data length that does not
    match the header's shape.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        content, where = bytes(source), "<bytes>"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        content, where = path.read_bytes(), str(path)
    else:
        raise TypeError(f"read_idx: source must be bytes or a path, got {type(source).__name__}")
    if content[:2] == _GZIP_MAGIC:
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
            raise IDXError(f"read_idx: {where} is not a valid gzip file ({error})") from error
    return _parse(content, where)


def _parse(content: bytes, where: str) -> np.ndarray:
    if len(content) < 4:
        raise IDXError(f"read_idx: {where} is truncated: {len(content)} bytes, an IDX header needs at least 4")
    zero, type_code, ndim = struct.unpack(">HBB", content[:4])
    if zero != 0:
        raise IDXError(
            f"read_idx: {where} is not an IDX file: it must start with two zero bytes, got {content[:2].hex(' ')}"
        )
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X} ({dtype.name})" for code, dtype in IDX_TYPES.items())
        raise IDXError(f"read_idx: {where} has unknown IDX type code 0x{type_code:02X}; known codes: {known}")
    if ndim == 0:
        raise IDXError(f"read_idx: {where} declares 0 dimensions; an IDX array needs at least 1")
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise IDXError(
            f"read_idx: {where} is truncated: its header declares {ndim} dimensions "
            f"({header_size} header bytes) but the file has only {len(content)} bytes"
        )
    shape = struct.unpack(f">{ndim}I", content[4:header_size])
    dtype = IDX_TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(content) - header_size
    if found != expected:
        problem = "truncated" if found < expected else "longer than its header says"
        raise IDXError(
            f"read_idx: {where} is {problem}: shape {shape} of {dtype.name} needs {expected} data bytes, "
            f"found {found}"
        )
    values = np.frombuffer(content, dtype=dtype, offset=header_size).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=True)
