"""The training loop: history, validation, determinism, learning, clipping,
accuracy, printing, mini-batches, splits, and argument checks that leave the
model untouched."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import make_moons
from torch_reference import assert_unchanged, examples, seeds, snapshot

from mlp_course import seed_everything
from mlp_course.scratch import (
    SGD,
    Adam,
    BatchNorm1d,
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Linear,
    Module,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    lr_scheduler,
    mlp,
)
from mlp_course.training import History, accuracy, evaluate, fit, minibatches, train_val_split

pytestmark = pytest.mark.usefixtures("seeded")


class Recorder(Module):
    """Wraps a module and records (training?, batch size) of every forward pass.

    Its ``backward`` has the plain signature of the course, without ``input_grad``."""

    def __init__(self, inner: Module):
        self.inner = inner
        self.calls: list[tuple[bool, int]] = []

    def forward(self, x):
        self.calls.append((self.training, len(x)))
        return self.inner(x)

    def backward(self, grad_output):
        return self.inner.backward(grad_output)


def regression_data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal((d, 1)) + 0.1 * rng.standard_normal((n, 1))
    return X, y


def classification_data(n=60, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, classes, size=n)


def linear_model(d_in=3, d_out=1, seed=0):
    return Sequential(Linear(d_in, d_out, dtype=np.float64, rng=np.random.default_rng(seed)))


# -- history --------------------------------------------------------------------


def test_history_has_one_entry_per_epoch():
    X, y = regression_data()
    history = fit(linear_model(), X, y, epochs=7, batch_size=8)
    assert isinstance(history, History)
    assert len(history.loss) == len(history.grad_norm) == len(history.weight_norm) == 7
    assert history.val_loss == history.accuracy == history.val_accuracy == []
    assert history.epochs == [1, 2, 3, 4, 5, 6, 7]
    assert repr(history) == f"History(epochs=7, loss={history.loss[-1]:.4f})"


def test_history_records_accuracy_and_validation_for_classification():
    X, y = classification_data()
    model = mlp([4, 8, 3], dtype=np.float64)
    history = fit(model, X, y, CrossEntropyLoss(), epochs=5, validation_split=0.25)
    for curve in (history.loss, history.accuracy, history.val_loss, history.val_accuracy, history.grad_norm):
        assert len(curve) == 5
    assert all(0 <= a <= 1 for a in history.accuracy + history.val_accuracy)
    assert "val_accuracy=" in repr(history)


@pytest.mark.parametrize("n, split, n_val", [(50, 0.2, 10), (40, 0.25, 10), (7, 0.3, 2)])
def test_validation_split_holds_out_that_fraction(n, split, n_val):
    X, y = regression_data(n)
    model = Recorder(linear_model())
    fit(model, X, y, epochs=3, batch_size=4, validation_split=split)
    training = [size for is_training, size in model.calls if is_training]
    evaluation = [size for is_training, size in model.calls if not is_training]
    assert sum(training) == 3 * (n - n_val)
    assert evaluation[-3:] == [n_val] * 3


def test_validation_data_is_evaluated_after_each_epoch_and_training_uses_all_of_x():
    X, y = regression_data(30)
    X_val, y_val = regression_data(12, seed=1)
    model = Recorder(linear_model())
    history = fit(model, X, y, epochs=4, batch_size=8, validation_data=(X_val, y_val))
    assert sum(size for is_training, size in model.calls if is_training) == 4 * 30
    assert len(history.val_loss) == 4
    assert history.val_loss[-1] == evaluate(model, MSELoss(), X_val, y_val)[0]
    assert model.training


# -- determinism and learning --------------------------------------------------


def run(seed):
    X, y = classification_data()
    seed_everything(seed)
    model = mlp([4, 8, 3], dtype=np.float64)
    history = fit(model, X, y, CrossEntropyLoss(), Adam(model.parameters(), lr=0.01), epochs=4,
                  batch_size=16, validation_split=0.2)
    return history, [p.data.copy() for p in model.parameters()]


def test_same_seed_gives_identical_runs():
    (history_a, weights_a), (history_b, weights_b) = run(3), run(3)
    assert history_a == history_b
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_runs():
    assert run(3)[0].loss != run(4)[0].loss


def test_an_explicit_generator_makes_shuffling_repeatable():
    X, y = regression_data()
    histories = []
    for _ in range(2):
        model = linear_model()
        histories.append(fit(model, X, y, epochs=3, batch_size=8, rng=np.random.default_rng(9)))
    assert histories[0] == histories[1]
    other = fit(linear_model(), X, y, epochs=3, batch_size=8, rng=np.random.default_rng(10))
    assert other.loss != histories[0].loss


def test_loss_falls_and_accuracy_rises_on_two_moons():
    X, y = make_moons(200, noise=0.1, random_state=0)
    model = mlp([2, 16, 16, 1], activation="tanh", dtype=np.float64)
    history = fit(model, X, y.reshape(-1, 1).astype(float), BCEWithLogitsLoss(),
                  Adam(model.parameters(), lr=0.02), epochs=60, batch_size=32, validation_split=0.2)
    assert history.loss[-1] < 0.25 * history.loss[0]
    assert history.val_accuracy[-1] > 0.95
    assert history.accuracy[-1] > 0.95


def test_xor_is_learned_with_cross_entropy():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = mlp([2, 8, 2], activation="tanh", dtype=np.float64, rng=np.random.default_rng(0))
    history = fit(model, X, y, CrossEntropyLoss(), SGD(model.parameters(), lr=0.5, momentum=0.9),
                  epochs=200, batch_size=4)
    assert history.loss[-1] < 0.05
    assert history.accuracy[-1] == 1.0
    np.testing.assert_array_equal(model(X).argmax(axis=1), y)


def test_fit_is_the_textbook_mini_batch_loop():
    X, y = regression_data(30)
    model, manual = linear_model(), linear_model()
    fit(model, X, y, MSELoss(), SGD(model.parameters(), lr=0.1, momentum=0.5), epochs=2, batch_size=10, shuffle=False)
    loss_fn, optimizer = MSELoss(), SGD(manual.parameters(), lr=0.1, momentum=0.5)
    for _ in range(2):
        for start in range(0, 30, 10):
            loss_fn(manual(X[start:start + 10]), y[start:start + 10])
            manual.zero_grad()
            manual.backward(loss_fn.backward())
            optimizer.step()
    for p, q in zip(model.parameters(), manual.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-13)


def test_fit_casts_x_to_the_model_dtype():
    X, y = regression_data()
    model = linear_model()
    history = fit(model, X.astype(np.float32), y.astype(np.float32), epochs=2)
    assert model.dtype == np.float64 and np.isfinite(history.loss[-1])
    model32 = mlp([3, 1])
    fit(model32, X, y, epochs=2)
    assert model32.dtype == np.float32


# -- clipping -------------------------------------------------------------------


def gradient_at_start(model, X, y):
    loss_fn = MSELoss()
    loss_fn(model(X), y)
    model.zero_grad()
    model.backward(loss_fn.backward())
    return [p.grad.copy() for p in model.parameters()]


@pytest.mark.parametrize("clip_norm", [None, 1e-3, 1e3])
def test_grad_norm_is_recorded_before_clipping_and_the_step_uses_the_clipped_gradient(clip_norm):
    X, y = regression_data(16)
    y = y * 100  # large gradients
    model = linear_model()
    start = [p.data.copy() for p in model.parameters()]
    grads = gradient_at_start(linear_model(), X, y)
    norm = np.sqrt(sum(np.sum(g * g) for g in grads))
    history = fit(model, X, y, lr=0.1, epochs=1, batch_size=16, clip_norm=clip_norm, shuffle=False)
    assert history.grad_norm[0] == pytest.approx(norm, rel=1e-12)
    scale = 1.0 if clip_norm is None else min(1.0, clip_norm / (norm + 1e-6))
    for p, w, g in zip(model.parameters(), start, grads):
        np.testing.assert_allclose(p.data, w - 0.1 * scale * g, rtol=1e-12)
    if clip_norm == 1e-3:
        step = np.sqrt(sum(np.sum((p.data - w) ** 2) for p, w in zip(model.parameters(), start)))
        assert step == pytest.approx(0.1 * clip_norm, rel=1e-5)


# -- loss and accuracy bookkeeping -------------------------------------------------


def classification_setup(loss_type, n=25):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((n, 3))
    if loss_type is CrossEntropyLoss:
        return mlp([3, 5, 4], dtype=np.float64, rng=rng), X, rng.integers(0, 4, size=n)
    y = rng.integers(0, 2, size=(n, 1)).astype(float)
    if loss_type is BCELoss:
        return Sequential(Linear(3, 1, dtype=np.float64, rng=rng), Sigmoid()), X, y
    if loss_type is MSELoss:
        return linear_model(), X, rng.standard_normal((n, 1))
    return linear_model(), X, y


@pytest.mark.parametrize("loss_type", [MSELoss, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss])
def test_epoch_loss_and_accuracy_are_means_over_all_samples(loss_type):
    model, X, y = classification_setup(loss_type)
    expected_loss, expected_accuracy = evaluate(model, loss_type(), X, y)
    # lr = 0: the weights never move, so the epoch means must equal the full-data values,
    # even though the last of the three batches is smaller.
    history = fit(model, X, y, loss_type(), SGD(model.parameters(), lr=0.0), epochs=1, batch_size=10)
    assert history.loss[0] == pytest.approx(expected_loss, rel=1e-12)
    if loss_type is MSELoss:
        assert expected_accuracy is None and history.accuracy == []
    else:
        assert history.accuracy[0] == pytest.approx(expected_accuracy, rel=1e-12)


def test_accuracy_for_each_loss_type():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 5.0, 1.0], [0.0, 1.0, 0.0]])
    assert accuracy(CrossEntropyLoss(), logits, np.array([0, 2, 0, 1])) == 0.75
    probabilities = np.array([[0.5], [0.49], [0.9], [0.1]])
    targets = np.array([[1.0], [0.0], [0.0], [0.0]])
    assert accuracy(BCELoss(), probabilities, targets) == 0.75  # 0.5 counts as positive
    scores = np.array([[0.0], [-0.01], [3.0], [-2.0]])
    assert accuracy(BCEWithLogitsLoss(), scores, targets) == 0.75  # logit 0 counts as positive
    assert accuracy(MSELoss(), probabilities, targets) is None


@pytest.mark.parametrize("training", [True, False])
def test_evaluate_uses_eval_mode_and_restores_the_mode(training):
    X, y = classification_data(20)
    model = Recorder(mlp([4, 6, 3], dtype=np.float64)).train(training)
    loss, acc = evaluate(model, CrossEntropyLoss(), X, y)
    assert model.calls == [(False, 20)]
    assert model.training == training and model.inner.training == training
    assert isinstance(loss, float) and 0 <= acc <= 1
    assert evaluate(linear_model(4), MSELoss(), X, np.zeros((20, 1)))[1] is None


# -- printing -------------------------------------------------------------------


def test_verbose_prints_every_k_epochs_and_the_last(capsys):
    X, y = classification_data()
    fit(mlp([4, 5, 3], dtype=np.float64), X, y, CrossEntropyLoss(), epochs=5, verbose=2, validation_split=0.2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" | ")[0] for line in lines] == ["epoch 2/5", "epoch 4/5", "epoch 5/5"]
    pattern = r"epoch \d/5 \| loss \d+\.\d{4} \| acc [01]\.\d{3} \| val_loss \d+\.\d{4} \| val_acc [01]\.\d{3}"
    assert all(re.fullmatch(pattern, line) for line in lines), lines


def test_verbose_pads_the_epoch_number_and_omits_what_is_not_recorded(capsys):
    X, y = regression_data()
    history = fit(linear_model(), X, y, epochs=10, verbose=5)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"epoch  5/10 | loss {history.loss[4]:.4f}", f"epoch 10/10 | loss {history.loss[9]:.4f}"]


def test_silent_by_default(capsys):
    X, y = regression_data()
    fit(linear_model(), X, y, epochs=3)
    assert capsys.readouterr().out == ""


# -- minibatches and train_val_split ----------------------------------------------------


@examples(40)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 70), shuffle=st.booleans(), seed=seeds)
def test_minibatches_cover_every_sample_exactly_once(n, batch_size, shuffle, seed):
    X = np.arange(2 * n, dtype=float).reshape(n, 2)
    y = np.arange(n)
    batches = list(minibatches(X, y, batch_size, shuffle=shuffle, rng=np.random.default_rng(seed)))
    sizes = [len(xb) for xb, _ in batches]
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    order = np.concatenate([yb for _, yb in batches])
    assert sorted(order) == list(range(n))
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)  # rows stay paired with their labels
    if not shuffle:
        np.testing.assert_array_equal(order, np.arange(n))


def test_minibatches_shuffle_differently_each_epoch_but_repeatably():
    X, y = np.zeros((100, 1)), np.arange(100)
    rng = np.random.default_rng(0)
    first = np.concatenate([yb for _, yb in minibatches(X, y, 10, rng=rng)])
    second = np.concatenate([yb for _, yb in minibatches(X, y, 10, rng=rng)])
    assert not np.array_equal(first, second) and not np.array_equal(first, y)
    again = np.concatenate([yb for _, yb in minibatches(X, y, 10, rng=np.random.default_rng(0))])
    np.testing.assert_array_equal(first, again)


@examples(40)
@given(n=st.integers(2, 80), split=st.floats(0.0, 0.95), seed=seeds)
def test_train_val_split_is_disjoint_complete_and_sized(n, split, seed):
    n_val = int(round(n * split))
    X = np.arange(n, dtype=float).reshape(n, 1)
    y = np.arange(n) * 10
    if split > 0 and (n_val == 0 or n_val == n):
        with pytest.raises(ValueError, match="both need at least one"):
            train_val_split(X, y, split, np.random.default_rng(seed))
        return
    X_train, y_train, X_val, y_val = train_val_split(X, y, split, np.random.default_rng(seed))
    assert len(X_val) == len(y_val) == n_val and len(X_train) == len(y_train) == n - n_val
    ids = np.concatenate([X_train[:, 0], X_val[:, 0]])
    assert sorted(ids) == list(range(n))
    np.testing.assert_array_equal(y_train, X_train[:, 0] * 10)
    np.testing.assert_array_equal(y_val, X_val[:, 0] * 10)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: list(minibatches(np.zeros((4, 1)), np.zeros(4), 0)), ValueError,
         "minibatches: batch_size must be a positive integer, got int 0"),
        (lambda: list(minibatches(np.zeros(4), np.zeros(4), 2)), ValueError,
         "minibatches: X must be 2-D (samples, features), got shape (4,)"),
        (lambda: list(minibatches(np.zeros((4, 1)), np.zeros(3), 2)), ValueError,
         "minibatches: X has 4 samples but y has 3"),
        (lambda: train_val_split(np.zeros((10, 1)), np.zeros(10), 1.0), ValueError,
         "train_val_split: validation_split must be in [0, 1), got 1.0"),
        (lambda: train_val_split(np.zeros((10, 1)), np.zeros(10), -0.1), ValueError,
         "train_val_split: validation_split must be in [0, 1), got -0.1"),
        (lambda: train_val_split(np.zeros((3, 1)), np.zeros(3), 0.1), ValueError,
         "validation_split=0.1 of 3 samples leaves 0 for validation and 3 for training; both need at least one"),
        (lambda: train_val_split([[0.0]], np.zeros(1), 0.5), TypeError, "train_val_split: X must be a NumPy array, got list"),
        (lambda: train_val_split(np.zeros((0, 2)), np.zeros(0), 0.5), ValueError, "train_val_split: X is empty"),
    ],
)
def test_minibatches_and_split_refuse_bad_arguments(call, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call()


# -- bad arguments leave the model untouched ---------------------------------------------


def bn_model():
    rng = np.random.default_rng(5)
    return Sequential(Linear(3, 4, dtype=np.float64, rng=rng), BatchNorm1d(4, dtype=np.float64), ReLU(),
                      Linear(4, 1, dtype=np.float64, rng=rng))


X3, Y3 = regression_data(20)
XC, YC = classification_data(20, d=3)

BAD_CALLS = [
    (dict(X=X3[:, 0]), ValueError, "fit: X must be 2-D (samples, features), got shape (20,)"),
    (dict(X=X3.tolist()), TypeError, "fit: X must be a NumPy array, got list"),
    (dict(y=Y3[:19]), ValueError, "fit: X has 20 samples but y has 19"),
    (dict(X=np.ones((20, 4))), ValueError, "Linear: expected input of shape (batch, 3), got (2, 4)"),
    (dict(y=Y3[:, 0]), ValueError, "MSELoss: input has shape (2, 1) but target has shape (2,); they must be equal"),
    (dict(epochs=0), ValueError, "fit: epochs must be a positive integer, got int 0"),
    (dict(epochs=-3), ValueError, "fit: epochs must be a positive integer, got int -3"),
    (dict(epochs=2.5), ValueError, "fit: epochs must be a positive integer, got float 2.5"),
    (dict(epochs=True), ValueError, "fit: epochs must be a positive integer, got bool True"),
    (dict(batch_size=0), ValueError, "fit: batch_size must be a positive integer, got int 0"),
    (dict(batch_size=None), ValueError, "fit: batch_size must be a positive integer, got NoneType None"),
    (dict(validation_split=1.0), ValueError, "train_val_split: validation_split must be in [0, 1), got 1.0"),
    (dict(validation_split=-0.2), ValueError, "train_val_split: validation_split must be in [0, 1), got -0.2"),
    (dict(validation_split=1.5), ValueError, "train_val_split: validation_split must be in [0, 1), got 1.5"),
    (dict(validation_split=0.01), ValueError, "leaves 0 for validation and 20 for training"),
    (dict(validation_split=0.2, validation_data=(X3, Y3)), ValueError,
     "fit: pass either validation_split or validation_data, not both"),
    (dict(validation_data=(np.ones((5, 4)), np.ones((5, 1)))), ValueError,
     "Linear: expected input of shape (batch, 3), got (2, 4)"),
    (dict(validation_data=(np.ones((5, 3)), np.ones(5))), ValueError,
     "MSELoss: input has shape (2, 1) but target has shape (2,)"),
    (dict(validation_data=(np.ones((5, 3)), np.ones((4, 1)))), ValueError,
     "fit (validation_data): X has 5 samples but y has 4"),
    (dict(clip_norm=0.0), ValueError, "fit: clip_norm must be in (0, inf], got 0.0"),
    (dict(clip_norm=-1.0), ValueError, "fit: clip_norm must be in (0, inf], got -1.0"),
    (dict(verbose=-1), ValueError, "fit: verbose must be a non-negative integer, got -1"),
    (dict(verbose=True), ValueError, "fit: verbose must be a non-negative integer, got True"),
    (dict(loss_fn=torch.nn.MSELoss()), TypeError, "fit: loss_fn must be a scratch Loss, got MSELoss"),
    (dict(optimizer="sgd"), TypeError, "fit: optimizer must be a scratch Optimizer, got str 'sgd'"),
    (dict(lr=-0.1), ValueError, "SGD: lr must be in [0, inf], got -0.1"),
    (dict(batch_size=19), ValueError, "fit: BatchNorm1d needs at least 2 samples in every training batch, "
                                     "but 20 training samples in batches of 19 leave a batch of 1"),
    (dict(batch_size=1), ValueError, "fit: BatchNorm1d needs at least 2 samples in every training batch"),
    (dict(early_stopping=3), ValueError, "fit: early_stopping=3 watches the validation loss, so it needs validation data; "
                                         "pass validation_split=0.2 or validation_data=(X_val, y_val)"),
    (dict(early_stopping=0, validation_split=0.2), ValueError,
     "fit: early_stopping must be None or a positive integer (the patience: how many epochs without a lower "
     "validation loss to wait), got 0"),
    (dict(early_stopping=-2, validation_split=0.2), ValueError, "fit: early_stopping must be None or a positive integer"),
    (dict(early_stopping=2.5, validation_split=0.2), ValueError, "fit: early_stopping must be None or a positive integer"),
    (dict(early_stopping=True, validation_split=0.2), ValueError, "fit: early_stopping must be None or a positive integer"),
    (dict(scheduler_interval="batch"), ValueError, "fit: scheduler_interval must be 'epoch' (step the scheduler after "
                                                   "each epoch) or 'step' (after each batch, e.g. for OneCycleLR), got 'batch'"),
]


@pytest.mark.parametrize("kwargs, error, message", BAD_CALLS)
def test_fit_refuses_bad_arguments_and_leaves_the_model_untouched(kwargs, error, message):
    model = bn_model()
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    arguments = dict(X=X3, y=Y3, loss_fn=MSELoss(), optimizer=optimizer if "lr" not in kwargs else None, epochs=2,
                     batch_size=4)
    arguments.update(kwargs)
    before = snapshot(list(model.parameters()), model[1].running_mean, model[1].running_var,
                      model[1].num_batches_tracked, model.training, optimizer)
    with pytest.raises(error, match=re.escape(message)):
        fit(model, **arguments)
    assert_unchanged(before, list(model.parameters()), model[1].running_mean, model[1].running_var,
                     model[1].num_batches_tracked, model.training, optimizer)


@pytest.mark.parametrize(
    "y, error, message",
    [
        (YC.astype(float), TypeError, "they look like whole numbers: use target.astype(np.int64)"),
        (np.append(YC[:-1], 3), ValueError, "labels must lie in [0, 2] for 3 classes, got values from 0 to 3"),
        (np.append(YC[:-1], -1), ValueError, "labels must lie in [0, 2] for 3 classes, got values from -1 to 2"),
        (YC.reshape(-1, 1), ValueError, "expected target of shape (2,) for input of shape (2, 3), got (2, 1)"),
    ],
)
@pytest.mark.parametrize("where", ["training", "validation"])
def test_fit_refuses_bad_labels_anywhere_and_leaves_the_model_untouched(y, error, message, where):
    model = mlp([3, 4, 3], dtype=np.float64)
    before = snapshot(list(model.parameters()))
    with pytest.raises(error, match=re.escape(message)):
        if where == "training":
            fit(model, XC, y, CrossEntropyLoss(), epochs=2, batch_size=4)
        else:
            fit(model, XC, YC, CrossEntropyLoss(), epochs=2, batch_size=4, validation_data=(XC, y))
    assert_unchanged(before, list(model.parameters()))


@pytest.mark.parametrize("loss_type", [BCELoss, BCEWithLogitsLoss])
def test_fit_refuses_binary_targets_outside_zero_one_anywhere(loss_type):
    model = Sequential(Linear(3, 1, dtype=np.float64), Sigmoid())
    y = np.append(np.zeros(19), 2.0).reshape(-1, 1)
    before = snapshot(list(model.parameters()))
    with pytest.raises(ValueError, match=re.escape(f"{loss_type.__name__}: target must lie in [0, 1], found 1 value(s) outside, e.g. 2.0")):
        fit(model, X3, y, loss_type(), epochs=1, batch_size=4)
    assert_unchanged(before, list(model.parameters()))


def test_fit_refuses_things_that_are_not_scratch_models():
    with pytest.raises(TypeError, match="fit: model must be a scratch Module, got Linear"):
        fit(torch.nn.Linear(3, 1), X3, Y3)


# -- schedulers and early stopping -------------------------------------------------------


def hand_loop(model, X, y, X_val, y_val, loss_fn, optimizer, scheduler, epochs, batch_size, rng, per_step=False):
    """fit written out by hand: the lr of each epoch, the mean losses, the validation losses."""
    record = History()
    for _ in range(epochs):
        record.lr.append(optimizer.param_groups[0]["lr"])
        total = 0.0
        for X_batch, y_batch in minibatches(X, y, batch_size, True, rng):
            loss = loss_fn(model(X_batch), y_batch)
            model.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.step()
            if per_step:
                scheduler.step()
            total += loss * len(X_batch)
        record.loss.append(total / len(X))
        record.val_loss.append(evaluate(model, loss_fn, X_val, y_val)[0])
        if not per_step:
            scheduler.step()
    return record


@pytest.mark.parametrize("kind", ["StepLR", "OneCycleLR-per-step", "SequentialLR"])
def test_a_scheduler_inside_fit_gives_the_history_of_a_hand_loop(kind):
    X, y = regression_data(40)
    X_val, y_val = regression_data(12, seed=1)
    runs = []
    for by_hand in (False, True):
        model = Sequential(Linear(3, 6, dtype=np.float64, rng=np.random.default_rng(2)), ReLU(),
                           Linear(6, 1, dtype=np.float64, rng=np.random.default_rng(3)))
        params = list(model.parameters())
        optimizer = SGD([{"params": params[:2]}, {"params": params[2:], "lr": 0.02}], lr=0.05, momentum=0.9)
        if kind == "StepLR":
            scheduler, options = lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5), {}
        elif kind == "SequentialLR":
            scheduler = lr_scheduler.SequentialLR(optimizer, [lr_scheduler.LinearLR(optimizer, 0.2, total_iters=3),
                                                              lr_scheduler.CosineAnnealingLR(optimizer, T_max=7)], [3])
            options = {}
        else:
            scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=40)
            options = dict(scheduler_interval="step")
        if by_hand:
            history = hand_loop(model, X, y, X_val, y_val, MSELoss(), optimizer, scheduler, 10, 10,
                                np.random.default_rng(7), per_step=bool(options))
        else:
            history = fit(model, X, y, MSELoss(), optimizer, epochs=10, batch_size=10, validation_data=(X_val, y_val),
                          rng=np.random.default_rng(7), scheduler=scheduler, **options)
        runs.append((history, [p.data.copy() for p in params], scheduler.last_epoch, optimizer.param_groups[1]["lr"]))
    (fitted, weights, last_epoch, lr), (manual, manual_weights, manual_last_epoch, manual_lr) = runs
    assert fitted.lr == manual.lr and len(set(fitted.lr)) > 2
    np.testing.assert_allclose(fitted.loss, manual.loss, rtol=1e-13)
    np.testing.assert_allclose(fitted.val_loss, manual.val_loss, rtol=1e-13)
    for a, b in zip(weights, manual_weights):
        np.testing.assert_array_equal(a, b)
    assert last_epoch == manual_last_epoch == (40 if options else 10) and lr == manual_lr
    if kind == "StepLR":
        assert fitted.lr == [0.05] * 3 + [0.025] * 3 + [0.0125] * 3 + [0.00625]


def test_history_lr_without_a_scheduler_is_the_constant_lr():
    X, y = regression_data()
    history = fit(linear_model(), X, y, epochs=4, batch_size=8, lr=0.03)
    assert history.lr == [0.03] * 4
    assert history.best_epoch is None and history.stopped_epoch is None


def one_weight_problem():
    """y = 2x to train on, y = x to validate on: gradient descent from w = 0 moves w
    towards 2 (w_t = 2 (1 - 0.8^t) with lr 0.1 and mean x^2 = 1), so the validation
    loss (w - 1)^2 is lowest at epoch 3 (w = 0.976) and then rises."""
    x = np.array([[-1.5], [-0.5], [0.5], [1.5]]) / np.sqrt(1.25)
    model = Sequential(Linear(1, 1, bias=False, dtype=np.float64))
    model[0].weight.data[...] = 0.0
    return model, x, 2 * x, x, x.copy()


def test_early_stopping_stops_at_the_right_epoch_and_restores_the_best_weights():
    model, X, y, X_val, y_val = one_weight_problem()
    history = fit(model, X, y, MSELoss(), epochs=20, batch_size=4, shuffle=False, lr=0.1, validation_data=(X_val, y_val),
                  early_stopping=2)
    w = 2 * (1 - 0.8 ** np.arange(1, 6))
    np.testing.assert_allclose(history.val_loss, (w - 1) ** 2, rtol=1e-9)
    assert history.best_epoch == 3 and history.stopped_epoch == 5 and len(history.loss) == 5
    assert repr(history).endswith("stopped_epoch=5, best_epoch=3)")

    best, _, _, _, _ = one_weight_problem()
    fit(best, X, y, MSELoss(), epochs=3, batch_size=4, shuffle=False, lr=0.1)  # the snapshot at the best epoch
    np.testing.assert_array_equal(model[0].weight.data, best[0].weight.data)
    np.testing.assert_allclose(model[0].weight.data, [[w[2]]], rtol=1e-10)


def test_early_stopping_that_never_triggers_still_returns_the_best_weights():
    model, X, y, X_val, y_val = one_weight_problem()
    history = fit(model, X, y, MSELoss(), epochs=6, batch_size=4, shuffle=False, lr=0.1, validation_data=(X_val, y_val),
                  early_stopping=10)
    assert history.best_epoch == 3 and history.stopped_epoch is None and len(history.loss) == 6
    np.testing.assert_allclose(model[0].weight.data, [[2 * (1 - 0.8 ** 3)]], rtol=1e-10)


def test_without_early_stopping_the_last_weights_stay_and_best_epoch_is_recorded():
    model, X, y, X_val, y_val = one_weight_problem()
    history = fit(model, X, y, MSELoss(), epochs=6, batch_size=4, shuffle=False, lr=0.1, validation_data=(X_val, y_val))
    assert history.best_epoch == 3 and history.stopped_epoch is None
    np.testing.assert_allclose(model[0].weight.data, [[2 * (1 - 0.8 ** 6)]], rtol=1e-10)


def test_patience_counts_epochs_since_the_best_one():
    for patience, stopped in [(1, 4), (2, 5), (3, 6)]:
        model, X, y, X_val, y_val = one_weight_problem()
        history = fit(model, X, y, MSELoss(), epochs=20, batch_size=4, shuffle=False, lr=0.1, validation_data=(X_val, y_val),
                      early_stopping=patience)
        assert (history.best_epoch, history.stopped_epoch) == (3, stopped)


def state_of(model):
    bn = model[1]
    return [p.data.copy() for p in model.parameters()] + [bn.running_mean.copy(), bn.running_var.copy(),
                                                          bn.num_batches_tracked]


def test_early_stopping_restores_the_batchnorm_running_statistics_too():
    rng = np.random.default_rng(11)
    X, X_val = rng.standard_normal((32, 3)), rng.standard_normal((16, 3))
    w = rng.standard_normal((3, 1))
    y, y_val = X @ w, 0.5 * (X_val @ w)  # fitting y closely soon overshoots y_val: best epoch 5 of 8

    def run(epochs, early_stopping=None):
        model = bn_model()
        history = fit(model, X, y, MSELoss(), SGD(model.parameters(), lr=0.01, momentum=0.9), epochs=epochs,
                      batch_size=8, validation_data=(X_val, y_val), rng=np.random.default_rng(4),
                      early_stopping=early_stopping)
        return model, history

    model, history = run(40, early_stopping=3)
    assert (history.best_epoch, history.stopped_epoch) == (5, 8)
    best, _ = run(history.best_epoch)  # the same run, stopped by hand at the best epoch
    last, _ = run(history.stopped_epoch)  # and at the epoch where early stopping stopped
    for a, b, c in zip(state_of(model), state_of(best), state_of(last)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(state_of(model)[-3], state_of(last)[-3])  # the running mean did change after the best epoch
    assert model.training  # left in training mode, as fit always does


def test_verbose_says_when_early_stopping_ends_the_run(capsys):
    model, X, y, X_val, y_val = one_weight_problem()
    fit(model, X, y, MSELoss(), epochs=20, batch_size=4, shuffle=False, lr=0.1, validation_data=(X_val, y_val), early_stopping=2,
        verbose=10)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["early stopping after epoch 5: the best validation loss was at epoch 3"]


def scheduler_errors(optimizer, other):
    torch_optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    return [
        (dict(scheduler=torch.optim.lr_scheduler.StepLR(torch_optimizer, 2)), TypeError,
         "fit: scheduler must be a scheduler of mlp_course.scratch.lr_scheduler, e.g. lr_scheduler.StepLR(optimizer, "
         "step_size=10), got StepLR"),
        (dict(scheduler="cosine"), TypeError, "fit: scheduler must be a scheduler of mlp_course.scratch.lr_scheduler"),
        (dict(scheduler=lr_scheduler.StepLR(other, 2)), ValueError,
         "fit: the scheduler is bound to another optimizer than the one passed to fit"),
        (dict(scheduler=lr_scheduler.StepLR(optimizer, 2), optimizer=None), ValueError,
         "fit: a scheduler needs the optimizer it was built on"),
        (dict(scheduler=lr_scheduler.OneCycleLR(optimizer, 0.1, total_steps=10), scheduler_interval="step"), ValueError,
         "fit: this run steps the scheduler 10 times, but the OneCycleLR has 10 steps left"),
    ]


@pytest.mark.parametrize("case", range(5))
def test_fit_refuses_a_bad_scheduler_and_leaves_everything_untouched(case):
    model = bn_model()
    optimizer = SGD(model.parameters(), lr=0.1, momentum=0.9)
    other = SGD(model.parameters(), lr=0.1)
    kwargs, error, message = scheduler_errors(optimizer, other)[case]
    arguments = dict(X=X3, y=Y3, loss_fn=MSELoss(), optimizer=optimizer, epochs=2, batch_size=4)
    arguments.update(kwargs)
    if case == 4:
        arguments["epochs"] = 2  # 2 epochs of 5 batches: 10 steps fit, 11 do not
        arguments["batch_size"] = 3
        message = "fit: this run steps the scheduler 14 times, but the OneCycleLR has 10 steps left (total_steps=10)"
    before = snapshot(list(model.parameters()), model[1].running_mean, model[1].running_var, optimizer,
                      kwargs.get("scheduler"))
    with pytest.raises(error, match=re.escape(message)):
        fit(model, **arguments)
    assert_unchanged(before, list(model.parameters()), model[1].running_mean, model[1].running_var, optimizer,
                     kwargs.get("scheduler"))
