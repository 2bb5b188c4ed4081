"""Tests for mlp_course.data.datasets: the specs of Fashion-MNIST and MNIST are complete and
consistent (four files, hex digests, HTTPS mirrors, official shapes), and DataFile refuses bad digests."""
from __future__ import annotations

import pytest

from mlp_course.data import FASHION_MNIST, FASHION_MNIST_CLASSES, MNIST, MNIST_CLASSES, DataFile
from mlp_course.data.datasets import PARTS
from mlp_course.data.download import check_url

NAMES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
SHAPES = ((60000, 28, 28), (60000,), (10000, 28, 28), (10000,))


@pytest.mark.parametrize("spec, digests_per_file", [(FASHION_MNIST, 2), (MNIST, 1)])
def test_specs_name_the_four_official_files(spec, digests_per_file):
    assert PARTS == ("train_images", "train_labels", "test_images", "test_labels")
    assert tuple(file.name for file in spec.files) == NAMES
    assert tuple(file.shape for file in spec.files) == SHAPES
    assert all(len(file.sha256) == digests_per_file for file in spec.files)
    digests = [digest for file in spec.files for digest in file.sha256]
    assert len(set(digests)) == len(digests), "no digest is accepted for two files"
    assert len(spec.mirrors) == 2
    for mirror in spec.mirrors:
        check_url(mirror)
        assert mirror.startswith("https://") and mirror.endswith("/")
    assert len(spec.classes) == 10


def test_fashion_mnist_and_mnist_details():
    assert FASHION_MNIST.name == "fashion-mnist" and MNIST.name == "mnist"
    assert FASHION_MNIST.system_package == "dataset-fashion-mnist"
    assert [str(folder) for folder in FASHION_MNIST.system_folders] == ["/usr/share/datasets/fashion-mnist"]
    assert MNIST.system_folders == () and MNIST.system_package is None
    assert FASHION_MNIST.classes == FASHION_MNIST_CLASSES == (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
    assert MNIST.classes == MNIST_CLASSES == tuple("0123456789")
    assert FASHION_MNIST.mirrors[0].startswith("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/")
    assert FASHION_MNIST.train_images.sha256[0] == "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    assert MNIST.test_labels.sha256 == ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",)


@pytest.mark.parametrize("digests, message", [
    ((), "give at least one accepted SHA-256 digest"),
    (("abc",), "'abc' is not a lower-case hex SHA-256 digest"),
    (("A" * 64,), "is not a lower-case hex SHA-256 digest"),
    (("g" * 64,), "is not a lower-case hex SHA-256 digest"),
])
def test_data_file_refuses_bad_digests(digests, message):
    with pytest.raises(ValueError, match=message):
        DataFile("x.gz", digests, (1,))
