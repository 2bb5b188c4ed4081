"""Alt text written from a figure's titles, labels and legends."""
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from mlp_course.figure_text import describe_figure, read_png_description, set_alt_text  # noqa: E402


def test_one_panel_names_title_axes_and_legend():
    fig, ax = plt.subplots()
    ax.plot([0, 1], label="training")
    ax.plot([1, 0], label="validation")
    ax.legend()
    ax.set(title=r"Loss at $\eta$ = 0.1", xlabel="epoch", ylabel="loss")
    assert describe_figure(fig) == "Loss at η = 0.1 (x axis epoch, y axis loss, legend training, validation)"
    plt.close(fig)


def test_panels_and_suptitle():
    fig, axes = plt.subplots(1, 2)
    axes[0].plot([0, 1])
    axes[0].set_title("weights")
    axes[1].imshow([[0, 1], [1, 0]])
    fig.suptitle("Layer 1")
    assert describe_figure(fig) == "Layer 1. 2 panels: weights; an image"
    plt.close(fig)


def test_many_panels_are_summarised_by_their_titles():
    fig, axes = plt.subplots(2, 4)
    for i, ax in enumerate(axes.flat):
        ax.imshow([[i]])
        ax.set_title("shirt" if i % 2 else "coat")
    assert describe_figure(fig) == "8 panels titled coat, shirt"
    plt.close(fig)


def test_a_figure_without_words_says_so():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    assert describe_figure(fig) == "A figure without title or axis labels"
    plt.close(fig)


def test_not_a_figure_is_refused():
    with pytest.raises(TypeError, match="expected a matplotlib Figure, got list"):
        describe_figure([1, 2])


@pytest.mark.parametrize("text", ["plain words", "Greek η and σ"])
def test_description_round_trips_through_a_png(text):
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Description": text})
    plt.close(fig)
    assert read_png_description(buffer.getvalue()) == text


def test_png_without_description_and_not_a_png():
    fig, ax = plt.subplots()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    assert read_png_description(buffer.getvalue()) is None
    with pytest.raises(ValueError, match="not a PNG"):
        read_png_description(b"GIF89a")


def test_own_alt_text_replaces_the_written_one_and_bad_text_is_refused():
    fig, ax = plt.subplots()
    ax.set_title("Boxes and arrows")
    with pytest.raises(ValueError, match="non-empty string, got ''"):
        set_alt_text(fig, "")
    with pytest.raises(TypeError, match="expected a matplotlib Figure, got str"):
        set_alt_text("figure", "text")
    assert describe_figure(fig) == "Boxes and arrows"
    set_alt_text(fig, "A diagram of 3 boxes,\n  joined by 2 arrows.")
    assert describe_figure(fig) == "A diagram of 3 boxes, joined by 2 arrows."
    plt.close(fig)


def test_mathtext_spaces_and_symbols_become_plain_text():
    fig, ax = plt.subplots()
    ax.set_title(r"$q = (a\,w + c)\,\sigma(t)$")
    ax.set_xlabel(r"$p = \Pr(y = 1 \mid x)$, loss $-\log p$")
    ax.set_ylabel(r"$\partial L / \partial W^{[1]}$")
    assert describe_figure(fig) == "q = (a w + c) σ(t) (x axis p = Pr (y = 1 | x), loss -log p, y axis ∂ L / ∂ W^[1])"
    plt.close(fig)


def test_figure_legends_primes_norms_hats_and_entries_with_commas():
    fig, (left, right) = plt.subplots(1, 2)
    left.plot([0, 1], label="sigmoid, Glorot")
    left.plot([1, 0], label="tanh, He")
    left.legend()
    left.set_ylabel(r"$\|dW\|$ and $\sigma^{\prime\prime}$")
    right.plot([0, 1], [0, 1])
    right.set_xlabel(r"predicted $\hat{y}$")
    fig.legend(["lr 0.1", "lr 1"])
    assert describe_figure(fig) == ("2 panels: y axis ‖dW‖ and σ^′′, legend sigmoid, Glorot; tanh, He; "
                                    "x axis predicted ŷ. legend lr 0.1, lr 1")
    plt.close(fig)


def test_an_axis_of_named_bars_lists_them_and_a_numeric_one_does_not():
    fig, ax = plt.subplots()
    ax.barh(["scratch", "PyTorch", "MLPClassifier"], [1.1, 1.0, 2.1])
    ax.set_xlabel("seconds per epoch")
    assert describe_figure(fig) == "x axis seconds per epoch, y categories scratch, PyTorch, MLPClassifier"
    plt.close(fig)
