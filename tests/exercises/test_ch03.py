"""The checks of chapter 3 (mlp_course/exercises/ch03.py): every key passes its
reference answer, waits for the untouched stub, names the plausible mistakes,
accepts every correct form the chapter teaches, and refuses a referee's help."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest

from mlp_course.exercises import NotAnswered, RefereeCalled, check, grade, keys
from mlp_course.exercises import ch03
from mlp_course.scratch import functional as F

NOT_ANSWERED = "is not answered yet"


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch03") == ["ch03-ex-count", "ch03-ex-forward"]


def _assert_passes(capsys, key, answer):
    assert check(key, answer)
    out = capsys.readouterr().out
    assert out.startswith("\u2713 ") and out.count("\n") == 1, out


def _assert_waits(capsys, key, stub):
    result = check(key, stub)
    assert not result and result == False  # noqa: E712 (a CheckResult, equal to False)
    out = capsys.readouterr().out
    assert NOT_ANSWERED in out and "\u2713" not in out and out.count("\n") == 1, out
    with pytest.raises(NotAnswered):
        grade(key, stub)


# --------------------------------------------------------------------------
# ch03-ex-count
# --------------------------------------------------------------------------


def count_parameters(layer_sizes):
    """The reference answer, as in the chapter's solution."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(layer_sizes[:-1], layer_sizes[1:]))


def count_stub(layer_sizes):
    raise NotImplementedError("replace this line with your code")


def test_count_reference_passes(capsys):
    _assert_passes(capsys, "ch03-ex-count", count_parameters)
    grade("ch03-ex-count", count_parameters)


@pytest.mark.parametrize("stub", [count_stub, None])
def test_count_untouched_stub_is_not_answered_yet(stub, capsys):
    _assert_waits(capsys, "ch03-ex-count", stub)


def _weights_and_biases(sizes):
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def _by_index(sizes):
    total = 0
    for l in range(1, len(sizes)):
        total += sizes[l - 1] * sizes[l] + sizes[l]
    return total


def _numpy_dot(sizes):
    sizes = np.asarray(sizes)
    return np.dot(sizes[:-1], sizes[1:]) + sizes[1:].sum()          # an np.int64


def _torch_shape(sizes):
    # The weight as PyTorch stores it, (d_out, d_in): the count is the same.
    shapes = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    return sum(int(np.prod(w)) + int(np.prod(b)) for w, b in shapes)


def _as_float(sizes):
    return float(count_parameters(sizes))


@pytest.mark.parametrize("answer", [_weights_and_biases, _by_index, _numpy_dot, _torch_shape, _as_float])
def test_count_accepts_every_correct_form(answer, capsys):
    _assert_passes(capsys, "ch03-ex-count", answer)


def _only_weights(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def _plus_one_per_layer(sizes):
    return sum(a * b + 1 for a, b in zip(sizes[:-1], sizes[1:]))


def _plus_one(sizes):
    return _only_weights(sizes) + 1


def _output_biases(sizes):
    return _only_weights(sizes) + sizes[-1]


def _first_biases(sizes):
    return _only_weights(sizes) + sizes[1]


def _every_size_has_biases(sizes):
    return _only_weights(sizes) + sum(sizes)


def _bias_per_input(sizes):
    return sum(a * b + a for a, b in zip(sizes[:-1], sizes[1:]))


def _hidden_biases(sizes):
    return _only_weights(sizes) + sum(sizes[1:-1])


def _bias_as_neuron_too(sizes):
    return sum((a + 1) * (b + 1) for a, b in zip(sizes[:-1], sizes[1:]))


def _two_layers_written_out(sizes):
    d0, d1, d2 = sizes[0], sizes[1], sizes[2]
    return d0 * d1 + d1 + d1 * d2 + d2


def _two_layers_in_a_loop(sizes):
    return sum((sizes[l] + 1) * sizes[l + 1] for l in range(2))


def _range_too_short(sizes):
    return sum((sizes[l] + 1) * sizes[l + 1] for l in range(len(sizes) - 2))


def _starts_at_one(sizes):
    return sum((sizes[l] + 1) * sizes[l + 1] for l in range(1, len(sizes) - 1))


@pytest.mark.parametrize("answer, hint", [
    (_only_weights, "only the weights are counted"),
    (_plus_one_per_layer, "one bias per layer"),
    (_plus_one, "a single bias for the whole network"),
    (_output_biases, "only the output layer's biases"),
    (_first_biases, "the output layer's biases are missing"),    # for 784-512-10 the first layer is the hidden one
    (_hidden_biases, "the output layer's biases are missing"),
    (_bias_as_neuron_too, r"counts the bias as an extra neuron too"),
    (_every_size_has_biases, "the inputs got biases too"),
    (_bias_per_input, "one bias per input instead of one per neuron"),
    (_range_too_short, "the last layer is left out"),
    (_starts_at_one, "the first layer is left out"),
])
def test_count_names_each_plausible_mistake(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check("ch03-ex-count", answer)


@pytest.mark.parametrize("answer", [_two_layers_written_out, _two_layers_in_a_loop])
def test_count_names_a_hard_coded_depth_not_an_off_by_one(answer):
    # Right for D = 2 (case 1), wrong for D = 3 (case 2): two layers written out, not a loop off by one.
    with pytest.raises(AssertionError, match=r"Case 2 of 6 .*Likely mistake: only two layers are counted") as info:
        check("ch03-ex-count", answer)
    assert "off by one" not in str(info.value)


def test_count_says_which_architecture_and_by_how_much():
    with pytest.raises(AssertionError, match=r"\(\[784, 512, 10\]\).*407040, expected 407050 \(off by 10\)"):
        check("ch03-ex-count", _first_biases)


def test_count_catches_a_hard_coded_network():
    with pytest.raises(AssertionError, match=r"Case 2 of 6 \(\[784, 128, 64, 10\]\)"):
        check("ch03-ex-count", lambda sizes: 784 * 512 + 512 + 512 * 10 + 10)


def test_count_refuses_the_referees():
    for referee in (ch03._count_by_scratch, ch03._count_by_torch):
        with pytest.raises(RefereeCalled, match="calls the check's own reference"):
            check("ch03-ex-count", lambda sizes, referee=referee: referee(sizes))


def _count_by_building_scratch(sizes):
    from mlp_course import scratch

    return scratch.mlp(sizes).num_parameters()


def _count_by_building_torch(sizes):
    import torch

    layers = [torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    return sum(p.numel() for p in torch.nn.Sequential(*layers).parameters())


@pytest.mark.parametrize("answer, called", [
    (_count_by_building_scratch, "mlp_course.scratch"),
    (_count_by_building_torch, "torch"),
    (lambda sizes: ch03._weights_only(sizes) + sum(sizes[1:]), "mlp_course.exercises.ch03._weights_only"),
    (lambda sizes: ch03._count_by_scratch.__wrapped__(sizes), "mlp_course.exercises.ch03._count_by_scratch"),
    (lambda sizes: dict((str(a[0]), e) for a, e in ch03._count_cases())[str(sizes)], "reference"),
])
def test_count_refuses_answers_that_let_the_library_or_the_check_count(answer, called):
    # The statement asks for the count from the sizes alone: building the network and asking it, or calling
    # the check's own helpers, fails.
    with pytest.raises(RefereeCalled, match=f"your answer calls.*{called}"):
        check("ch03-ex-count", answer)


# --------------------------------------------------------------------------
# ch03-ex-forward
# --------------------------------------------------------------------------


def relu(Z):
    """As in the chapter."""
    return np.maximum(Z, 0)


def softmax(Z):
    """As in the chapter: shifted by each row's largest logit."""
    exps = np.exp(Z - Z.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def mlp_forward(X, weights, biases):
    """The reference answer, as in the chapter's solution."""
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W + b)
    return softmax(A @ weights[-1] + biases[-1])


def forward_stub(X, weights, biases):
    raise NotImplementedError("replace this line with your code")


def test_forward_reference_passes(capsys):
    _assert_passes(capsys, "ch03-ex-forward", mlp_forward)
    grade("ch03-ex-forward", mlp_forward)


@pytest.mark.parametrize("stub", [forward_stub, None])
def test_forward_untouched_stub_is_not_answered_yet(stub, capsys):
    _assert_waits(capsys, "ch03-ex-forward", stub)


def _by_index_with_if(X, weights, biases):
    A = X
    for l in range(1, len(weights) + 1):
        Z = A @ weights[l - 1] + biases[l - 1]
        A = relu(Z) if l < len(weights) else softmax(Z)
    return A


def _columns_convention(X, weights, biases):
    # Examples as columns, z = W^T x + b, and back to rows at the end: the same numbers.
    A = X.T
    for l, (W, b) in enumerate(zip(weights, biases)):
        Z = W.T @ A + b[:, None]
        A = np.maximum(0, Z) if l < len(weights) - 1 else Z
    return softmax(A.T)


def _library_functions(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        Z = A @ W + b
        A = Z * (Z > 0)
    return F.softmax(A @ weights[-1] + biases[-1], axis=1)


def _via_logsumexp(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = np.where(A @ W + b > 0, A @ W + b, 0.0)
    Z = A @ weights[-1] + biases[-1]
    return np.exp(Z - F.logsumexp(Z, axis=1, keepdims=True))


def _recursive(X, weights, biases):
    Z = X @ weights[0] + biases[0]
    if len(weights) == 1:
        return softmax(Z)
    return _recursive(relu(Z), weights[1:], biases[1:])


def _in_place(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = A @ W
        A += b
        np.maximum(A, 0, out=A)
    Z = A @ weights[-1]
    Z += biases[-1]
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)
    return Z


def _in_float32(X, weights, biases):
    # The chapter stores its network in float32; the check's tolerance accepts that rounding.
    A = X.astype(np.float32)
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W.astype(np.float32) + b.astype(np.float32))
    return softmax(A @ weights[-1].astype(np.float32) + biases[-1].astype(np.float32))


def _as_a_list(X, weights, biases):
    return mlp_forward(X, weights, biases).tolist()


@pytest.mark.parametrize("answer", [_by_index_with_if, _columns_convention, _library_functions,
                                    _via_logsumexp, _recursive, _in_place, _in_float32, _as_a_list])
def test_forward_accepts_every_correct_form(answer, capsys):
    _assert_passes(capsys, "ch03-ex-forward", answer)


def _relu_everywhere(X, weights, biases):
    A = X
    for W, b in zip(weights, biases):
        A = relu(A @ W + b)
    return softmax(A)


def _first_layer_always_relu(X, weights, biases):
    A = relu(X @ weights[0] + biases[0])
    for W, b in zip(weights[1:-1], biases[1:-1]):
        A = relu(A @ W + b)
    if len(weights) > 1:
        A = A @ weights[-1] + biases[-1]
    return softmax(A)


def _returns_logits(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W + b)
    return A @ weights[-1] + biases[-1]


def _softmax_axis_0(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W + b)
    Z = A @ weights[-1] + biases[-1]
    exps = np.exp(Z - Z.max(axis=0))
    return exps / exps.sum(axis=0)


def _naive_softmax(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W + b)
    Z = A @ weights[-1] + biases[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)


def _no_biases(X, weights, biases):
    A = X
    for W in weights[:-1]:
        A = relu(A @ W)
    return softmax(A @ weights[-1])


def _no_output_bias(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W + b)
    return softmax(A @ weights[-1])


def _no_hidden_bias(X, weights, biases):
    A = X
    for W in weights[:-1]:
        A = relu(A @ W)
    return softmax(A @ weights[-1] + biases[-1])


def _transposed_weights(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W.T + b)
    return softmax(A @ weights[-1].T + biases[-1])


def _columns_without_transposing_x(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(W.T @ A + b)
    return softmax(weights[-1].T @ A + biases[-1])


def _the_chapters_two_layers(X, weights, biases):
    W1, W2 = weights[0], weights[1]
    b1, b2 = biases[0], biases[1]
    return softmax(relu(X @ W1 + b1) @ W2 + b2)


def _forward_with(hidden=relu, output=softmax, layer=lambda A, W, b: A @ W + b, X_first=lambda X: X):
    """The reference forward with one part replaced: a learner's variant."""
    def forward(X, weights, biases):
        A = X_first(X)
        for W, b in zip(weights[:-1], biases[:-1]):
            A = hidden(layer(A, W, b))
        return output(layer(A, weights[-1], biases[-1]))
    return forward


def _softmax_no_keepdims(Z):
    exps = np.exp(Z - Z.max(axis=1))
    return exps / exps.sum(axis=1)


def _softmax_sum_without_keepdims(Z):
    exps = np.exp(Z - Z.max(axis=1, keepdims=True))
    return exps / exps.sum(axis=1)


def _softmax_batch_max(Z):
    exps = np.exp(Z - Z.max())
    return exps / exps.sum(axis=1, keepdims=True)


def _softmax_row_mean(Z):
    exps = np.exp(Z - Z.mean(axis=1, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def _softmax_column_max(Z):
    exps = np.exp(Z - Z.max(axis=0, keepdims=True))
    return exps / exps.sum(axis=1, keepdims=True)


def _softmax_after_every_layer(X, weights, biases):
    A = X
    for W, b in zip(weights, biases):
        A = softmax(A @ W + b)
    return A


def _hidden_loop_one_short(X, weights, biases):
    A = X
    for l in range(len(weights) - 2):
        A = relu(A @ weights[l] + biases[l])
    return softmax(A @ weights[-1] + biases[-1])


def _biases_one_ahead(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[1:]):
        A = relu(A @ W + b)
    return softmax(A @ weights[-1] + biases[-1])


def _column_bias_in_the_hidden_layers(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W + b[:, None])
    return softmax(A @ weights[-1] + biases[-1])


_QUIET = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # the learner's own overflow and 0/0


@pytest.mark.parametrize("answer, hint, case", [
    (_forward_with(output=lambda Z: softmax(Z).argmax(axis=1)), r"these are the predicted classes \(argmax\)", 1),
    (_forward_with(hidden=softmax), "softmax is applied after the hidden layers too", 1),
    (_softmax_after_every_layer, "softmax is applied after the hidden layers too", 1),
    (_forward_with(output=lambda Z: 1 / (1 + np.exp(-Z))), "a sigmoid of each logit on its own", 1),
    (_forward_with(X_first=relu), "ReLU is applied to the input X too", 1),
    (_forward_with(output=_softmax_no_keepdims), "softmax without keepdims=True", 1),
    (_forward_with(output=_softmax_sum_without_keepdims), "softmax without keepdims=True", 1),
    (_forward_with(output=_softmax_column_max), r"each column is shifted by its own maximum \(axis=0\)", 1),
    pytest.param(_forward_with(output=_softmax_batch_max), "the logits are shifted by the largest logit of the whole",
                 5, marks=_QUIET),
    pytest.param(_forward_with(output=_softmax_row_mean), "the logits are shifted by their row's mean", 5,
                 marks=_QUIET),
    (_forward_with(layer=lambda A, W, b: A @ W + b.reshape(-1, 1)), r"a bias of shape \(d_l, 1\), a column", 1),
    (_column_bias_in_the_hidden_layers, r"a bias of shape \(d_l, 1\), a column", 1),
    (_hidden_loop_one_short, "a hidden layer is skipped", 1),
    (_biases_one_ahead, "the biases are paired with the wrong layers", 1),
])
def test_forward_names_the_other_mistakes_a_learner_makes(answer, hint, case):
    with pytest.raises(AssertionError, match=rf"(?s)^Case {case} of 5 .*Likely mistake: {hint}"):
        check("ch03-ex-forward", answer)


def _softmax_row_mean_quietly(Z):
    with np.errstate(all="ignore"):   # the learner silenced their own overflow
        return _softmax_row_mean(Z)


def test_forward_mistakes_print_no_warnings_of_their_own():
    # The mistakes overflow on purpose (case 5); their warnings would read as the learner's.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(AssertionError, match="Likely mistake: the logits are shifted by their row's mean"):
            check("ch03-ex-forward", _forward_with(output=_softmax_row_mean_quietly))
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]
    # ... and would be there without the check's care:
    (args, _), = ch03._forward_cases()[4:]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ch03._row_mean_shift(*args)
    assert [w for w in caught if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("answer, hint, case", [
    (_relu_everywhere, "ReLU is applied to the last layer too", 1),
    (_first_layer_always_relu, "ReLU is applied to the last layer too", 4),
    (_returns_logits, "these are the logits", 1),
    (_softmax_axis_0, "softmax over axis 0, the examples", 1),
    (_naive_softmax, "np.exp overflowed on large logits", 5),
    (_no_biases, "the biases are missing", 1),
    (_no_output_bias, "the last layer's bias is missing", 1),
    (_no_hidden_bias, "a hidden layer's bias is missing", 1),
    (_transposed_weights, r"the weights are used transposed \(A @ W.T", 1),
    (_columns_without_transposing_x, "W.T @ A treats examples as columns", 1),
    (_the_chapters_two_layers, "only two layers are used", 3),
])
def test_forward_names_each_plausible_mistake(answer, hint, case):
    with pytest.raises(AssertionError, match=rf"(?s)^Case {case} of 5 .*Likely mistake: {hint}"):
        check("ch03-ex-forward", answer)


def test_forward_names_the_single_layer_case():
    with pytest.raises(AssertionError, match=r"Case 4 of 5 \(a single layer 4-3, D = 1, so no ReLU at all"):
        check("ch03-ex-forward", _first_layer_always_relu)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the note on the learner's error needs Python 3.11")
def test_forward_reports_an_error_of_a_hard_coded_size_as_the_learners_own():
    def hard_coded(X, weights, biases):
        A1 = relu(X.reshape(-1, 784) @ weights[0] + biases[0])
        return softmax(A1 @ weights[1] + biases[1])

    with pytest.raises(ValueError, match="cannot reshape") as info:
        check("ch03-ex-forward", hard_coded)
    assert any("Case 1 of 5 (a 5-5-5 network" in note for note in info.value.__notes__)


def test_forward_refuses_the_referees():
    for referee in (ch03._forward_by_scratch, ch03._forward_by_torch):
        with pytest.raises(RefereeCalled, match="calls the check's own reference"):
            check("ch03-ex-forward", lambda X, weights, biases, referee=referee: referee(X, weights, biases))


def _forward_by_the_checks_helper(X, weights, biases):
    return ch03._layers(X, weights, biases, layer=ch03._affine, hidden=ch03._relu, output=ch03._softmax)


def _with_the_checks_softmax(X, weights, biases):
    A = X
    for W, b in zip(weights[:-1], biases[:-1]):
        A = relu(A @ W + b)
    return ch03._softmax(A @ weights[-1] + biases[-1])


def _in_pytorch(X, weights, biases):
    import torch

    A = torch.from_numpy(X)
    for W, b in zip(weights[:-1], biases[:-1]):
        A = torch.relu(A @ torch.from_numpy(W) + torch.from_numpy(b))
    return torch.softmax(A @ torch.from_numpy(weights[-1]) + torch.from_numpy(biases[-1]), dim=1)


def _scratch_network(X, weights, biases):
    # As the chapter's section on the library does, in float64.
    from mlp_course import scratch

    sizes = [weights[0].shape[0]] + [W.shape[1] for W in weights]
    model = scratch.mlp(sizes, output_activation="softmax", dtype=np.float64)
    for linear, W, b in zip([m for m in model if isinstance(m, scratch.Linear)], weights, biases):
        linear.weight.data[...] = W
        linear.bias.data[...] = b
    return model(X)


@pytest.mark.parametrize("answer, called", [
    (_forward_by_the_checks_helper, "reference `_layers`"),
    (lambda X, weights, biases: ch03._wrong(X, weights, biases), "reference `_wrong`"),
    (_with_the_checks_softmax, "mlp_course.exercises.ch03._softmax"),
    (lambda X, weights, biases: ch03._forward_by_torch.__wrapped__(X, weights, biases),
     "mlp_course.exercises.ch03._forward_by_torch"),
    (_in_pytorch, "torch"),
    (_scratch_network, "mlp_course.scratch"),
])
def test_forward_refuses_answers_that_let_the_library_or_the_check_compute(answer, called):
    with pytest.raises(RefereeCalled, match=f"your answer calls.*{called}"):
        check("ch03-ex-forward", answer)


def test_forward_cases_cover_what_the_chapter_warns_about():
    cases = ch03._forward_cases()
    shapes = [[W.shape for W in args[1]] for args, _ in cases]
    assert [len(s) for s in shapes] == [2, 2, 3, 1, 2]                 # D = 2, 2, 3, 1, 2
    assert shapes[1] == [(784, 512), (512, 10)]                       # the chapter's network
    assert all(W.shape[0] == W.shape[1] for W in cases[0][0][1])       # square: transposes give numbers
    assert all(np.all(b != 0) for args, _ in cases for b in args[2])   # a missing bias shows
    (X, weights, biases), _ = cases[4]
    logits = relu(X @ weights[0] + biases[0]) @ weights[1] + biases[1]
    assert np.abs(logits).max() > 710                                  # np.exp overflows in float64
    for (X, weights, biases), expected in cases:
        assert X.dtype == np.float64 and expected.shape == (len(X), weights[-1].shape[1])
        np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-12)


# --------------------------------------------------------------------------
# Both checks
# --------------------------------------------------------------------------


def test_the_checks_leave_the_notebooks_random_draws_alone():
    import torch

    from mlp_course.seed import get_rng

    course_state = get_rng().bit_generator.state
    torch_state = torch.random.get_rng_state()
    check("ch03-ex-count", count_parameters)
    check("ch03-ex-forward", mlp_forward)
    assert get_rng().bit_generator.state == course_state
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_the_checks_do_not_let_an_answer_spoil_the_next_case():
    def scribbles_then_answers(X, weights, biases):
        result = mlp_forward(X, weights, biases)
        X[...] = 0.0
        for W in weights:
            W[...] = 0.0
        return result

    assert check("ch03-ex-forward", scribbles_then_answers)
    assert check("ch03-ex-forward", mlp_forward)
