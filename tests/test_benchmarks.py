"""The benchmark scripts in ``benchmarks/``, run on tiny networks and notebooks."""

from __future__ import annotations

import datetime
import json
import sys
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import chapter_times  # noqa: E402
import machine  # noqa: E402
import mlp_784_512_10 as bench  # noqa: E402

TINY = (6, 5, 3)


def tiny_data(n_train: int = 96, n_test: int = 48, seed: int = 0):
    """Learnable data: the label is the arg-max of the first three features."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_train + n_test, TINY[0]), dtype=np.float32)
    y = np.argmax(X[:, :3], axis=1).astype(np.int64)
    return X[:n_train], y[:n_train], X[n_train:], y[n_train:]


# -- the floating-point lower bound ------------------------------------------------
def test_count_flops_by_hand():
    # 3-4-2 on 5 samples: forward 2*5*(3*4 + 4*2), weight gradients the same,
    # the second layer's input gradient 2*5*2*4; no input gradient for the data.
    assert bench.count_flops((3, 4, 2), 5) == 200 + 200 + 80
    assert bench.count_flops((784, 512, 10), 60_000) == 2 * 60_000 * (2 * 784 * 512 + 3 * 512 * 10)


def test_matmul_shapes_of_one_step():
    shapes = bench.matmul_shapes((784, 512, 10), 128)
    assert [s["mkn"] for s in shapes] == [(128, 784, 512), (784, 128, 512), (128, 512, 10),
                                          (512, 128, 10), (128, 10, 512)]
    assert sum(2 * m * k * n for m, k, n in (s["mkn"] for s in shapes)) == bench.count_flops((784, 512, 10), 128)


def test_operands_have_the_library_layout():
    rng = np.random.default_rng(0)
    left, right, out = bench._operands(7, 4, 5, "weight gradient X.T @ dZ", rng)
    assert left.shape == (7, 4) and left.flags.f_contiguous and not left.flags.c_contiguous
    left, right, out = bench._operands(4, 5, 7, "input gradient dZ @ W.T", rng)
    assert right.shape == (5, 7) and right.flags.f_contiguous and out.shape == (4, 7)


def test_flop_bound_is_flops_over_throughput():
    matmuls = bench.measure_matmul(TINY, 4, repeats=2, min_seconds=1e-4)
    assert len(matmuls) == 5 and all(m["seconds"] > 0 and m["gflops_per_second"] > 0 for m in matmuls)
    bound = bench.flop_bound(TINY, 4, 100, matmuls)
    step_seconds = sum(m["seconds"] for m in matmuls)
    assert bound["flops_per_step"] == bench.count_flops(TINY, 4)
    np.testing.assert_allclose(bound["throughput_gflops_per_second"], bound["flops_per_step"] / step_seconds / 1e9)
    np.testing.assert_allclose(bound["lower_bound_seconds_per_epoch"], step_seconds * 100 / 4)


# -- the three libraries -------------------------------------------------------------
def test_scratch_and_torch_loops_train_the_same_network_alike():
    # Same initial weights and, without shuffling, the same batches: the two
    # loops must follow the same trajectory up to float32 rounding.
    X, y, X_test, y_test = tiny_data()
    scratch = bench.train_scratch(X, y, X_test, y_test, seed=3, epochs=4, sizes=TINY, batch_size=16, lr=0.01,
                                  shuffle=False)
    torch = bench.train_torch(X, y, X_test, y_test, seed=3, epochs=4, sizes=TINY, batch_size=16, lr=0.01,
                              shuffle=False)
    np.testing.assert_allclose(scratch.train_loss, torch.train_loss, rtol=1e-5)
    assert scratch.test_accuracy == torch.test_accuracy


def test_fit_gives_the_bare_loop_s_numbers():
    X, y, X_test, y_test = tiny_data()
    loop = bench.train_scratch(X, y, X_test, y_test, seed=1, epochs=3, sizes=TINY, batch_size=16, lr=0.01)
    fitted = bench.train_scratch_fit(X, y, X_test, y_test, seed=1, epochs=3, sizes=TINY, batch_size=16, lr=0.01)
    np.testing.assert_allclose(fitted.train_loss, loop.train_loss, rtol=1e-12)
    assert fitted.test_accuracy == loop.test_accuracy


@pytest.mark.parametrize("library", ["scratch", "torch", "sklearn"])
def test_every_library_trains_and_times_every_epoch(library):
    X, y, X_test, y_test = tiny_data(n_train=300, n_test=100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # MLPClassifier's ConvergenceWarning must be caught inside
        run = bench.TRAINERS[library](X, y, X_test, y_test, seed=0, epochs=8, sizes=TINY, batch_size=16, lr=0.01)
    assert run.library == library and run.seed == 0
    assert len(run.epoch_seconds) == 8 and all(s > 0 for s in run.epoch_seconds)
    assert len(run.train_loss) == 8 and run.train_loss[-1] < 0.8 * run.train_loss[0]
    assert run.test_accuracy > 0.5  # chance is about 1/3


def test_shuffling_changes_the_order_per_seed():
    X, y, X_test, y_test = tiny_data()
    runs = [bench.train_scratch(X, y, X_test, y_test, seed=seed, epochs=2, sizes=TINY, batch_size=16)
            for seed in (0, 0, 1)]
    assert runs[0].train_loss == runs[1].train_loss
    assert runs[0].train_loss != runs[2].train_loss


def test_sklearn_classifier_has_the_settings_of_the_comparison():
    params = bench.sklearn_classifier(seed=4, epochs=10).get_params()
    expected = dict(hidden_layer_sizes=(512,), activation="relu", solver="adam", batch_size=128,
                    learning_rate_init=1e-3, max_iter=10, shuffle=True, alpha=0.0, tol=0,
                    n_iter_no_change=10**9, random_state=4)
    assert {key: params[key] for key in expected} == expected


def test_sklearn_epoch_time_is_fit_time_over_epochs():
    X, y, X_test, y_test = tiny_data()
    run = bench.train_sklearn(X, y, X_test, y_test, seed=0, epochs=3, sizes=TINY, batch_size=16)
    assert run.notes["n_iter"] == 3 and run.notes["convergence_warning"]
    assert run.notes["dtype"] == "float32"
    np.testing.assert_allclose(run.epoch_seconds, [run.notes["fit_seconds"] / 3] * 3)


# -- what the numbers say -------------------------------------------------------------
def _run(library, seconds, accuracy, seed=0):
    return bench.Run(library, seed, list(seconds), [1.0] * len(seconds), accuracy)


def test_summary_medians_minima_and_accuracy_ranges():
    runs = [_run("scratch", [3.0, 1.0, 2.0], 0.8, 0), _run("scratch", [5.0, 4.0, 6.0], 0.9, 1),
            _run("torch", [2.0, 2.0, 2.0], 0.85)]
    summary = bench.summarise(runs, lower_bound=0.5)
    assert summary["scratch"]["median_epoch_seconds"] == 3.5 and summary["scratch"]["min_epoch_seconds"] == 1.0
    assert summary["scratch"]["ratio_to_lower_bound"] == 7.0
    assert summary["scratch"]["seeds"] == [0, 1]
    np.testing.assert_allclose([summary["scratch"][k] for k in ("accuracy_mean", "accuracy_min", "accuracy_max")],
                               [0.85, 0.8, 0.9])


@pytest.mark.parametrize("scratch_seconds, scratch_accuracy, met", [
    (1.0, 0.86, (True, True)),    # faster than PyTorch, 3x MLPClassifier, as accurate
    (1.5, 0.86, (False, False)),  # slower than PyTorch, only 2x MLPClassifier
    (1.0, 0.84, (True, False)),   # fast enough, but less accurate than MLPClassifier
])
def test_targets(scratch_seconds, scratch_accuracy, met):
    runs = [_run("scratch", [scratch_seconds], scratch_accuracy), _run("torch", [1.2], 0.86),
            _run("sklearn", [3.0], 0.85)]
    ratios, targets = bench.ratios_and_targets(bench.summarise(runs, lower_bound=0.5))
    np.testing.assert_allclose(ratios["scratch_over_torch"], scratch_seconds / 1.2)
    np.testing.assert_allclose(ratios["sklearn_over_scratch"], 3.0 / scratch_seconds)
    assert (targets["scratch_no_slower_than_torch"]["met"],
            targets["scratch_2.5x_faster_than_sklearn_at_no_lower_accuracy"]["met"]) == met


def test_command_line():
    args = bench.parse_args([])
    assert (args.epochs, args.seeds, args.samples, args.output) == (10, 5, None, bench.DEFAULT_OUTPUT)
    args = bench.parse_args(["--epochs", "2", "--seeds", "1", "--samples", "6000", "--output", "x.json"])
    assert (args.epochs, args.seeds, args.samples, args.output) == (2, 1, 6000, Path("x.json"))
    for bad in (["--epochs", "0"], ["--seeds", "-1"], ["--samples", "many"]):
        with pytest.raises(SystemExit):
            bench.parse_args(bad)


def test_a_whole_run_writes_every_measurement(tmp_path, capsys):
    path = tmp_path / "results" / "out.json"
    result = bench.main(["--epochs", "2", "--seeds", "2", "--output", str(path)], sizes=TINY,
                        data=tiny_data(n_train=200), log=lambda line: None)
    saved = json.loads(path.read_text())
    assert saved == json.loads(json.dumps(result))
    printed = capsys.readouterr().out
    assert "from scratch / PyTorch" in printed and "MLPClassifier / from scratch" in printed
    assert datetime.datetime.fromisoformat(saved["date"]).utcoffset() == datetime.timedelta(0)
    assert {"cpu", "logical_cores", "ram_gib"} <= set(saved["machine"])
    assert {"python", "numpy", "torch", "scikit-learn", "mlp_course", "blas"} <= set(saved["versions"])
    assert len(saved["load_average"]["before"]) == 3
    assert set(saved["environment"]) == set(machine.CODE_PATH_VARIABLES)
    assert [(run["library"], run["seed"]) for run in saved["runs"]] == [
        ("scratch", 0), ("torch", 0), ("sklearn", 0), ("scratch", 1), ("torch", 1), ("sklearn", 1), ("scratch_fit", 0)]
    assert all(len(run["epoch_seconds"]) == 2 for run in saved["runs"])
    assert set(saved["summary"]) == {"scratch", "torch", "sklearn", "scratch_fit"}
    assert saved["threads"]["torch"] == saved["threads"]["numpy_blas"] == machine.available_cores()
    assert all(isinstance(target["met"], bool) for target in saved["targets"].values())
    assert saved["flop_bound"]["flops_per_epoch"] == bench.count_flops(TINY, 200)
    assert saved["settings"]["train_samples"] == 200 and saved["settings"]["seeds"] == [0, 1]


def test_load_data_scales_pixels_to_the_unit_interval():
    try:
        X, y, X_test, y_test = bench.load_data(samples=50)
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not on this machine (nothing is downloaded in tests)")
    assert X.shape == (50, 784) and X_test.shape == (10_000, 784)
    assert X.dtype == X_test.dtype == np.float32 and y.dtype == np.int64
    assert 0.0 <= X.min() and X.max() <= 1.0 and X.max() > 0.99
    with pytest.raises(ValueError, match="samples must lie in"):
        bench.load_data(samples=60_001)


# -- the machine -------------------------------------------------------------------
def test_machine_records(monkeypatch):
    info = machine.machine_info()
    assert isinstance(info["cpu"], str) and info["cpu"]
    assert 1 <= info["available_cores"] <= info["logical_cores"]
    assert machine.versions("numpy")["numpy"] == np.__version__
    assert machine.versions("no-such-distribution")["no-such-distribution"] is None
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    environment = machine.code_path_environment()
    assert environment["OPENBLAS_CORETYPE"] == "Haswell" and environment["ATEN_CPU_CAPABILITY"] is None
    assert any(pool["user_api"] == "blas" for pool in machine.blas_info()["loaded"])


# -- chapter times ---------------------------------------------------------------------
def _notebook(path: Path, source: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# A page"), nbformat.v4.new_code_cell(source)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, path)


def test_select_chapters(tmp_path):
    with pytest.raises(FileNotFoundError, match="no chapter notebooks"):
        chapter_times.select_chapters(None, tmp_path)
    for name in ("01_a.ipynb", "02_b.ipynb", "10_c.ipynb", "notes.ipynb"):
        _notebook(tmp_path / name, "1")
    names = lambda paths: [path.name for path in paths]  # noqa: E731
    assert names(chapter_times.select_chapters(None, tmp_path)) == ["01_a.ipynb", "02_b.ipynb", "10_c.ipynb"]
    assert names(chapter_times.select_chapters(["10", "2", "02"], tmp_path)) == ["02_b.ipynb", "10_c.ipynb"]
    with pytest.raises(ValueError, match=r"no chapter '03'.*\['01', '02', '10'\]"):
        chapter_times.select_chapters(["03"], tmp_path)


def test_chapter_times_runs_each_notebook_without_writing_it(tmp_path):
    _notebook(tmp_path / "01_fine.ipynb", "import time\ntime.sleep(0.3)\nprint('done')")
    _notebook(tmp_path / "02_broken.ipynb", "raise ValueError('on purpose')")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    result = chapter_times.run(None, tmp_path, log=lambda line: None)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before
    fine, broken = result["chapters"]
    assert fine["ok"] and fine["error"] is None and fine["seconds"] >= 0.3
    assert not broken["ok"] and "on purpose" in broken["error"]
    assert result["complete"] and result["chapters_run"] == ["01_fine.ipynb", "02_broken.ipynb"]
    assert set(result["environment"]) == set(machine.CODE_PATH_VARIABLES)
    np.testing.assert_allclose(result["total_seconds"], fine["seconds"] + broken["seconds"])
    partial = chapter_times.run(["2"], tmp_path, log=lambda line: None)
    assert not partial["complete"] and partial["chapters_run"] == ["02_broken.ipynb"]
