"""The checks of chapter 13's coding exercises, keyed by exercise label.

* ``ch13-ex-dropout``: a class ``InvertedDropout(r, rng)`` with ``forward(A)``,
  ``backward(d_out)`` and an attribute ``training``, in NumPy. PyTorch's and any learner's
  random numbers differ, so the check does not compare masks with a reference: it reads the
  mask from the output (the inputs have no zeros) and checks the rule. Every kept entry is
  divided by 1 - r exactly; the share of kept entries is 1 - r within five standard errors of
  the sampling error; every entry has its own draw; each forward pass draws a new mask from the
  generator passed in (two layers given generators with the same seed agree); backward
  multiplies by the mask of the last forward pass; in evaluation mode both passes are the
  identity. Each known mistake (no rescaling, scaling by 1 - r or r, r as the keep
  probability, dropout in evaluation mode, a new mask in backward, ...) gets its own message.
* ``ch13-ex-batchnorm``: ``batchnorm_forward(Z, gamma, beta, running_mean, running_var,
  training, momentum, eps)`` returns ``(out, running_mean, running_var)``, against
  ``nn.BatchNorm1d`` in float64, with the mistakes the chapter warns about (the unbiased
  variance to normalise, the biased one for the running estimate, the momentum convention
  reversed, eps outside the square root, the wrong axis, ...); the caller's arrays must not be
  changed in place.
* ``ch13-ex-early-stopping``: ``early_stopping_epochs(val_losses, patience)`` returns
  ``(best_epoch, stopped_epoch)`` with the conventions of
  ``mlp_course.torch_training.fit(..., early_stopping=patience)``: epochs count from 1, an epoch
  is best when its loss is strictly below every earlier one (NaN never is), training stops
  after the epoch at which the best one is ``patience`` epochs old, unless that is the last
  epoch anyway (``stopped_epoch`` is then ``None``).

Every case is built here, deterministically; the answers run under the checks' watch, in
NumPy only (PyTorch and the course's library would do the work).
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings

import numpy as np

from mlp_course.exercises.checks import (
    AnswerRaised,
    WrongAnswer,
    answer_running,
    check_function,
    not_answered,
    passed,
    referee,
)
from mlp_course.exercises.registry import exercise

__all__ = [
    "dropout_cases", "dropout_backward_reference", "inverted_dropout_check",
    "batchnorm_cases", "batchnorm_by_torch", "BATCHNORM_MISTAKES", "batchnorm_forward_check",
    "early_stopping_cases", "early_stopping_reference", "EARLY_STOPPING_MISTAKES", "early_stopping_check",
]

_STUB = "replace `raise NotImplementedError` in the cell above with your code"


class _NotYet(Exception):
    """The learner's code still raises NotImplementedError."""


def _run(function, args, where, allowed=()):
    """Call the learner's ``function(*args)`` under the watch: its result; _NotYet while it is a stub;
    an error of the learner's code is re-raised as theirs."""
    try:
        with answer_running(allowed):
            return function(*args)
    except NotImplementedError:
        raise _NotYet() from None
    except WrongAnswer:
        raise
    except Exception as error:
        raise AnswerRaised(error, where) from error


# --------------------------------------------------------------------------
# ch13-ex-dropout
# --------------------------------------------------------------------------

#: (r, shape of A, seed). r = 0.2 comes first: there, using r as the keep probability (a keep
#: rate of 0.2 instead of 0.8) and scaling by r, by 1 - r or by 1/r all show; r = 0.7 has a
#: large scale 1/(1 - r); r = 0.5 is the usual value; r = 0 must leave everything unchanged.
#: The shapes are not square and have many rows and columns, so that a mask shared by the rows
#: (or by the columns) shows.
_DROPOUT_CASES = [(0.2, (500, 40), 131), (0.7, (40, 500), 132), (0.5, (200, 100), 133), (0.0, (30, 7), 134)]

#: How many standard errors of the sampling error the share of kept entries may miss 1 - r by.
#: A correct answer fails a case with a probability of about 6e-7.
KEEP_RATE_TOLERANCE = 5.0


def dropout_cases() -> list[tuple[float, np.ndarray, np.ndarray, int]]:
    """(r, A, d_out, seed) for every case: A without zeros (entries of both signs, 0.5 to 1.5 in
    size), so that the mask can be read from the output; d_out standard normal; seed for the
    generator the layer is given."""
    cases = []
    for r, shape, seed in _DROPOUT_CASES:
        rng = np.random.default_rng(seed + 1000)
        A = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        cases.append((r, A, rng.normal(size=shape), seed))
    return cases


@referee
def dropout_backward_reference(d_out, out, A):
    """The gradient the forward pass ``out`` implies: d_out times the mask out / A."""
    return d_out * (out / A)


def _as_result(value, name: str, shape, where: str) -> np.ndarray:
    """The learner's result as a float array of ``shape``, or a WrongAnswer saying what it is."""
    if value is None:
        raise WrongAnswer(f"{where}: {name} returned None. Did you forget a `return`?")
    if isinstance(value, tuple):
        raise WrongAnswer(f"{where}: {name} returned a tuple of {len(value)} values; it should return one array, "
                          f"the {'output' if name == 'forward' else 'gradient dA'}. Keep the mask in an attribute "
                          f"of the layer (self.mask) instead of returning it.")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise WrongAnswer(f"{where}: {name} should return an array of numbers, got "
                          f"{type(value).__name__}.") from None
    if array.shape != tuple(shape):
        hint = ""
        if array.ndim == 1 and array.size == shape[-1]:
            hint = " It has one entry per column: is the mask drawn for one row only?"
        elif array.ndim == 0:
            hint = " It is a single number: the layer must return an array of the input's shape."
        raise WrongAnswer(f"{where}: {name} returned an array of shape {array.shape}, expected {tuple(shape)}, "
                          f"the shape of its input.{hint}")
    if not np.all(np.isfinite(array)):
        raise WrongAnswer(f"{where}: {name} returned NaN or infinite values. Is 1 - r computed right "
                          f"(a division by r = 0 or by 1 - r = 0)?")
    return array


def _fraction_text(value: float) -> str:
    return f"{value:.4f}"


def _forward_problem(out: np.ndarray, A: np.ndarray, r: float) -> str | None:
    """What is wrong with a training-mode output ``out`` of input ``A`` for rate ``r``, or None."""
    n = A.size
    if r == 0:
        if np.allclose(out, A, rtol=1e-12, atol=0):
            return None
        dropped = np.mean(out == 0)
        if dropped > 0:
            return (f"with r = 0 no entry may be dropped, but {dropped:.1%} of the output is 0. Keep an entry "
                    f"when its uniform number u satisfies u >= r (always true for r = 0).")
        return "with r = 0 nothing is dropped and 1/(1 - r) = 1: the output must equal the input."
    ratio = out / A
    kept = out != 0
    rate = float(np.mean(kept))
    se = math.sqrt(r * (1 - r) / n)
    scale_kept = ratio[kept]
    if 0 < rate < 1:
        if A.shape[0] > 1 and r > 0 and np.all(kept == kept[0]):
            return ("every row (example) has the same mask: the mask is drawn for one row and broadcast. Draw one "
                    "uniform number per entry, rng.random(A.shape).")
        if A.ndim == 2 and A.shape[1] > 1 and np.all(kept == kept[:, :1]):
            return ("each row is kept or dropped as a whole: the mask is drawn once per example. Draw one uniform "
                    "number per entry, rng.random(A.shape).")
    if 0 < rate < 1 and A.ndim == 2 and min(A.shape) > 1:
        for axis, unit in [(1, "row (example)"), (0, "column (feature)")]:
            counts = kept.sum(axis=axis)
            if np.all(counts == counts[0]):
                return (f"every {unit} keeps exactly {int(counts[0])} of its {A.shape[axis]} entries: the mask "
                        f"keeps a fixed number of entries (a permutation or a choice without replacement), so "
                        f"the entries are not independent. Each entry must be kept on its own with probability "
                        f"1 - r, so the number kept varies from pass to pass: keep an entry when its uniform "
                        f"number u satisfies u >= r, with u = rng.random(A.shape).")
    if abs(rate - (1 - r)) > KEEP_RATE_TOLERANCE * se:
        if abs(rate - r) <= KEEP_RATE_TOLERANCE * se:
            return (f"the layer keeps {_fraction_text(rate)} of the entries, about r = {r}, instead of 1 - r = "
                    f"{1 - r:g}: r is used as the keep probability. r is the dropout rate, the probability "
                    f"that an entry is DROPPED: keep an entry when u >= r (probability 1 - r), and divide the "
                    f"kept ones by 1 - r.")
        if rate == 1.0:
            return "no entry was dropped in training mode: each entry must be set to 0 with probability r."
        if rate == 0.0:
            return "every entry was dropped: the output is all zeros. Keep each entry with probability 1 - r."
        return (f"the layer keeps {_fraction_text(rate)} of the {n:,} entries; with r = {r:g} the share kept must "
                f"be 1 - r = {1 - r:g}, within a sampling error of about {se:.4f} (the check allows "
                f"{KEEP_RATE_TOLERANCE:g} times that). Keep an entry when its uniform random number u "
                f"satisfies u >= r.")
    if not np.allclose(scale_kept, 1 / (1 - r), rtol=1e-9, atol=0):
        for factor, hint in [
            (1.0, "the kept entries are not rescaled: their expected value is then (1 - r) times the input. "
                  "Inverted dropout divides the kept entries by 1 - r, so that the expected output equals the "
                  "input."),
            (1 - r, "the kept entries are multiplied by 1 - r; inverted dropout divides them by 1 - r, so that "
                    "the expected output, (1 - r) * a / (1 - r), equals the input a."),
            (r, "the kept entries are multiplied by r; inverted dropout divides them by 1 - r, the keep "
                "probability, so that the expected output equals the input."),
            (1 / r, "the kept entries are divided by r; divide them by the keep probability 1 - r (r is the "
                    "probability of being dropped)."),
        ]:
            if np.allclose(scale_kept, factor, rtol=1e-9, atol=0):
                return f"Likely mistake: {hint}"
        return (f"every kept entry must be the input divided by 1 - r (here times {1 / (1 - r):.6g}), and every "
                f"other entry 0; the kept entries of this output are the input times factors from "
                f"{scale_kept.min():.6g} to {scale_kept.max():.6g}.")
    return None


def _is_dropout_like(values: np.ndarray, reference: np.ndarray, r: float) -> bool:
    """Whether ``values`` = reference * (a mask of 0 and 1/(1 - r)) with some entries dropped."""
    if r == 0:
        return False
    ratio = values / reference
    kept = values != 0
    return bool(0 < np.mean(kept) < 1 and np.allclose(ratio[kept], 1 / (1 - r), rtol=1e-9))


def inverted_dropout_check(InvertedDropout):
    """Run the learner's class on every case and check the rule (see the module docstring)."""
    name = "InvertedDropout"
    if InvertedDropout is None or InvertedDropout is Ellipsis:
        return not_answered(name)
    if not callable(InvertedDropout):
        raise WrongAnswer(f"{name} should be a class, got {type(InvertedDropout).__name__}.")
    cases = dropout_cases()
    counts = []                                  # per training-mode pass with 0 < r: (kept, the fixed counts, n)
    try:
        for number, (r, A, d_out, seed) in enumerate(cases, start=1):
            where = f"Case {number} of {len(cases)} (r = {r:g}, A of shape {A.shape})"
            layer = _run(InvertedDropout, (r, np.random.default_rng(seed)), f"{where}, {name}({r:g}, rng)")
            if not hasattr(layer, "forward") or not hasattr(layer, "backward"):
                raise WrongAnswer(f"{where}: the layer needs the methods forward(A) and backward(d_out).")
            if getattr(layer, "training", None) is not True:
                raise WrongAnswer(f"{where}: a new layer must be in training mode: set self.training = True in "
                                  f"__init__ (the check sets it to False for evaluation mode), got "
                                  f"training = {getattr(layer, 'training', 'missing')!r}.")
            given = A.copy()
            out1 = _as_result(_run(layer.forward, (given,), f"{where}, layer.forward(A)"),
                              "forward", A.shape, f"{where}, training mode, forward(A)")
            if not np.array_equal(given, A):
                raise WrongAnswer(f"{where}: forward(A) changed its input A in place (e.g. A *= mask). The "
                                  f"caller's array must stay as it was: compute A * mask, a new array.")
            problem = _forward_problem(out1, A, r)
            if problem:
                raise WrongAnswer(f"{where}, training mode, forward(A): {problem}")
            twin = _run(InvertedDropout, (r, np.random.default_rng(seed)), f"{where}, {name}({r:g}, rng)")
            twin_out = _as_result(_run(twin.forward, (A.copy(),), f"{where}, a second layer's forward(A)"),
                                  "forward", A.shape, f"{where}, a second layer, forward(A)")
            if r > 0 and not np.array_equal(twin_out, out1):
                raise WrongAnswer(
                    f"{where}: two layers given generators with the same seed drew different masks. Draw the "
                    f"mask from the generator passed to __init__ (self.rng.random(A.shape)), not from "
                    f"np.random's global functions or a generator of your own: then a seeded run repeats.")
            out2 = _as_result(_run(layer.forward, (A.copy(),), f"{where}, layer.forward(A), a second time"),
                              "forward", A.shape, f"{where}, training mode, a second forward(A)")
            problem = _forward_problem(out2, A, r)
            if problem:
                raise WrongAnswer(f"{where}, training mode, a second forward(A): {problem}")
            if r > 0:
                fixed = {math.floor((1 - r) * A.size), math.ceil((1 - r) * A.size), round((1 - r) * A.size)}
                counts += [(int(np.sum(out != 0)), fixed, A.size) for out in (out1, out2)]
            if r > 0 and np.array_equal(out1, out2):
                raise WrongAnswer(
                    f"{where}: two forward passes in training mode used the same mask. Dropout draws a new "
                    f"mask at every forward pass (every training step); drawing it once, in __init__ or at the "
                    f"first call, drops the same units for the whole of training.")
            dA = _as_result(_run(layer.backward, (d_out.copy(),), f"{where}, layer.backward(d_out)"),
                            "backward", A.shape, f"{where}, training mode, backward(d_out)")
            expected = dropout_backward_reference(d_out, out2, A)
            if not np.allclose(dA, expected, rtol=1e-9, atol=1e-12):
                if r > 0 and np.allclose(dA, dropout_backward_reference(d_out, out1, A), rtol=1e-9, atol=1e-12):
                    hint = ("backward uses the mask of the first forward pass, not of the last one: store the "
                            "mask of every forward pass (self.mask = ...) and use that one.")
                elif np.allclose(dA, d_out, rtol=1e-9, atol=1e-12):
                    hint = ("backward returns d_out unchanged. The forward pass multiplied by the mask, so "
                            "dA = d_out * mask, with the mask of the forward pass.")
                elif np.allclose(dA, d_out * (out2 != 0), rtol=1e-9, atol=1e-12):
                    hint = ("backward multiplies by the 0/1 pattern of the kept entries but forgets the "
                            "division by 1 - r: dA = d_out * mask, with the same mask (0 or 1/(1 - r)) as "
                            "the forward pass.")
                elif _is_dropout_like(dA, d_out, r):
                    hint = ("backward draws a new mask. The gradient must flow through the units that computed "
                            "the output: keep the mask of the forward pass and multiply d_out by it.")
                else:
                    hint = "dA must be d_out * mask, with the mask of the last forward pass."
                raise WrongAnswer(f"{where}, training mode, backward(d_out) after forward(A): the gradient "
                                  f"is wrong. Likely mistake: {hint}")
            layer.training = False
            out_eval = _as_result(_run(layer.forward, (A.copy(),), f"{where}, evaluation mode, layer.forward(A)"),
                                  "forward", A.shape, f"{where}, evaluation mode, forward(A)")
            if not np.allclose(out_eval, A, rtol=1e-12, atol=0):
                if r > 0 and np.allclose(out_eval, (1 - r) * A, rtol=1e-9):
                    hint = ("it multiplies by 1 - r, the test-time correction of the original dropout. "
                            "Inverted dropout already divided by 1 - r in training, so in evaluation mode the "
                            "layer is the identity: return A.")
                elif _is_dropout_like(out_eval, A, r) or np.any(out_eval == 0):
                    hint = ("dropout is still applied in evaluation mode. With self.training False the layer "
                            "must return its input unchanged.")
                else:
                    hint = "in evaluation mode the layer is the identity: return A."
                raise WrongAnswer(f"{where}, evaluation mode (training = False), forward(A): the output must "
                                  f"equal the input. Likely mistake: {hint}")
            dA_eval = _as_result(_run(layer.backward, (d_out.copy(),), f"{where}, evaluation mode, "
                                      f"layer.backward(d_out)"), "backward", A.shape,
                                 f"{where}, evaluation mode, backward(d_out)")
            if not np.allclose(dA_eval, d_out, rtol=1e-12, atol=0):
                hint = ""
                if r > 0 and np.allclose(dA_eval, expected, rtol=1e-9, atol=1e-12):
                    hint = (" Likely mistake: backward still uses the mask of the last training-mode forward "
                            "pass. An evaluation-mode forward pass is the identity, so forget the mask there "
                            "(e.g. self.mask = None) and return d_out.")
                raise WrongAnswer(f"{where}, evaluation mode, backward(d_out) after forward(A): the forward pass "
                                  f"was the identity, so the gradient is d_out itself.{hint}")
    except _NotYet:
        return not_answered(name, _STUB)
    # Independent entries: the number kept is binomial, and lands on the nearest whole number to
    # (1 - r) n with a probability below 1% per pass here; in all six passes, below 1e-11.
    if counts and all(kept in fixed for kept, fixed, _ in counts):
        shown = ", ".join(f"{kept} of {n:,}" for kept, _, n in counts)
        raise WrongAnswer(
            f"every training-mode forward pass kept exactly round((1 - r) * n) entries ({shown}). Likely "
            f"mistake: the mask keeps a fixed number of entries (a permutation, or rng.choice without "
            f"replacement), so the entries are not independent. Dropout keeps each entry on its own with "
            f"probability 1 - r, and the number kept varies from pass to pass: keep an entry when its uniform "
            f"number u satisfies u >= r, with u = rng.random(A.shape).")
    return passed(f"{name} passes all {len(cases)} test cases.")


@exercise("ch13-ex-dropout", answers=("InvertedDropout",), points=3)
def _check_dropout(InvertedDropout):
    return inverted_dropout_check(InvertedDropout)


# --------------------------------------------------------------------------
# ch13-ex-batchnorm
# --------------------------------------------------------------------------


def batchnorm_cases() -> list[tuple[tuple, str]]:
    """((Z, gamma, beta, running_mean, running_var, training, momentum, eps), name) pairs.

    The first batch is square (N = d), so that statistics over the wrong axis give wrong numbers
    instead of a broadcasting error; the second has columns of very different scales; the third
    has only four examples (the unbiased variance is 4/3 of the biased one) and another momentum
    and eps; one has a column of tiny variance, where eps outside the square root is far off;
    two are in evaluation mode, one of them a single example."""
    rng = np.random.default_rng(1313)

    def stats(d):
        return rng.normal(0.0, 0.5, size=d), rng.uniform(0.5, 2.0, size=d)

    def affine(d):
        return rng.uniform(0.5, 2.0, size=d), rng.normal(0.0, 1.0, size=d)

    cases = []
    Z = rng.normal(2.0, 1.5, size=(6, 6))
    cases.append(((Z, *affine(6), *stats(6), True, 0.1, 1e-5), "training, a square batch of 6 x 6"))
    Z = rng.normal(3.0, 1.0, size=(16, 5)) * np.array([0.5, 1.0, 2.0, 4.0, 8.0])
    cases.append(((Z, *affine(5), *stats(5), True, 0.1, 1e-5), "training, 16 x 5, columns of different scales"))
    Z = rng.normal(-1.0, 2.0, size=(4, 7))
    cases.append(((Z, *affine(7), *stats(7), True, 0.3, 1e-3), "training, 4 x 7, momentum 0.3, eps 1e-3"))
    Z = rng.normal(0.0, 1.0, size=(8, 4)) * np.array([1.0, 1e-4, 3.0, 0.5]) + 3.0
    cases.append(((Z, *affine(4), *stats(4), True, 0.1, 1e-5), "training, 8 x 4, one column of tiny variance"))
    Z = rng.normal(1.0, 2.0, size=(5, 3))
    cases.append(((Z, *affine(3), *stats(3), False, 0.1, 1e-5), "evaluation, 5 x 3"))
    Z = rng.normal(1.0, 2.0, size=(1, 9))
    cases.append(((Z, *affine(9), *stats(9), False, 0.2, 1e-5), "evaluation, a single example, 1 x 9"))
    return cases


@referee
def batchnorm_by_torch(Z, gamma, beta, running_mean, running_var, training, momentum, eps):
    """nn.BatchNorm1d in float64, given the parameters and running statistics: (out, running_mean, running_var)."""
    import torch

    bn = torch.nn.BatchNorm1d(Z.shape[1], eps=eps, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(np.asarray(gamma, dtype=np.float64)))
        bn.bias.copy_(torch.from_numpy(np.asarray(beta, dtype=np.float64)))
        bn.running_mean.copy_(torch.from_numpy(np.asarray(running_mean, dtype=np.float64)))
        bn.running_var.copy_(torch.from_numpy(np.asarray(running_var, dtype=np.float64)))
        bn.train(bool(training))
        out = bn(torch.from_numpy(np.asarray(Z, dtype=np.float64)))
    return out.numpy(), bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()


def _batchnorm(Z, gamma, beta, running_mean, running_var, training, momentum, eps, *, norm_ddof=0, run_ddof=1,
               reversed_momentum=False, eps_outside=False, axis=0, keepdims=False, eval_batch=False,
               eval_updates=False, train_running=False, affine=True, update=True, use_eps=True, swap=False,
               norm_axis=None, train_updated=False, run_std=False):
    """Batch normalisation with one mistake (PyTorch's rules otherwise)."""
    Z = np.asarray(Z, dtype=np.float64)
    gamma, beta = (beta, gamma) if swap else (gamma, beta)
    with np.errstate(all="ignore"), warnings.catch_warnings():   # a mistake may divide by N - 1 = 0: no noise
        warnings.simplefilter("ignore")
        n_axis = axis if norm_axis is None else norm_axis
        if (training or eval_batch) and not (training and (train_running or train_updated)):
            mean = Z.mean(axis=n_axis, keepdims=keepdims)
            var = Z.var(axis=n_axis, ddof=norm_ddof, keepdims=keepdims)
        else:
            mean, var = running_mean, running_var
        if training and train_updated:
            m = 1 - momentum if reversed_momentum else momentum
            mean = (1 - m) * np.asarray(running_mean) + m * Z.mean(axis=0)
            var = (1 - m) * np.asarray(running_var) + m * Z.var(axis=0, ddof=run_ddof)
        e = eps if use_eps else 0.0
        Z_hat = (Z - mean) / (np.sqrt(var) + e) if eps_outside else (Z - mean) / np.sqrt(var + e)
        out = gamma * Z_hat + beta if affine else Z_hat
        new_mean, new_var = np.array(running_mean, dtype=np.float64), np.array(running_var, dtype=np.float64)
        if (training or eval_updates) and update:
            m = 1 - momentum if reversed_momentum else momentum
            new_mean = (1 - m) * new_mean + m * Z.mean(axis=axis)
            batch_var = Z.var(axis=axis, ddof=run_ddof)
            new_var = (1 - m) * new_var + m * (np.sqrt(batch_var) if run_std else batch_var)
    return out, new_mean, new_var


def _bn_mistake(**options):
    return lambda *args: _batchnorm(*args, **options)


BATCHNORM_MISTAKES = [
    (_bn_mistake(norm_ddof=1),
     "the batch is normalised with the unbiased variance (divided by N - 1). Normalise with the biased batch "
     "variance, divided by N (Z.var(axis=0)): it is the variance of the numbers in the batch. The unbiased one "
     "belongs in the running estimate only."),
    (_bn_mistake(run_ddof=0),
     "the running variance is fed the biased batch variance. PyTorch feeds it the unbiased one, "
     "N / (N - 1) times the biased variance (Z.var(axis=0, ddof=1)): it estimates the variance of the "
     "feature over the whole data set."),
    (_bn_mistake(norm_ddof=1, run_ddof=0),
     "the two variances are swapped: normalise with the biased batch variance (divided by N) and feed the "
     "unbiased one (divided by N - 1) to the running estimate."),
    (_bn_mistake(reversed_momentum=True),
     "the momentum convention is reversed (Keras's): in PyTorch, momentum is the weight of the NEW batch, "
     "running = (1 - momentum) * running + momentum * batch value."),
    (_bn_mistake(eps_outside=True),
     "eps is added outside the square root, (Z - mean) / (sqrt(var) + eps). PyTorch adds it inside: "
     "(Z - mean) / sqrt(var + eps); the two differ most for a feature of tiny variance."),
    (_bn_mistake(use_eps=False),
     "eps is left out: divide by sqrt(var + eps), with eps inside the square root."),
    (_bn_mistake(axis=1),
     "the statistics are computed over the wrong axis (axis=1, over the features of each example). "
     "Batch normalisation normalises each feature (column) over the batch: mean and variance over axis=0."),
    (_bn_mistake(axis=1, keepdims=True),
     "the statistics are computed over the wrong axis (axis=1, over the features of each example). "
     "Batch normalisation normalises each feature (column) over the batch: mean and variance over axis=0."),
    (_bn_mistake(norm_axis=1, keepdims=True),
     "the batch is normalised over the wrong axis (axis=1, over the features of each example), although the "
     "running statistics are right. Batch normalisation normalises each feature (column) over the batch: "
     "Z.mean(axis=0) and Z.var(axis=0)."),
    (_bn_mistake(train_updated=True),
     "training mode normalises with the running statistics after this batch's update. In training, "
     "normalise with the batch's own mean and biased variance; the updated running statistics are only "
     "returned, for evaluation mode."),
    (_bn_mistake(run_std=True),
     "the running variance is fed the standard deviation of the batch. It is a running estimate of the "
     "VARIANCE: feed it Z.var(axis=0, ddof=1), not Z.std(...)."),
    (_bn_mistake(eval_batch=True),
     "evaluation mode normalises with the batch statistics. In evaluation mode, normalise with the running "
     "mean and variance, so that an example's output does not depend on the others in the batch."),
    (_bn_mistake(eval_batch=True, eval_updates=True),
     "evaluation mode uses the batch statistics and updates the running ones. In evaluation mode, normalise "
     "with running_mean and running_var and return them unchanged."),
    (_bn_mistake(eval_updates=True),
     "evaluation mode updates the running statistics. Only training batches update them; in evaluation "
     "mode return them unchanged."),
    (_bn_mistake(train_running=True),
     "training mode normalises with the running statistics. In training, normalise with the batch's own "
     "mean and biased variance; the running statistics are only updated there, and used in evaluation mode."),
    (_bn_mistake(update=False),
     "the running statistics are not updated in training mode: after a training batch, return "
     "(1 - momentum) * running + momentum * batch value, for the mean and for the (unbiased) variance."),
    (_bn_mistake(affine=False),
     "gamma and beta are not applied: the output is gamma * Z_hat + beta."),
    (_bn_mistake(swap=True),
     "gamma and beta are swapped: gamma scales (gamma * Z_hat), beta shifts (+ beta)."),
]


def _batchnorm_in_place(batchnorm_forward, named) -> None:
    """A WrongAnswer when the answer changes its arguments in place (e.g. running_mean *= 1 - momentum):
    check_function gives every call copies, so this runs the answer on copies of its own and compares."""
    labels = ("Z", "gamma", "beta", "running_mean", "running_var")
    for number, (args, label) in enumerate(named, start=1):
        given = copy.deepcopy(args)
        try:
            with answer_running(()):
                batchnorm_forward(*given)
        except Exception:
            return                                  # check_function reports errors and stubs as usual
        changed = [name for name, before, after in zip(labels, args, given)
                   if not np.array_equal(np.asarray(before), np.asarray(after), equal_nan=True)]
        if changed:
            raise WrongAnswer(
                f"Case {number} of {len(named)} ({label}): batchnorm_forward changed its argument"
                f"{'s' if len(changed) > 1 else ''} {', '.join(changed)} in place (e.g. running_mean *= "
                f"1 - momentum, or running_mean[:] = ...). The caller's arrays must stay as they were: compute "
                f"new arrays, (1 - momentum) * running_mean + momentum * ..., and return those.")


def batchnorm_forward_check(batchnorm_forward):
    named = batchnorm_cases()
    if callable(batchnorm_forward) and batchnorm_forward is not Ellipsis:
        _batchnorm_in_place(batchnorm_forward, named)
    cases = [(args, batchnorm_by_torch(*args)) for args, _ in named]
    return check_function(batchnorm_forward, cases, name="batchnorm_forward", rtol=1e-9, atol=1e-12,
                          mistakes=BATCHNORM_MISTAKES, case_names=[name for _, name in named],
                          output_names=("out", "running_mean", "running_var"))


@exercise("ch13-ex-batchnorm", answers=("batchnorm_forward",), points=3)
def _check_batchnorm(batchnorm_forward):
    return batchnorm_forward_check(batchnorm_forward)


# --------------------------------------------------------------------------
# ch13-ex-early-stopping
# --------------------------------------------------------------------------


def early_stopping_cases() -> list[tuple[tuple, str]]:
    """((val_losses, patience), name) pairs. The first has a lower loss after the stop (the
    overall lowest is not the answer); the second a tie; the third never stops; in the fourth the
    stopping condition is met only at the last epoch (so it ran every epoch); the fifth has a NaN
    (a diverged epoch); the sixth patience 1; the seventh a loss that falls from epoch to epoch
    without beating the best; the eighth is a NumPy array; the last has a NaN in epoch 1, so that
    no epoch is the best yet when the patience is first counted."""
    nan = float("nan")
    return [
        (([1.0, 0.8, 0.7, 0.72, 0.71, 0.73, 0.74, 0.75, 0.69, 0.6], 3),
         "the lowest loss of all comes after the stop"),
        (([0.9, 0.5, 0.5, 0.6, 0.7], 2), "two equal lowest losses"),
        (([1.0, 0.9, 0.8, 0.7], 2), "the loss falls every epoch: no stop"),
        (([1.0, 0.5, 0.6, 0.7], 2), "the patience runs out at the last epoch"),
        (([1.0, 0.8, nan, 0.9, 0.85, 0.7, 0.95], 3), "a NaN loss in epoch 3"),
        (([0.5, 0.6, 0.4], 1), "patience 1"),
        (([1.0, 0.6, 0.8, 0.7, 0.65, 0.64, 0.63, 0.5], 3),
         "the loss falls from epoch to epoch, but stays above the best"),
        ((np.array([2.3, 1.2, 0.9, 0.95, 0.85, 0.9, 0.91, 0.92, 0.93, 0.8, 0.7]), 4),
         "a NumPy array, patience 4"),
        (([nan, 1.0, 0.9, 1.1, 1.2], 2), "a NaN loss in epoch 1"),
    ]


@referee
def early_stopping_reference(val_losses, patience):
    """(best_epoch, stopped_epoch) as mlp_course.torch_training.fit(..., early_stopping=patience) has them."""
    losses = [float(v) for v in val_losses]
    best_loss, best_epoch = math.inf, None
    for epoch, loss in enumerate(losses, start=1):
        if loss < best_loss:                      # NaN is never below anything
            best_loss, best_epoch = loss, epoch
        if epoch - (best_epoch or 0) >= patience and epoch < len(losses):
            return best_epoch, epoch
    return best_epoch, None


def _stopping(val_losses, patience, *, zero_based=False, ties_last=False, overall=False, late=False,
              last_reported=False, nan_best=False, previous=False, no_stop_check=False, wait_reset=False,
              length_if_no_stop=False):
    """early_stopping_epochs with one mistake."""
    losses = [float(v) for v in val_losses]
    if overall:
        best = int(np.argmin(losses)) + 1
        return best, None if best + patience >= len(losses) else best + patience
    best_loss, best_epoch, previous_loss = math.inf, None, math.inf
    stopped, wait = None, 0
    for epoch, loss in enumerate(losses, start=1):
        if nan_best:
            better = not loss >= best_loss
        elif previous:
            better = loss < previous_loss
        elif ties_last:
            better = loss <= best_loss
        else:
            better = loss < best_loss
        if wait_reset:                            # a counter reset whenever the loss falls at all
            wait = 0 if loss < previous_loss else wait + 1
        previous_loss = loss
        if better:
            best_loss, best_epoch = loss, epoch
        waited = wait if wait_reset else epoch - (best_epoch or 0)
        if (waited > patience if late else waited >= patience) and (last_reported or epoch < len(losses)):
            stopped = epoch
            break
    if no_stop_check:
        stopped = best_epoch + patience
    if length_if_no_stop and stopped is None:
        stopped = len(losses)
    if zero_based:
        return best_epoch - 1, None if stopped is None else stopped - 1
    return best_epoch, stopped


def _stop_mistake(**options):
    return lambda losses, patience: _stopping(losses, patience, **options)


EARLY_STOPPING_MISTAKES = [
    (_stop_mistake(zero_based=True),
     "the epochs are counted from 0 (a list index). Epochs count from 1, as fit's history does: "
     "epoch = index + 1."),
    (_stop_mistake(overall=True),
     "the best epoch is the lowest loss of the whole list. Early stopping never sees the epochs after it "
     "stops: the best epoch is the lowest loss up to the stop, and a lower loss later does not count."),
    (_stop_mistake(ties_last=True),
     "an equal loss counts as an improvement (<=). Only a strictly lower loss does: the first of equal "
     "losses is the best epoch, and an equal loss later does not reset the patience."),
    (_stop_mistake(late=True),
     "training stops one epoch late: it stops after the epoch at which the best epoch is `patience` "
     "epochs old (epoch - best_epoch >= patience), not after patience + 1 epochs without improvement."),
    (_stop_mistake(last_reported=True),
     "the last epoch is reported as the stopping epoch. When the patience runs out only at the last epoch, "
     "training ran every epoch anyway, and fit reports stopped_epoch = None."),
    (_stop_mistake(nan_best=True),
     "a NaN loss counts as an improvement. A diverged epoch is never the best: compare with `loss < best` "
     "(False for NaN), or skip NaN values explicitly."),
    (_stop_mistake(previous=True),
     "an epoch counts as an improvement when its loss is below the previous epoch's. It must be below the "
     "lowest loss so far: the best epoch, whose weights are kept."),
    (_stop_mistake(wait_reset=True),
     "the patience counter is reset whenever the loss falls below the previous epoch's. It counts the "
     "epochs since the BEST epoch: only a loss below the lowest so far resets it, so "
     "stop when epoch - best_epoch >= patience."),
    (_stop_mistake(length_if_no_stop=True),
     "the last epoch is reported as the stopping epoch when training ran every epoch. fit reports "
     "stopped_epoch = None then: return (best_epoch, None) when no stop came before the last epoch."),
    (_stop_mistake(no_stop_check=True),
     "the stopping epoch is computed as best_epoch + patience, which may lie beyond the last epoch or after "
     "a later improvement. Go through the epochs in order and stop at the first one at which the best "
     "epoch is `patience` epochs old."),
]


def _stop_value(value, name: str, where: str, allow_none: bool):
    if value is None:
        if allow_none:
            return None
        raise WrongAnswer(f"{where}: {name} is None; here an epoch had the lowest loss, so it is a number.")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return int(value)
        raise WrongAnswer(f"{where}: {name} should be a whole number (an epoch, counted from 1) or None, "
                          f"got {type(value).__name__} {value!r:.40}.")
    return int(value)


def early_stopping_check(early_stopping_epochs):
    name = "early_stopping_epochs"
    if early_stopping_epochs is None or early_stopping_epochs is Ellipsis:
        return not_answered(name)
    if not callable(early_stopping_epochs):
        raise WrongAnswer(f"{name} should be a function, got {type(early_stopping_epochs).__name__}.")
    cases = early_stopping_cases()
    outcomes = []                                   # per case: (where, (best, stopped) or None, error or None)
    try:
        for number, ((losses, patience), label) in enumerate(cases, start=1):
            shown = np.array2string(np.asarray(losses, dtype=float), separator=", ", precision=3)
            where = f"Case {number} of {len(cases)} ({label}), {name}({shown}, {patience})"
            try:
                result = _run(early_stopping_epochs, copy.deepcopy((losses, patience)), where)
                outcomes.append((where, _stop_result(result, where), None))
            except (AnswerRaised, WrongAnswer) as error:
                outcomes.append((where, None, error))
    except _NotYet:
        return not_answered(name, _STUB)
    answers = [result for _, result, _ in outcomes]
    for (where, result, error), ((losses, patience), _) in zip(outcomes, cases):
        if error is not None:
            raise error
        want = early_stopping_reference(losses, patience)
        if result == want:
            continue
        hint = ""
        # A mistake is named when it gives the answer's results on every case, else when it does on this one.
        for everywhere in (True, False):
            for mistake, text in EARLY_STOPPING_MISTAKES:
                pairs = zip(answers, cases) if everywhere else [(result, ((losses, patience), None))]
                try:
                    if all(got is not None and tuple(mistake(copy.deepcopy(l), p)) == got
                           for got, ((l, p), _) in pairs):
                        hint = f" Likely mistake: {text}"
                        break
                except Exception:
                    continue
            if hint:
                break
        raise WrongAnswer(f"{where} returned (best_epoch, stopped_epoch) = {result}, expected {want}.{hint}")
    return passed(f"{name} passes all {len(cases)} test cases.")


def _stop_result(result, where: str) -> tuple:
    """The answer's result as (int, int or None), or a WrongAnswer saying what it is."""
    if result is None:
        raise WrongAnswer(f"{where} returned None. Did you forget a `return`?")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise WrongAnswer(f"{where}: the result should be a pair (best_epoch, stopped_epoch), got "
                          f"{type(result).__name__} {result!r:.60}.")
    return (_stop_value(result[0], "best_epoch (result[0])", where, allow_none=False),
            _stop_value(result[1], "stopped_epoch (result[1])", where, allow_none=True))


@exercise("ch13-ex-early-stopping", answers=("early_stopping_epochs",), points=2)
def _check_early_stopping(early_stopping_epochs):
    return early_stopping_check(early_stopping_epochs)
