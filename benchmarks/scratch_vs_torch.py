"""Time one training epoch of the 784-512-10 network: scratch NumPy vs PyTorch.

Both train the same network (same initial weights) for one epoch of 60,000
float32 samples in mini-batches of 128 with plain SGD, on this machine, in this
run. Each measurement is repeated and the fastest run kept, which filters out
interference from other processes. Prints the times and the ratio
scratch / PyTorch (lower is better; 1.0 means as fast as PyTorch).

    python benchmarks/scratch_vs_torch.py [--repeats 3] [--samples 60000]

The pixels are random numbers in [0, 1) and the labels random digits: speed
does not depend on what the images show, and this keeps the script offline.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from mlp_course import scratch, seed_everything
from mlp_course.training import fit


def scratch_epoch(model, loss_fn, optimizer, X, y, batch_size) -> None:
    for start in range(0, len(X), batch_size):
        X_batch, y_batch = X[start:start + batch_size], y[start:start + batch_size]
        loss_fn(model(X_batch), y_batch)
        model.zero_grad()
        # The data needs no gradient, exactly as in PyTorch.
        model.backward(loss_fn.backward(), input_grad=False)
        optimizer.step()


def torch_epoch(model, loss_fn, optimizer, X, y, batch_size) -> None:
    for start in range(0, len(X), batch_size):
        loss = loss_fn(model(X[start:start + batch_size]), y[start:start + batch_size])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def best_time(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    seed_everything(0)
    rng = np.random.default_rng(0)
    X = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=args.samples)
    lr = 0.01

    model = scratch.mlp([784, 512, 10])
    torch_model = scratch.to_torch(model)
    loss_fn, torch_loss_fn = scratch.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    optimizer = scratch.SGD(model.parameters(), lr=lr)
    torch_optimizer = torch.optim.SGD(torch_model.parameters(), lr=lr)
    X_torch, y_torch = torch.from_numpy(X), torch.from_numpy(y)

    def run_scratch():
        scratch_epoch(model, loss_fn, optimizer, X, y, args.batch_size)

    def run_torch():
        torch_epoch(torch_model, torch_loss_fn, torch_optimizer, X_torch, y_torch, args.batch_size)

    fit_model = scratch.mlp([784, 512, 10])

    def run_fit():
        fit(fit_model, X, y, scratch.CrossEntropyLoss(), scratch.SGD(fit_model.parameters(), lr=lr),
            epochs=1, batch_size=args.batch_size, shuffle=False)

    # Warm up both (allocator, BLAS threads, PyTorch's dispatch caches).
    scratch_epoch(model, loss_fn, optimizer, X[:2048], y[:2048], args.batch_size)
    torch_epoch(torch_model, torch_loss_fn, torch_optimizer, X_torch[:2048], y_torch[:2048], args.batch_size)

    scratch_time = best_time(run_scratch, args.repeats)
    torch_time = best_time(run_torch, args.repeats)
    fit_time = best_time(run_fit, args.repeats)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"one epoch, {args.samples} samples, batch {args.batch_size}, best of {args.repeats}:")
    print(f"  scratch training loop  {scratch_time:6.2f} s")
    print(f"  scratch fit()          {fit_time:6.2f} s  (adds shuffling, metrics, gradient norms)")
    print(f"  PyTorch                {torch_time:6.2f} s")
    print(f"ratio scratch / PyTorch: {scratch_time / torch_time:.2f}")


if __name__ == "__main__":
    main()
