"""Tests for mlp_course.data.idx: read_idx parses every IDX type, gzipped or not, from bytes or a
path, and refuses malformed files with a message that says what is wrong."""
from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlp_course.data import IDXError, read_idx
from mlp_course.data.idx import IDX_TYPES

from .conftest import gzipped, idx_bytes

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@given(
    array=st.sampled_from(DTYPES).flatmap(
        lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    ),
    compress=st.booleans(),
)
def test_round_trip_of_every_type_and_shape(array, compress):
    content = idx_bytes(array)
    parsed = read_idx(gzipped(content) if compress else content)
    assert parsed.dtype == array.dtype and parsed.dtype.isnative
    assert parsed.shape == array.shape
    np.testing.assert_array_equal(parsed, array)  # NaNs compare equal here


def test_big_endian_values_are_read_in_the_right_order():
    # 0x0102 big-endian is 258; little-endian it would be 513.
    content = struct.pack(">HBBI", 0, 0x0B, 1, 2) + bytes([1, 2, 0xFF, 0xFE])
    np.testing.assert_array_equal(read_idx(content), np.array([258, -2], dtype=np.int16))


def test_reads_a_path_and_returns_a_writable_copy(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzipped(idx_bytes(images)))
    for source in (path, str(path)):
        parsed = read_idx(source)
        np.testing.assert_array_equal(parsed, images)
        assert parsed.flags.writeable and parsed.flags.c_contiguous
    content = bytearray(idx_bytes(images))
    parsed = read_idx(content)
    content[-1] ^= 0xFF
    assert parsed[-1, -1, -1] == images[-1, -1, -1], "the array must not share memory with the input"


def test_type_codes_are_the_standard_ones():
    assert {code: dtype.newbyteorder("=") for code, dtype in IDX_TYPES.items()} == {
        0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(np.int16),
        0x0C: np.dtype(np.int32), 0x0D: np.dtype(np.float32), 0x0E: np.dtype(np.float64),
    }


GOOD = idx_bytes(np.zeros((3, 2, 2), dtype=np.uint8))  # header 16 bytes + 12 data bytes


@pytest.mark.parametrize("content, message", [
    (b"", "truncated: 0 bytes, an IDX header needs at least 4"),
    (b"\x00\x00\x08", "truncated: 3 bytes"),
    (b"\x01\x00\x08\x01" + GOOD[4:], "must start with two zero bytes, got 01 00"),
    (b"PK\x03\x04" + GOOD[4:], "not an IDX file"),
    (b"\x00\x00\x0a\x03" + GOOD[4:], "unknown IDX type code 0x0A"),
    (b"\x00\x00\x08\x00", "declares 0 dimensions"),
    (GOOD[:10], r"header declares 3 dimensions \(16 header bytes\) but the file has only 10 bytes"),
    (GOOD[:-1], r"truncated: shape \(3, 2, 2\) of uint8 needs 12 data bytes, found 11"),
    (GOOD + b"\x00", r"longer than its header says: shape \(3, 2, 2\) of uint8 needs 12 data bytes, found 13"),
    (GOOD[:4] + struct.pack(">3I", 3, 2, 3) + GOOD[16:], r"shape \(3, 2, 3\) of uint8 needs 18 data bytes, found 12"),
    (struct.pack(">HBBI", 0, 0x0D, 1, 2) + bytes(7), r"shape \(2,\) of float32 needs 8 data bytes, found 7"),
])
def test_refuses_malformed_files(content, message):
    with pytest.raises(IDXError, match=message):
        read_idx(content)
    with pytest.raises(IDXError, match=message):
        read_idx(gzipped(content))  # the same checks after decompression


def test_refuses_a_broken_gzip_file_and_names_the_path(tmp_path):
    compressed = gzipped(GOOD * 50)
    path = tmp_path / "broken.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(IDXError, match=f"{path} is not a valid gzip file"):
        read_idx(path)
    assert issubclass(IDXError, ValueError)


def test_refuses_a_source_that_is_neither_bytes_nor_a_path(tmp_path):
    with pytest.raises(TypeError, match="source must be bytes or a path, got int"):
        read_idx(42)
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "missing.gz")
