"""Conversion to and from PyTorch: same weights, dtype, mode and batch-norm
statistics; identical outputs; unsupported layers named in a TypeError."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch_reference import assert_close, examples, seeds, tensor

from mlp_course.scratch import (
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    LeakyReLU,
    Linear,
    Loss,
    Module,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    from_torch,
    loss_to_torch,
    mlp,
    to_torch,
)

TORCH_DTYPES = {np.float32: torch.float32, np.float64: torch.float64}


def every_layer_model(dtype=np.float64, seed=0) -> Sequential:
    """One of each supported layer, a square Linear and a nested Sequential, with
    random weights and moved batch-norm statistics."""
    rng = np.random.default_rng(seed)
    model = Sequential(
        Linear(4, 6, dtype=dtype, rng=rng), BatchNorm1d(6, eps=1e-3, momentum=0.2, dtype=dtype),
        LeakyReLU(0.2), Dropout(0.25), Linear(6, 6, dtype=dtype, rng=rng), Tanh(),
        Sequential(Linear(6, 5, bias=False, dtype=dtype, rng=rng), Sigmoid()),
        Linear(5, 3, dtype=dtype, rng=rng), ReLU(), Linear(3, 3, dtype=dtype, rng=rng), Softmax(),
    )
    for p in model.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    bn = model[1]
    bn.running_mean = rng.standard_normal(6).astype(dtype)
    bn.running_var = rng.uniform(0.5, 2.0, 6).astype(dtype)
    bn.num_batches_tracked = 7
    return model


def assert_same_model(a: Module, b: Module) -> None:
    """Same layer types, hyper-parameters, parameters (bit for bit), buffers and modes."""
    modules_a, modules_b = list(a.modules()), list(b.modules())
    assert [type(m) for m in modules_a] == [type(m) for m in modules_b]
    for m, n in zip(modules_a, modules_b):
        assert m.training == n.training
        if isinstance(m, LeakyReLU):
            assert m.negative_slope == n.negative_slope
        if isinstance(m, Dropout):
            assert m.p == n.p
        if isinstance(m, BatchNorm1d):
            assert (m.eps, m.momentum, m.affine, m.num_batches_tracked) == (n.eps, n.momentum, n.affine, n.num_batches_tracked)
            for name in ("running_mean", "running_var"):
                assert getattr(m, name).dtype == getattr(n, name).dtype
                np.testing.assert_array_equal(getattr(m, name), getattr(n, name))
    names_a = [name for name, _ in a.named_parameters()]
    assert names_a == [name for name, _ in b.named_parameters()]
    for p, q in zip(a.parameters(), b.parameters()):
        assert p.data.dtype == q.data.dtype and p.data.shape == q.data.shape
        np.testing.assert_array_equal(p.data, q.data)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("training", [True, False])
def test_round_trip_preserves_everything(dtype, training):
    model = every_layer_model(dtype).train(training)
    torch_model = to_torch(model)
    assert all(m.training == training for m in torch_model.modules())
    assert all(p.dtype == TORCH_DTYPES[dtype] for p in torch_model.parameters())
    assert torch_model[1].running_var.dtype == TORCH_DTYPES[dtype]
    assert int(torch_model[1].num_batches_tracked) == 7
    back = from_torch(torch_model)
    assert_same_model(model, back)


def test_to_torch_stores_the_transposed_weight_and_copies_it():
    model = every_layer_model()
    torch_model = to_torch(model)
    np.testing.assert_array_equal(torch_model[0].weight.detach().numpy(), model[0].weight.data.T)
    np.testing.assert_array_equal(torch_model[4].weight.detach().numpy(), model[4].weight.data.T)
    np.testing.assert_array_equal(torch_model[6][0].weight.detach().numpy(), model[6][0].weight.data.T)
    assert torch_model[6][0].bias is None
    assert isinstance(torch_model[2], torch.nn.LeakyReLU) and torch_model[2].negative_slope == 0.2
    assert isinstance(torch_model[3], torch.nn.Dropout) and torch_model[3].p == 0.25
    assert (torch_model[1].eps, torch_model[1].momentum) == (1e-3, 0.2)
    np.testing.assert_array_equal(torch_model[1].running_mean.numpy(), model[1].running_mean)
    with torch.no_grad():
        torch_model[0].weight.add_(1.0)
        torch_model[1].running_mean.add_(1.0)
    assert not np.array_equal(torch_model[0].weight.detach().numpy(), model[0].weight.data.T)
    assert not np.array_equal(torch_model[1].running_mean.numpy(), model[1].running_mean)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scratch_model_and_torch_copy_give_the_same_outputs_in_eval(dtype):
    model = every_layer_model(dtype).eval()
    torch_model = to_torch(model)
    x = np.random.default_rng(1).standard_normal((9, 4)).astype(dtype)
    out = model(x)
    assert out.dtype == dtype
    assert_close(out, torch_model(tensor(x)), dtype)


def test_scratch_model_and_torch_copy_agree_in_training_mode_without_dropout():
    model = Sequential(*(m for m in every_layer_model() if not isinstance(m, Dropout)))
    torch_model = to_torch(model)
    x = np.random.default_rng(2).standard_normal((9, 4))
    assert_close(model(x), torch_model(tensor(x)))
    assert_close(model[1].running_mean, torch_model[1].running_mean)
    assert_close(model[1].running_var, torch_model[1].running_var)


@examples(25)
@given(
    sizes=st.lists(st.integers(1, 8), min_size=2, max_size=5),
    activation=st.sampled_from(["relu", "leaky_relu", "tanh", "sigmoid"]),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=seeds,
)
def test_any_mlp_converts_to_an_identical_torch_model(sizes, activation, dtype, seed):
    rng = np.random.default_rng(seed)
    model = mlp(sizes, activation=activation, dtype=dtype, rng=rng)
    torch_model = to_torch(model)
    x = rng.standard_normal((5, sizes[0])).astype(dtype)
    assert_close(model(x), torch_model(tensor(x)), dtype)
    assert_same_model(model, from_torch(torch_model))


def test_from_torch_copies_a_trained_torch_model():
    torch.manual_seed(0)
    torch_model = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(), torch.nn.Linear(4, 2),
    ).double()
    for _ in range(3):  # move the running statistics
        torch_model(torch.randn(8, 3, dtype=torch.float64))
    torch_model.eval()
    model = from_torch(torch_model)
    assert not model.training and not model[1].training
    assert model.dtype == np.float64 and model[1].num_batches_tracked == 3
    x = np.random.default_rng(3).standard_normal((5, 3))
    assert_close(model(x), torch_model(tensor(x)))


def test_single_modules_are_wrapped_in_a_sequential():
    layer = Linear(3, 2, dtype=np.float64)
    torch_model = to_torch(layer)
    assert isinstance(torch_model, torch.nn.Sequential) and len(torch_model) == 1
    back = from_torch(torch.nn.Linear(3, 2))
    assert isinstance(back, Sequential) and len(back) == 1 and isinstance(back[0], Linear)
    assert back.dtype == np.float32


def test_batchnorm_without_affine_round_trips():
    bn = BatchNorm1d(3, affine=False, dtype=np.float64)
    bn.running_mean = np.array([1.0, 2.0, 3.0])
    torch_model = to_torch(Sequential(Linear(2, 3, dtype=np.float64), bn))
    assert torch_model[1].weight is None
    assert torch_model[1].running_mean.dtype == torch.float64
    back = from_torch(torch_model)
    assert back[1].affine is False
    np.testing.assert_array_equal(back[1].running_mean, [1.0, 2.0, 3.0])


class Doubler(Module):
    def forward(self, x):
        return 2 * x


@pytest.mark.parametrize("model", [Doubler(), Sequential(Linear(2, 2), Doubler())])
def test_to_torch_names_an_unsupported_layer(model):
    with pytest.raises(TypeError, match="to_torch: no PyTorch equivalent known for Doubler"):
        to_torch(model)


@pytest.mark.parametrize(
    "torch_model, name",
    [
        (torch.nn.Conv1d(1, 1, 3), "Conv1d"),
        (torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.GELU()), "GELU"),
        (torch.nn.Sequential(torch.nn.Sequential(torch.nn.Identity())), "Identity"),
        (torch.nn.Softmax(dim=0), "Softmax"),
    ],
)
def test_from_torch_names_an_unsupported_layer(torch_model, name):
    with pytest.raises(TypeError, match=f"from_torch: no scratch equivalent known for {name}"):
        from_torch(torch_model)


def test_from_torch_refuses_batchnorm_without_running_statistics():
    with pytest.raises(TypeError, match="from_torch: BatchNorm1d needs a numeric momentum and running statistics"):
        from_torch(torch.nn.BatchNorm1d(3, momentum=None))
    with pytest.raises(TypeError, match="from_torch: BatchNorm1d needs a numeric momentum and running statistics"):
        from_torch(torch.nn.BatchNorm1d(3, track_running_stats=False))


def test_conversions_refuse_the_wrong_kind_of_model():
    with pytest.raises(TypeError, match="to_torch expects a scratch Module, got Sequential"):
        to_torch(torch.nn.Sequential())
    with pytest.raises(TypeError, match="from_torch expects a torch.nn.Module, got Sequential"):
        from_torch(Sequential())


@pytest.mark.parametrize(
    "loss, torch_type",
    [(MSELoss(), torch.nn.MSELoss), (BCELoss(), torch.nn.BCELoss),
     (BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss), (CrossEntropyLoss(), torch.nn.CrossEntropyLoss)],
)
def test_loss_to_torch_maps_each_loss(loss, torch_type):
    assert type(loss_to_torch(loss)) is torch_type


def test_loss_to_torch_refuses_unknown_losses():
    class Huber(Loss):
        pass

    class MyMSE(MSELoss):
        pass

    with pytest.raises(TypeError, match="loss_to_torch: no PyTorch equivalent known for Huber"):
        loss_to_torch(Huber())
    with pytest.raises(TypeError, match=re.escape("no PyTorch equivalent known for MyMSE")):
        loss_to_torch(MyMSE())


def test_float64_batchnorm_without_parameters_stays_float64():
    bn = BatchNorm1d(3, affine=False, dtype=np.float64)
    torch_model = to_torch(bn)
    assert torch_model[0].running_mean.dtype == torch.float64
    x = np.random.default_rng(4).standard_normal((4, 3))
    assert_close(bn(x), torch_model(tensor(x)))
    assert from_torch(torch_model)[0].running_var.dtype == np.float64


def test_each_module_keeps_its_own_mode_both_ways():
    model = every_layer_model().eval()
    model[1].train()  # batch norm trains while dropout is off
    torch_model = to_torch(model)
    assert [m.training for m in torch_model.modules()] == [m.training for m in model.modules()]
    x = np.random.default_rng(5).standard_normal((9, 4))
    assert_close(model(x), torch_model(tensor(x)))
    back = from_torch(torch_model)
    assert [m.training for m in back.modules()] == [m.training for m in model.modules()]
    single = to_torch(Dropout(0.5).eval())
    assert not single.training and not single[0].training
