"""The checks of chapter 6's coding exercises: the reference answers pass, the untouched stubs
are "not answered yet", plausible mistakes are rejected with a message that names them, every
correct form the chapter teaches passes, and an answer that calls a referee fails.

The reference answers are written here, not taken from the notebook. For the regression
exercise they need the chapter's own training code (forward, backward, ``prepare``, ``train``,
``predict``), so a compact copy of it, as the chapter writes it, comes first.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlp_course.exercises import CheckResult, RefereeCalled, check, get, keys
from mlp_course.exercises import ch06
from mlp_course.training import History

TICK = "\u2713"


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch06") == ["ch06-ex-kaiming", "ch06-ex-regression"]
    assert get("ch06-ex-kaiming").points == 2 and get("ch06-ex-regression").points == 3


# --------------------------------------------------------------------------
# ch06-ex-kaiming
# --------------------------------------------------------------------------


def kaiming_std(fan_in, fan_out, negative_slope):
    """The reference answer."""
    return np.sqrt(2 / ((1 + negative_slope ** 2) * fan_in))


def kaiming_stub(fan_in, fan_out, negative_slope):
    raise NotImplementedError("replace this line with your code")


def test_kaiming_reference_passes(capsys):
    assert check("ch06-ex-kaiming", kaiming_std)
    assert capsys.readouterr().out == f"{TICK} kaiming_std passes all 5 test cases.\n"


def test_kaiming_stub_is_not_answered_yet(capsys):
    assert is_false(check("ch06-ex-kaiming", kaiming_stub))
    assert "kaiming_std is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("correct", [
    lambda fan_in, fan_out, a: math.sqrt(2 / (1 + a * a)) / math.sqrt(fan_in),   # gain / sqrt(d_in)
    lambda fan_in, fan_out, a: np.sqrt(2 / (1 + a ** 2)) * fan_in ** -0.5,
    lambda fan_in, fan_out, a: (2 / ((1 + a ** 2) * fan_in)) ** 0.5,
    lambda fan_in, fan_out, a: np.float32(np.sqrt(2 / ((1 + a ** 2) * fan_in))),  # float32 is fine too
], ids=["gain-over-sqrt", "power", "square-root-of-variance", "float32"])
def test_kaiming_every_correct_form_passes(correct, capsys):
    assert check("ch06-ex-kaiming", correct)
    assert TICK in capsys.readouterr().out


@pytest.mark.parametrize("wrong, fragment", [
    (lambda fan_in, fan_out, a: math.sqrt(2 / ((1 + a ** 2) * fan_out)), "divides by fan_out"),
    (lambda fan_in, fan_out, a: 2 / ((1 + a ** 2) * fan_in), "variance Var\\(w\\), not the standard"),
    (lambda fan_in, fan_out, a: math.sqrt(2 / fan_in), "ignores the slope"),
    (lambda fan_in, fan_out, a: math.sqrt(2 / ((1 + a) * fan_in)), "slope is squared"),
    (lambda fan_in, fan_out, a: math.sqrt((1 + a ** 2) / (2 * fan_in)), "upside down"),
    (lambda fan_in, fan_out, a: math.sqrt(6 / ((1 + a ** 2) * fan_in)), "bound rho of the uniform"),
    (lambda fan_in, fan_out, a: math.sqrt(2 / (fan_in + fan_out)), "Glorot"),
], ids=["fan-out", "no-sqrt", "relu-gain", "slope-not-squared", "upside-down", "uniform-bound", "glorot"])
def test_kaiming_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch06-ex-kaiming", wrong)


def test_kaiming_wrong_without_a_known_mistake_still_fails():
    with pytest.raises(AssertionError, match="Case 1 of 5"):
        check("ch06-ex-kaiming", lambda fan_in, fan_out, a: 0.1)


def test_kaiming_answer_calling_the_referee_fails():
    with pytest.raises(RefereeCalled, match="reference"):
        check("ch06-ex-kaiming", lambda fan_in, fan_out, a: ch06._kaiming_std_by_torch(fan_in, fan_out, a))


@pytest.mark.parametrize("answer", [
    lambda fan_in, fan_out, a: ch06._kaiming_std_by_torch.__wrapped__(fan_in, fan_out, a),
    lambda fan_in, fan_out, a: ch06._kaiming_relu_gain(fan_in, fan_out, a) / math.sqrt(2 / (1 + a * a)) * 2 / math.sqrt(2),
    lambda fan_in, fan_out, a: ch06._kaiming_variance(fan_in, fan_out, a) ** 0.5,
], ids=["referee-wrapped", "private-helper", "mistake-helper"])
def test_kaiming_answer_calling_the_checks_code_fails(answer):
    with pytest.raises(RefereeCalled, match="mlp_course.exercises.ch06"):
        check("ch06-ex-kaiming", answer)


def test_kaiming_answer_using_pytorch_fails():
    """PyTorch's own gain would do the exercise: an answer may not call it."""
    import torch

    def by_torch(fan_in, fan_out, a):
        return torch.nn.init.calculate_gain("leaky_relu", a) / math.sqrt(fan_in)

    with pytest.raises(RefereeCalled, match="torch"):
        check("ch06-ex-kaiming", by_torch)


def test_kaiming_referee_is_pytorchs_kaiming_normal():
    """The referee's number is the standard deviation kaiming_normal_ actually draws with."""
    import torch

    torch.manual_seed(0)
    w = torch.empty(300, 2000, dtype=torch.float64)        # PyTorch's layout: (fan_out, fan_in)
    torch.nn.init.kaiming_normal_(w, a=0.5, nonlinearity="leaky_relu")
    expected = ch06._kaiming_std_by_torch(2000, 300, 0.5)
    assert abs(w.std().item() / expected - 1) < 0.01
    assert math.isclose(expected, kaiming_std(2000, 300, 0.5), rel_tol=1e-12)


# --------------------------------------------------------------------------
# The chapter's training code, as the chapter writes it (compact)
# --------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": (lambda Z: np.maximum(Z, 0), lambda Z: (Z > 0).astype(Z.dtype)),
    "tanh": (np.tanh, lambda Z: 1 - np.tanh(Z) ** 2),
}


def forward(params, X, activation):
    f, _ = ACTIVATIONS[activation]
    n_layers = len(params) // 2
    A, cache = X, []
    for l in range(n_layers):
        Z = A @ params[2 * l] + params[2 * l + 1]
        cache.append((A, Z))
        A = f(Z) if l < n_layers - 1 else Z
    return A, cache


def backward(params, cache, dZ, activation):
    _, f_prime = ACTIVATIONS[activation]
    grads = [None] * len(params)
    for l in reversed(range(len(params) // 2)):
        A_prev, _ = cache[l]
        grads[2 * l] = A_prev.T @ dZ
        grads[2 * l + 1] = dZ.sum(axis=0)
        if l > 0:
            dZ = (dZ @ params[2 * l].T) * f_prime(cache[l - 1][1])
    return grads


def loss_and_grad(out, y, loss):
    assert loss == "mse"           # the only loss the regression exercise needs
    diff = out - y
    return float(np.mean(diff ** 2)), 2 * diff / diff.size


def evaluate(params, X, y, loss, activation):
    return loss_and_grad(forward(params, X, activation)[0], y, loss)[0], None


INITIALISERS = {
    "glorot_normal": lambda i, o, rng: rng.standard_normal((i, o)) * np.sqrt(2 / (i + o)),
    "he_normal": lambda i, o, rng: rng.standard_normal((i, o)) * np.sqrt(2 / i),
}


def init_params(sizes, init, rng):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [INITIALISERS[init](fan_in, fan_out, rng), np.zeros(fan_out)]
    return params


def split(n, validation_split, rng):
    n_val = int(round(n * validation_split))
    order = rng.permutation(n)
    return order[:n - n_val], order[n - n_val:]


def global_norm(arrays):
    return float(np.sqrt(sum(np.sum(a * a) for a in arrays)))


def sgd_step(params, grads, velocity, *, lr, momentum=0.0, weight_decay=0.0, decay_biases=False):
    for i, (p, g, v) in enumerate(zip(params, grads, velocity)):
        if weight_decay and (decay_biases or i % 2 == 0):
            g = g + weight_decay * p
        if momentum:
            v *= momentum
            v += g
            g = v
        p -= lr * g


def train(params, X_train, y_train, X_val=None, y_val=None, *, loss, activation, lr, epochs,
          batch_size, rng, momentum=0.0, weight_decay=0.0, decay_biases=False, clip_norm=None,
          shuffle=True):
    history = History()
    velocity = [np.zeros_like(p) for p in params]
    n = len(X_train)
    for _ in range(epochs):
        order = rng.permutation(n) if shuffle else np.arange(n)
        loss_sum, norms = 0.0, []
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            out, cache = forward(params, X_train[batch], activation)
            batch_loss, dZ = loss_and_grad(out, y_train[batch], loss)
            grads = backward(params, cache, dZ, activation)
            norms.append(global_norm(grads))
            if clip_norm is not None:
                scale = min(1.0, clip_norm / (global_norm(grads) + 1e-6))
                grads = [g * scale for g in grads]
            sgd_step(params, grads, velocity, lr=lr, momentum=momentum, weight_decay=weight_decay,
                     decay_biases=decay_biases)
            loss_sum += batch_loss * len(batch)
        history.loss.append(loss_sum / n)
        history.grad_norm.append(float(np.mean(norms)))
        history.weight_norm.append(global_norm(params))
        if X_val is not None:
            history.val_loss.append(evaluate(params, X_val, y_val, loss, activation)[0])
    return history


def prepare(X, y, layers, *, loss, init, validation_split, seed):
    run_rng = np.random.default_rng(seed)
    n_out = int(y.max()) + 1 if loss == "ce" else y.shape[1]
    params = init_params([X.shape[1], *layers, n_out], init, run_rng)
    train_idx, val_idx = split(len(X), validation_split, run_rng)
    mean, std = X[train_idx].mean(axis=0), X[train_idx].std(axis=0)
    data = ((X[train_idx] - mean) / std, y[train_idx], (X[val_idx] - mean) / std, y[val_idx])
    return params, data, (mean, std), val_idx, run_rng


def predict(model, X):
    return forward(model["params"], (X - model["mean"]) / model["std"], model["activation"])[0]


# --------------------------------------------------------------------------
# ch06-ex-regression: the reference answer and its variants
# --------------------------------------------------------------------------


def make_train_mlp_regression(statistics="train", ddof=0, scale_y_val="train", with_validation=True,
                              validation_split_to_prepare=True, keepdims=False, one_mean=False,
                              hard_coded_activation=None, store_stats=True):
    """train_mlp_regression, right by default; each argument makes one plausible mistake."""

    def train_mlp_regression(X, y, layers, *, activation="tanh", init="glorot_normal", batch_size=32,
                             epochs=50, validation_split=0.2, lr=0.01, momentum=0.0, weight_decay=0.0,
                             decay_biases=False, clip_norm=None, seed=0):
        params, data, (mean, std), val_idx, run_rng = prepare(
            X, y, layers, loss="mse", init=init,
            validation_split=validation_split if validation_split_to_prepare else 0.0, seed=seed)
        X_train, y_train, X_val, y_val = data
        source = {"train": y_train, "all": y, "val": y_val}[statistics]
        if one_mean:
            y_mean, y_std = source.mean(), source.std(ddof=ddof)
        else:
            y_mean = source.mean(axis=0, keepdims=keepdims)
            y_std = source.std(axis=0, ddof=ddof, keepdims=keepdims)
        if scale_y_val == "train":
            y_val_scaled = (y_val - y_mean) / y_std
        elif scale_y_val == "own":
            y_val_scaled = (y_val - y_val.mean(axis=0)) / y_val.std(axis=0, ddof=ddof)
        else:
            y_val_scaled = y_val
        validation = (X_val, y_val_scaled) if with_validation else ()
        history = train(params, X_train, (y_train - y_mean) / y_std, *validation, loss="mse",
                        activation=hard_coded_activation or activation, lr=lr, epochs=epochs,
                        batch_size=batch_size, rng=run_rng, momentum=momentum,
                        weight_decay=weight_decay, decay_biases=decay_biases, clip_norm=clip_norm)
        model = {"params": params, "activation": activation, "mean": mean, "std": std,
                 "val_idx": val_idx}
        if store_stats:
            model.update(y_mean=y_mean, y_std=y_std)
        return model, history

    return train_mlp_regression


train_mlp_regression = make_train_mlp_regression()


def predict_regression(model, X):
    """The reference answer."""
    return predict(model, X) * model["y_std"] + model["y_mean"]


def train_stub(X, y, layers, **options):
    raise NotImplementedError("replace this line with your code")


def predict_stub(model, X):
    raise NotImplementedError("replace this line with your code")


def test_regression_reference_passes(capsys):
    assert check("ch06-ex-regression", train_mlp_regression, predict_regression)
    assert capsys.readouterr().out == (
        f"{TICK} train_mlp_regression and predict_regression pass all 2 test cases.\n")


@pytest.mark.parametrize("train_fn, predict_fn, name", [
    (train_stub, predict_stub, "train_mlp_regression"),
    (train_mlp_regression, predict_stub, "predict_regression"),
    (None, None, "train_mlp_regression"),
], ids=["both-stubs", "predict-stub", "placeholders"])
def test_regression_stub_is_not_answered_yet(train_fn, predict_fn, name, capsys):
    assert is_false(check("ch06-ex-regression", train_fn, predict_fn))
    assert f"{name} is not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("train_fn, predict_fn", [
    (make_train_mlp_regression(ddof=1), predict_regression),
    (make_train_mlp_regression(keepdims=True), predict_regression),
    (make_train_mlp_regression(ddof=1, keepdims=True), predict_regression),
    (train_mlp_regression,
     lambda model, X: forward(model["params"], (X - model["mean"]) / model["std"],
                              model["activation"])[0] * model["y_std"] + model["y_mean"]),
], ids=["ddof-1", "keepdims", "ddof-1-keepdims", "forward-directly"])
def test_regression_every_correct_form_passes(train_fn, predict_fn, capsys):
    assert check("ch06-ex-regression", train_fn, predict_fn)
    assert TICK in capsys.readouterr().out


@pytest.mark.parametrize("train_fn, predict_fn, fragment", [
    (make_train_mlp_regression(statistics="all"), predict_regression,
     "statistics of all 1,000 targets.*leak"),
    (make_train_mlp_regression(statistics="all", ddof=1), predict_regression, "leak"),
    (make_train_mlp_regression(statistics="val"), predict_regression,
     "statistics of the validation\\s+targets"),
    (make_train_mlp_regression(scale_y_val="raw"), predict_regression,
     "validation targets are not standardised"),
    (make_train_mlp_regression(scale_y_val="own"), predict_regression, "their own mean"),
    (make_train_mlp_regression(with_validation=False), predict_regression,
     "trained without validation data"),
    (make_train_mlp_regression(validation_split_to_prepare=False), predict_regression,
     "no validation set was held out"),
    (make_train_mlp_regression(one_mean=True), predict_regression,
     "Case 2 of 2.*one number, but y has m = 2 columns"),
    (make_train_mlp_regression(hard_coded_activation="tanh"), predict_regression,
     "Case 2 of 2.*training loss differs.*activation='tanh'.*pass activation on to train"),
    (make_train_mlp_regression(store_stats=False), predict_regression, "no 'y_mean', 'y_std'"),
    (train_mlp_regression, lambda model, X: predict(model, X), "still in standardised units"),
    (train_mlp_regression, lambda model, X: (predict(model, X) + model["y_mean"]) * model["y_std"],
     "reverse order"),
    (train_mlp_regression,
     lambda model, X: forward(model["params"], X, model["activation"])[0] * model["y_std"]
     + model["y_mean"], "inputs go into the network unscaled"),
    (train_mlp_regression, lambda model, X: None, "returned None"),
    (train_mlp_regression, lambda model, X: predict_regression(model, X).ravel(),
     "returned shape \\(200,\\), expected \\(200, 1\\)"),
], ids=["leak", "leak-ddof-1", "validation-statistics", "unscaled-y-val", "y-val-own-statistics",
        "no-validation-data", "no-validation-split", "one-mean-for-all-columns",
        "hard-coded-activation", "statistics-not-stored", "scaled-predictions", "add-then-multiply",
        "unscaled-X", "no-return", "flattened"])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")   # an empty validation set: its mean is NaN
def test_regression_mistakes_are_named(train_fn, predict_fn, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch06-ex-regression", train_fn, predict_fn)


def test_regression_trained_on_raw_targets_is_named():
    def raw_targets(X, y, layers, **o):
        model, _ = train_mlp_regression(X, y, layers, **o)
        params, data, _, _, run_rng = prepare(X, y, layers, loss="mse", init=o["init"],
                                              validation_split=o["validation_split"], seed=o["seed"])
        with np.errstate(over="ignore", invalid="ignore"):
            history = train(params, *data, loss="mse", activation=o["activation"], lr=o["lr"],
                            epochs=o["epochs"], batch_size=o["batch_size"], rng=run_rng,
                            momentum=o["momentum"], weight_decay=o["weight_decay"],
                            decay_biases=o["decay_biases"], clip_norm=o["clip_norm"])
        return model, history

    with pytest.raises(AssertionError, match="units of the original targets"):
        check("ch06-ex-regression", raw_targets, predict_regression)


def hard_coding(**fixed):
    """train_mlp_regression that ignores the options in ``fixed`` and uses these values."""
    def train_fn(X, y, layers, **options):
        return train_mlp_regression(X, y, layers, **{**options, **fixed})
    return train_fn


@pytest.mark.parametrize("fixed, fragment", [
    (dict(momentum=0.9), "Case 2 of 2.*run with momentum=0.9, but.*momentum=0.5: pass momentum on"),
    (dict(momentum=0.0), "Case 1 of 2.*run with momentum=0.0 \\(the default.*pass momentum on"),
    (dict(weight_decay=0.0), "Case 1 of 2.*weight_decay=0.0 \\(the default.*pass weight_decay on"),
    (dict(clip_norm=None), "Case 2 of 2.*clip_norm=None \\(the default.*pass clip_norm on"),
    (dict(decay_biases=False), "Case 2 of 2.*decay_biases=False \\(the default.*pass decay_biases on"),
    (dict(decay_biases=True), "Case 1 of 2.*run with decay_biases=True, but.*pass decay_biases on"),
    (dict(weight_decay=0.0, clip_norm=None, decay_biases=False), "pass weight_decay on to train"),
    (dict(lr=0.01), "Case 2 of 2.*lr=0.01 \\(the default.*pass lr on"),
    (dict(batch_size=32), "Case 2 of 2.*batch_size=32.*pass batch_size on"),
], ids=["momentum-0.9", "momentum-default", "no-weight-decay", "no-clipping", "biases-never-decayed",
        "biases-always-decayed", "three-options-dropped", "lr-default", "batch-size-default"])
def test_regression_options_not_passed_on_are_named(fixed, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch06-ex-regression", hard_coding(**fixed), predict_regression)


def test_regression_two_options_wrong_still_fail():
    """Two options hard-coded at once match no single-option run: the general hint."""
    with pytest.raises(AssertionError, match="Case 1 of 2.*pass every option"):
        check("ch06-ex-regression", hard_coding(momentum=0.5, lr=0.02), predict_regression)


def test_regression_errors_in_the_answer_are_the_learners():
    def broken(X, y, layers, **options):
        return 1 / 0

    with pytest.raises(ZeroDivisionError):
        check("ch06-ex-regression", broken, predict_regression)


def test_regression_answer_calling_the_referee_fails():
    case = ch06.regression_cases()[0]

    def calls_referee(X, y, layers, **options):
        ch06.regression_reference(case, 0)

    def calls_cached_referee(model, X):
        return ch06._reference(case, 0)["predictions"]

    with pytest.raises(RefereeCalled, match="reference"):
        check("ch06-ex-regression", calls_referee, predict_regression)
    with pytest.raises(RefereeCalled, match="reference"):
        check("ch06-ex-regression", train_mlp_regression, calls_cached_referee)


def _with_fit(X, y, layers, *, activation, init, batch_size, epochs, validation_split, lr,
              momentum, weight_decay, decay_biases, clip_norm, seed):
    """A run written like the chapter's comparison of its loop with the package's (scratch.mlp +
    scratch.SGD + fit): the check's independent route, so it is refused at its first call."""
    from mlp_course import scratch
    from mlp_course.training import fit, train_val_split

    rng = np.random.default_rng(seed)
    net = scratch.mlp([X.shape[1], *layers, y.shape[1]], activation=activation, init=init,
                      dtype=np.float64, rng=rng)
    _, train_idx, _, val_idx = train_val_split(X, np.arange(len(X)), validation_split, rng=rng)
    mean, std = X[train_idx].mean(axis=0), X[train_idx].std(axis=0)
    y_mean, y_std = y[train_idx].mean(axis=0), y[train_idx].std(axis=0)
    optimizer = scratch.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    history = fit(net, (X[train_idx] - mean) / std, (y[train_idx] - y_mean) / y_std,
                  scratch.MSELoss(), optimizer, epochs=epochs, batch_size=batch_size,
                  validation_data=((X[val_idx] - mean) / std, (y[val_idx] - y_mean) / y_std),
                  rng=rng, clip_norm=clip_norm)
    params = [p.data for p in net.parameters()]
    model = {"params": params, "activation": activation, "mean": mean, "std": std,
             "val_idx": val_idx, "y_mean": y_mean, "y_std": y_std}
    return model, history


def test_regression_answer_using_the_package_trainer_fails():
    """The exercise asks for the chapter's `train`; the message says so."""
    with pytest.raises(RefereeCalled, match="mlp_course.scratch.*chapter's train"):
        check("ch06-ex-regression", _with_fit, predict_regression)


def test_regression_answer_using_private_helpers_or_wrapped_referee_fails():
    def with_helper(X, y, layers, **options):
        model, history = train_mlp_regression(X, y, layers, **options)
        ch06._statistics(y, 0)
        return model, history

    def with_wrapped_referee(X, y, layers, **options):
        ch06.regression_reference.__wrapped__(ch06.regression_cases()[0], 0)
        return train_mlp_regression(X, y, layers, **options)

    for answer in (with_helper, with_wrapped_referee):
        with pytest.raises(RefereeCalled, match="mlp_course.exercises.ch06.*chapter's train"):
            check("ch06-ex-regression", answer, predict_regression)


def test_regression_answer_using_pytorch_fails():
    def with_torch(model, X):
        import torch
        return torch.as_tensor(predict_regression(model, X)).numpy()

    with pytest.raises(RefereeCalled, match="torch"):
        check("ch06-ex-regression", train_mlp_regression, with_torch)


def test_regression_cases_tell_the_mistakes_apart():
    """On every case the leak, the two ddofs and the mistaken predictions differ clearly."""
    for case in ch06.regression_cases():
        ref0, ref1 = ch06.regression_reference(case, 0), ch06.regression_reference(case, 1)
        y_train = case.y[ref0["train_idx"]]
        spread = y_train.std(axis=0)
        assert np.all(np.abs(case.y.mean(axis=0) - y_train.mean(axis=0)) > 1e-3 * spread)
        assert not np.allclose(ref0["predictions"], ref1["predictions"], rtol=1e-6)
        for key in ("predictions_standardised", "predictions_add_then_multiply", "predictions_raw_X"):
            assert not np.allclose(ref0[key], ref0["predictions"], rtol=1e-3)
        assert ref0["val_loss_raw_y_val"] > 100 * ref0["val_loss"][-1]
