"""``save`` and ``load``: state dicts in ``.npz`` files, NumPy only, no pickle."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pytest
import torch
from torch_reference import assert_close, tensor

from mlp_course.scratch import (
    SGD,
    BatchNorm1d,
    CrossEntropyLoss,
    Dropout,
    Linear,
    ReLU,
    Sequential,
    load,
    save,
    to_torch,
)
from mlp_course.scratch import serialization


def classifier(seed: int, dtype=np.float32) -> Sequential:
    rng = np.random.default_rng(seed)
    return Sequential(
        Linear(5, 8, dtype=dtype, rng=rng), BatchNorm1d(8, dtype=dtype), ReLU(), Dropout(0.2, rng=rng),
        Sequential(Linear(8, 3, dtype=dtype, rng=rng)),
    )


def train_a_few_steps(model: Sequential, steps: int = 5) -> Sequential:
    rng = np.random.default_rng(11)
    X = rng.standard_normal((32, 5)).astype(model.dtype)
    y = rng.integers(0, 3, size=32)
    loss_fn, optimizer = CrossEntropyLoss(), SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(steps):
        loss_fn(model(X), y)
        optimizer.zero_grad()
        model.backward(loss_fn.backward())
        optimizer.step()
    return model


@pytest.fixture
def trained_model() -> Sequential:
    return train_a_few_steps(classifier(seed=0))


def test_a_saved_and_loaded_model_computes_exactly_the_same_outputs(tmp_path, trained_model):
    path = tmp_path / "model.npz"
    assert save(trained_model, path) is None
    fresh = classifier(seed=1)
    x = np.random.default_rng(5).standard_normal((7, 5)).astype(np.float32)
    assert not np.array_equal(fresh.eval()(x), trained_model.eval()(x))
    fresh.load_state_dict(load(path))
    np.testing.assert_array_equal(fresh(x), trained_model(x))
    assert fresh[1].num_batches_tracked == trained_model[1].num_batches_tracked == 5
    # Training mode too: batch statistics, then the same running statistics.
    fresh[3].p = trained_model[3].p = 0.0
    np.testing.assert_array_equal(fresh.train()(x), trained_model.train()(x))
    np.testing.assert_array_equal(fresh[1].running_var, trained_model[1].running_var)


def test_to_torch_after_loading_gives_the_same_pytorch_model(tmp_path, trained_model):
    save(trained_model, tmp_path / "model.npz")
    fresh = classifier(seed=2)
    fresh.load_state_dict(load(tmp_path / "model.npz"))
    reference = to_torch(fresh).eval()
    x = np.random.default_rng(6).standard_normal((7, 5)).astype(np.float32)
    with torch.no_grad():
        assert_close(reference(tensor(x)), trained_model.eval()(x), dtype=np.float32)
    assert list(reference.state_dict()) == list(load(tmp_path / "model.npz"))


def test_load_returns_the_state_dict_keys_dtypes_and_values_in_order(tmp_path, trained_model):
    path = tmp_path / "model.npz"
    save(trained_model, str(path))
    state, loaded = trained_model.state_dict(), load(str(path))
    assert list(loaded) == list(state)
    for key, value in state.items():
        assert isinstance(loaded[key], np.ndarray) and loaded[key].dtype == value.dtype, key
        np.testing.assert_array_equal(loaded[key], value)
    assert loaded["1.num_batches_tracked"].dtype == np.int64 and loaded["1.num_batches_tracked"].shape == ()


def test_a_dict_of_arrays_is_saved_as_given(tmp_path):
    arrays = {"weights": np.arange(6.0).reshape(2, 3), "count": 4, "tensor": torch.ones(2), "labels": [1, 2]}
    save(arrays, tmp_path / "arrays.npz")
    loaded = load(tmp_path / "arrays.npz")
    assert list(loaded) == list(arrays)
    np.testing.assert_array_equal(loaded["weights"], arrays["weights"])
    assert loaded["count"] == 4 and loaded["tensor"].dtype == np.float32
    np.testing.assert_array_equal(loaded["labels"], [1, 2])


def test_the_file_is_a_plain_npz_archive_without_pickle(tmp_path, trained_model):
    path = tmp_path / "model.npz"
    save(trained_model, path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [f"{key}.npy" for key in trained_model.state_dict()]
    with np.load(path, allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["0.weight"], trained_model[0].weight.data)


def test_saving_replaces_an_existing_file_and_leaves_no_temporary_file(tmp_path, trained_model):
    path = tmp_path / "model.npz"
    save(classifier(seed=3), path)
    save(trained_model, path)
    np.testing.assert_array_equal(load(path)["0.weight"], trained_model[0].weight.data)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_an_interrupted_save_leaves_the_old_file_and_no_temporary_file(tmp_path, trained_model, monkeypatch):
    path = tmp_path / "model.npz"
    save(classifier(seed=3), path)
    before = path.read_bytes()

    def write_half_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.np, "savez", write_half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save(trained_model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


@pytest.mark.parametrize(
    "obj, error, message",
    [
        ({"w": np.array([1, "a", None], dtype=object)}, TypeError,
         "save: 'w' is an array of Python objects (ndarray); only numeric arrays can be saved without pickle"),
        ({"w": [np.ones(2), np.ones(3)]}, ValueError, "inhomogeneous"),
        ({"file": np.ones(2)}, ValueError,
         "save: names must be non-empty strings other than ('file', 'allow_pickle'), got 'file'"),
        ({"": np.ones(2)}, ValueError, "got ''"),
        ({1: np.ones(2)}, ValueError, "got 1"),
        ([np.ones(2)], TypeError, "save: expected a scratch Module or a dict of name -> array, got list"),
    ],
)
def test_save_refuses_what_cannot_be_stored_without_pickle_and_writes_nothing(tmp_path, obj, error, message):
    with pytest.raises(error, match=re.escape(message)):
        save(obj, tmp_path / "bad.npz")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("function", ["save", "load"])
@pytest.mark.parametrize("name", ["model.pt", "model", "model.npz.bak"])
def test_the_file_name_must_end_in_npz(tmp_path, function, name):
    call = (lambda p: save(ReLU(), p)) if function == "save" else load
    with pytest.raises(ValueError, match=re.escape(f"{function}: the file name must end in .npz, got")):
        call(tmp_path / name)


def test_path_must_be_a_string_or_a_path():
    with pytest.raises(TypeError, match=re.escape("load: path must be a str or pathlib.Path, got int")):
        load(3)


def test_save_into_a_missing_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape("does not exist; create it first")):
        save(Linear(2, 2), tmp_path / "missing" / "model.npz")


def test_load_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"load: no file {str(tmp_path / 'model.npz')!r}")):
        load(tmp_path / "model.npz")


@pytest.mark.parametrize("content", [b"not an archive", b"", np.lib.format.MAGIC_PREFIX + b"\x01\x00"])
def test_load_refuses_a_file_that_is_not_an_npz_archive(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape("is not an .npz archive; write one with save(model, path)")):
        load(path)


def test_load_refuses_a_saved_single_array(tmp_path):
    path = tmp_path / "model.npz"
    with open(path, "wb") as file:
        np.save(file, np.ones(3))
    with pytest.raises(ValueError, match=re.escape("is not an .npz archive")):
        load(path)


def test_load_refuses_pickled_arrays(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, weights=np.ones(2), code=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=re.escape("holds pickled Python objects, which are not loaded because "
                                                   "unpickling can run code")):
        load(path)


def test_load_refuses_a_zip_archive_of_other_files(tmp_path):
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "hello")
    message = "'notes.txt' in it is not a NumPy array; it was not written by save()"
    with pytest.raises(ValueError, match=re.escape(message)):
        load(path)


def test_load_refuses_a_damaged_array_inside_the_archive(tmp_path):
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("w.npy", np.lib.format.MAGIC_PREFIX + b"\x01\x00garbage")
    with pytest.raises(ValueError, match=re.escape("holds something other than NumPy arrays")):
        load(path)
