"""The checks of chapter 13's coding exercises: the reference answers pass, the untouched stubs
are "not answered yet", plausible mistakes are rejected with a message that names them, every
correct form the chapter teaches passes, and an answer that calls a referee (or the library
that would do the work) fails.

The reference answers are written here, not taken from the notebook.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from mlp_course import scratch
from mlp_course.exercises import CheckResult, RefereeCalled, check, get, keys
from mlp_course.exercises import ch13
from mlp_course.torch_training import fit

TICK = "\u2713"


def is_false(result) -> bool:
    return isinstance(result, CheckResult) and bool(result) is False


def test_the_chapter_has_exactly_these_keys():
    assert keys("ch13") == ["ch13-ex-batchnorm", "ch13-ex-dropout", "ch13-ex-early-stopping"]
    assert get("ch13-ex-dropout").points == 3
    assert get("ch13-ex-batchnorm").points == 3
    assert get("ch13-ex-early-stopping").points == 2


# --------------------------------------------------------------------------
# ch13-ex-dropout
# --------------------------------------------------------------------------


class InvertedDropout:
    """The reference answer."""

    def __init__(self, r, rng):
        self.r = r
        self.rng = rng
        self.training = True
        self.mask = None

    def forward(self, A):
        if not self.training or self.r == 0:
            self.mask = None
            return A
        self.mask = (self.rng.random(A.shape) >= self.r) / (1 - self.r)
        return A * self.mask

    def backward(self, d_out):
        return d_out if self.mask is None else d_out * self.mask


class DropoutStub:
    def __init__(self, r, rng):
        self.r = r
        self.rng = rng
        self.training = True

    def forward(self, A):
        raise NotImplementedError("replace this line with your code")

    def backward(self, d_out):
        raise NotImplementedError("replace this line with your code")


def test_dropout_reference_passes(capsys):
    assert check("ch13-ex-dropout", InvertedDropout)
    assert capsys.readouterr().out == f"{TICK} InvertedDropout passes all 4 test cases.\n"


@pytest.mark.parametrize("stub", [DropoutStub, None, ...], ids=["raises", "None", "ellipsis"])
def test_dropout_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch13-ex-dropout", stub))
    assert "InvertedDropout is not answered yet" in capsys.readouterr().out


def dropout_with(*, scale="inverse", keep="1-r", eval_drops=False, eval_scale=False, new_mask_in_backward=False,
                 backward_unscaled=False, backward_plain=False, row_mask=False, once=False, global_rng=False,
                 in_place=False, stale_eval_mask=False, returns_pair=False):
    """InvertedDropout with one mistake."""

    class Wrong(InvertedDropout):
        def _mask(self, shape):
            rng = np.random if global_rng else self.rng
            u = rng.random(shape[-1:] if row_mask else shape)
            kept = u < self.r if keep == "r" else u >= self.r
            factor = {"inverse": 1 / (1 - self.r), "none": 1.0, "1-r": 1 - self.r, "r": self.r,
                      "1/r": 1 / self.r}[scale]
            return kept * factor * np.ones(shape)

        def forward(self, A):
            if not self.training and not eval_drops:
                if not stale_eval_mask:
                    self.mask = None
                return A * (1 - self.r) if eval_scale else A
            if self.r == 0:
                self.mask = None
                return A
            if not (once and self.mask is not None):
                self.mask = self._mask(A.shape)
            if in_place:
                A *= self.mask
                return A
            return (A * self.mask, self.mask) if returns_pair else A * self.mask

        def backward(self, d_out):
            if self.mask is None:
                return d_out
            if backward_plain:
                return d_out
            if backward_unscaled:
                return d_out * (self.mask != 0)
            if new_mask_in_backward:
                return d_out * self._mask(d_out.shape)
            return d_out * self.mask

    return Wrong


@pytest.mark.parametrize("wrong, fragment", [
    (dropout_with(scale="none"), "not rescaled"),
    (dropout_with(scale="1-r"), "multiplied by 1 - r; inverted dropout divides them"),
    (dropout_with(scale="r"), "multiplied by r"),
    (dropout_with(keep="r", scale="1/r"), "r is used as the keep probability"),
    (dropout_with(keep="r"), "r is used as the keep probability"),
    (dropout_with(scale="1/r"), "divided by r"),
    (dropout_with(eval_drops=True), "dropout is still applied in evaluation mode"),
    (dropout_with(eval_scale=True), "test-time correction of the original dropout"),
    (dropout_with(new_mask_in_backward=True), "backward draws a new mask"),
    (dropout_with(backward_unscaled=True), "forgets the division by 1 - r"),
    (dropout_with(backward_plain=True), "backward returns d_out unchanged"),
    (dropout_with(row_mask=True), r"every row \(example\) has the same mask"),
    (dropout_with(once=True), "used the same mask"),
    (dropout_with(global_rng=True), "Draw the mask from the generator passed to __init__"),
    (dropout_with(in_place=True), "changed its input A in place"),
    (dropout_with(stale_eval_mask=True), "backward still uses the mask of the last training-mode forward"),
    (dropout_with(returns_pair=True), "Keep the mask in an attribute"),
], ids=["no-rescaling", "times-1-minus-r", "times-r", "r-as-keep-probability", "r-as-keep-inverse-scale",
        "divided-by-r", "dropout-in-eval", "eval-times-1-minus-r", "new-mask-in-backward", "backward-unscaled",
        "backward-ignores-mask", "one-mask-per-batch", "mask-drawn-once", "global-rng", "in-place",
        "stale-mask-in-eval", "returns-pair"])
def test_dropout_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch13-ex-dropout", wrong)


class WholeExampleDropout(InvertedDropout):
    def forward(self, A):
        if not self.training or self.r == 0:
            self.mask = None
            return A
        keep = self.rng.random((A.shape[0], 1)) >= self.r
        self.mask = np.broadcast_to(keep / (1 - self.r), A.shape)
        return A * self.mask


class FixedCountDropout(InvertedDropout):
    """Keeps exactly round((1 - r) n) entries, chosen by a permutation: the entries are not independent."""

    def forward(self, A):
        if not self.training or self.r == 0:
            self.mask = None
            return A
        n = A.size
        kept = self.rng.permutation(n)[:round((1 - self.r) * n)]
        mask = np.zeros(n)
        mask[kept] = 1 / (1 - self.r)
        self.mask = mask.reshape(A.shape)
        return A * self.mask


class FixedCountPerRowDropout(InvertedDropout):
    """Keeps exactly round((1 - r) d) entries of every row, by rng.choice without replacement."""

    def forward(self, A):
        if not self.training or self.r == 0:
            self.mask = None
            return A
        N, d = A.shape
        self.mask = np.zeros(A.shape)
        for i in range(N):
            self.mask[i, self.rng.choice(d, size=round((1 - self.r) * d), replace=False)] = 1 / (1 - self.r)
        return A * self.mask


@pytest.mark.parametrize("wrong, fragment", [
    (FixedCountDropout, r"kept exactly round\(\(1 - r\) \* n\) entries.*fixed number of entries"),
    (FixedCountPerRowDropout, r"every row \(example\) keeps exactly .* fixed number of entries"),
], ids=["fixed-count", "fixed-count-per-row"])
def test_a_fixed_count_mask_is_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch13-ex-dropout", wrong)


def test_the_fixed_count_rule_spares_independent_masks():
    """Over 60 seeds of the layer's generators, the reference answer never trips the fixed-count rule."""
    original = ch13._DROPOUT_CASES
    try:
        for offset in range(60):
            ch13._DROPOUT_CASES = [(r, shape, seed + 7919 * offset) for r, shape, seed in original]
            assert ch13.inverted_dropout_check(InvertedDropout)
    finally:
        ch13._DROPOUT_CASES = original


def test_dropping_whole_examples_is_named():
    with pytest.raises(AssertionError, match="each row is kept or dropped as a whole"):
        check("ch13-ex-dropout", WholeExampleDropout)


def test_a_layer_without_training_attribute_is_told():
    class NoMode:
        def __init__(self, r, rng):
            self.r, self.rng = r, rng

        def forward(self, A):
            return A

        def backward(self, d_out):
            return d_out

    with pytest.raises(AssertionError, match="self.training = True"):
        check("ch13-ex-dropout", NoMode)


class BinomialDropout:
    """A correct form: rng.binomial for the keep pattern, u < 1 - r, a mask stored as booleans, and
    train()/eval() methods besides the attribute."""

    def __init__(self, r, rng):
        self.r, self.rng, self.training, self.keep = r, rng, True, None

    def train(self):
        self.training = True

    def eval(self):
        self.training = False

    def forward(self, A):
        if self.training:
            self.keep = self.rng.binomial(1, 1 - self.r, size=A.shape).astype(bool)
            return np.where(self.keep, A / (1 - self.r), 0.0)
        self.keep = None
        return A.copy()

    def backward(self, d_out):
        if self.keep is None:
            return d_out.copy()
        return np.where(self.keep, d_out / (1 - self.r), 0.0)


class UniformBelowDropout(InvertedDropout):
    """A correct form: keep where u < 1 - r, the mask computed with np.where."""

    def forward(self, A):
        if not self.training:
            self.mask = None
            return A
        self.mask = np.where(self.rng.random(A.shape) < 1 - self.r, 1 / (1 - self.r), 0.0)
        return A * self.mask


@pytest.mark.parametrize("correct", [BinomialDropout, UniformBelowDropout], ids=["binomial", "u-below-keep"])
def test_dropout_every_correct_form_passes(correct, capsys):
    assert check("ch13-ex-dropout", correct)
    assert TICK in capsys.readouterr().out


def test_dropout_calling_the_referee_or_the_library_fails():
    class CallsReferee(InvertedDropout):
        def backward(self, d_out):
            return ch13.dropout_backward_reference(d_out, d_out, d_out)

    class WrapsScratch(InvertedDropout):
        def forward(self, A):
            self.layer = scratch.Dropout(self.r, rng=self.rng)
            self.layer.train(self.training)
            return self.layer(A)

        def backward(self, d_out):
            return self.layer.backward(d_out)

    class WrapsTorch(InvertedDropout):
        def forward(self, A):
            drop = nn.Dropout(self.r)
            drop.train(self.training)
            return drop(torch.from_numpy(A)).numpy()

    for wrong in [CallsReferee, WrapsScratch, WrapsTorch]:
        with pytest.raises(RefereeCalled):
            check("ch13-ex-dropout", wrong)
    with pytest.raises(RefereeCalled, match="the course's own code"):
        check("ch13-ex-dropout", scratch.Dropout)


def test_the_keep_rate_tolerance_is_five_standard_errors():
    """A correct answer fails a case only when its keep rate is 5 standard errors off: rare."""
    assert ch13.KEEP_RATE_TOLERANCE == 5.0
    assert 2 * (1 - 0.5 * (1 + math.erf(5 / math.sqrt(2)))) < 1e-6


# --------------------------------------------------------------------------
# ch13-ex-batchnorm
# --------------------------------------------------------------------------


def batchnorm_forward(Z, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """The reference answer."""
    if training:
        mean, var = Z.mean(axis=0), Z.var(axis=0)
        running_mean = (1 - momentum) * running_mean + momentum * mean
        running_var = (1 - momentum) * running_var + momentum * Z.var(axis=0, ddof=1)
    else:
        mean, var = running_mean, running_var
    return gamma * (Z - mean) / np.sqrt(var + eps) + beta, running_mean, running_var


def batchnorm_stub(Z, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    raise NotImplementedError("replace this line with your code")


def test_batchnorm_reference_passes(capsys):
    assert check("ch13-ex-batchnorm", batchnorm_forward)
    assert capsys.readouterr().out == f"{TICK} batchnorm_forward passes all 6 test cases.\n"


@pytest.mark.parametrize("stub", [batchnorm_stub, None, ...], ids=["raises", "None", "ellipsis"])
def test_batchnorm_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch13-ex-batchnorm", stub))
    assert "batchnorm_forward is not answered yet" in capsys.readouterr().out


def batchnorm_with(*, norm_ddof=0, run_ddof=1, reversed_momentum=False, eps_outside=False, axis=0,
                   keepdims=False, eval_batch=False, eval_updates=False, no_update=False, no_affine=False,
                   norm_axis=None, train_updated=False, run_std=False, in_place=False):
    """batchnorm_forward with one mistake, written as a learner would."""

    def answer(Z, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        if training or eval_batch:
            n_axis = axis if norm_axis is None else norm_axis
            mean = Z.mean(axis=n_axis, keepdims=keepdims or norm_axis is not None)
            var = Z.var(axis=n_axis, ddof=norm_ddof, keepdims=keepdims or norm_axis is not None)
        else:
            mean, var = running_mean, running_var
        if (training or eval_updates) and not no_update:
            m = 1 - momentum if reversed_momentum else momentum
            batch_var = Z.std(axis=axis, ddof=run_ddof) if run_std else Z.var(axis=axis, ddof=run_ddof)
            if in_place:
                running_mean *= 1 - m
                running_mean += m * Z.mean(axis=axis)
                running_var *= 1 - m
                running_var += m * batch_var
            else:
                running_mean = (1 - m) * running_mean + m * Z.mean(axis=axis)
                running_var = (1 - m) * running_var + m * batch_var
            if train_updated and training:
                mean, var = running_mean, running_var
        Z_hat = (Z - mean) / (np.sqrt(var) + eps) if eps_outside else (Z - mean) / np.sqrt(var + eps)
        out = Z_hat if no_affine else gamma * Z_hat + beta
        return out, running_mean, running_var

    return answer


@pytest.mark.parametrize("wrong, fragment", [
    (batchnorm_with(norm_ddof=1), "normalised with the unbiased variance"),
    (batchnorm_with(run_ddof=0), "running variance is fed the biased batch variance"),
    (batchnorm_with(norm_ddof=1, run_ddof=0), "the two variances are swapped"),
    (batchnorm_with(reversed_momentum=True), "momentum convention is reversed"),
    (batchnorm_with(eps_outside=True), "eps is added outside the square root"),
    (batchnorm_with(axis=1), "wrong axis"),
    (batchnorm_with(axis=1, keepdims=True), "wrong axis"),
    (batchnorm_with(eval_batch=True), "evaluation mode normalises with the batch statistics"),
    (batchnorm_with(eval_batch=True, eval_updates=True), "evaluation mode uses the batch statistics and updates"),
    (batchnorm_with(eval_updates=True), "evaluation mode updates the running statistics"),
    (batchnorm_with(no_update=True), "running statistics are not updated"),
    (batchnorm_with(no_affine=True), "gamma and beta are not applied"),
    (batchnorm_with(norm_axis=1), "normalised over the wrong axis .* although the running statistics are right"),
    (batchnorm_with(train_updated=True), "normalises with the running statistics after this batch's update"),
    (batchnorm_with(run_std=True), "running variance is fed the standard deviation"),
    (batchnorm_with(in_place=True), "changed its arguments running_mean, running_var in place"),
], ids=["unbiased-normalising", "biased-running", "swapped-variances", "momentum-reversed", "eps-outside",
        "wrong-axis", "wrong-axis-keepdims", "eval-batch-stats", "eval-batch-stats-and-update", "eval-updates",
        "no-update", "no-affine", "normalised-over-axis-1-only", "normalised-with-updated-running",
        "running-var-fed-std", "running-stats-in-place"])
# A mistake that updates the running statistics in evaluation mode takes the variance of a single
# example, as a learner's code would: NumPy's warnings about it are that answer's, not the check's.
@pytest.mark.filterwarnings("ignore:Degrees of freedom:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_batchnorm_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch13-ex-batchnorm", wrong)


def batchnorm_by_hand(Z, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """A correct form: sums written out, the unbiased variance as N / (N - 1) times the biased one,
    the running statistics updated in place on copies, and the inverse standard deviation by a power."""
    N = Z.shape[0]
    running_mean, running_var = running_mean.copy(), running_var.copy()
    if training:
        mean = np.sum(Z, axis=0) / N
        var = np.sum((Z - mean) ** 2, axis=0) / N
        running_mean *= 1 - momentum
        running_mean += momentum * mean
        running_var *= 1 - momentum
        running_var += momentum * var * N / (N - 1)
    else:
        mean, var = running_mean, running_var
    inverse_sd = (var + eps) ** -0.5
    return (Z - mean) * inverse_sd * gamma + beta, running_mean, running_var


def batchnorm_mean_of_squares(Z, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """A correct form: the variance as the mean of squares minus the squared mean (exact in exact
    arithmetic; on the check's cases, within its tolerance)."""
    if not training:
        return gamma * (Z - running_mean) / np.sqrt(running_var + eps) + beta, running_mean.copy(), running_var.copy()
    N = len(Z)
    mean = Z.mean(axis=0)
    var = (Z ** 2).mean(axis=0) - mean ** 2
    new_mean = momentum * mean + (1 - momentum) * running_mean
    new_var = momentum * var * N / (N - 1) + (1 - momentum) * running_var
    return gamma * (Z - mean) / np.sqrt(var + eps) + beta, new_mean, new_var


@pytest.mark.parametrize("correct", [batchnorm_by_hand, batchnorm_mean_of_squares], ids=["by-hand", "mean-of-squares"])
def test_batchnorm_every_correct_form_passes(correct, capsys):
    assert check("ch13-ex-batchnorm", correct)
    assert TICK in capsys.readouterr().out


def test_batchnorm_calling_the_referee_or_torch_fails():
    def calls_referee(*args):
        return ch13.batchnorm_by_torch(*args)

    def calls_torch(Z, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        out = torch.nn.functional.batch_norm(torch.from_numpy(Z), torch.from_numpy(running_mean),
                                             torch.from_numpy(running_var), torch.from_numpy(gamma),
                                             torch.from_numpy(beta), training, momentum, eps)
        return out.numpy(), running_mean, running_var

    def calls_scratch(Z, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
        layer = scratch.BatchNorm1d(Z.shape[1], eps=eps, momentum=momentum, dtype=np.float64)
        layer.weight.data[...], layer.bias.data[...] = gamma, beta
        layer.running_mean, layer.running_var = running_mean.copy(), running_var.copy()
        layer.train(training)
        return layer(Z), layer.running_mean, layer.running_var

    for wrong in [calls_referee, calls_torch, calls_scratch]:
        with pytest.raises(RefereeCalled):
            check("ch13-ex-batchnorm", wrong)


def test_the_batchnorm_mistakes_differ_from_the_reference_on_some_case():
    """Each mistake of the list really is a mistake on the cases (else its hint could never show)."""
    cases = ch13.batchnorm_cases()
    for mistake, hint in ch13.BATCHNORM_MISTAKES:
        differs = False
        for args, _ in cases:
            try:
                wrong = mistake(*args)
            except Exception:
                continue
            right = ch13.batchnorm_by_torch(*args)
            differs = differs or not all(np.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(wrong, right))
        assert differs, hint


# --------------------------------------------------------------------------
# ch13-ex-early-stopping
# --------------------------------------------------------------------------


def early_stopping_epochs(val_losses, patience):
    """The reference answer."""
    best_loss, best_epoch = float("inf"), None
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
        if epoch - (best_epoch or 0) >= patience and epoch < len(val_losses):   # no best yet: a NaN epoch 1
            return best_epoch, epoch
    return best_epoch, None


def early_stopping_stub(val_losses, patience):
    raise NotImplementedError("replace this line with your code")


def test_early_stopping_reference_passes(capsys):
    assert check("ch13-ex-early-stopping", early_stopping_epochs)
    assert capsys.readouterr().out == f"{TICK} early_stopping_epochs passes all 9 test cases.\n"


@pytest.mark.parametrize("stub", [early_stopping_stub, None, ...], ids=["raises", "None", "ellipsis"])
def test_early_stopping_stub_is_not_answered_yet(stub, capsys):
    assert is_false(check("ch13-ex-early-stopping", stub))
    assert "early_stopping_epochs is not answered yet" in capsys.readouterr().out


def zero_based(val_losses, patience):
    best, stopped = early_stopping_epochs(val_losses, patience)
    return best - 1, None if stopped is None else stopped - 1


def overall_argmin(val_losses, patience):
    best = int(np.argmin(val_losses)) + 1
    return best, (best + patience if best + patience < len(val_losses) else None)


def ties_last(val_losses, patience):
    best_loss, best_epoch = float("inf"), None
    for epoch, loss in enumerate(val_losses, start=1):
        if loss <= best_loss:
            best_loss, best_epoch = loss, epoch
        if epoch - best_epoch >= patience and epoch < len(val_losses):
            return best_epoch, epoch
    return best_epoch, None


def one_late(val_losses, patience):
    best_loss, best_epoch = float("inf"), None
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
        if epoch - best_epoch > patience and epoch < len(val_losses):
            return best_epoch, epoch
    return best_epoch, None


def last_reported(val_losses, patience):
    best_loss, best_epoch = float("inf"), None
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
        if epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, None


def counter_reset_on_previous(val_losses, patience):
    """Counts epochs without improvement over the previous epoch."""
    best_epoch, waited, previous = None, 0, float("inf")
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < previous:
            best_epoch, waited = epoch, 0
        else:
            waited += 1
        previous = loss
        if waited >= patience and epoch < len(val_losses):
            return best_epoch, epoch
    return best_epoch, None


def wait_reset_on_any_decrease(val_losses, patience):
    """The best epoch is right, but the patience counter restarts whenever the loss falls at all."""
    best_loss, best_epoch, waited, previous = float("inf"), None, 0, float("inf")
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
        waited = 0 if loss < previous else waited + 1
        previous = loss
        if waited >= patience and epoch < len(val_losses):
            return best_epoch, epoch
    return best_epoch, None


def length_when_no_stop(val_losses, patience):
    best, stopped = early_stopping_epochs(val_losses, patience)
    return best, len(val_losses) if stopped is None else stopped


def crashes_on_a_nan_first(val_losses, patience):
    """Right everywhere except that epoch - best_epoch fails while no epoch is the best yet."""
    best_loss, best_epoch = float("inf"), None
    for epoch, loss in enumerate(val_losses, start=1):
        if loss < best_loss:
            best_loss, best_epoch = loss, epoch
        if epoch - best_epoch >= patience and epoch < len(val_losses):
            return best_epoch, epoch
    return best_epoch, None


def test_a_nan_in_epoch_1_is_a_case():
    with pytest.raises(TypeError):
        check("ch13-ex-early-stopping", crashes_on_a_nan_first)


def nan_is_best(val_losses, patience):
    best_loss, best_epoch = float("inf"), None
    for epoch, loss in enumerate(val_losses, start=1):
        if not loss >= best_loss:
            best_loss, best_epoch = loss, epoch
        if epoch - best_epoch >= patience and epoch < len(val_losses):
            return best_epoch, epoch
    return best_epoch, None


@pytest.mark.parametrize("wrong, fragment", [
    (zero_based, "counted from 0"),
    (overall_argmin, "lowest loss of the whole list"),
    (ties_last, "an equal loss counts as an improvement"),
    (one_late, "stops one epoch late"),
    (last_reported, "the last epoch is reported as the stopping epoch"),
    (counter_reset_on_previous, "below the previous epoch's"),
    (nan_is_best, "a NaN loss counts as an improvement"),
    (wait_reset_on_any_decrease, "patience counter is reset whenever the loss falls"),
    (length_when_no_stop, "the last epoch is reported as the stopping epoch when training ran every epoch"),
], ids=["zero-based", "overall-argmin", "ties-last", "one-late", "last-reported", "previous-epoch", "nan-best",
        "wait-reset", "length-when-no-stop"])
def test_early_stopping_mistakes_are_named(wrong, fragment):
    with pytest.raises(AssertionError, match=fragment):
        check("ch13-ex-early-stopping", wrong)


def with_a_counter(val_losses, patience):
    """A correct form: a counter of epochs without improvement, NaN skipped with math.isnan, numpy ints."""
    best_loss, best_epoch, waited = math.inf, None, 0
    losses = np.asarray(val_losses, dtype=float)
    for index in range(len(losses)):
        loss = losses[index]
        if not math.isnan(loss) and loss < best_loss:
            best_loss, best_epoch, waited = loss, np.int64(index + 1), 0
        else:
            waited += 1
        if waited == patience:
            return best_epoch, (np.int64(index + 1) if index + 1 < len(losses) else None)
    return best_epoch, None


def test_early_stopping_every_correct_form_passes(capsys):
    assert check("ch13-ex-early-stopping", with_a_counter)
    assert TICK in capsys.readouterr().out


def test_early_stopping_calling_the_referee_fails():
    def calls_referee(val_losses, patience):
        return ch13.early_stopping_reference(val_losses, patience)

    with pytest.raises(RefereeCalled):
        check("ch13-ex-early-stopping", calls_referee)


def test_a_wrong_type_is_told():
    with pytest.raises(AssertionError, match="should be a pair"):
        check("ch13-ex-early-stopping", lambda losses, patience: 3)
    with pytest.raises(AssertionError, match="whole number"):
        check("ch13-ex-early-stopping", lambda losses, patience: ("3", None))


class _ScriptedLoss:
    """A loss whose value in evaluation mode follows a script (the validation losses of the epochs);
    in training mode an ordinary loss. The first two evaluation-mode calls are fit's trial runs."""

    def __init__(self, model, script):
        self.model, self.script, self.calls = model, list(script), 0

    def __call__(self, output, target):
        if self.model.training:
            return ((output - target) ** 2).mean()
        self.calls += 1
        if self.calls <= 2:
            return ((output - target) ** 2).mean()
        return torch.tensor(self.script[self.calls - 3], dtype=output.dtype)


@pytest.mark.parametrize("number", range(len(ch13.early_stopping_cases())))
def test_the_referee_agrees_with_fit(number):
    """The exercise's conventions are those of torch_training.fit(..., early_stopping=patience)."""
    (losses, patience), _ = ch13.early_stopping_cases()[number]
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    data = [(torch.ones(2, 1), torch.zeros(2, 1))]
    history = fit(model, data, _ScriptedLoss(model, losses), torch.optim.SGD(model.parameters(), lr=0.0),
                  epochs=len(losses), val_loader=data, early_stopping=patience)
    assert (history.best_epoch, history.stopped_epoch) == ch13.early_stopping_reference(losses, patience)
