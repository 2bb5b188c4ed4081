"""Time per epoch and test accuracy of one network in three libraries.

The network is the 784-512-10 multi-layer perceptron (one hidden layer of 512
ReLU units, 10 logits) trained on Fashion-MNIST with cross-entropy, Adam
(learning rate 1e-3, betas 0.9 and 0.999, eps 1e-8, no weight decay) and
mini-batches of 128 for 10 epochs, the training set reshuffled every epoch.
All three libraries get the same data: the 60,000 training images flattened
to 784 float32 pixels scaled to [0, 1] (uint8 / 255, not standardised).

* **from scratch**: ``mlp_course.scratch.mlp([784, 512, 10])``,
  ``scratch.CrossEntropyLoss`` and ``scratch.Adam`` in a bare loop over the
  batches of ``mlp_course.training.minibatches`` (forward, loss, zero_grad,
  backward without the input gradient, step); the loop that the PyTorch
  version runs too. ``training.fit``, which also records the accuracy and the
  gradient norm of every batch, is timed on the first seed as well.
* **PyTorch**: ``nn.Sequential`` (``scratch.to_torch`` of the same initial
  weights), ``nn.CrossEntropyLoss``, ``torch.optim.Adam`` (its default
  implementation) in a plain loop over a ``torch.randperm`` shuffle; like
  ``minibatches``, it gathers each batch's rows when it needs them.
* **scikit-learn**: ``MLPClassifier(hidden_layer_sizes=(512,), solver="adam",
  batch_size=128, learning_rate_init=1e-3, max_iter=10, shuffle=True,
  alpha=0.0, tol=0, n_iter_no_change=10**9, random_state=seed).fit``, whose
  time per epoch is the fit time divided by the epochs (``alpha=0``: no L2
  penalty, as in the other two; it starts from its own Glorot initialisation).

PyTorch runs on as many threads as the process has cores, and NumPy's BLAS
(used by the scratch library and by scikit-learn) is limited to the same
number with threadpoolctl. Epochs are timed with ``time.perf_counter``, from
the shuffle to the last step, without evaluation; each library's time per
epoch is the median over all its epochs (and the minimum). Seeds set the
initial weights and the shuffles; the test accuracy after the last epoch is
reported per seed, with its mean, minimum and maximum.

The floating-point lower bound counts the multiply-adds of the matrix products
that one epoch cannot avoid (forward products, weight gradients, the hidden
layer's input gradient; the data needs no gradient) and divides them by this
machine's float32 throughput for the same products at the same shapes
(``np.matmul`` into a preallocated array, best of several runs).

    python benchmarks/mlp_784_512_10.py                  # the full run, a few minutes
    python benchmarks/mlp_784_512_10.py --samples 6000 --epochs 2 --seeds 1   # a quick look

Run it as a reader would, without ``scripts/pinned_numerics``: those variables
hold NumPy, OpenBLAS and PyTorch to their AVX2 code paths, which can be slower
than what the processor offers (the JSON records their values).

writes ``benchmarks/results/mlp_784_512_10.json`` (``--output`` elsewhere):
the date, machine, load average before and after, the code-path environment
variables, versions, settings, every
epoch's time and every seed's accuracy, the derived numbers and whether each
target was met (from scratch no slower than PyTorch per epoch; at least 2.5
times faster than MLPClassifier at no lower mean accuracy). It prints a summary.
The data comes from ``mlp_course.data.load_fashion_mnist`` (without download:
the Debian package ``dataset-fashion-mnist``, ``$MLP_COURSE_DATA`` or the cache).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import machine  # noqa: E402  (benchmarks/machine.py, next to this script)

SIZES = (784, 512, 10)
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
SKLEARN_ALPHA = 0.0
SPEED_TARGET = 2.5  # from scratch at least this many times faster than MLPClassifier
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "mlp_784_512_10.json"
LIBRARIES = ("scratch", "torch", "sklearn")
LABELS = {"scratch": "from scratch", "torch": "PyTorch", "sklearn": "scikit-learn MLPClassifier",
          "scratch_fit": "from scratch, training.fit"}


@dataclass
class Run:
    """One library trained from one seed: the seconds of every epoch, the mean
    training loss of every epoch and the test accuracy at the end."""

    library: str
    seed: int
    epoch_seconds: list[float]
    train_loss: list[float]
    test_accuracy: float
    notes: dict[str, Any] = field(default_factory=dict)


# -- data -----------------------------------------------------------------------
def load_data(samples: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fashion-MNIST as ``(X_train, y_train, X_test, y_test)``: float32 rows of
    784 pixels in [0, 1] and int64 labels; ``samples`` keeps the first training images."""
    from mlp_course.data import load_fashion_mnist

    (X_train, y_train), (X_test, y_test) = load_fashion_mnist(download=False, progress=False)
    if samples is not None:
        if not 1 <= samples <= len(X_train):
            raise ValueError(f"samples must lie in [1, {len(X_train)}], got {samples}")
        X_train, y_train = X_train[:samples], y_train[:samples]
    return _pixels(X_train), y_train.astype(np.int64), _pixels(X_test), y_test.astype(np.int64)


def _pixels(images: np.ndarray) -> np.ndarray:
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255)


# -- the floating-point lower bound ------------------------------------------------
def matmul_shapes(sizes: Sequence[int], batch_size: int) -> list[dict[str, Any]]:
    """The matrix products of one training step, each as ``(m, k, n)`` for an
    ``(m, k) @ (k, n)`` product: per layer the forward product, the weight
    gradient and (all but the first layer) the input gradient."""
    shapes = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes.append({"layer": index + 1, "product": "forward X @ W", "mkn": (batch_size, fan_in, fan_out)})
        shapes.append({"layer": index + 1, "product": "weight gradient X.T @ dZ", "mkn": (fan_in, batch_size, fan_out)})
        if index > 0:
            shapes.append({"layer": index + 1, "product": "input gradient dZ @ W.T",
                           "mkn": (batch_size, fan_out, fan_in)})
    return shapes


def count_flops(sizes: Sequence[int], n_samples: int) -> int:
    """Floating-point operations of the matrix products of one epoch over
    ``n_samples`` (2 per multiply-add; bias, activation, loss and optimiser left out)."""
    per_sample = 0
    for shape in matmul_shapes(sizes, 1):
        m, k, n = shape["mkn"]
        per_sample += 2 * m * k * n
    return per_sample * n_samples


def _operands(m: int, k: int, n: int, product: str, rng: np.random.Generator):
    """Operands laid out in memory as the library has them (transposed views included)."""
    if product.startswith("weight"):  # X.T @ dZ: X is (batch, in), stored row by row
        left = rng.random((k, m), dtype=np.float32).T
        right = rng.random((k, n), dtype=np.float32)
    elif product.startswith("input"):  # dZ @ W.T: W is (in, out)
        left = rng.random((m, k), dtype=np.float32)
        right = rng.random((n, k), dtype=np.float32).T
    else:
        left = rng.random((m, k), dtype=np.float32)
        right = rng.random((k, n), dtype=np.float32)
    return left, right, np.empty((m, n), dtype=np.float32)


def measure_matmul(sizes: Sequence[int], batch_size: int, repeats: int = 7,
                   min_seconds: float = 0.05) -> list[dict[str, Any]]:
    """Best seconds and GFLOP/s of each product of one step (``np.matmul`` with
    ``out=``), the best of ``repeats`` timings of a loop of at least ``min_seconds``."""
    rng = np.random.default_rng(0)
    results = []
    for shape in matmul_shapes(sizes, batch_size):
        m, k, n = shape["mkn"]
        left, right, out = _operands(m, k, n, shape["product"], rng)
        np.matmul(left, right, out=out)  # warm up: threads, caches
        loops = 1
        while True:  # enough calls per timing for the clock to resolve them
            start = time.perf_counter()
            for _ in range(loops):
                np.matmul(left, right, out=out)
            if time.perf_counter() - start >= min_seconds:
                break
            loops *= 2
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(loops):
                np.matmul(left, right, out=out)
            best = min(best, (time.perf_counter() - start) / loops)
        flops = 2 * m * k * n
        results.append({**shape, "mkn": list(shape["mkn"]), "flops": flops, "seconds": best,
                        "gflops_per_second": flops / best / 1e9})
    return results


def flop_bound(sizes: Sequence[int], batch_size: int, n_samples: int,
               matmuls: list[dict[str, Any]]) -> dict[str, Any]:
    """FLOPs of one epoch, the throughput of one step's products and the lower
    bound on the time per epoch: FLOPs / throughput."""
    flops_per_step = sum(product["flops"] for product in matmuls)
    seconds_per_step = sum(product["seconds"] for product in matmuls)
    throughput = flops_per_step / seconds_per_step
    flops = count_flops(sizes, n_samples)
    return {"flops_per_epoch": flops, "flops_per_step": flops_per_step,
            "throughput_gflops_per_second": throughput / 1e9,
            "lower_bound_seconds_per_epoch": flops / throughput, "matmuls": matmuls}


def large_matmul_gflops(size: int = 1024, repeats: int = 5) -> float:
    """GFLOP/s of one large square float32 product, for comparison (near the BLAS's peak)."""
    rng = np.random.default_rng(1)
    left, right = rng.random((size, size), dtype=np.float32), rng.random((size, size), dtype=np.float32)
    out = np.empty((size, size), dtype=np.float32)
    np.matmul(left, right, out=out)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.matmul(left, right, out=out)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


# -- the three libraries -------------------------------------------------------------
def _scratch_model(sizes: Sequence[int], seed: int):
    from mlp_course import scratch

    return scratch.mlp(list(sizes), rng=np.random.default_rng(seed))


def _shuffle_rng(seed: int) -> np.random.Generator:
    # A stream apart from the one that drew the initial weights.
    return np.random.default_rng([seed, 1])


def train_scratch(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *, seed: int,
                  epochs: int, sizes: Sequence[int] = SIZES, batch_size: int = BATCH_SIZE,
                  lr: float = LEARNING_RATE, shuffle: bool = True) -> Run:
    """The scratch library in a bare loop over ``training.minibatches``."""
    from mlp_course import scratch
    from mlp_course.training import minibatches

    model = _scratch_model(sizes, seed)
    loss_fn = scratch.CrossEntropyLoss()
    optimizer = scratch.Adam(model.parameters(), lr=lr)
    rng = _shuffle_rng(seed)
    epoch_seconds, train_loss = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        total = 0.0
        for X_batch, y_batch in minibatches(X, y, batch_size, shuffle=shuffle, rng=rng):
            total += loss_fn(model(X_batch), y_batch) * len(X_batch)
            model.zero_grad()
            model.backward(loss_fn.backward(), input_grad=False)
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)
        train_loss.append(total / len(X))
    model.eval()
    accuracy = float(np.mean(np.argmax(model(X_test), axis=1) == y_test))
    return Run("scratch", seed, epoch_seconds, train_loss, accuracy, {"loop": "bare loop over training.minibatches"})


def train_scratch_fit(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *, seed: int,
                      epochs: int, sizes: Sequence[int] = SIZES, batch_size: int = BATCH_SIZE,
                      lr: float = LEARNING_RATE) -> Run:
    """The scratch library through ``training.fit``, one epoch per call (the
    optimiser and the shuffling generator carry over from call to call)."""
    from mlp_course import scratch
    from mlp_course.training import fit

    model = _scratch_model(sizes, seed)
    loss_fn = scratch.CrossEntropyLoss()
    optimizer = scratch.Adam(model.parameters(), lr=lr)
    rng = _shuffle_rng(seed)
    epoch_seconds, train_loss = [], []
    for _ in range(epochs):
        start = time.perf_counter()
        history = fit(model, X, y, loss_fn, optimizer, epochs=1, batch_size=batch_size, rng=rng)
        epoch_seconds.append(time.perf_counter() - start)
        train_loss.append(history.loss[-1])
    model.eval()
    accuracy = float(np.mean(np.argmax(model(X_test), axis=1) == y_test))
    return Run("scratch_fit", seed, epoch_seconds, train_loss, accuracy, {"loop": "training.fit(epochs=1) per epoch"})


def train_torch(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *, seed: int,
                epochs: int, sizes: Sequence[int] = SIZES, batch_size: int = BATCH_SIZE,
                lr: float = LEARNING_RATE, shuffle: bool = True) -> Run:
    """``nn.Sequential`` with the scratch model's initial weights, ``torch.optim.Adam``, a plain loop."""
    import torch

    from mlp_course import scratch

    model = scratch.to_torch(_scratch_model(sizes, seed))
    if not isinstance(model, torch.nn.Sequential):
        raise TypeError(f"expected scratch.to_torch to give an nn.Sequential, got {type(model).__name__}")
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    X_all, y_all = torch.from_numpy(X), torch.from_numpy(y)
    epoch_seconds, train_loss = [], []
    model.train()
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(X_all), generator=generator) if shuffle else None
        total = 0.0
        for first in range(0, len(X_all), batch_size):
            # Each batch's rows gathered when needed, as training.minibatches does.
            if order is None:
                X_batch, y_batch = X_all[first:first + batch_size], y_all[first:first + batch_size]
            else:
                rows = order[first:first + batch_size]
                X_batch, y_batch = X_all[rows], y_all[rows]
            loss = loss_fn(model(X_batch), y_batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
        epoch_seconds.append(time.perf_counter() - start)
        train_loss.append(total / len(X))
    model.eval()
    with torch.no_grad():
        predictions = model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
    accuracy = float(np.mean(predictions == y_test))
    return Run("torch", seed, epoch_seconds, train_loss, accuracy,
               {"threads": torch.get_num_threads(), "loop": "plain loop over a torch.randperm shuffle"})


def sklearn_classifier(seed: int, epochs: int, sizes: Sequence[int] = SIZES, batch_size: int = BATCH_SIZE,
                       lr: float = LEARNING_RATE):
    """The ``MLPClassifier`` of the comparison (hidden layers from ``sizes``)."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu", solver="adam",
                         batch_size=batch_size, learning_rate_init=lr, max_iter=epochs, shuffle=True,
                         alpha=SKLEARN_ALPHA, tol=0, n_iter_no_change=10**9, random_state=seed)


def train_sklearn(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, *, seed: int,
                  epochs: int, sizes: Sequence[int] = SIZES, batch_size: int = BATCH_SIZE,
                  lr: float = LEARNING_RATE) -> Run:
    """One ``fit`` of ``epochs`` iterations; every epoch is credited fit time / epochs."""
    from sklearn.exceptions import ConvergenceWarning

    classifier = sklearn_classifier(seed, epochs, sizes, batch_size, lr)
    with warnings.catch_warnings(record=True) as caught:
        # max_iter is reached on purpose: fit warns that it has not converged.
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        classifier.fit(X, y)
        seconds = time.perf_counter() - start
    for warning in caught:  # anything else is news
        if not issubclass(warning.category, ConvergenceWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if classifier.n_iter_ != epochs:
        raise RuntimeError(f"MLPClassifier stopped after {classifier.n_iter_} of {epochs} epochs")
    accuracy = float(classifier.score(X_test, y_test))
    return Run("sklearn", seed, [seconds / epochs] * epochs, [float(v) for v in classifier.loss_curve_], accuracy,
               {"fit_seconds": seconds, "n_iter": int(classifier.n_iter_),
                "dtype": str(classifier.coefs_[0].dtype),
                "convergence_warning": any(issubclass(w.category, ConvergenceWarning) for w in caught)})


TRAINERS = {"scratch": train_scratch, "torch": train_torch, "sklearn": train_sklearn}


# -- what the numbers say -----------------------------------------------------------
def summarise(runs: list[Run], lower_bound: float) -> dict[str, dict[str, Any]]:
    """Per library: median and minimum seconds per epoch over all its epochs,
    their ratio to the lower bound, and the test accuracy over seeds."""
    summary = {}
    for library in dict.fromkeys(run.library for run in runs):
        mine = [run for run in runs if run.library == library]
        seconds = [s for run in mine for s in run.epoch_seconds]
        accuracies = [run.test_accuracy for run in mine]
        median = statistics.median(seconds)
        summary[library] = {
            "label": LABELS.get(library, library),
            "seeds": [run.seed for run in mine],
            "median_epoch_seconds": median,
            "min_epoch_seconds": min(seconds),
            "ratio_to_lower_bound": median / lower_bound,
            "accuracy_mean": statistics.fmean(accuracies),
            "accuracy_min": min(accuracies),
            "accuracy_max": max(accuracies),
        }
    return summary


def ratios_and_targets(summary: dict[str, dict[str, Any]]) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """scratch / PyTorch and MLPClassifier / scratch (median seconds per epoch),
    and whether each target is met."""
    scratch, torch, sklearn = (summary[name] for name in LIBRARIES)
    scratch_over_torch = scratch["median_epoch_seconds"] / torch["median_epoch_seconds"]
    sklearn_over_scratch = sklearn["median_epoch_seconds"] / scratch["median_epoch_seconds"]
    ratios = {"scratch_over_torch": scratch_over_torch, "sklearn_over_scratch": sklearn_over_scratch}
    targets = {
        "scratch_no_slower_than_torch": {
            "rule": "median seconds per epoch: from scratch <= PyTorch",
            "value": scratch_over_torch,
            "met": bool(scratch_over_torch <= 1.0),
        },
        "scratch_2.5x_faster_than_sklearn_at_no_lower_accuracy": {
            "rule": f"MLPClassifier / from scratch >= {SPEED_TARGET} (median seconds per epoch) "
                    f"and mean test accuracy from scratch >= MLPClassifier's",
            "value": sklearn_over_scratch,
            "accuracy_difference": scratch["accuracy_mean"] - sklearn["accuracy_mean"],
            "met": bool(sklearn_over_scratch >= SPEED_TARGET and scratch["accuracy_mean"] >= sklearn["accuracy_mean"]),
        },
    }
    return ratios, targets


# -- the run -----------------------------------------------------------------------
def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=_positive_int, default=10, help="epochs per run (default 10)")
    parser.add_argument("--seeds", type=_positive_int, default=5,
                        help="seeds 0, 1, ... per library (default 5)")
    parser.add_argument("--samples", type=_positive_int, default=None,
                        help="train on the first SAMPLES images only, for a quick run (default: all 60,000)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="where the JSON goes (default benchmarks/results/mlp_784_512_10.json)")
    return parser.parse_args(argv)


def run_benchmark(args: argparse.Namespace, *, sizes: Sequence[int] = SIZES, data: tuple | None = None,
                  log=print) -> dict[str, Any]:
    """Every measurement, the derived numbers and the targets, as one JSON-ready dict.

    ``sizes`` and ``data`` (``X, y, X_test, y_test`` instead of Fashion-MNIST)
    are there for the tests, which run it on a tiny network."""
    import torch
    from threadpoolctl import threadpool_limits

    import mlp_course

    started, load_before = time.perf_counter(), machine.load_average()
    threads = machine.available_cores()
    torch.set_num_threads(threads)
    X, y, X_test, y_test = load_data(args.samples) if data is None else data
    log(f"data: {len(X)} training and {len(X_test)} test images; {threads} threads")
    runs: list[Run] = []
    with threadpool_limits(limits=threads, user_api="blas"):
        blas = machine.blas_info()
        matmuls = measure_matmul(sizes, BATCH_SIZE)
        bound = flop_bound(sizes, BATCH_SIZE, len(X), matmuls)
        bound["large_matmul_gflops_per_second"] = large_matmul_gflops()
        log(f"lower bound: {bound['flops_per_epoch'] / 1e9:.1f} GFLOP per epoch at "
            f"{bound['throughput_gflops_per_second']:.1f} GFLOP/s = {bound['lower_bound_seconds_per_epoch']:.3f} s")
        for seed in range(args.seeds):
            # The libraries take turns within each seed, so a change in the
            # machine's load falls on all three alike.
            for library in LIBRARIES:
                run = TRAINERS[library](X, y, X_test, y_test, seed=seed, epochs=args.epochs, sizes=sizes)
                runs.append(run)
                log(f"seed {seed} {LABELS[library]:>28}: median {statistics.median(run.epoch_seconds):.3f} s/epoch, "
                    f"test accuracy {run.test_accuracy:.4f}")
        fit_run = train_scratch_fit(X, y, X_test, y_test, seed=0, epochs=args.epochs, sizes=sizes)
        runs.append(fit_run)
        log(f"seed 0 {LABELS['scratch_fit']:>28}: median {statistics.median(fit_run.epoch_seconds):.3f} s/epoch, "
            f"test accuracy {fit_run.test_accuracy:.4f}")
    summary = summarise(runs, bound["lower_bound_seconds_per_epoch"])
    ratios, targets = ratios_and_targets(summary)
    return {
        "benchmark": f"{'-'.join(map(str, sizes))} ReLU MLP on Fashion-MNIST: time per epoch and test accuracy",
        "date": machine.utc_now(),
        "machine": machine.machine_info(),
        "load_average": {"before": load_before, "after": machine.load_average()},
        "environment": machine.code_path_environment(),
        "versions": {**machine.versions("numpy", "torch", "scikit-learn", "threadpoolctl"),
                     "mlp_course": mlp_course.__version__, "blas": blas},
        "threads": {"torch": torch.get_num_threads(), "numpy_blas": threads},
        "settings": {
            "layer_sizes": list(sizes), "activation": "relu", "loss": "cross-entropy",
            "optimizer": "Adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8), no weight decay",
            "learning_rate": LEARNING_RATE, "batch_size": BATCH_SIZE, "epochs": args.epochs,
            "seeds": list(range(args.seeds)), "train_samples": len(X), "test_samples": len(X_test),
            "pixels": "float32, uint8 / 255, in [0, 1] (not standardised), the same for all",
            "shuffle": "every epoch, in every library",
            "scratch": "scratch.mlp + CrossEntropyLoss + Adam in a bare loop over training.minibatches; "
                       "training.fit timed on seed 0 too",
            "torch": "nn.Sequential (to_torch of the scratch model's initial weights), torch.optim.Adam "
                     "(default implementation), plain loop over a torch.randperm shuffle, rows gathered per batch",
            "sklearn": f"MLPClassifier(hidden_layer_sizes={tuple(sizes[1:-1])}, solver='adam', batch_size=128, "
                       f"learning_rate_init=1e-3, max_iter={args.epochs}, shuffle=True, alpha={SKLEARN_ALPHA}, "
                       f"tol=0, n_iter_no_change=10**9, random_state=seed).fit; seconds per epoch = fit time / epochs",
            "timing": "time.perf_counter per epoch (shuffle to last step, no evaluation); "
                      "median and minimum over all epochs of all seeds",
        },
        "flop_bound": bound,
        "runs": [asdict(run) for run in runs],
        "summary": summary,
        "ratios": ratios,
        "targets": targets,
        "total_seconds": time.perf_counter() - started,
    }


def format_summary(result: dict[str, Any]) -> str:
    """The readable summary printed at the end."""
    bound = result["flop_bound"]
    lines = [
        f"{result['date']}  {result['machine']['cpu']}, {result['machine']['available_cores']} cores, "
        f"load {result['load_average']['before']} -> {result['load_average']['after']}",
        f"{result['settings']['train_samples']} samples, batch {result['settings']['batch_size']}, "
        f"{result['settings']['epochs']} epochs, seeds {result['settings']['seeds']}",
        f"lower bound {bound['lower_bound_seconds_per_epoch']:.3f} s/epoch "
        f"({bound['flops_per_epoch'] / 1e9:.1f} GFLOP at {bound['throughput_gflops_per_second']:.1f} GFLOP/s; "
        f"a 1024x1024 product runs at {bound['large_matmul_gflops_per_second']:.1f} GFLOP/s)",
        f"{'library':<30}{'median s/epoch':>15}{'min':>8}{'x bound':>9}{'accuracy mean [min, max]':>28}",
    ]
    for entry in result["summary"].values():
        lines.append(f"{entry['label']:<30}{entry['median_epoch_seconds']:>15.3f}{entry['min_epoch_seconds']:>8.3f}"
                     f"{entry['ratio_to_lower_bound']:>9.2f}    {entry['accuracy_mean']:.4f} "
                     f"[{entry['accuracy_min']:.4f}, {entry['accuracy_max']:.4f}]")
    ratios = result["ratios"]
    lines.append(f"from scratch / PyTorch: {ratios['scratch_over_torch']:.2f};  "
                 f"MLPClassifier / from scratch: {ratios['sklearn_over_scratch']:.2f}")
    for name, target in result["targets"].items():
        lines.append(f"target {name}: {'met' if target['met'] else 'NOT met'} ({target['rule']})")
    lines.append(f"total {result['total_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, **options: Any) -> dict[str, Any]:
    """Parse the command line, run, write the JSON and print the summary
    (``options`` go to :func:`run_benchmark`)."""
    args = parse_args(argv)
    result = run_benchmark(args, **options)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(format_summary(result))
    print(f"wrote {args.output}")
    return result


if __name__ == "__main__":
    main()
