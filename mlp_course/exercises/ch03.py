"""The checks of chapter 3's coding exercises, keyed by exercise label.

* ``ch03-ex-count``: ``count_parameters(layer_sizes)``, compared with the
  parameter counts of networks built by ``mlp_course.scratch`` and by PyTorch.
* ``ch03-ex-forward``: ``mlp_forward(X, weights, biases)``, compared with the
  probabilities of the same networks in ``mlp_course.scratch`` and in PyTorch
  (float64).

Both are to be written in NumPy (``mlp_course.scratch.functional`` is allowed):
an answer that calls PyTorch, the course's layers or this module fails
(:func:`~mlp_course.exercises.checks.answer_running`). The mistakes of each
check come in the order in which they are tried: where two give the same
result on the first failing case, the first one's hint is shown.
"""

from __future__ import annotations

import functools

import numpy as np

from mlp_course.exercises.checks import check_function, referee
from mlp_course.exercises.registry import exercise

# --------------------------------------------------------------------------
# ch03-ex-count
# --------------------------------------------------------------------------

#: Architectures, input first. The first is the chapter's network; the others
#: have several hidden layers, a single layer, and sizes of every order.
COUNT_SIZES = (
    [784, 512, 10],
    [784, 128, 64, 10],
    [2, 4, 4, 1],
    [10, 64, 32, 1],
    [3, 1],
    [784, 512, 256, 10],
)


@referee
def _count_by_scratch(sizes):
    """The number of parameters of ``scratch.mlp(sizes)``."""
    from mlp_course import scratch

    # An explicit generator, so that the check leaves the notebook's random draws alone.
    return scratch.mlp(sizes, rng=np.random.default_rng(0)).num_parameters()


@referee
def _count_by_torch(sizes):
    """The number of parameters of ``torch.nn.Linear`` layers of these sizes."""
    import torch

    # Meta tensors hold no numbers, and fork_rng leaves the notebook's torch seed alone.
    with torch.random.fork_rng(devices=[]):
        layers = [torch.nn.Linear(n_in, n_out, device="meta") for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return sum(p.numel() for p in torch.nn.Sequential(*layers).parameters())


def _count_cases():
    cases = []
    for sizes in COUNT_SIZES:
        by_scratch, by_torch = _count_by_scratch(sizes), _count_by_torch(sizes)
        if by_scratch != by_torch:  # pragma: no cover - the referees disagree: a bug of the check
            raise RuntimeError(f"ch03-ex-count: the referees disagree on {sizes}: {by_scratch} vs {by_torch}")
        cases.append(((list(sizes),), by_scratch))
    return cases


def _pairs(sizes):
    return list(zip(sizes[:-1], sizes[1:]))


def _weights_only(sizes):
    return sum(n_in * n_out for n_in, n_out in _pairs(sizes))


def _one_bias_per_layer(sizes):
    return sum(n_in * n_out + 1 for n_in, n_out in _pairs(sizes))


def _one_bias_per_network(sizes):
    return _weights_only(sizes) + 1


def _output_biases_only(sizes):
    return _weights_only(sizes) + sizes[-1]


def _hidden_biases_only(sizes):
    return _weights_only(sizes) + sum(sizes[1:-1])


def _biases_on_inputs_too(sizes):
    return _weights_only(sizes) + sum(sizes)


def _bias_per_input(sizes):
    return sum((n_out + 1) * n_in for n_in, n_out in _pairs(sizes))


def _bias_as_input_and_neuron(sizes):
    return sum((n_in + 1) * (n_out + 1) for n_in, n_out in _pairs(sizes))


def _first_two_layers_only(sizes):
    """The count of 784-512-10 written out for two layers, whatever the list holds."""
    return sum((n_in + 1) * n_out for n_in, n_out in _pairs(sizes)[:2])


def _last_layer_left_out(sizes):
    return sum((n_in + 1) * n_out for n_in, n_out in _pairs(sizes)[:-1])


def _first_layer_left_out(sizes):
    return sum((n_in + 1) * n_out for n_in, n_out in _pairs(sizes)[1:])


COUNT_MISTAKES = [
    (_weights_only, "only the weights are counted: each layer l also has d_l biases, one per neuron."),
    (_one_bias_per_layer, "one bias per layer: a layer has one bias per neuron, d_l of them."),
    (_one_bias_per_network, "a single bias for the whole network: every layer l has its own d_l biases."),
    (_output_biases_only, "only the output layer's biases are counted: every layer l has d_l biases."),
    # For 784-512-10 the hidden layers are the first layer: this also names "+ layer_sizes[1]".
    (_hidden_biases_only, "the output layer's biases are missing: only the hidden layers' biases are "
                          "counted, but every layer l = 1, ..., D has d_l biases, the output layer's d_D "
                          "included."),
    (_biases_on_inputs_too, "the inputs got biases too: the input sizes list starts with d_0, which has "
                            "no bias; only layers l = 1, ..., D have biases."),
    (_bias_per_input, "one bias per input instead of one per neuron: a layer with d_in inputs and d_out "
                      "neurons has (d_in + 1) * d_out parameters."),
    (_bias_as_input_and_neuron, "(d_in + 1) * (d_out + 1) counts the bias as an extra neuron too: a layer has "
                                "d_out neurons, each with d_in weights and one bias, (d_in + 1) * d_out in all."),
    # Before the off-by-one: an answer that is right for D = 2 (case 1) and wrong for D = 3 (case 2)
    # hard-coded two layers; a loop that is off by one already fails case 1.
    (_first_two_layers_only, "only two layers are counted, as in 784-512-10: sizes d_0, ..., d_D make "
                             "D = len(layer_sizes) - 1 layers; loop over every neighbouring pair instead "
                             "of writing out two."),
    (_last_layer_left_out, "the last layer is left out (off by one over the sizes list): sizes d_0, ..., d_D "
                           "make D = len(layer_sizes) - 1 layers, one for each neighbouring pair."),
    (_first_layer_left_out, "the first layer is left out (off by one over the sizes list): sizes d_0, ..., "
                            "d_D make D = len(layer_sizes) - 1 layers, one for each neighbouring pair."),
]


@exercise("ch03-ex-count", answers=("count_parameters",), points=2)
def _check_count(count_parameters):
    return check_function(count_parameters, _count_cases(), name="count_parameters", rtol=0, atol=0,
                          mistakes=COUNT_MISTAKES, case_names=[str(sizes) for sizes in COUNT_SIZES])


# --------------------------------------------------------------------------
# ch03-ex-forward
# --------------------------------------------------------------------------


@referee
def _forward_by_scratch(X, weights, biases):
    """mlp_course.scratch: Linear and ReLU modules, then Softmax, with these weights (float64)."""
    from mlp_course import scratch

    modules = []
    for layer, (W, b) in enumerate(zip(weights, biases)):
        linear = scratch.Linear(*W.shape, dtype=np.float64, rng=np.random.default_rng(0))
        linear.weight.data[...] = W
        linear.bias.data[...] = b
        modules += [linear, scratch.ReLU() if layer < len(weights) - 1 else scratch.Softmax()]
    return scratch.Sequential(*modules)(X)


@referee
def _forward_by_torch(X, weights, biases):
    """PyTorch's functional layers: linear (weight stored as (out, in)), relu, softmax (float64)."""
    import torch

    A = torch.from_numpy(X)
    for layer, (W, b) in enumerate(zip(weights, biases)):
        A = torch.nn.functional.linear(A, torch.from_numpy(np.ascontiguousarray(W.T)), torch.from_numpy(b))
        A = torch.relu(A) if layer < len(weights) - 1 else torch.softmax(A, dim=1)
    return A.numpy()


@functools.lru_cache(maxsize=1)
def _digit_images() -> np.ndarray:
    """Six real MNIST digits in float64, drawn once (loading takes a second or two)."""
    from mlp_course.data import load_mnist_subset

    X_all, _ = load_mnist_subset(dtype=np.float64)
    rows = np.random.default_rng(3).choice(len(X_all), size=6, replace=False)
    images = X_all[rows]
    images.flags.writeable = False
    return images


def _network(sizes, rng, weight_scale=None, bias_scale=1.0):
    """Normal weights (std weight_scale, or 1/sqrt(d_in) when None) and normal biases, float64."""
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        scale = 1.0 / np.sqrt(n_in) if weight_scale is None else weight_scale
        weights.append(rng.normal(0.0, scale, size=(n_in, n_out)))
        biases.append(rng.normal(0.0, bias_scale, size=n_out))
    return weights, biases


#: What each case is, for the messages: a failing case is named by it.
FORWARD_CASE_NAMES = [
    "a 5-5-5 network on 5 examples, every array square",
    "the 784-512-10 digit network on 6 MNIST images",
    "a 7-5-4-3 network, D = 3 layers, on 9 examples",
    "a single layer 4-3, D = 1, so no ReLU at all, on 6 examples",
    "a 3-6-4 network with large logits (thousands), on 8 examples",
]


def _forward_cases():
    rng = np.random.default_rng(2026)
    square = (rng.normal(size=(5, 5)), *_network([5, 5, 5], rng, weight_scale=1.0))
    digits = (np.array(_digit_images()), *_network([784, 512, 10], rng, bias_scale=0.5))
    deeper = (rng.normal(size=(9, 7)), *_network([7, 5, 4, 3], rng, weight_scale=1.0))
    one_layer = (rng.normal(size=(6, 4)), *_network([4, 3], rng, weight_scale=1.0))
    large = (rng.normal(size=(8, 3)), *_network([3, 6, 4], rng, weight_scale=30.0))
    cases = []
    for args in (square, digits, deeper, one_layer, large):
        expected = _forward_by_torch(*args)
        by_scratch = _forward_by_scratch(*args)
        if not np.allclose(by_scratch, expected, rtol=1e-12, atol=1e-15):  # pragma: no cover
            raise RuntimeError("ch03-ex-forward: the two referees disagree: a bug of the check")
        cases.append((args, expected))
    return cases


def _relu(Z):
    return np.maximum(Z, 0)


def _softmax(Z, axis=1):
    exps = np.exp(Z - Z.max(axis=axis, keepdims=True))
    return exps / exps.sum(axis=axis, keepdims=True)


def _quiet(mistake):
    """A mistake run without NumPy's warnings: its overflow or 0/0 is the point, not news for the learner."""

    @functools.wraps(mistake)
    def run(*args):
        with np.errstate(all="ignore"):
            return mistake(*args)

    return run


@referee
def _layers(X, weights, biases, *, layer, hidden, output):
    """A forward pass whose layer, hidden activation and output can each be made wrong (no defaults:
    every mistake says which part it changes)."""
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = hidden(layer(A, W, b))
    return output(layer(A, weights[-1], biases[-1]))


def _affine(A, W, b):
    return A @ W + b


def _column_bias_layer(A, W, b):
    return A @ W + b.reshape(-1, 1)


@referee
def _wrong(X, weights, biases, layer=_affine, hidden=_relu, output=_softmax):
    """The forward pass with one part changed (a referee too: with no part changed it is right)."""
    return _layers(X, weights, biases, layer=layer, hidden=hidden, output=output)


def _relu_on_output(X, weights, biases):
    return _wrong(X, weights, biases, output=lambda Z: _softmax(_relu(Z)))


def _logits(X, weights, biases):
    return _wrong(X, weights, biases, output=lambda Z: Z)


def _predicted_classes(X, weights, biases):
    return _wrong(X, weights, biases).argmax(axis=1)


def _softmax_over_examples(X, weights, biases):
    return _wrong(X, weights, biases, output=lambda Z: _softmax(Z, axis=0))


def _overflowing_softmax(X, weights, biases):
    return _wrong(X, weights, biases, output=lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True))


def _batch_max_shift(X, weights, biases):
    def softmax(Z):
        exps = np.exp(Z - Z.max())
        return exps / exps.sum(axis=1, keepdims=True)

    return _wrong(X, weights, biases, output=softmax)


def _row_mean_shift(X, weights, biases):
    def softmax(Z):
        exps = np.exp(Z - Z.mean(axis=1, keepdims=True))
        return exps / exps.sum(axis=1, keepdims=True)

    return _wrong(X, weights, biases, output=softmax)


def _column_max_shift(X, weights, biases):
    def softmax(Z):
        exps = np.exp(Z - Z.max(axis=0, keepdims=True))
        return exps / exps.sum(axis=1, keepdims=True)

    return _wrong(X, weights, biases, output=softmax)


def _softmax_without_keepdims(max_keeps, sum_keeps):
    def softmax(Z):
        exps = np.exp(Z - Z.max(axis=1, keepdims=max_keeps))
        return exps / exps.sum(axis=1, keepdims=sum_keeps)

    def mistake(X, weights, biases):
        return _wrong(X, weights, biases, output=softmax)

    return mistake


def _softmax_everywhere(X, weights, biases):
    return _wrong(X, weights, biases, hidden=_softmax)


def _sigmoid_output(X, weights, biases):
    return _wrong(X, weights, biases, output=lambda Z: 1.0 / (1.0 + np.exp(-Z)))


def _relu_on_input(X, weights, biases):
    return _wrong(_relu(X), weights, biases)


def _no_bias(X, weights, biases):
    return _wrong(X, weights, biases, layer=lambda A, W, b: A @ W)


def _no_output_bias(X, weights, biases):
    return _wrong(X, weights, biases[:-1] + [0.0 * biases[-1]])


def _no_hidden_bias(X, weights, biases):
    return _wrong(X, weights, [0.0 * b for b in biases[:-1]] + [biases[-1]])


def _column_bias(X, weights, biases):
    return _wrong(X, weights, biases, layer=_column_bias_layer)


def _column_bias_hidden(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = _relu(_column_bias_layer(A, W, b))
    return _softmax(_affine(A, weights[-1], biases[-1]))


def _column_bias_output(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = _relu(_affine(A, W, b))
    return _softmax(_column_bias_layer(A, weights[-1], biases[-1]))


def _biases_shifted(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[1:]):
        A = _relu(A @ W + b)
    return _softmax(A @ weights[-1] + biases[-1])


def _torch_layout(X, weights, biases):
    return _wrong(X, weights, biases, layer=lambda A, W, b: A @ W.T + b)


def _column_product(X, weights, biases):
    return _wrong(X, weights, biases, layer=lambda A, W, b: W.T @ A + b)


def _two_layers_only(X, weights, biases):
    """The chapter's forward of the 784-512-10 network: exactly two layers, whatever the lists hold."""
    A1 = _relu(X @ weights[0] + biases[0])
    return _softmax(A1 @ weights[1] + biases[1])


def _a_hidden_layer_skipped(X, weights, biases):
    """The loop over the hidden layers stops one layer early (range(len(weights) - 2))."""
    A = X
    for W, b in zip(weights[:-2], biases[:-2]):
        A = _relu(A @ W + b)
    return _softmax(A @ weights[-1] + biases[-1])


_KEEPDIMS = ("softmax without keepdims=True: Z.max(axis=1) and .sum(axis=1) then have shape (N,), and NumPy "
             "lines them up with the columns of Z, so column j is shifted or divided by row j's number (this "
             "case is square, so nothing complained). Keep the axis, keepdims=True, so that every row uses "
             "its own maximum and sum.")
_COLUMN_BIAS = ("a bias of shape (d_l, 1), a column: NumPy adds b[i] to row i, an example, instead of b[k] to "
                "column k, a neuron (this case is square, so nothing complained). Keep every bias of shape "
                "(d_l,), as the chapter's assert_bias_shape demands.")

FORWARD_MISTAKES = [(_quiet(mistake), hint) for mistake, hint in [
    (_logits, "these are the logits: apply softmax to the last layer's output, so that each row holds "
              "probabilities."),
    (_predicted_classes, "these are the predicted classes (argmax): return the probabilities P themselves, "
                         "one row of d_D numbers per example."),
    (_relu_on_output, "ReLU is applied to the last layer too: ReLU goes after every layer but the last, "
                      "and the logits go straight into softmax (with one layer, D = 1, there is no ReLU)."),
    (_softmax_everywhere, "softmax is applied after the hidden layers too: the hidden layers use ReLU, and "
                          "softmax comes once, after the last layer."),
    (_sigmoid_output, "a sigmoid of each logit on its own: softmax turns each row of logits into "
                      "probabilities that sum to 1."),
    (_relu_on_input, "ReLU is applied to the input X too: the first layer reads X as it is; ReLU comes "
                     "after the product and the bias."),
    (_softmax_over_examples, "softmax over axis 0, the examples: each row (one example) must sum to 1, so "
                             "normalise along axis 1."),
    (_softmax_without_keepdims(False, False), _KEEPDIMS),
    (_softmax_without_keepdims(True, False), _KEEPDIMS),
    (_softmax_without_keepdims(False, True), _KEEPDIMS),
    (_column_max_shift, "each column is shifted by its own maximum (axis=0): softmax stays the same only "
                        "when all the logits of a row are shifted by one number, so subtract each row's "
                        "largest logit, Z.max(axis=1, keepdims=True)."),
    (_overflowing_softmax, "np.exp overflowed on large logits (inf / inf gives nan): subtract each row's "
                           "largest logit before np.exp, as the chapter's softmax does."),
    (_batch_max_shift, "the logits are shifted by the largest logit of the whole batch (Z.max() without an "
                       "axis): in a row whose logits all lie far below it, every np.exp underflows to 0, and "
                       "0 / 0 gives nan. Subtract each row's own largest logit, Z.max(axis=1, keepdims=True)."),
    (_row_mean_shift, "the logits are shifted by their row's mean, not its maximum: the largest logit can "
                      "still lie hundreds above the mean, np.exp overflows to inf, and inf / inf gives nan. "
                      "Subtract the row's largest logit, so that the largest exponent is exp(0) = 1."),
    (_no_bias, "the biases are missing: every layer computes A @ W + b."),
    (_no_output_bias, "the last layer's bias is missing: the logits are A @ W + b for the last W and b too."),
    (_no_hidden_bias, "a hidden layer's bias is missing: every layer computes A @ W + b."),
    (_column_bias, _COLUMN_BIAS),
    (_column_bias_hidden, _COLUMN_BIAS),
    (_column_bias_output, _COLUMN_BIAS),
    (_biases_shifted, "the biases are paired with the wrong layers: weights[l] goes with biases[l], so the "
                      "hidden layers use zip(weights[:-1], biases[:-1])."),
    (_torch_layout, "the weights are used transposed (A @ W.T, PyTorch's (out, in) layout): here "
                    "weights[l] has shape (d_l, d_(l+1)) and a layer computes A @ W + b."),
    (_column_product, "W.T @ A treats examples as columns, but the rows of X are the examples: a layer "
                      "computes A @ W + b."),
    (_two_layers_only, "only two layers are used, as in the 784-512-10 network's forward: loop over all "
                       "D = len(weights) layers instead of hard-coding two."),
    (_a_hidden_layer_skipped, "a hidden layer is skipped: the loop over the hidden layers stops one layer "
                              "early. There are D - 1 of them, weights[:-1] (range(len(weights) - 1)), "
                              "then the last layer."),
]]


@exercise("ch03-ex-forward", answers=("mlp_forward",), points=3)
def _check_forward(mlp_forward):
    return check_function(mlp_forward, _forward_cases(), name="mlp_forward", mistakes=FORWARD_MISTAKES,
                          case_names=FORWARD_CASE_NAMES)
