"""Tests for mlp_course.plotting: the figures exist, are labelled, and bad input is refused."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlp_course.plotting import draw_network, plot_decision_boundary, plot_history  # noqa: E402
from mlp_course.training import History  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def two_blobs(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(-1, 0.5, (n // 2, 2)), rng.normal(1, 0.5, (n // 2, 2))])
    y = np.repeat([0, 1], n // 2)
    return X, y


def logistic(G: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(G @ np.array([1.0, 1.0]))))


# --- draw_network -------------------------------------------------------------


def test_draw_network_labels_every_layer_with_its_true_size():
    ax = draw_network([784, 512, 10])
    labels = texts(ax)
    assert "input\n(784)" in labels
    assert "hidden 1\n(512)" in labels
    assert "output\n(10)" in labels
    assert ax.get_title() == "Architecture 784-512-10"


def test_draw_network_caps_big_layers_and_marks_the_gap():
    ax = draw_network([784, 3], max_neurons=6)
    circles = [c for c in ax.collections]
    # one scatter per layer: 6 circles shown for 784 neurons, all 3 for the output
    assert [len(c.get_offsets()) for c in circles] == [6, 3]
    assert texts(ax).count("\u22ee") == 1
    # every shown pair of neurons is connected
    assert len(ax.lines) == 6 * 3


def test_draw_network_small_network_shows_every_neuron_and_names_hidden_layers():
    ax = draw_network([2, 4, 4, 1], title="A small MLP")
    assert [len(c.get_offsets()) for c in ax.collections] == [2, 4, 4, 1]
    assert "\u22ee" not in texts(ax)
    assert {"hidden 1\n(4)", "hidden 2\n(4)"} <= set(texts(ax))
    assert ax.get_title() == "A small MLP"


def test_draw_network_bias_nodes_and_custom_labels():
    fig, ax = plt.subplots()
    out = draw_network([2, 3, 1], ax=ax, labels=["x", "h", "y"], show_bias=True)
    assert out is ax
    assert {"x\n(2)", "h\n(3)", "y\n(1)", "bias"} <= set(texts(ax))
    assert texts(ax).count("1") == 2  # a bias node before each of the two layers of weights
    assert len(ax.lines) == 2 * 3 + 3 * 1 + 3 + 1  # weights plus dashed bias connections


@pytest.mark.parametrize(
    "sizes, match",
    [([3], "at least an input and an output"), ([2, 0, 1], "positive integer"),
     ([2, 2.5], "positive integer"), ("2-3-1", "list of positive integers"), (5, "list of positive integers")],
)
def test_draw_network_rejects_bad_sizes(sizes, match):
    with pytest.raises((ValueError, TypeError), match=match):
        draw_network(sizes)


def test_draw_network_rejects_bad_labels_and_max_neurons():
    with pytest.raises(ValueError, match="3 strings"):
        draw_network([2, 3, 1], labels=["in", "out"])
    with pytest.raises(ValueError, match="max_neurons"):
        draw_network([2, 3, 1], max_neurons=1)
    with pytest.raises(TypeError, match="Axes"):
        draw_network([2, 1], ax="not axes")


# --- plot_decision_boundary -----------------------------------------------------


def test_decision_boundary_with_probabilities_is_labelled():
    X, y = two_blobs()
    ax = plot_decision_boundary(logistic, X, y, title="a neuron", resolution=50)
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert ax.get_title() == "a neuron"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["class 0", "class 1", "decision boundary"]
    # a colour bar explains the shading
    assert len(ax.figure.axes) == 2
    assert ax.figure.axes[1].get_ylabel() == "P(class 1 | x)"
    # the grid covers every point
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert x0 < X[:, 0].min() and x1 > X[:, 0].max() and y0 < X[:, 1].min() and y1 > X[:, 1].max()


def test_decision_boundary_with_labels_names_and_column_output():
    X, y = two_blobs()
    y = y + 1  # labels 1 and 2, returned as a column
    ax = plot_decision_boundary(lambda G: (1 + (G.sum(axis=1) > 0)).reshape(-1, 1), X, y,
                                resolution=20, feature_names=("length", "width"),
                                class_names=["small", "large"], colorbar=False)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("length", "width")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["small", "large"]
    assert len(ax.figure.axes) == 1


def test_decision_boundary_three_classes_from_scores():
    X, y = two_blobs(60)
    y = np.arange(60) % 3
    ax = plot_decision_boundary(lambda G: np.column_stack([G[:, 0], G[:, 1], -G[:, 0]]), X, y, resolution=20)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1", "class 2"]


def test_decision_boundary_rejects_bad_input():
    X, y = two_blobs()
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        plot_decision_boundary(logistic, np.ones((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match=r"y must have shape \(40,\)"):
        plot_decision_boundary(logistic, X, y[:10])
    with pytest.raises(TypeError, match="NumPy arrays"):
        plot_decision_boundary(logistic, X.tolist(), y)
    with pytest.raises(TypeError, match="predict must be a function"):
        plot_decision_boundary("logistic", X, y)
    with pytest.raises(ValueError, match="resolution"):
        plot_decision_boundary(logistic, X, y, resolution=1)
    with pytest.raises(ValueError, match="one value per row"):
        plot_decision_boundary(lambda G: G[:10, 0], X, y, resolution=5)
    with pytest.raises(ValueError, match="class_names"):
        plot_decision_boundary(logistic, X, y, class_names=["only one"])


# --- plot_history ---------------------------------------------------------------


def history(n: int = 5, scale: float = 1.0) -> History:
    epochs = np.arange(1, n + 1)
    return History(loss=list(scale / epochs), val_loss=list(1.2 * scale / epochs),
                   accuracy=list(1 - 0.5 / epochs), val_accuracy=list(1 - 0.6 / epochs))


def test_plot_history_draws_train_solid_and_validation_dashed():
    axes = plot_history(history())
    assert len(axes) == 2
    loss_ax, acc_ax = axes
    assert loss_ax.get_xlabel() == "epoch" and loss_ax.get_ylabel() == "loss"
    assert acc_ax.get_ylabel() == "accuracy"
    train, val = loss_ax.lines
    assert train.get_linestyle() == "-" and val.get_linestyle() == "--"
    assert train.get_color() == val.get_color()
    assert list(train.get_xdata()) == [1, 2, 3, 4, 5]
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["train", "validation"]


def test_plot_history_overlays_two_runs_with_labels():
    axes = plot_history(history(), label="scratch")
    plot_history(history(scale=2.0), axes=axes, label="PyTorch")
    loss_ax = axes[0]
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == [
        "scratch train", "scratch validation", "PyTorch train", "PyTorch validation"]
    assert loss_ax.lines[0].get_color() != loss_ax.lines[2].get_color()


def test_plot_history_accepts_a_dict_one_metric_and_a_single_axes():
    fig, ax = plt.subplots()
    axes = plot_history({"loss": [3.0, 2.0, 1.0]}, metrics="loss", axes=ax)
    assert axes == [ax]
    assert len(ax.lines) == 1 and ax.get_title() == "Loss"


def test_plot_history_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        plot_history(history(), metrics=("loss", "acc"))
    with pytest.raises(ValueError, match="no 'accuracy' values"):
        plot_history(History(loss=[1.0, 0.5]))
    with pytest.raises(TypeError, match="History"):
        plot_history([1.0, 0.5])
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="one matplotlib Axes per metric"):
        plot_history(history(), axes=ax)
    with pytest.raises(ValueError, match="metrics is empty"):
        plot_history(history(), metrics=())


def test_draw_network_accepts_a_numpy_array_of_sizes():
    ax = draw_network(np.array([4, 3, 2]))
    assert [len(c.get_offsets()) for c in ax.collections] == [4, 3, 2]


# --- labels on diagrams, colour-bar label, first epoch ---------------------------


def test_draw_network_writes_node_and_weight_labels():
    ax = draw_network([3, 1], show_bias=True,
                      node_labels=[["$x_1$", "$x_2$", "$x_3$"], None],
                      weight_labels={(0, 0, 0): "$w_1$", (0, 1, 0): "$w_2$", (0, 2, 0): "$w_3$",
                                     (0, "bias", 0): "$b$"})
    by_text = {t.get_text(): t for t in ax.texts}
    for name in ("$x_1$", "$x_2$", "$x_3$", "$w_1$", "$w_2$", "$w_3$", "$b$"):
        assert name in by_text
    # x_i sits in the i-th circle of the input layer, top to bottom
    inputs = ax.collections[-2].get_offsets()  # the last two scatters: input layer, output layer
    for i in range(3):
        assert tuple(by_text[f"$x_{i + 1}$"].get_position()) == tuple(inputs[i])
    # w_i sits on the line from input i to the output: between the two layers,
    # on the segment from (0, y_i) to (1, y_out)
    y_out = ax.collections[-1].get_offsets()[0][1]
    for i in range(3):
        x, y = by_text[f"$w_{i + 1}$"].get_position()
        assert 0 < x < 1
        assert np.isclose(y, inputs[i][1] + x * (y_out - inputs[i][1]))
    # the bias label sits on a dashed line, above every input
    assert by_text["$b$"].get_position()[1] > inputs[:, 1].max()


def test_draw_network_refuses_bad_labels():
    with pytest.raises(ValueError, match="one per layer"):
        draw_network([2, 1], node_labels=[["a", "b"]])
    with pytest.raises(ValueError, match=r"node_labels\[0\] must be 2 strings"):
        draw_network([2, 1], node_labels=[["a"], None])
    with pytest.raises(ValueError, match="drawn in full"):
        draw_network([20, 1], node_labels=[[str(i) for i in range(20)], None])
    with pytest.raises(ValueError, match="needs show_bias"):
        draw_network([2, 1], weight_labels={(0, "bias", 0): "b"})
    with pytest.raises(ValueError, match=r"key \(0, 2, 0\)"):
        draw_network([2, 1], weight_labels={(0, 2, 0): "w"})
    with pytest.raises(ValueError, match=r"key \(1, 0, 0\)"):
        draw_network([2, 1], weight_labels={(1, 0, 0): "w"})
    with pytest.raises(ValueError, match="not drawn in full"):
        draw_network([20, 1], weight_labels={(0, 0, 0): "w"})
    with pytest.raises(TypeError, match="weight_labels must be a dict"):
        draw_network([2, 1], weight_labels=["w1", "w2"])


def test_decision_boundary_colour_bar_label():
    X, y = two_blobs()
    ax = plot_decision_boundary(logistic, X, y, resolution=20, colorbar_label="P(virginica | x)")
    assert ax.figure.axes[1].get_ylabel() == "P(virginica | x)"


def test_plot_history_first_epoch_and_no_legend_for_a_lone_curve():
    axes = plot_history({"loss": [3.0, 2.0, 1.0], "accuracy": [0.5, 0.6, 0.7]}, first_epoch=0)
    for ax in axes:
        (line,) = ax.lines
        assert list(line.get_xdata()) == [0, 1, 2]
        assert ax.get_legend() is None  # one training curve: nothing to tell apart
    axes = plot_history({"loss": [3.0, 2.0]}, metrics="loss", label="scratch")
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["scratch"]
    with pytest.raises(ValueError, match="first_epoch"):
        plot_history({"loss": [1.0]}, metrics="loss", first_epoch=-1)


# --- show_images --------------------------------------------------------------


def test_show_images_titles_labels_and_marks_wrong_predictions():
    from mlp_course.plotting import show_images

    images = np.random.default_rng(0).random((3, 784))
    axes = show_images(images, labels=[1, 2, 3], predictions=[1, 5, 3], ncols=2)
    assert axes.shape == (2, 2)
    titles = [ax.get_title() for ax in axes.flat]
    assert titles[:3] == ["1 \u2192 1", "2 \u2192 5", "3 \u2192 3"] and titles[3] == ""
    assert axes.flat[1].title.get_color() == "C3" and axes.flat[0].title.get_color() == "black"
    assert len(axes.flat[0].images) == 1 and len(axes.flat[3].images) == 0


@pytest.mark.parametrize("images, kwargs, message", [
    (np.zeros((2, 100)), {}, r"shape \(n, 784\)"),
    (np.zeros((0, 784)), {}, "n >= 1"),
    (np.zeros((2, 784)), {"labels": [1]}, "labels must have one entry per image"),
    (np.zeros((2, 784)), {"ncols": 0}, "ncols must be a positive integer"),
])
def test_show_images_refuses_bad_input(images, kwargs, message):
    from mlp_course.plotting import show_images

    with pytest.raises(ValueError, match=message):
        show_images(images, **kwargs)
