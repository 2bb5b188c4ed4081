"""``Parameter``, ``Module`` and ``Sequential``: parameter discovery and names,
train/eval, zero_grad, dtype conversion, repr, counting parameters."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch_reference import assert_close, tensor

from mlp_course.scratch import (
    BatchNorm1d,
    Dropout,
    Linear,
    Module,
    MSELoss,
    SGD,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
    mlp,
    to_torch,
)


class Affine(Module):
    """A custom module with a parameter of its own and a sub-module."""

    def __init__(self):
        self.scale = Parameter(np.ones(3), "scale")
        self.inner = Linear(3, 2, dtype=np.float64)
        self.not_a_parameter = np.zeros(3)

    def forward(self, x):
        self._x = x
        return self.inner(x * self.scale.data)

    def backward(self, grad_output):
        grad = self.inner.backward(grad_output)
        self.scale.grad += np.sum(grad * self._x, axis=0)
        return grad * self.scale.data


def deep_model(dtype=np.float64):
    return Sequential(
        Linear(4, 6, dtype=dtype), BatchNorm1d(6, dtype=dtype), ReLU(), Dropout(0.3),
        Sequential(Linear(6, 5, dtype=dtype), Tanh()), Linear(5, 2, dtype=dtype),
    )


# -- Parameter ---------------------------------------------------------------


def test_parameter_gradient_starts_at_zero_with_the_shape_and_dtype_of_the_data():
    p = Parameter(np.ones((2, 3), dtype=np.float32), "w")
    assert p.grad.shape == p.shape == (2, 3) and p.size == 6
    assert p.grad.dtype == np.float32 and not p.grad.any()
    assert repr(p) == "Parameter(name='w', shape=(2, 3), dtype=float32)"


def test_parameter_zero_grad_works_in_place():
    p = Parameter(np.ones(4))
    grad = p.grad
    grad += 3
    p.zero_grad()
    assert p.grad is grad and not grad.any()


@pytest.mark.parametrize(
    "data, message",
    [
        (np.ones(3, dtype=np.int64), "Parameter: data must have dtype float32 or float64, got int64"),
        ([1.0, 2.0], "Parameter: data must be a NumPy array, got list"),
    ],
)
def test_parameter_refuses_non_float_arrays(data, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        Parameter(data)


# -- discovery and names -------------------------------------------------------


def test_named_parameters_use_pytorch_names():
    model = deep_model()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "4.0.weight", "4.0.bias", "5.weight", "5.bias"]
    assert names == [name for name, _ in to_torch(model).named_parameters()]
    assert [p for _, p in model.named_parameters()] == list(model.parameters())


def test_custom_module_parameters_include_its_own_and_its_sub_modules():
    module = Affine()
    assert [name for name, _ in module.named_parameters()] == ["scale", "inner.weight", "inner.bias"]
    assert [name for name, _ in module.named_parameters("m.")] == ["m.scale", "m.inner.weight", "m.inner.bias"]
    assert list(module.children()) == [module.inner]
    assert module.num_parameters() == 3 + 6 + 2


def test_custom_module_composes_in_sequential():
    rng = np.random.default_rng(0)
    model = Sequential(Affine(), Sigmoid())
    model[0].scale.data[...] = rng.standard_normal(3)
    x = rng.standard_normal((5, 3))
    loss = MSELoss()
    loss(model(x), rng.standard_normal((5, 2)))
    model.zero_grad()
    grad = model.backward(loss.backward())
    assert grad.shape == x.shape
    assert model[0].scale.grad.any()


def test_modules_lists_every_module_depth_first():
    model = deep_model()
    kinds = [type(m).__name__ for m in model.modules()]
    assert kinds == ["Sequential", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Sequential", "Linear", "Tanh", "Linear"]


def test_num_parameters_counts_every_scalar():
    assert mlp([784, 512, 10]).num_parameters() == 407_050
    assert deep_model().num_parameters() == sum(p.numel() for p in to_torch(deep_model()).parameters())
    assert BatchNorm1d(7).num_parameters() == 14
    assert ReLU().num_parameters() == 0


# -- modes, gradients and dtypes ----------------------------------------------


def test_train_and_eval_reach_every_sub_module_and_return_self():
    model = deep_model()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())
    model.train(False)
    assert not any(m.training for m in model.modules())


def test_eval_switches_dropout_off_and_batchnorm_to_running_statistics():
    x = np.random.default_rng(1).standard_normal((8, 4))
    model = deep_model().eval()
    np.testing.assert_array_equal(model(x), model(x))


def test_zero_grad_clears_every_parameter_in_place():
    model = deep_model()
    grads = [p.grad for p in model.parameters()]
    for g in grads:
        g += 1.0
    model.zero_grad()
    assert all(p.grad is g and not g.any() for p, g in zip(model.parameters(), grads))


@pytest.mark.parametrize("source, target", [(np.float32, np.float64), (np.float64, np.float32)])
def test_to_converts_parameters_gradients_and_buffers(source, target):
    model = deep_model(source)
    model[1].running_var[...] = 2.5
    values = [p.data.astype(target) for p in model.parameters()]
    assert model.to(target) is model
    assert model.dtype == target
    for p, value in zip(model.parameters(), values):
        assert p.data.dtype == p.grad.dtype == target
        np.testing.assert_array_equal(p.data, value)
    assert model[1].running_mean.dtype == model[1].running_var.dtype == target
    np.testing.assert_array_equal(model[1].running_var, 2.5)
    out = model.eval()(np.ones((3, 4), dtype=target))
    assert out.dtype == target


def test_to_refuses_non_float_dtypes():
    with pytest.raises(TypeError, match="Sequential.to: dtype must be float32 or float64, got int32"):
        deep_model().to(np.int32)


def test_dtype_is_that_of_the_parameters_else_the_buffers_or_none():
    assert deep_model(np.float32).dtype == np.float32
    assert Linear(2, 2, dtype=np.float64).dtype == np.float64
    assert BatchNorm1d(3, affine=False, dtype=np.float64).dtype == np.float64
    assert ReLU().dtype is None and Sequential().dtype is None


@pytest.mark.parametrize("training", [True, False])
def test_backward_without_input_gradient_gives_the_same_parameter_gradients(training):
    rng = np.random.default_rng(4)
    model = deep_model().train(training)
    x, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    model(x)
    model.zero_grad()
    full = model.backward(g)
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    assert model.backward(g, input_grad=False) is None
    for p, e in zip(model.parameters(), expected):
        np.testing.assert_array_equal(p.grad, e)
    assert full.shape == x.shape
    for layer in [Linear(4, 3), ReLU(), Tanh(), BatchNorm1d(4), Dropout(0.2)]:
        layer(np.ones((3, 4), dtype=np.float32))
        assert layer.backward(np.ones((3, 4 if not isinstance(layer, Linear) else 3), dtype=np.float32), input_grad=False) is None


def test_custom_modules_without_input_grad_work_first_in_a_sequential():
    rng = np.random.default_rng(5)
    model = Sequential(Affine(), Sigmoid())
    x = rng.standard_normal((4, 3))
    model(x)
    grad = model.backward(np.ones((4, 2)), input_grad=False)
    assert grad is not None and grad.shape == x.shape  # a plain backward computes it anyway
    assert model[0].scale.grad.any()


# -- Sequential ------------------------------------------------------------------


def test_sequential_is_the_composition_of_its_layers_both_ways():
    rng = np.random.default_rng(2)
    layers = [Linear(3, 4, dtype=np.float64, rng=rng), Tanh(), Linear(4, 2, dtype=np.float64, rng=rng)]
    model = Sequential(*layers)
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    out = model(x)
    np.testing.assert_array_equal(out, layers[2](layers[1](layers[0](x))))
    grad = model.backward(g)
    np.testing.assert_array_equal(grad, layers[0].backward(layers[1].backward(layers[2].backward(g))))


def test_sequential_matches_pytorch_end_to_end():
    rng = np.random.default_rng(3)
    model = Sequential(Linear(3, 4, dtype=np.float64, rng=rng), Tanh(), Linear(4, 2, dtype=np.float64, rng=rng))
    reference = to_torch(model)
    x, g = rng.standard_normal((6, 3)), rng.standard_normal((6, 2))
    x_t = tensor(x, requires_grad=True)
    reference(x_t).backward(tensor(g))
    assert_close(model(x), reference(tensor(x)))
    assert_close(model.backward(g), x_t.grad)


def test_sequential_indexing_length_and_iteration():
    layers = [Linear(2, 3), ReLU(), Linear(3, 1)]
    model = Sequential(*layers)
    assert len(model) == 3 and model[1] is layers[1] and model[-1] is layers[2]
    assert list(model) == layers


def test_empty_sequential_is_the_identity():
    x = np.ones((2, 3))
    assert Sequential()(x) is x
    assert Sequential().backward(x) is x


@pytest.mark.parametrize(
    "args, message",
    [
        ((Linear(2, 3), 3), "Sequential expects Module instances; argument 2 is int 3"),
        ((torch.nn.ReLU(),), "Sequential expects Module instances; argument 1 is ReLU ReLU()"),
        ((ReLU, ), "Sequential expects Module instances; argument 1 is type"),
        (([Linear(2, 3)],), "Sequential expects Module instances; argument 1 is list"),
    ],
)
def test_sequential_refuses_non_modules(args, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        Sequential(*args)


def test_sequential_repr_lists_the_layers():
    model = Sequential(Linear(2, 3), ReLU(), Sequential(Dropout(0.5)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n  (0): Dropout(p=0.5)\n)\n"
        ")"
    )
    assert repr(Sequential()) == "Sequential()"


def test_base_module_forward_and_backward_are_abstract():
    with pytest.raises(NotImplementedError):
        Module().forward(np.ones(1))
    with pytest.raises(NotImplementedError):
        Module().backward(np.ones(1))


# -- forward hooks -------------------------------------------------------------------


def test_forward_hook_gets_the_module_the_input_tuple_and_the_output_as_in_pytorch():
    x = np.random.default_rng(1).standard_normal((5, 4))
    scratch_model, seen = deep_model().eval(), {}
    torch_model, torch_seen = to_torch(scratch_model), {}

    def hook(store):
        def record(module, inputs, output):
            store[type(module).__name__] = (inputs, output)

        return record

    scratch_model[2].register_forward_hook(hook(seen))
    torch_model[2].register_forward_hook(hook(torch_seen))
    out = scratch_model(x)
    torch_model(tensor(x))
    inputs, output = seen["ReLU"]
    assert isinstance(inputs, tuple) and len(inputs) == 1
    assert_close(inputs[0], torch_seen["ReLU"][0][0])
    assert_close(output, torch_seen["ReLU"][1])
    assert_close(out, torch_model(tensor(x)))


def test_hooks_on_the_layers_of_nested_sequentials_fire_in_forward_order():
    model, order = deep_model(), []
    for module in model.modules():
        module.register_forward_hook(lambda module, inputs, output: order.append(type(module).__name__))
    model(np.ones((3, 4)))
    assert order == ["Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear", "Tanh", "Sequential", "Linear",
                     "Sequential"]


def test_a_hook_that_returns_a_value_replaces_the_output_and_backward_is_unchanged():
    layer = Linear(3, 2, dtype=np.float64)
    x = np.ones((4, 3))
    plain = layer(x)
    handle = layer.register_forward_hook(lambda module, inputs, output: 2 * output)
    assert_close(layer(x), 2 * plain)
    handle.remove()
    assert_close(layer(x), plain)


def test_removing_a_hook_stops_it_and_leaves_the_others():
    layer, calls = ReLU(), []
    first = layer.register_forward_hook(lambda *args: calls.append("first"))
    layer.register_forward_hook(lambda *args: calls.append("second"))
    layer(np.ones((1, 2)))
    first.remove()
    first.remove()  # a second remove does nothing
    layer(np.ones((1, 2)))
    assert calls == ["first", "second", "second"]
    assert len(layer._forward_hooks) == 1


def test_a_handle_used_as_a_with_block_removes_its_hook():
    layer, calls = Tanh(), []
    with layer.register_forward_hook(lambda *args: calls.append(1)):
        layer(np.zeros((1, 1)))
    layer(np.zeros((1, 1)))
    assert calls == [1] and not layer._forward_hooks


def test_a_hook_can_remove_itself_while_it_runs():
    layer, calls = Sigmoid(), []

    def once(module, inputs, output):
        calls.append(1)
        handle.remove()

    handle = layer.register_forward_hook(once)
    layer(np.zeros((1, 1)))
    layer(np.zeros((1, 1)))
    assert calls == [1]


def test_forward_called_directly_does_not_run_hooks_as_in_pytorch():
    layer, calls = ReLU(), []
    layer.register_forward_hook(lambda *args: calls.append(1))
    layer.forward(np.ones((1, 1)))
    assert calls == []


def test_a_module_without_hooks_keeps_no_hook_attribute_and_its_parameters_are_unchanged():
    model = deep_model()
    names = [name for name, _ in model.named_parameters()]
    handle = model[0].register_forward_hook(lambda *args: None)
    assert "_forward_hooks" not in vars(model[2])
    assert [name for name, _ in model.named_parameters()] == names
    model.to(np.float32)  # the hook dict is not a buffer or parameter
    handle.remove()
    assert model[0]._forward_hooks == {}


def test_register_forward_hook_refuses_what_is_not_callable():
    with pytest.raises(TypeError, match=re.escape("Linear.register_forward_hook: hook must be a function "
                                                  "hook(module, input, output), got int")):
        Linear(2, 2).register_forward_hook(3)


# -- state_dict and load_state_dict -----------------------------------------------------


def buffered_model(dtype=np.float64, rng=None):
    """Linear layers with and without bias, batch norm with and without affine, nesting."""
    rng = np.random.default_rng(0) if rng is None else rng
    return Sequential(
        Linear(4, 6, dtype=dtype, rng=rng), BatchNorm1d(6, dtype=dtype), ReLU(), Dropout(0.3),
        Sequential(Linear(6, 5, bias=False, dtype=dtype, rng=rng), BatchNorm1d(5, affine=False, dtype=dtype),
                   Tanh()),
        Linear(5, 2, dtype=dtype, rng=rng),
    )


def trained(model, steps=3, seed=7):
    """The model after a few training-mode forward passes (batch norm statistics move)."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        model(rng.standard_normal((8, 4)).astype(model.dtype))
    return model


def test_state_dict_keys_are_pytorchs_in_pytorchs_order():
    model = trained(buffered_model())
    keys = list(model.state_dict())
    assert keys == list(to_torch(model).state_dict())
    assert keys == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                    "1.num_batches_tracked", "4.0.weight", "4.1.running_mean", "4.1.running_var",
                    "4.1.num_batches_tracked", "5.weight", "5.bias"]
    assert list(Affine().state_dict()) == ["scale", "inner.weight", "inner.bias"]
    assert ReLU().state_dict() == {} and Sequential().state_dict() == {}


def test_state_dict_values_are_pytorchs_up_to_the_linear_transpose():
    model = trained(buffered_model())
    reference = to_torch(model).state_dict()
    for key, value in model.state_dict().items():
        expected = reference[key].numpy()
        if key.endswith("weight") and value.ndim == 2:
            expected = expected.T
        assert value.dtype == expected.dtype, key
        np.testing.assert_array_equal(value, expected, err_msg=key)
    assert model.state_dict()["1.num_batches_tracked"] == 3 == int(reference["1.num_batches_tracked"])


def test_state_dict_values_are_copies():
    model = buffered_model()
    before = [p.data.copy() for p in model.parameters()], model[1].running_mean.copy()
    state = model.state_dict()
    for value in state.values():
        value[...] = 9
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before[0]))
    np.testing.assert_array_equal(model[1].running_mean, before[1])
    assert model[1].num_batches_tracked == 0


def test_load_state_dict_copies_every_value_in_place_and_round_trips_the_batch_count():
    source = trained(buffered_model(rng=np.random.default_rng(1)), steps=5)
    target = buffered_model(rng=np.random.default_rng(2))
    parameters = list(target.parameters())
    arrays = [p.data for p in parameters]
    assert repr(target.load_state_dict(source.state_dict())) == "<All keys matched successfully>"
    assert list(target.parameters()) == parameters
    assert all(p.data is a for p, a in zip(parameters, arrays))
    for key, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[key], value, err_msg=key)
    assert type(target[1].num_batches_tracked) is int and target[1].num_batches_tracked == 5
    x = np.random.default_rng(3).standard_normal((6, 4))
    np.testing.assert_array_equal(target.eval()(x), source.eval()(x))


def test_the_model_does_not_share_memory_with_the_loaded_dict():
    model = buffered_model()
    state = trained(buffered_model(rng=np.random.default_rng(1))).state_dict()
    model.load_state_dict(state)
    for value in state.values():
        value[...] = 0
    assert model[0].weight.data.any() and model[1].running_var.all()


def test_an_optimizer_built_before_the_load_updates_the_loaded_weights():
    model = buffered_model()
    optimizer = SGD(model.parameters(), lr=0.1)
    source = buffered_model(rng=np.random.default_rng(1))
    model.load_state_dict(source.state_dict())
    for p in model.parameters():
        p.grad[...] = 1.0
    optimizer.step()
    for p, q in zip(model.parameters(), source.parameters()):
        np.testing.assert_allclose(p.data, q.data - 0.1)


def test_load_state_dict_casts_to_the_models_dtype():
    source = trained(buffered_model(np.float64, rng=np.random.default_rng(1)))
    model = buffered_model(np.float32)
    model.load_state_dict(source.state_dict())
    assert model.dtype == np.float32 and model[1].running_mean.dtype == np.float32
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, source.state_dict()[key].astype(value.dtype), err_msg=key)
    model.load_state_dict({**model.state_dict(), "0.bias": np.arange(6)})  # integers become floats
    np.testing.assert_array_equal(model[0].bias.data, np.arange(6, dtype=np.float32))


def test_load_state_dict_accepts_pytorch_tensors_in_the_scratch_layout():
    model = trained(buffered_model(rng=np.random.default_rng(1)))
    state = {key: value.T if key.endswith("weight") and value.ndim == 2 else value
             for key, value in to_torch(model).state_dict().items()}
    fresh = buffered_model(rng=np.random.default_rng(2))
    fresh.load_state_dict(state)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value, err_msg=key)


def test_strict_false_skips_and_returns_missing_and_unexpected_keys():
    model = buffered_model()
    source = buffered_model(rng=np.random.default_rng(1))
    state = source.state_dict()
    del state["0.bias"], state["1.num_batches_tracked"]
    state["extra.weight"] = np.ones(3)
    bias = model[0].bias.data.copy()
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias", "1.num_batches_tracked"]
    assert result.unexpected_keys == ["extra.weight"]
    assert repr(result) == ("IncompatibleKeys(missing_keys=['0.bias', '1.num_batches_tracked'], "
                            "unexpected_keys=['extra.weight'])")
    np.testing.assert_array_equal(model[0].bias.data, bias)
    np.testing.assert_array_equal(model[0].weight.data, source[0].weight.data)


def _bad_state(change):
    state = trained(buffered_model(rng=np.random.default_rng(1))).state_dict()
    change(state)
    return state


@pytest.mark.parametrize(
    "change, error, message",
    [
        (lambda s: s.pop("4.1.running_var"), ValueError,
         "Sequential.load_state_dict: the keys do not match this model; missing keys: ['4.1.running_var']; "
         "unexpected keys: none (strict=False skips them)"),
        (lambda s: s.update(extra=np.ones(1)), ValueError, "missing keys: none; unexpected keys: ['extra']"),
        (lambda s: s.update({"5.weight": np.ones((2, 5))}), ValueError,
         "'5.weight' must have shape (5, 2), got (2, 5); PyTorch stores Linear weights transposed"),
        (lambda s: s.update({"1.running_mean": np.ones((6, 1))}), ValueError,
         "'1.running_mean' must have shape (6,), got (6, 1)"),
        (lambda s: s.update({"0.bias": np.array(["a"] * 6)}), TypeError,
         "'0.bias' must hold a number dtype, got <U1"),
        (lambda s: s.update({"0.bias": np.ones(6, dtype=bool)}), TypeError,
         "'0.bias' must hold a number dtype, got bool"),
        (lambda s: s.update({"0.bias": [1.0, None]}), TypeError, "'0.bias' must hold a number dtype, got object"),
        (lambda s: s.update({"0.bias": np.ones(6, dtype=complex)}), TypeError, "got complex128"),
        (lambda s: s.update({"1.num_batches_tracked": np.array(2.0)}), TypeError,
         "'1.num_batches_tracked' must hold an integer dtype, got float64"),
        (lambda s: s.update({"1.num_batches_tracked": np.array([2])}), ValueError,
         "'1.num_batches_tracked' must have shape (), got (1,)"),
        (lambda s: s.update({"1.num_batches_tracked": -1}), ValueError,
         "'1.num_batches_tracked' is a count and cannot be negative, got -1"),
        (lambda s: s.update({3: np.ones(1)}), TypeError, "keys must be strings, got 3 (int)"),
    ],
)
def test_a_failed_load_names_the_problem_and_leaves_the_model_unchanged(change, error, message):
    model = trained(buffered_model())
    before = model.state_dict()
    arrays = [p.data for p in model.parameters()]
    state = _bad_state(change)
    with pytest.raises(error, match=re.escape(message)):
        model.load_state_dict(state)
    after = model.state_dict()
    assert list(after) == list(before)
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)
        assert after[key].dtype == before[key].dtype
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))


def test_a_float32_model_refused_a_float64_dict_with_a_bad_late_key_stays_float32():
    model = buffered_model(np.float32)
    state = buffered_model(np.float64, rng=np.random.default_rng(1)).state_dict()
    state["5.bias"] = np.ones(3)
    before = model.state_dict()
    with pytest.raises(ValueError, match=re.escape("'5.bias' must have shape (2,), got (3,)")):
        model.load_state_dict(state)
    for key, value in model.state_dict().items():
        assert value.dtype == before[key].dtype
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize(
    "state, strict, message",
    [
        ([("0.weight", np.ones((4, 6)))], True, "expected a dict of name -> array, got list"),
        ({}, "yes", "strict must be True or False, got str 'yes'"),
    ],
)
def test_load_state_dict_refuses_what_is_not_a_dict_or_a_flag(state, strict, message):
    with pytest.raises(TypeError, match=re.escape(f"Sequential.load_state_dict: {message}")):
        buffered_model().load_state_dict(state, strict=strict)


def test_load_state_dict_refuses_a_tensor_that_requires_grad_by_name():
    model = Linear(2, 3, dtype=np.float64)
    state = {"weight": torch.ones((2, 3), dtype=torch.float64, requires_grad=True), "bias": np.zeros(3)}
    with pytest.raises(TypeError, match=re.escape("Linear.load_state_dict: 'weight' must be an array, got Tensor")):
        model.load_state_dict(state)
