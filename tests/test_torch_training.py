"""Tests for mlp_course.torch_training: the PyTorch loop does what a hand-written loop does,
measures without side effects, is deterministic for a seed, and refuses bad input before training."""
from __future__ import annotations

import copy
import io
import math
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from mlp_course import torch_training as tt  # noqa: E402
from mlp_course.torch_training import (  # noqa: E402
    TrainHistory,
    evaluate,
    fit,
    pick_device,
    predict,
    tensor_loader,
    train_one_epoch,
)

N, D, K, BATCH = 50, 3, 3, 16  # batches of 16, 16, 16 and 2: the last one is smaller


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: one thread is faster, and much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, D))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(np.int64) + (X[:, 2] > 1)
    return X, y


def make_model(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    layers = [nn.Linear(D, 8), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(8, K)]
    return nn.Sequential(*layers)


def snapshot(model):
    return [p.detach().clone() for p in model.parameters()]


def unchanged(model, before):
    return all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


def accuracy(outputs, targets):
    return (outputs.argmax(dim=1) == targets).float().mean()


# -- pick_device ---------------------------------------------------------------------------------------------------


def test_pick_device_auto_and_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "mps" if tt._mps_available() else "cpu"
    assert pick_device() == torch.device(expected)
    assert pick_device("cpu") == torch.device("cpu") == pick_device(torch.device("cpu"))
    assert pick_device(" CPU ") == torch.device("cpu")


@pytest.mark.parametrize("cuda, mps, expected", [
    (True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_pick_device_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert pick_device("auto") == torch.device(expected)
    assert pick_device(expected) == torch.device(expected)


def test_pick_device_refuses_unavailable_and_unknown_devices(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"'cuda' is not available on this machine; available: cpu"):
        pick_device("cuda")
    with pytest.raises(ValueError, match=r"'mps' is not available.*available: cpu"):
        pick_device("mps")
    with pytest.raises(ValueError, match=r"unknown device 'gpu'; expected one of"):
        pick_device("gpu")
    with pytest.raises(ValueError, match="unknown device 'mps:1'"):
        pick_device("mps:1")
    with pytest.raises(TypeError, match="device must be one of .* got int 0"):
        pick_device(0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert pick_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match=r"'cuda:3' does not exist; this machine has 1 GPU"):
        pick_device("cuda:3")
    with pytest.raises(ValueError, match=r"'mps' is not available.*available: cpu, cuda"):
        pick_device("mps")


# -- tensor_loader -------------------------------------------------------------------------------------------------


def batch_orders(loader, epochs=2):
    return [[yb.tolist() for _, yb in loader] for _ in range(epochs)]


def test_tensor_loader_batches_types_and_copies(data):
    X, y = data
    loader = tensor_loader(X, y, batch_size=BATCH, shuffle=False)
    batches = list(loader)
    assert [len(xb) for xb, _ in batches] == [16, 16, 16, 2]
    assert batches[0][0].dtype == torch.float32 and batches[0][1].dtype == torch.int64
    assert torch.equal(torch.cat([yb for _, yb in batches]), torch.from_numpy(y))
    assert torch.allclose(torch.cat([xb for xb, _ in batches]), torch.from_numpy(X).float())
    X_copy, y_copy = X.astype(np.float32), y.copy()  # already of the loader's dtypes: no conversion copies them
    loader = tensor_loader(X_copy, y_copy, shuffle=False)
    X_copy[:], y_copy[:] = 0, -1  # the loader holds its own copy
    xb, yb = next(iter(loader))
    assert xb.abs().sum() > 0 and yb.min() >= 0
    as_float = tensor_loader(torch.from_numpy(X), y, dtype=torch.float64, y_dtype=torch.float32)
    xb, yb = next(iter(as_float))
    assert xb.dtype == torch.float64 and yb.dtype == torch.float32


def test_tensor_loader_shuffles_deterministically_for_a_seed(data):
    X, y = data
    idx = np.arange(N)
    first = batch_orders(tensor_loader(X, idx, batch_size=BATCH, seed=5))
    assert first == batch_orders(tensor_loader(X, idx, batch_size=BATCH, seed=5))
    assert first != batch_orders(tensor_loader(X, idx, batch_size=BATCH, seed=6))
    assert first[0] != first[1], "a new order each epoch"
    assert sorted(sum(first[0], [])) == list(range(N)), "each example once per epoch"
    assert batch_orders(tensor_loader(X, idx, batch_size=BATCH, shuffle=False))[0][0] == list(range(16))


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((np.zeros((4, 2)), np.zeros(5)), {}, ValueError, "same number of rows, got 4 and 5"),
    ((np.zeros((0, 2)), np.zeros(0)), {}, ValueError, "empty"),
    (([[1.0, 2.0]], [0]), {}, TypeError, "X must be a NumPy array or a torch.Tensor, got list"),
    ((np.zeros((4, 2)), np.zeros(4)), {"batch_size": 0}, ValueError, "batch_size must be a positive integer, got 0"),
    ((np.zeros((4, 2)), np.zeros(4)), {"batch_size": 2.0}, ValueError, "batch_size must be a positive integer"),
    ((np.zeros((4, 2)), np.zeros(4)), {"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
    ((np.zeros((4, 2)), np.zeros(4)), {"seed": 1.5}, TypeError, "seed must be an integer or None, got 1.5"),
    ((np.zeros((4, 2)), np.zeros(4)), {"dtype": np.float32}, TypeError, "dtype must be a torch dtype"),
])
def test_tensor_loader_refuses_bad_input(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        tensor_loader(*args, **kwargs)


# -- train_one_epoch -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("clip_norm", [None, 0.05])
def test_train_one_epoch_matches_a_hand_written_loop(data, clip_norm):
    X, y = data
    model = make_model()
    twin = copy.deepcopy(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.9)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.3, momentum=0.9)
    for _ in range(2):  # the second epoch starts from momentum and a reshuffled order
        loss, norm = train_one_epoch(model, tensor_loader(X, y, BATCH, seed=1), loss_fn, optimizer, clip_norm=clip_norm)
        total, losses, norms = 0.0, [], []
        twin.train()
        for xb, yb in tensor_loader(X, y, BATCH, seed=1):
            twin_optimizer.zero_grad()
            batch_loss = loss_fn(twin(xb), yb)
            batch_loss.backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(twin.parameters(), clip_norm or math.inf)))
            twin_optimizer.step()
            total += batch_loss.item() * len(xb)
            losses.append(batch_loss.item())
        assert loss == pytest.approx(total / N, rel=1e-6)
        assert abs(total / N - np.mean(losses)) > 1e-3, "the test must tell weighting by size from a plain mean"
        assert norm == pytest.approx(np.mean(norms), rel=1e-6)
        assert all(torch.allclose(p, q, atol=1e-6) for p, q in zip(model.parameters(), twin.parameters()))
    if clip_norm:
        assert min(norms) > clip_norm, "the recorded norm is the one before clipping"
    assert model.training


def test_clip_norm_clips_the_gradient_used_by_the_step(data):
    X, y = data
    seen = []

    class Recording(torch.optim.SGD):
        def step(self, closure=None):
            seen.append(float(tt._grad_norm([p for g in self.param_groups for p in g["params"]])))
            return super().step(closure)

    model = make_model()
    _, norm = train_one_epoch(model, tensor_loader(X, y, BATCH), nn.CrossEntropyLoss(),
                              Recording(model.parameters(), lr=0.1), clip_norm=0.05)
    assert len(seen) == 4 and max(seen) <= 0.05 * (1 + 1e-5)
    assert norm > 0.05
    model = make_model()
    seen.clear()
    _, norm = train_one_epoch(model, tensor_loader(X, y, BATCH), nn.CrossEntropyLoss(), Recording(model.parameters(), lr=0.1))
    assert norm == pytest.approx(np.mean(seen), rel=1e-6) and max(seen) > 0.05


def test_train_one_epoch_accepts_a_list_of_batches_and_a_device_name(data):
    X, y = data
    batches = [(torch.from_numpy(X[i:i + 20]).float(), torch.from_numpy(y[i:i + 20])) for i in range(0, N, 20)]
    model = make_model()
    loss, _ = train_one_epoch(model, batches, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.0),
                              device="cpu")
    with torch.no_grad():
        assert loss == pytest.approx(nn.CrossEntropyLoss()(make_model()(torch.from_numpy(X).float()),
                                                           torch.from_numpy(y)).item(), rel=1e-6)


# -- evaluate and predict ------------------------------------------------------------------------------------------


def test_evaluate_in_eval_mode_without_gradients_and_restores_modes(data):
    X, y = data
    model = make_model(dropout=0.5)
    model[0].eval()  # a mixed state: each module's mode must come back as it was
    modes = [m.training for m in model.modules()]
    seen = {}

    def spy(outputs, targets):
        seen.update(requires_grad=outputs.requires_grad, device=outputs.device, n=len(outputs), targets=targets)
        return accuracy(outputs, targets)

    loader = tensor_loader(X, y, BATCH, seed=0)
    first = evaluate(model, loader, nn.CrossEntropyLoss(), metrics={"accuracy": spy})
    second = evaluate(model, loader, nn.CrossEntropyLoss(), metrics={"accuracy": spy})
    # a shuffling loader sums the batches in a new order, so the loss may differ in its last bits
    assert set(first) == set(second) == {"loss", "accuracy"} and first["accuracy"] == second["accuracy"]
    assert first["loss"] == pytest.approx(second["loss"], rel=1e-6)
    assert [m.training for m in model.modules()] == modes
    assert seen["requires_grad"] is False and seen["device"].type == "cpu" and seen["n"] == N
    assert sorted(seen["targets"].tolist()) == sorted(y.tolist())
    model.eval()
    with torch.no_grad():
        outputs = model(torch.from_numpy(X).float())
        expected_loss = nn.CrossEntropyLoss()(outputs, torch.from_numpy(y)).item()
    assert first["loss"] == pytest.approx(expected_loss, rel=1e-6)  # weighted by batch size = the mean over all
    assert first["accuracy"] == pytest.approx(accuracy(outputs, torch.from_numpy(y)).item())
    assert all(p.grad is None for p in model.parameters())


def test_predict_returns_cpu_outputs_in_eval_mode_and_restores_the_mode(data):
    X, y = data
    model = make_model(dropout=0.5)
    model.train()
    out = predict(model, X)  # float64 NumPy input, float32 model
    assert out.device.type == "cpu" and out.shape == (N, K) and not out.requires_grad
    assert model.training
    model.eval()
    with torch.no_grad():
        expected = model(torch.from_numpy(X).float())
    assert torch.allclose(out, expected)
    assert torch.allclose(predict(model, tensor_loader(X, y, BATCH, shuffle=False)), expected)
    assert torch.allclose(predict(model, [torch.from_numpy(X[:10]).float(), torch.from_numpy(X[10:]).float()]), expected)
    with pytest.raises(TypeError, match="predict: model must be a torch.nn.Module"):
        predict(lambda x: x, X)
    with pytest.raises(TypeError, match="X must be a DataLoader"):
        predict(model, 3)


# -- fit -----------------------------------------------------------------------------------------------------------


def run_fit(data, seed=0, loader_seed=0, epochs=3, **kwargs):
    X, y = data
    model = make_model(seed, dropout=0.2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = fit(model, tensor_loader(X, y, BATCH, seed=loader_seed), nn.CrossEntropyLoss(), optimizer,
                  epochs=epochs, **kwargs)
    return model, history


def test_fit_is_deterministic_and_its_history_is_consistent(data):
    X, y = data
    val = tensor_loader(X[:20], y[:20], batch_size=8, shuffle=False)
    model, history = run_fit(data, val_loader=val, metrics={"accuracy": accuracy})
    _, again = run_fit(data, val_loader=val, metrics={"accuracy": accuracy})
    _, other = run_fit(data, loader_seed=1, val_loader=val, metrics={"accuracy": accuracy})
    assert isinstance(history, TrainHistory) and history.epochs == [1, 2, 3]
    for name in ("loss", "grad_norm", "val_loss"):
        assert len(getattr(history, name)) == 3 and getattr(history, name) == getattr(again, name), name
    assert history.metrics["accuracy"] == again.metrics["accuracy"] and len(history.metrics["accuracy"]) == 3
    assert history.loss != other.loss, "the loader's seed matters"
    assert len(history.seconds) == 3 and all(s > 0 for s in history.seconds)
    final = evaluate(model, val, nn.CrossEntropyLoss(), metrics={"accuracy": accuracy})
    assert history.val_loss[-1] == pytest.approx(final["loss"]) and history.metrics["accuracy"][-1] == final["accuracy"]
    assert history.metrics_on == "validation"
    assert history.loss[-1] < history.loss[0]
    assert repr(history).startswith("TrainHistory(epochs=3, loss=") and "val_loss=" in repr(history)
    assert "val_accuracy=" in repr(history)
    assert set(history.as_dict()) == {"loss", "grad_norm", "val_loss", "lr", "weight_norm", "val_accuracy"}


def test_fit_equals_repeated_train_one_epoch(data):
    """fit's checks and its measurements on the training set leave the shuffling and the weights alone."""
    X, y = data
    model, history = run_fit(data, metrics={"accuracy": accuracy})
    twin = make_model(0, dropout=0.2)
    optimizer = torch.optim.Adam(twin.parameters(), lr=0.01)
    loader = tensor_loader(X, y, BATCH, seed=0)
    losses = [train_one_epoch(twin, loader, nn.CrossEntropyLoss(), optimizer)[0] for _ in range(3)]
    assert history.loss == pytest.approx(losses, rel=1e-6)
    assert all(torch.allclose(p, q) for p, q in zip(model.parameters(), twin.parameters()))
    assert history.metrics_on == "training" and history.val_loss == []
    on_train = evaluate(model, tensor_loader(X, y, BATCH, shuffle=False), nn.CrossEntropyLoss(),
                        metrics={"accuracy": accuracy})
    assert history.metrics["accuracy"][-1] == pytest.approx(on_train["accuracy"])
    assert set(history.as_dict()) == {"loss", "grad_norm", "val_loss", "lr", "weight_norm", "accuracy"}


def test_fit_clip_norm_changes_training_and_records_norms_before_clipping(data):
    X, y = data

    def run(clip_norm):
        model = make_model()
        return fit(model, tensor_loader(X, y, BATCH), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.5),
                   epochs=3, clip_norm=clip_norm)

    plain, clipped = run(None), run(0.01)
    assert min(clipped.grad_norm) > 0.01, "the norms before clipping are recorded"
    assert plain.loss[-1] < clipped.loss[-1] - 0.05, "tiny clipped steps learn more slowly"


def test_progress_false_prints_nothing(data, capfd):
    run_fit(data, progress=False)
    assert capfd.readouterr() == ("", "")


def test_progress_in_a_non_tty_prints_nothing(data, capfd):
    assert tt._notebook_display() is None  # not in a Jupyter kernel here
    run_fit(data, progress=True)
    assert capfd.readouterr() == ("", "")


def test_progress_in_a_terminal_is_erased_at_the_end(data, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(tt._Progress.__init__, "__defaults__", (0.0,))  # show every epoch
    run_fit(data, val_loader=tensor_loader(*data, shuffle=False), progress=True)
    text = terminal.getvalue()
    parts = text.split("\r")
    assert "\n" not in text and parts[0] == "" and parts[-1] == ""
    assert parts[1].startswith("epoch 1/3  loss ") and "val loss" in parts[1]
    assert parts[3].startswith("epoch 3/3  loss ")
    assert parts[-2].strip() == "" and len(parts[-2]) >= len(parts[3].rstrip())


class FakeDisplay:
    """Records what ``IPython.display.display`` and its handle were asked to show."""

    def __init__(self):
        self.calls = []

    def __call__(self, obj, raw=False, display_id=None):
        assert raw is True and display_id is True
        self.calls.append(obj)
        display = self

        class Handle:
            def update(self, obj, raw=False):
                assert raw is True
                display.calls.append(obj)

        return Handle()


def test_progress_in_a_notebook_updates_in_place_and_ends_empty(data, monkeypatch, capfd):
    display = FakeDisplay()
    monkeypatch.setattr(tt, "_notebook_display", lambda: display)
    run_fit(data, progress=True)
    shown = [call.get("text/plain", "") for call in display.calls]
    assert display.calls[0] == {} and display.calls[-1] == {}, "the stored output is empty at start and end"
    assert shown[1].startswith("epoch 1/3  loss ") and any(s.startswith("epoch 3/3  loss ") for s in shown)
    assert capfd.readouterr() == ("", "")


def test_progress_in_a_notebook_is_removed_when_training_fails(data, monkeypatch):
    display = FakeDisplay()
    monkeypatch.setattr(tt, "_notebook_display", lambda: display)
    calls = []

    def failing_loss(outputs, targets):
        calls.append(1)
        if len(calls) > 6:  # the check on the first batch, then epoch 1, then a failure in epoch 2
            raise RuntimeError("boom")
        return nn.functional.cross_entropy(outputs, targets)

    X, y = data
    model = make_model()
    with pytest.raises(RuntimeError, match="boom"):
        fit(model, tensor_loader(X, y, BATCH), failing_loss, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
            progress=True)
    assert display.calls[-1] == {} and len(display.calls) >= 3


# -- bad input: clear errors before any parameter changes ----------------------------------------------------------


def bad_fit_cases(X, y):
    good = tensor_loader(X, y, BATCH)
    wrong_width = tensor_loader(X[:, :2], y, BATCH)
    as_float = tensor_loader(X, y, BATCH, y_dtype=torch.float32)

    def generator():
        yield from good

    return [
        ({"train_loader": torch.zeros(3, 3)}, TypeError, "train_loader must be a DataLoader"),
        ({"train_loader": [torch.zeros(4, D)]}, TypeError, r"each batch of train_loader must be a pair \(inputs, targets\), got a Tensor"),
        ({"train_loader": [(torch.zeros(4, D), [0, 1, 2, 0])]}, TypeError, r"must hold two tensors.*\(Tensor, list\)"),
        ({"train_loader": [(torch.zeros(4, D), torch.zeros(3, dtype=torch.long))]}, ValueError, "need the same number of rows"),
        ({"train_loader": generator()}, TypeError, "one-shot iterator"),
        ({"train_loader": []}, ValueError, "yielded no batches"),
        ({"train_loader": wrong_width}, ValueError, r"model or loss_fn failed on the first batch of train_loader \(inputs \(16, 2\)"),
        ({"train_loader": as_float}, ValueError, "failed on the first batch of train_loader.*targets \\(16,\\) torch.float32"),
        ({"val_loader": wrong_width}, ValueError, "failed on the first batch of val_loader"),
        ({"val_loader": 5}, TypeError, "val_loader must be a DataLoader"),
        ({"epochs": 0}, ValueError, "epochs must be a positive integer, got 0"),
        ({"epochs": 2.5}, ValueError, "epochs must be a positive integer, got 2.5"),
        ({"epochs": True}, ValueError, "epochs must be a positive integer, got True"),
        ({"clip_norm": 0}, ValueError, "clip_norm must be None or a positive number, got 0"),
        ({"clip_norm": -1.0}, ValueError, "clip_norm must be None or a positive number"),
        ({"clip_norm": float("nan")}, ValueError, "clip_norm must be None or a positive number"),
        ({"device": "tpu"}, ValueError, "unknown device 'tpu'"),
        ({"device": "meta"}, ValueError, "unknown device 'meta'"),
        ({"metrics": {"accuracy": 3}}, TypeError, "metric 'accuracy' must be a function"),
        ({"metrics": [accuracy]}, TypeError, "metrics must be None or a dict"),
        ({"metrics": {"loss": accuracy}}, ValueError, "'loss' is always recorded"),
        ({"metrics": {"bad": lambda o, t: o}}, TypeError, "metric 'bad' must return one number, got Tensor"),
        ({"loss_fn": nn.CrossEntropyLoss(reduction="sum")}, ValueError, "reduction='mean'"),
        ({"loss_fn": lambda o, t: nn.functional.cross_entropy(o, t, reduction="none")}, ValueError,
         r"loss_fn must return one number \(a 0-d tensor\) per batch, got \(16,\)"),
        ({"loss_fn": "cross_entropy"}, TypeError, "loss_fn must be callable"),
        ({"optimizer": "adam"}, TypeError, "optimizer must be a torch.optim.Optimizer"),
        ({"optimizer": torch.optim.SGD(make_model(1).parameters(), lr=0.1)}, ValueError, "holds none of the model's parameters"),
        ({"progress": "yes"}, TypeError, "progress must be True or False"),
    ]


def test_fit_refuses_bad_input_before_changing_anything(data):
    X, y = data
    for overrides, error, message in bad_fit_cases(X, y):
        model = make_model()
        model.train()
        before = snapshot(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        kwargs = {"train_loader": tensor_loader(X, y, BATCH), "loss_fn": nn.CrossEntropyLoss(),
                  "optimizer": optimizer, "epochs": 2, **overrides}
        with pytest.raises(error, match=message):
            fit(model, **kwargs)
        assert unchanged(model, before), overrides
        assert model.training and all(p.grad is None for p in model.parameters()), overrides
        assert not optimizer.state, overrides
    with pytest.raises(TypeError, match="fit: model must be a torch.nn.Module, got function"):
        fit(lambda x: x, tensor_loader(X, y), nn.CrossEntropyLoss(), torch.optim.SGD(make_model().parameters(), lr=0.1))


def test_fit_refuses_a_device_the_model_is_not_on(data, monkeypatch):
    X, y = data
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    model = make_model()
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"parameters are on cpu but device='cuda'; move the model first"):
        fit(model, tensor_loader(X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            device="cuda")
    assert unchanged(model, before)


@pytest.mark.parametrize("loader, error, message", [
    ([torch.zeros(4, D)], TypeError, "each batch of the loader must be a pair"),
    ([], ValueError, "the loader yielded no batches"),
    (42, TypeError, "loader must be a DataLoader"),
])
def test_train_one_epoch_and_evaluate_refuse_bad_loaders(loader, error, message):
    model = make_model()
    before = snapshot(model)
    with pytest.raises(error, match=message):
        train_one_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(error, match=message):
        evaluate(model, loader, nn.CrossEntropyLoss())
    assert unchanged(model, before) and model.training


def test_train_one_epoch_refuses_a_non_scalar_loss_before_stepping(data):
    X, y = data
    model = make_model()
    before = snapshot(model)
    with pytest.raises(ValueError, match="loss_fn must return one number"):
        train_one_epoch(model, tensor_loader(X, y), lambda o, t: (o - 1) ** 2,
                        torch.optim.SGD(model.parameters(), lr=0.1))
    assert unchanged(model, before)
    with pytest.raises(ValueError, match="clip_norm must be None or a positive number"):
        train_one_epoch(model, tensor_loader(X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                        clip_norm=0.0)
    with pytest.raises(TypeError, match=r"evaluate: metrics must be None or a dict"):
        evaluate(model, tensor_loader(X, y), nn.CrossEntropyLoss(), metrics=accuracy)


# -- fit: learning-rate schedulers -----------------------------------------------------------------------------------

lr_scheduler = torch.optim.lr_scheduler


def sgd_setup(seed=0):
    model = make_model(seed)
    return model, torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)


def test_fit_with_step_lr_equals_a_hand_loop_with_scheduler_step(data):
    X, y = data
    model, optimizer = sgd_setup()
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = fit(model, tensor_loader(X, y, BATCH, seed=0), nn.CrossEntropyLoss(), optimizer, epochs=5,
                  scheduler=scheduler)
    twin, twin_optimizer = sgd_setup()
    twin_scheduler = lr_scheduler.StepLR(twin_optimizer, step_size=2, gamma=0.5)
    loader = tensor_loader(X, y, BATCH, seed=0)
    losses, norms, lrs = [], [], []
    for _ in range(5):
        lrs.append(twin_optimizer.param_groups[0]["lr"])  # the lr this epoch trains with
        loss, norm = train_one_epoch(twin, loader, nn.CrossEntropyLoss(), twin_optimizer)
        losses.append(loss)
        norms.append(norm)
        twin_scheduler.step()
    assert lrs == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05])
    assert history.lr == pytest.approx(lrs, rel=1e-12)
    assert history.loss == pytest.approx(losses, rel=1e-6) and history.grad_norm == pytest.approx(norms, rel=1e-6)
    assert all(torch.allclose(p, q) for p, q in zip(model.parameters(), twin.parameters()))
    assert scheduler.last_epoch == twin_scheduler.last_epoch == 5
    assert scheduler.get_last_lr() == pytest.approx(twin_scheduler.get_last_lr())
    assert scheduler.get_last_lr() == pytest.approx([0.05])  # 0.2 * 0.5 ** (5 // 2)
    assert history.as_dict()["lr"] == history.lr and history.best_epoch is None and history.stopped_epoch is None


def test_fit_without_a_scheduler_records_the_constant_lr(data):
    X, y = data
    model, optimizer = sgd_setup()
    history = fit(model, tensor_loader(X, y, BATCH), nn.CrossEntropyLoss(), optimizer, epochs=3)
    assert history.lr == [0.2, 0.2, 0.2] and optimizer.param_groups[0]["lr"] == 0.2


def test_fit_steps_one_cycle_after_every_batch_like_a_hand_loop(data):
    X, y = data
    epochs, batches = 3, 4  # 50 examples in batches of 16: 4 batches per epoch, 12 steps in all

    def one_cycle(optimizer):
        return lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, epochs=epochs, steps_per_epoch=batches)

    model, optimizer = sgd_setup()
    scheduler = one_cycle(optimizer)
    loader = tensor_loader(X, y, BATCH, seed=0)
    assert len(loader) == batches
    history = fit(model, loader, nn.CrossEntropyLoss(), optimizer, epochs=epochs, scheduler=scheduler,
                  scheduler_interval="step")
    twin, twin_optimizer = sgd_setup()
    twin_scheduler = one_cycle(twin_optimizer)
    loss_fn = nn.CrossEntropyLoss()
    losses, epoch_lrs, batch_lrs = [], [], []
    twin.train()
    hand_loader = tensor_loader(X, y, BATCH, seed=0)
    for _ in range(epochs):
        epoch_lrs.append(twin_optimizer.param_groups[0]["lr"])
        total, count = 0.0, 0
        for inputs, targets in hand_loader:
            batch_lrs.append(twin_optimizer.param_groups[0]["lr"])
            twin_optimizer.zero_grad()
            loss = loss_fn(twin(inputs), targets)
            loss.backward()
            twin_optimizer.step()
            twin_scheduler.step()
            total += loss.item() * len(inputs)
            count += len(inputs)
        losses.append(total / count)
    assert len(set(batch_lrs)) == len(batch_lrs) == epochs * batches, "the lr changes at every batch"
    assert history.lr == pytest.approx(epoch_lrs, rel=1e-12) and epoch_lrs == batch_lrs[::batches]
    assert history.loss == pytest.approx(losses, rel=1e-6)
    assert all(torch.allclose(p, q) for p, q in zip(model.parameters(), twin.parameters()))
    assert scheduler.last_epoch == epochs * batches
    assert optimizer.param_groups[0]["momentum"] == pytest.approx(twin_optimizer.param_groups[0]["momentum"])


# -- fit: early stopping -------------------------------------------------------------------------------------------
#
# A constructed case: the training targets are 2x, the validation targets x, so the validation loss falls while the
# predictions pass near x (its lowest value after epoch 5 here) and then rises as they move on towards 2x. The
# model has batch norm, whose running statistics (buffers) change in every epoch.

ES_PATIENCE = 3


def es_data():
    X = np.random.default_rng(1).normal(3.0, 1.0, size=(40, 1))
    return X, 2 * X, X


def es_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.BatchNorm1d(1), nn.Linear(1, 1))


def es_loaders():
    X, y_train, y_val = es_data()
    return (tensor_loader(X, y_train, 10, seed=0, y_dtype=torch.float32),
            tensor_loader(X, y_val, 20, shuffle=False, y_dtype=torch.float32))


def es_fit(epochs, **kwargs):
    model = es_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train, val = es_loaders()
    history = fit(model, train, nn.MSELoss(), optimizer, epochs=epochs, val_loader=val, **kwargs)
    return model, optimizer, history


@pytest.fixture(scope="module")
def es_hand_run():
    """The same training by hand: validation loss and a deep copy of the state after every epoch."""
    model = es_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train, val = es_loaders()
    val_losses, states = [], []
    for _ in range(12):
        train_one_epoch(model, train, nn.MSELoss(), optimizer)
        val_losses.append(evaluate(model, val, nn.MSELoss())["loss"])
        states.append(copy.deepcopy(model.state_dict()))
    best = int(np.argmin(val_losses)) + 1
    # The case is what it is built to be: a clear best epoch in the middle, then rising losses.
    assert best == 5 and all(v > val_losses[best - 1] for v in val_losses[best:])
    return val_losses, states, best


def same_state(model, state):
    mine = model.state_dict()
    return mine.keys() == state.keys() and all(torch.equal(mine[k], state[k]) for k in state)


def test_early_stopping_stops_after_patience_and_restores_the_best_weights_and_buffers(es_hand_run):
    val_losses, states, best = es_hand_run
    model, _, history = es_fit(12, early_stopping=ES_PATIENCE)
    stop = best + ES_PATIENCE
    assert history.best_epoch == best and history.stopped_epoch == stop
    assert len(history.loss) == len(history.val_loss) == len(history.lr) == len(history.weight_norm) == stop
    assert history.val_loss == pytest.approx(val_losses[:stop], rel=1e-6)
    assert same_state(model, states[best - 1]), "the best epoch's parameters and buffers, exactly"
    assert not torch.equal(states[best - 1]["0.running_mean"], states[stop - 1]["0.running_mean"])
    assert not same_state(model, states[stop - 1])
    assert "stopped_epoch=8" in repr(history) and "best_epoch=5" in repr(history)


def test_early_stopping_that_runs_every_epoch_still_restores_the_best_state(es_hand_run):
    val_losses, states, best = es_hand_run
    for epochs in (best + ES_PATIENCE, best + 1):  # stopping would fall on the last epoch / patience not used up
        model, _, history = es_fit(epochs, early_stopping=ES_PATIENCE)
        assert history.stopped_epoch is None and len(history.loss) == epochs, epochs
        assert history.best_epoch == best and same_state(model, states[best - 1]), epochs
    model, _, history = es_fit(best - 1, early_stopping=ES_PATIENCE)  # still improving at the end: the last epoch
    assert history.best_epoch == best - 1 and history.stopped_epoch is None and same_state(model, states[best - 2])


def test_without_early_stopping_the_model_keeps_its_last_state_and_best_epoch_is_reported(es_hand_run):
    val_losses, states, best = es_hand_run
    model, _, history = es_fit(8)
    assert history.best_epoch == best and history.stopped_epoch is None
    assert same_state(model, states[7])
    X, y_train, _ = es_data()
    model = es_model()
    no_val = fit(model, tensor_loader(X, y_train, 10, y_dtype=torch.float32), nn.MSELoss(),
                 torch.optim.SGD(model.parameters(), lr=0.01), epochs=2)
    assert no_val.best_epoch is None and no_val.stopped_epoch is None


def test_fit_steps_reduce_lr_on_plateau_with_the_validation_loss(es_hand_run):
    def plateau(optimizer):
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)

    model = es_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train, val = es_loaders()
    history = fit(model, train, nn.MSELoss(), optimizer, epochs=8, val_loader=val, scheduler=plateau(optimizer))
    twin = es_model()
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.01)
    twin_scheduler = plateau(twin_optimizer)
    train, val = es_loaders()  # fresh loaders: the same shuffling as fit's
    lrs, val_losses = [], []
    for _ in range(8):
        lrs.append(twin_optimizer.param_groups[0]["lr"])
        train_one_epoch(twin, train, nn.MSELoss(), twin_optimizer)
        val_losses.append(evaluate(twin, val, nn.MSELoss())["loss"])
        twin_scheduler.step(val_losses[-1])
    assert min(lrs) < 0.01, "the case reduces the lr"
    assert history.lr == pytest.approx(lrs, rel=1e-12) and history.val_loss == pytest.approx(val_losses, rel=1e-6)
    assert all(torch.allclose(p, q) for p, q in zip(model.state_dict().values(), twin.state_dict().values()))


# -- fit: weight norm ----------------------------------------------------------------------------------------------


def test_weight_norm_is_the_global_norm_of_all_parameters_after_each_epoch(data):
    X, y = data
    model, optimizer = sgd_setup()
    model[0].bias.requires_grad_(False)  # a frozen parameter counts too
    history = fit(model, tensor_loader(X, y, BATCH), nn.CrossEntropyLoss(), optimizer, epochs=3)
    twin, twin_optimizer = sgd_setup()
    twin[0].bias.requires_grad_(False)
    loader = tensor_loader(X, y, BATCH)
    norms = []
    for _ in range(3):
        train_one_epoch(twin, loader, nn.CrossEntropyLoss(), twin_optimizer)
        norms.append(torch.linalg.vector_norm(torch.cat([p.detach().flatten() for p in twin.parameters()])).item())
    assert history.weight_norm == pytest.approx(norms, rel=1e-5)
    final = torch.linalg.vector_norm(torch.cat([p.detach().double().flatten() for p in model.parameters()]))
    assert history.weight_norm[-1] == pytest.approx(final.item(), rel=1e-6)
    assert len(set(history.weight_norm)) == 3, "it moves with training"
    assert history.as_dict()["weight_norm"] == history.weight_norm


# -- fit: bad schedulers and early stopping, refused before anything changes -----------------------------------------


class ScratchLikeScheduler:
    """Stands for a scheduler of mlp_course.scratch.lr_scheduler (for the scratch optimisers)."""


ScratchLikeScheduler.__module__ = "mlp_course.scratch.lr_scheduler"


def bad_schedule_cases(X, y):
    val = tensor_loader(X, y, BATCH, shuffle=False)
    return [
        (lambda opt: {"scheduler": lr_scheduler.StepLR(torch.optim.SGD(make_model(1).parameters(), lr=0.1), 1)},
         ValueError, r"the scheduler is bound to another optimizer than the one passed to fit"),
        (lambda opt: {"scheduler": lr_scheduler.StepLR}, TypeError, "got the class StepLR itself"),
        (lambda opt: {"scheduler": "cosine"}, TypeError,
         r"scheduler must be a torch.optim.lr_scheduler scheduler, e.g. .*StepLR.*got str"),
        (lambda opt: {"scheduler": ScratchLikeScheduler()}, TypeError, r"mlp_course.training.fit"),
        (lambda opt: {"scheduler": lr_scheduler.StepLR(opt, 1), "scheduler_interval": "batch"}, ValueError,
         r"scheduler_interval must be 'epoch' .* or 'step' .*got 'batch'"),
        (lambda opt: {"scheduler_interval": None}, ValueError, "scheduler_interval must be 'epoch'"),
        (lambda opt: {"scheduler": lr_scheduler.ReduceLROnPlateau(opt), "val_loader": val,
                      "scheduler_interval": "step"}, ValueError,
         r"ReduceLROnPlateau is stepped with the validation loss.*scheduler.step\(evaluate"),
        (lambda opt: {"scheduler": lr_scheduler.ReduceLROnPlateau(opt)}, ValueError,
         "ReduceLROnPlateau .* needs val_loader"),
        (lambda opt: {"scheduler": lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=5),
                      "scheduler_interval": "step"}, ValueError,
         r"OneCycleLR has total_steps=5 .* step it 8 more times \(2 epochs x 4 batches"),
        (lambda opt: {"scheduler": lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=1)},
         ValueError, r"total_steps=1 .* 2 more times"),
        (lambda opt: {"early_stopping": 0, "val_loader": val}, ValueError,
         "early_stopping must be None or a positive integer .*got 0"),
        (lambda opt: {"early_stopping": -2, "val_loader": val}, ValueError, "early_stopping must be None or a posit"),
        (lambda opt: {"early_stopping": 2.0, "val_loader": val}, ValueError, "early_stopping must be None or a posit"),
        (lambda opt: {"early_stopping": True, "val_loader": val}, ValueError, "got True"),
        (lambda opt: {"early_stopping": 2}, ValueError,
         "early_stopping=2 watches the validation loss, so it needs val_loader"),
    ]


def test_fit_refuses_bad_schedulers_and_early_stopping_before_changing_anything(data):
    X, y = data
    for make_overrides, error, message in bad_schedule_cases(X, y):
        model = make_model()
        model.train()
        before = snapshot(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        overrides = make_overrides(optimizer)
        scheduler = overrides.get("scheduler")
        steps = getattr(scheduler, "last_epoch", None)
        lr = optimizer.param_groups[0]["lr"]
        kwargs = {"train_loader": tensor_loader(X, y, BATCH), "loss_fn": nn.CrossEntropyLoss(),
                  "optimizer": optimizer, "epochs": 2, **overrides}
        with pytest.raises(error, match=message):
            fit(model, **kwargs)
        assert unchanged(model, before), message
        assert all(p.grad is None for p in model.parameters()) and not optimizer.state, message
        assert optimizer.param_groups[0]["lr"] == lr and getattr(scheduler, "last_epoch", None) == steps, message
