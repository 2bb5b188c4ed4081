"""layer_grad_norms and the Monitor: hand computations, scratch against
PyTorch over SGD steps, histograms, no side effects, clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from mlp_course import scratch
from mlp_course.diagnostics import Monitor, layer_grad_norms, record_activations, weight_layer_names
from mlp_course.diagnostics.monitor import ClippedHistogram

from .conftest import assert_same_state, every_kind_of_layer, scratch_state, torch_state

BINS = np.linspace(-1, 1, 21)


def labels(n=40):
    return np.random.default_rng(3).integers(0, 3, n)


def scratch_backward(model, X, y):
    loss_fn = scratch.CrossEntropyLoss()
    model.zero_grad()
    loss_fn(model(X), y)
    model.backward(loss_fn.backward())


def torch_backward(model, X, y):
    model.zero_grad()
    torch.nn.functional.cross_entropy(model(torch.from_numpy(X)), torch.from_numpy(y)).backward()


def weights(model):
    return [layer.weight.data.copy() for layer in model if isinstance(layer, scratch.Linear)]


def test_layer_grad_norms_are_the_norms_of_the_weight_gradients(model, X):
    scratch_backward(model, X, labels())
    norms = layer_grad_norms(model)
    assert list(norms) == weight_layer_names(model)
    for name, layer in zip(norms, [m for m in model if isinstance(m, scratch.Linear)]):
        assert norms[name] == pytest.approx(np.sqrt(np.sum(layer.weight.grad ** 2)), rel=1e-12)
        assert norms[name] > 0
    twin = scratch.to_torch(model)
    torch_backward(twin, X, labels())
    theirs = layer_grad_norms(twin)
    assert list(theirs) == list(norms)
    np.testing.assert_allclose(list(theirs.values()), list(norms.values()), rtol=1e-10)


def test_the_monitor_records_the_ratios_computed_by_hand(model, X):
    y = labels()
    optimizer = scratch.SGD(model.parameters(), lr=0.5, momentum=0.9)
    monitor = Monitor(model)
    expected = {key: [] for key in ("grad_norm", "grad_to_data", "weight_norm", "update_to_data")}
    for step in range(4):
        scratch_backward(model, X, y)
        before = weights(model)
        grads = [layer.weight.grad.copy() for layer in model if isinstance(layer, scratch.Linear)]
        monitor.before_step(step)
        optimizer.step()
        monitor.after_step()
        after = weights(model)
        expected["grad_norm"].append([np.linalg.norm(g) for g in grads])
        expected["grad_to_data"].append([g.std() / w.std() for g, w in zip(grads, before)])
        expected["weight_norm"].append([np.linalg.norm(w) for w in before])
        expected["update_to_data"].append([(a - b).std() / b.std() for a, b in zip(after, before)])
    np.testing.assert_array_equal(monitor.steps, np.arange(4))
    for key, values in expected.items():
        recorded = getattr(monitor, key)
        assert list(recorded) == weight_layer_names(model)
        for k, name in enumerate(recorded):
            assert recorded[name].shape == (4,)
            np.testing.assert_allclose(recorded[name], [row[k] for row in values], rtol=1e-12, err_msg=key)
    assert monitor.histograms == {name: pytest.approx(np.zeros((0, 50))) for name in monitor.layer_names}
    assert monitor.hist_steps.shape == (0,)


def test_scratch_and_torch_monitors_agree_over_sgd_steps(model, X):
    y = labels()
    twin = scratch.to_torch(model)
    ours, theirs = Monitor(model, probe=X[:16], bins=BINS), Monitor(twin, probe=X[:16], bins=BINS)
    opt_ours = scratch.SGD(model.parameters(), lr=0.2, momentum=0.9)
    opt_theirs = torch.optim.SGD(twin.parameters(), lr=0.2, momentum=0.9)
    for step in range(5):
        scratch_backward(model, X, y)
        ours.before_step(step)
        opt_ours.step()
        ours.after_step()
        torch_backward(twin, X, y)
        theirs.before_step(step)
        opt_theirs.step()
        theirs.after_step()
    for key in ("grad_norm", "grad_to_data", "weight_norm", "update_to_data"):
        a, b = getattr(ours, key), getattr(theirs, key)
        assert list(a) == list(b)
        for name in a:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-9, err_msg=f"{key} {name}")
    assert list(ours.histograms) == list(theirs.histograms) == ["2 Tanh", "4 ReLU", "7 Sigmoid", "9 LeakyReLU"]
    for name in ours.histograms:
        np.testing.assert_array_equal(ours.histograms[name], theirs.histograms[name])
    assert all(np.all(np.isfinite(v)) and np.all(v > 0) for v in ours.update_to_data.values())


def test_histograms_count_every_entry_of_the_probe_with_the_outliers_in_the_end_bins(model, X):
    bins = np.linspace(-0.5, 0.5, 11)  # narrower than the activations: many are outside
    probe = 3 * X[:25]
    monitor = Monitor(model, probe=probe, bins=bins)
    scratch_backward(model, X, labels())
    monitor.before_step(0)
    outputs = record_activations(model, probe)
    for name, a in outputs.items():
        counts = monitor.histograms[name]
        assert counts.shape == (1, 10)
        assert counts.sum() == a.size
        assert np.any(a < -0.5) or np.any(a > 0.5)
        np.testing.assert_array_equal(counts[0], np.histogram(np.clip(a, -0.5, 0.5), bins)[0])


def test_histograms_are_taken_every_few_calls(model, X):
    monitor = Monitor(model, probe=X[:8], bins=BINS, every=3)
    for step in range(10, 17):
        scratch_backward(model, X, labels())
        monitor.before_step(step)
        monitor.after_step()
    np.testing.assert_array_equal(monitor.steps, np.arange(10, 17))
    np.testing.assert_array_equal(monitor.hist_steps, [10, 13, 16])
    assert all(h.shape == (3, 20) for h in monitor.histograms.values())
    np.testing.assert_array_equal(monitor.bins, BINS)


def test_histograms_follow_the_activations_as_they_change(model, X):
    monitor = Monitor(model, probe=X[:8], bins=BINS)
    monitor.before_step(0)
    model[3].weight.data *= 10  # the ReLU outputs grow
    monitor.before_step(1)
    counts = monitor.histograms["4 ReLU"]
    assert counts[1, -1] > counts[0, -1]


@pytest.mark.parametrize("bins", [np.linspace(-1, 1, 51), np.array([-1.0, -0.2, 0.0, 0.05, 0.5, 1.0])])
def test_the_clipped_histogram_is_np_histogram_of_the_clipped_values(bins):
    values = np.random.default_rng(0).normal(0, 0.7, size=(64, 33)).astype(np.float32)
    expected = np.histogram(np.clip(values, bins[0], bins[-1]), bins)[0]
    np.testing.assert_array_equal(ClippedHistogram(bins)(values), expected)


def test_values_on_the_edges_go_where_np_histogram_puts_them():
    bins = np.linspace(0, 1, 5)
    values = np.array([0.0, 0.25, 0.5, 0.75, 1.0, -3.0, 7.0, 0.3])
    np.testing.assert_array_equal(ClippedHistogram(bins)(values), [2, 2, 1, 3])
    np.testing.assert_array_equal(ClippedHistogram(np.array([0.0, 0.1, 0.5, 1.0]))(values), [2, 2, 4])


def test_a_step_without_after_step_has_no_update_ratio(model, X):
    monitor = Monitor(model)
    scratch_backward(model, X, labels())
    monitor.before_step(0)
    monitor.before_step(1)
    monitor.after_step()
    ratio = monitor.update_to_data["0 Linear"]
    assert np.isnan(ratio[0]) and ratio[1] == 0.0  # nothing changed the weights
    monitor.before_step(2)
    assert np.isnan(monitor.update_to_data["0 Linear"][2])


def test_after_step_needs_before_step(model, X):
    monitor = Monitor(model)
    message = ("Monitor.after_step: no weights to compare with; call monitor.before_step(step) before "
               "optimizer.step() and monitor.after_step() after it, once per step")
    with pytest.raises(RuntimeError, match=re.escape(message)):
        monitor.after_step()
    monitor.before_step(0)
    monitor.after_step()
    with pytest.raises(RuntimeError, match=re.escape(message)):
        monitor.after_step()


def test_the_probe_pass_changes_nothing_in_a_scratch_model(X):
    model = every_kind_of_layer()
    scratch_backward(model, X, labels())
    monitor = Monitor(model, probe=X[:9] * 2, bins=BINS)
    before = scratch_state(model)
    monitor.before_step(0)
    assert_same_state(before, scratch_state(model))


def test_the_probe_pass_changes_nothing_in_a_torch_model(X):
    twin = scratch.to_torch(every_kind_of_layer())
    torch_backward(twin, X, labels())
    monitor = Monitor(twin, probe=X[:9] * 2, bins=BINS)
    before = torch_state(twin)
    monitor.before_step(0)
    monitor.after_step()
    assert_same_state(before, torch_state(twin))


def test_a_torch_model_without_gradients_gets_a_clear_error(model):
    monitor = Monitor(scratch.to_torch(model))
    with pytest.raises(RuntimeError, match=re.escape("Monitor.before_step: layer '0 Linear' has no gradient yet")):
        monitor.before_step(0)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(probe=np.ones((4, 3))), ValueError, "Monitor: X must have 5 columns, the input width of the first "
                                                  "layer '0 Linear', got shape (4, 3)"),
        (dict(probe=np.ones(5)), ValueError, "Monitor: X must be 2-D"),
        (dict(bins=np.array([0.0, 1.0, 0.5])), ValueError, "Monitor: bins must be at least 2 finite, strictly "
                                                           "increasing bin edges"),
        (dict(bins=np.array([1.0])), ValueError, "Monitor: bins must be at least 2 finite"),
        (dict(bins=[[0, 1], [2, 3]]), ValueError, "Monitor: bins must be at least 2 finite"),
        (dict(bins=np.array([0.0, np.inf])), ValueError, "Monitor: bins must be at least 2 finite"),
        (dict(bins="edges"), TypeError, "Monitor: bins must be a 1-D array of bin edges, got str"),
        (dict(every=0), ValueError, "Monitor: every must be a positive integer, got 0"),
        (dict(every=2.5), ValueError, "Monitor: every must be a positive integer, got 2.5"),
    ],
)
def test_bad_arguments_get_a_clear_error(model, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        Monitor(model, **kwargs)


def test_a_model_without_weight_layer_gets_a_clear_error():
    for function in (Monitor, layer_grad_norms):
        with pytest.raises(ValueError, match="the model has no weight layer"):
            function(scratch.Sequential(scratch.ReLU()))


def test_the_repr_says_what_was_recorded(model, X):
    monitor = Monitor(model, probe=X[:4], bins=BINS, every=2)
    for step in range(3):
        monitor.before_step(step)
        monitor.after_step()
    assert repr(monitor) == "Monitor(3 steps, 5 weight layers, 2 histograms of 4 activation layers)"


@pytest.mark.parametrize("dtype, offset", [(np.float64, 0.0), (np.float64, 0.3), (np.float64, 1e4),
                                           (np.float32, 0.0), (np.float32, 0.3), (np.float32, 10.0)])
def test_norms_and_spreads_match_numpy_also_for_a_large_mean(dtype, offset):
    from mlp_course.diagnostics.monitor import _norm_and_std

    a = (offset + np.random.default_rng(0).normal(0, 1e-3, size=(33, 17))).astype(dtype)
    norm, std = _norm_and_std(a)
    tolerance = 1e-4 if dtype == np.float32 else 1e-9
    assert norm == pytest.approx(np.linalg.norm(a.astype(np.float64)), rel=tolerance)
    assert std == pytest.approx(np.std(a.astype(np.float64)), rel=tolerance)
    assert _norm_and_std(a.T) == pytest.approx((norm, std), rel=tolerance)  # the layout torch stores
