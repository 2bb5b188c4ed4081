"""What the course knows about each downloadable image data set: :class:`DatasetSpec`.

A spec names the four gzipped IDX files of a set, the SHA-256 digests
accepted for each, the expected array shapes, the download mirrors and the
system folders where an operating-system package may have installed a copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The parts of an image set, in the order the loaders return them.
PARTS: tuple[str, ...] = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class DataFile:
    """One file of a data set: its name, the digests accepted for it, the array it holds."""

    name: str
    sha256: tuple[str, ...]
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        for digest in self.sha256:
            if len(digest) != 64 or any(char not in "0123456789abcdef" for char in digest):
                raise ValueError(f"DataFile {self.name}: {digest!r} is not a lower-case hex SHA-256 digest")
        if not self.sha256:
            raise ValueError(f"DataFile {self.name}: give at least one accepted SHA-256 digest")


@dataclass(frozen=True)
class DatasetSpec:
    """A downloadable image classification set of four gzipped IDX files."""

    name: str                        # folder name under the data folders, e.g. "fashion-mnist"
    title: str                       # how people write it, e.g. "Fashion-MNIST"
    classes: tuple[str, ...]
    train_images: DataFile
    train_labels: DataFile
    test_images: DataFile
    test_labels: DataFile
    mirrors: tuple[str, ...]         # base URLs ending in "/", tried in order
    system_folders: tuple[Path, ...] = ()
    system_package: str | None = None  # the Debian/Ubuntu package that installs system_folders

    @property
    def files(self) -> tuple[DataFile, ...]:
        """The four files in the order of :data:`PARTS`."""
        return tuple(getattr(self, part) for part in PARTS)


FASHION_MNIST_CLASSES: tuple[str, ...] = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
MNIST_CLASSES: tuple[str, ...] = tuple(str(digit) for digit in range(10))

# Each Fashion-MNIST file has two accepted digests. The first is the official gzip file's. The
# second is the copy that Debian's package dataset-fashion-mnist installs: the same compressed
# data re-wrapped in a gzip header without the original file name (each file is len(name) + 1
# bytes shorter), so the file's digest differs although the decompressed content is the same.
FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    classes=FASHION_MNIST_CLASSES,
    train_images=DataFile(
        "train-images-idx3-ubyte.gz",
        ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
         "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
        (60000, 28, 28),
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte.gz",
        ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
         "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
        (60000,),
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte.gz",
        ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
         "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
        (10000, 28, 28),
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte.gz",
        ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
         "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
        (10000,),
    ),
    mirrors=(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "https://fashion-mnist.s3.eu-central-1.amazonaws.com/",
    ),
    system_folders=(Path("/usr/share/datasets/fashion-mnist"),),
    system_package="dataset-fashion-mnist",
)

MNIST = DatasetSpec(
    name="mnist",
    title="MNIST",
    classes=MNIST_CLASSES,
    train_images=DataFile(
        "train-images-idx3-ubyte.gz",
        ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",),
        (60000, 28, 28),
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte.gz",
        ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
        (60000,),
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte.gz",
        ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
        (10000, 28, 28),
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte.gz",
        ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
        (10000,),
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ),
)
