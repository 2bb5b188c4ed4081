"""Tests for mlp_course.data.images: the search order ($MLP_COURSE_DATA, the cache, the system copy,
then a download into the cache), verification of every file, what happens to a corrupt file in
each place, the messages when nothing is found, and the real Fashion-MNIST from Debian's copy."""
from __future__ import annotations

import re
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mlp_course.data import (
    FASHION_MNIST,
    FASHION_MNIST_CLASSES,
    CorruptFileWarning,
    DatasetNotFoundError,
    DownloadError,
    DownloadWarning,
    data_home,
    load_dataset,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)

from .conftest import FILE_NAMES, PARTS, TinySet, sha256, tiny_spec

SYSTEM_COPY = Path("/usr/share/datasets/fashion-mnist")


def assert_loaded(result, tiny: TinySet):
    (X_train, y_train), (X_test, y_test) = result
    for array, part, dtype in [(X_train, "train_images", np.uint8), (y_train, "train_labels", np.int64),
                               (X_test, "test_images", np.uint8), (y_test, "test_labels", np.int64)]:
        assert array.dtype == dtype, part
        np.testing.assert_array_equal(array, tiny.arrays[part], err_msg=part)


def cache_folder() -> Path:
    return data_home() / "tiny"


def cached_files() -> list[str]:
    folder = cache_folder()
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_data_home_follows_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "mlp_course"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for unset in ("", "relative/path"):  # the XDG rule: ignore an empty or relative value
        monkeypatch.setenv("XDG_CACHE_HOME", unset)
        assert data_home() == tmp_path / "home" / ".cache" / "mlp_course"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data_home() == tmp_path / "home" / ".cache" / "mlp_course"


def test_downloads_into_the_cache_then_uses_the_cache(server, tiny, capsys):
    spec = tiny_spec(tiny, mirrors=(server.serve("m", tiny.files),))
    assert_loaded(load_dataset(spec), tiny)
    assert server.requests == [f"/m/{name}" for name in FILE_NAMES]
    assert cached_files() == sorted(FILE_NAMES), "only the four verified files, no temporary file"
    for name in FILE_NAMES:
        assert (cache_folder() / name).read_bytes() == tiny.files[name]
    err = capsys.readouterr().err
    assert all(f"\r{name}  [" in err and "100%" in err for name in FILE_NAMES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # success is silent
        assert_loaded(load_dataset(spec), tiny)
        assert_loaded(load_dataset(spec, download=False), tiny)
    assert len(server.requests) == 4, "the second and third loads made no request"
    assert capsys.readouterr().err == ""


def test_progress_false_downloads_silently(server, tiny, capsys):
    spec = tiny_spec(tiny, mirrors=(server.serve("m", tiny.files),))
    assert_loaded(load_dataset(spec, progress=False), tiny)
    assert capsys.readouterr().err == ""


def test_the_search_order(server, tmp_path, monkeypatch, tiny, tiny_other):
    third = TinySet.generate(2)
    spec = tiny_spec(tiny, tiny_other, third, mirrors=(server.serve("m", third.files),),
                     system_folders=(tmp_path / "system",))
    third.write(tmp_path / "system")
    assert_loaded(load_dataset(spec, download=False), third)      # only the system copy
    tiny_other.write(cache_folder())
    assert_loaded(load_dataset(spec, download=False), tiny_other)  # the cache before the system
    monkeypatch.setenv("MLP_COURSE_DATA", str(tmp_path / "mine"))
    assert_loaded(load_dataset(spec, download=False), tiny_other)  # an empty MLP_COURSE_DATA is skipped
    tiny.write(tmp_path / "mine" / "tiny")
    assert_loaded(load_dataset(spec), tiny)                         # MLP_COURSE_DATA first
    assert server.requests == []


def test_files_can_come_from_different_places(server, tmp_path, monkeypatch, tiny):
    spec = tiny_spec(tiny, mirrors=(server.serve("m", tiny.files),), system_folders=(tmp_path / "system",))
    monkeypatch.setenv("MLP_COURSE_DATA", str(tmp_path / "mine"))
    (tmp_path / "mine" / "tiny").mkdir(parents=True)
    (tmp_path / "mine" / "tiny" / FILE_NAMES[0]).write_bytes(tiny.files[FILE_NAMES[0]])
    (tmp_path / "system").mkdir()
    (tmp_path / "system" / FILE_NAMES[1]).write_bytes(tiny.files[FILE_NAMES[1]])
    assert_loaded(load_dataset(spec, progress=False), tiny)
    assert server.requests == [f"/m/{name}" for name in FILE_NAMES[2:]]
    assert cached_files() == sorted(FILE_NAMES[2:])


def test_a_corrupt_file_in_mlp_course_data_is_skipped_with_a_warning_and_kept(server, tmp_path, monkeypatch,
                                                                                tiny):
    spec = tiny_spec(tiny, mirrors=(server.serve("m", tiny.files),))
    mine = tmp_path / "mine"
    monkeypatch.setenv("MLP_COURSE_DATA", str(mine))
    tiny.write(mine / "tiny")
    bad = mine / "tiny" / FILE_NAMES[2]
    bad.write_bytes(b"not the file")
    with pytest.warns(CorruptFileWarning) as record:
        assert_loaded(load_dataset(spec, progress=False), tiny)
    (warning,) = record
    message = str(warning.message)
    assert str(bad) in message and sha256(b"not the file") in message
    assert sha256(tiny.files[FILE_NAMES[2]]) in message and "skipping it and looking further" in message
    assert bad.read_bytes() == b"not the file", "a folder the course does not own is left alone"
    assert server.requests == [f"/m/{FILE_NAMES[2]}"]


def test_a_truncated_system_copy_is_skipped_with_a_warning(server, tmp_path, tiny):
    system = tiny.write(tmp_path / "system")
    spec = tiny_spec(tiny, mirrors=(server.serve("m", tiny.files),), system_folders=(system,))
    content = tiny.files[FILE_NAMES[0]]
    (system / FILE_NAMES[0]).write_bytes(content[: len(content) // 2])
    with pytest.warns(CorruptFileWarning, match=f"{re.escape(str(system / FILE_NAMES[0]))} has SHA-256 digest"):
        assert_loaded(load_dataset(spec, progress=False), tiny)
    assert (system / FILE_NAMES[0]).stat().st_size == len(content) // 2
    assert cached_files() == [FILE_NAMES[0]]


def test_a_corrupt_cached_file_is_deleted_and_fetched_again(server, tiny):
    spec = tiny_spec(tiny, mirrors=(server.serve("m", tiny.files),))
    tiny.write(cache_folder())
    cached = cache_folder() / FILE_NAMES[1]
    garbage = b"\x1f\x8b garbage"
    cached.write_bytes(garbage)
    expected = f"{re.escape(str(cached))} has SHA-256 digest {sha256(garbage)}.*deleted it"
    with pytest.warns(CorruptFileWarning, match=expected):
        assert_loaded(load_dataset(spec, progress=False), tiny)
    assert server.requests == [f"/m/{FILE_NAMES[1]}"]
    assert cached.read_bytes() == tiny.files[FILE_NAMES[1]]


def test_a_corrupt_cached_file_is_deleted_even_without_download(tiny):
    spec = tiny_spec(tiny)
    tiny.write(cache_folder())
    (cache_folder() / FILE_NAMES[0]).write_bytes(b"bad")
    with pytest.warns(CorruptFileWarning, match="deleted it"):
        with pytest.raises(DatasetNotFoundError, match="wrong SHA-256 digest, deleted"):
            load_dataset(spec, download=False)
    assert FILE_NAMES[0] not in cached_files()


def test_nothing_found_without_download_lists_every_place_and_what_to_do(tmp_path, monkeypatch, tiny):
    spec = tiny_spec(tiny, system_folders=(tmp_path / "system",))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(spec, download=False)
    lines = str(info.value).splitlines()
    assert lines[0] == f"Tiny: no good copy of {FILE_NAMES[0]} was found and download=False. Looked in:"
    assert lines[1:4] == [
        f"  - $MLP_COURSE_DATA/tiny/{FILE_NAMES[0]}: $MLP_COURSE_DATA is not set",
        f"  - {cache_folder() / FILE_NAMES[0]}: no such file",
        f"  - {tmp_path / 'system' / FILE_NAMES[0]}: no such file",
    ]
    advice = lines[4]
    assert "sudo apt install dataset-tiny" in advice and "set MLP_COURSE_DATA=FOLDER" in advice
    assert "FOLDER/tiny/" in advice and all(name in advice for name in FILE_NAMES)
    assert f"download=True, needs internet) into {cache_folder()}" in advice
    assert isinstance(info.value, FileNotFoundError)
    monkeypatch.setenv("MLP_COURSE_DATA", str(tmp_path / "mine"))
    mine = tmp_path / "mine" / "tiny" / FILE_NAMES[0]
    with pytest.raises(DatasetNotFoundError, match=re.escape(f"  - {mine}: no such file")):
        load_dataset(spec, download=False)
    assert not cache_folder().exists(), "looking creates nothing"


def test_without_a_system_package_the_advice_does_not_mention_one(tiny):
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset(tiny_spec(tiny, system_package=None), download=False)
    assert "apt" not in str(info.value) and "MLP_COURSE_DATA=FOLDER" in str(info.value)


def test_mlp_course_data_without_a_system_package_for_mnist():
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(download=False)
    message = str(info.value)
    assert message.startswith("MNIST: no good copy of train-images-idx3-ubyte.gz was found")
    assert str(data_home() / "mnist" / "train-images-idx3-ubyte.gz") in message and "apt" not in message


def test_a_404_on_the_first_mirror_uses_the_second(server, tiny):
    spec = tiny_spec(tiny, mirrors=(server.mirror("gone"), server.serve("good", tiny.files)))
    with pytest.warns(DownloadWarning, match="HTTP error 404.*Trying the next mirror") as record:
        assert_loaded(load_dataset(spec, progress=False), tiny)
    assert len(record) == 4
    assert server.requests == [f"/{mirror}/{name}" for name in FILE_NAMES for mirror in ("gone", "good")]


@pytest.mark.parametrize("behaviour", ["ok", "truncated", "drop"])
def test_when_every_mirror_fails_nothing_is_left_in_the_cache(server, tiny, behaviour):
    corrupt = {name: content[::-1] for name, content in tiny.files.items()}
    files = corrupt if behaviour == "ok" else tiny.files
    spec = tiny_spec(tiny, mirrors=(server.serve("a", files, behaviour), server.serve("b", files, behaviour)))
    with pytest.warns(DownloadWarning):
        with pytest.raises(DownloadError) as info:
            load_dataset(spec, progress=False)
    message = str(info.value)
    assert message.startswith(f"Could not download {FILE_NAMES[0]} from any mirror:")
    assert f"{server.mirror('a')}{FILE_NAMES[0]}: " in message and f"{server.mirror('b')}{FILE_NAMES[0]}: " in message
    assert message.splitlines()[-1] == (
        "To get them: check the internet connection and try again; or install the package dataset-tiny "
        f"(sudo apt install dataset-tiny); or put the files ({', '.join(FILE_NAMES)}) in a folder "
        "FOLDER/tiny/ and set MLP_COURSE_DATA=FOLDER.")
    assert cached_files() == []


def test_a_verified_file_with_the_wrong_content_is_refused(server, tiny):
    wrong_shape = replace(tiny_spec(tiny), test_images=replace(tiny_spec(tiny).test_images, shape=(5, 28, 28)))
    tiny.write(cache_folder())
    with pytest.raises(ValueError, match=r"Tiny: t10k-images-idx3-ubyte.gz holds uint8 of shape \(4, 28, 28\), "
                                         r"expected uint8 of shape \(5, 28, 28\)"):
        load_dataset(wrong_shape)
    top = int(max(tiny.arrays["train_labels"].max(), tiny.arrays["test_labels"].max()))
    names = tuple(f"class {k}" for k in range(top + 1))
    assert_loaded(load_dataset(replace(tiny_spec(tiny), classes=names)), tiny)  # labels 0..top: enough classes
    with pytest.raises(ValueError, match=f"labels-idx1-ubyte.gz has label {top}, expected labels 0-{top - 1}"):
        load_dataset(replace(tiny_spec(tiny), classes=names[:-1]))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"download": "no"}, TypeError, "load Tiny: download must be True or False, got 'no'"),
    ({"progress": 0}, TypeError, "load Tiny: progress must be True or False, got 0"),
    ({"timeout": -1}, ValueError, "load Tiny: timeout must be a positive number of seconds, got -1"),
    ({"timeout": "30"}, ValueError, "timeout must be a positive number"),
])
def test_refuses_bad_arguments_before_looking(tiny, kwargs, error, message):
    with pytest.raises(error, match=message):
        load_dataset(tiny_spec(tiny), **kwargs)
    assert not cache_folder().exists()


def test_refuses_a_spec_that_is_not_one():
    with pytest.raises(TypeError, match="spec must be a DatasetSpec, got str"):
        load_dataset("fashion-mnist")
    with pytest.raises(TypeError, match="load Fashion-MNIST: download must be True or False, got None"):
        load_fashion_mnist(download=None)


@pytest.mark.skipif(not SYSTEM_COPY.is_dir(), reason=f"{SYSTEM_COPY} is absent: install the Debian/Ubuntu "
                                                     "package dataset-fashion-mnist to run this test")
def test_the_real_fashion_mnist_from_the_system_copy():
    start = time.perf_counter()
    (X_train, y_train), (X_test, y_test) = load_fashion_mnist(download=False)
    seconds = time.perf_counter() - start
    assert X_train.shape == (60000, 28, 28) and X_test.shape == (10000, 28, 28)
    assert X_train.dtype == X_test.dtype == np.uint8
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert y_train.dtype == y_test.dtype == np.int64
    assert np.array_equal(np.bincount(y_train, minlength=10), np.full(10, 6000))
    assert np.array_equal(np.bincount(y_test, minlength=10), np.full(10, 1000))
    assert X_train.min() == 0 and X_train.max() == 255
    assert len(FASHION_MNIST_CLASSES) == 10 and FASHION_MNIST_CLASSES[9] == "Ankle boot"
    # Real clothes, not noise: trousers (class 1) leave a gap between the legs at the bottom middle
    # that a pullover (class 2) fills.
    trousers, pullovers = X_train[y_train == 1].mean(axis=0), X_train[y_train == 2].mean(axis=0)
    assert trousers[20:28, 13:15].mean() < 0.5 * pullovers[20:28, 13:15].mean()
    assert not data_home().exists(), "the system copy is read in place, nothing is cached"
    # The system files are the Debian copies whose digests the spec accepts as its second digest.
    for file in FASHION_MNIST.files:
        assert sha256((SYSTEM_COPY / file.name).read_bytes()) == file.sha256[1]
    assert seconds < 5, f"loading took {seconds:.2f} s"  # about 0.5 s on two cores


@pytest.mark.skipif(not SYSTEM_COPY.is_dir(), reason=f"{SYSTEM_COPY} is absent")
def test_the_debian_files_decompress_to_idx_files_of_the_official_shapes():
    for part, file in zip(PARTS, FASHION_MNIST.files):
        content = (SYSTEM_COPY / file.name).read_bytes()
        assert content[:3] == b"\x1f\x8b\x08" and not content[3] & 0x08, "gzip without a file name"
        array = read_idx(content)
        assert array.shape == file.shape and array.dtype == np.uint8, part
