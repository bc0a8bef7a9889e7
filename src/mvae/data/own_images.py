"""Your own images (``dataset=<path>``): an ``.npz`` file or a folder of PNG/JPEG files.

* ``.npz``: ``images`` (uint8, N x H x W or N x H x W x C with C = 1 or 3) and optional integer
  ``labels``; or ``train_images``/``test_images`` (and optional ``train_labels``/``test_labels``)
  for a split of your own. Loaded with ``allow_pickle=False``.
* a folder: every ``*.png``/``*.jpg``/``*.jpeg`` in it, all of one size, read with Pillow. Images
  in sub-folders take the sub-folder's name as their class (sorted names -> labels 0, 1, ...);
  images directly in the folder have no class (label 0). Hidden files are skipped.

Without a split of your own, a fixed one: a permutation seeded with :data:`SPLIT_SEED` puts one
image in ten (rounded down) into the test split, the same for every run and seed. Grey images give
one channel; if any image has colour, all are read as RGB (transparency dropped).

The data record (each split's ``source``, which a run's ``provenance.json`` keeps) names the path
and a SHA-256: of the ``.npz`` file, or of the folder's listing, one line
``<sha256 of the file>  <path in the folder>`` per image in sorted order; :attr:`OwnImages.files`
holds each file's own SHA-256, which a run pins when it starts (:mod:`mvae.checkpoints`).
Mistakes are one-line :class:`OwnImagesError` s naming the path and the cause (the config turns
them into ``ConfigError`` s): a file that is not a zip of ``.npy`` arrays (empty, text), an array
whose header claims more bytes than the file holds or than this machine has, an image over
Pillow's decompression-bomb limit, a split of fewer than :data:`MIN_SPLIT` images (the test loss
of one image would read 0: dHSIC is a batch statistic, and a batch of one is skipped).
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mvae.data.integrity import sha256_file
from mvae.data.loading import ImageDataset
from mvae.data.registry import REGISTRY

SPLIT_SEED = 0
#: One image in TEST_EVERY goes to the test split (a 90/10 split) when the file gives none.
TEST_EVERY = 10
#: Images a split needs at least: the loss averages batches of two or more.
MIN_SPLIT = 2
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = ("1", "L", "LA")


class OwnImagesError(ValueError):
    """Your images cannot be used as they are; the one-line message names the path and why."""


@dataclass(frozen=True)
class OwnImages:
    """Both splits of your images: uint8 (N, C, H, W) and int64 labels, and where they came from."""

    path: str
    kind: str                   # "npz" or "folder"
    sha256: str                 # of the file, or of the folder's listing
    split_note: str
    classes: tuple[str, ...]    # the class sub-folders' names, () without
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    #: (file, SHA-256) of every file read: the .npz, or each image of the folder
    files: tuple[tuple[str, str], ...] = ()

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        return tuple(int(d) for d in self.train_images.shape[1:])  # type: ignore[return-value]

    @property
    def architecture(self) -> str:
        """``auto``'s choice, as for the paper's data: convolutions for colour 32x32 images (the
        CIFAR-10 network), an MLP for everything else."""
        return "conv" if self.image_shape == (3, 32, 32) else "mlp"

    @property
    def likelihood(self) -> str:
        """``auto``'s choice: Bernoulli for grey levels (as MNIST), Gaussian for colour."""
        return "bernoulli" if self.image_shape[0] == 1 else "gaussian"

    @property
    def source(self) -> str:
        """The data record each split carries into a run's provenance: path, SHA-256, split."""
        what = "npz file" if self.kind == "npz" else "image folder, listing"
        return f"own images {self.path} ({what} sha256 {self.sha256}); {self.split_note}"

    def summary(self) -> str:
        """Sizes, shape and classes in a few words (what training prints)."""
        c, h, w = self.image_shape
        colour = "grey" if c == 1 else "colour"
        classes = f", {len(self.classes)} classes" if self.classes else ""
        return (f"{len(self.train_labels)} train and {len(self.test_labels)} test images of "
                f"{c}x{h}x{w} ({colour}{classes})")

    def dataset(self, split: str) -> ImageDataset:
        """One split as an :class:`mvae.data.ImageDataset` (copies: the cache stays intact)."""
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}; allowed: train, test")
        images, labels = getattr(self, f"{split}_images"), getattr(self, f"{split}_labels")
        return ImageDataset(name=Path(self.path).name, split=split,
                            images=torch.from_numpy(images.copy()),
                            labels=torch.from_numpy(labels.copy()), source=self.source)


def is_own_images(value: object) -> bool:
    """Whether a ``dataset`` value means a path (not a registry name): it contains a path
    separator, ends in ``.npz``, or exists."""
    if not isinstance(value, str) or not value or value in REGISTRY:
        return False
    return "/" in value or os.sep in value or value.lower().endswith(".npz") or Path(value).exists()


def read_own_images(path: str | Path) -> OwnImages:
    """Read, check and split the images at ``path`` (an ``.npz`` file or a folder).

    The last result is kept while the file (or every image in the folder) is unchanged, so
    validating a config and loading its two splits read the images once.
    """
    p = Path(path)
    if not p.exists():
        raise OwnImagesError(f"dataset {path} does not exist (give an .npz file or a folder of "
                             "PNG/JPEG images)")
    if p.is_dir():
        listing = _listing(p)
        if not listing:
            raise OwnImagesError(f"dataset folder {path} holds no PNG or JPEG images "
                                 f"({', '.join('*' + s for s in IMAGE_SUFFIXES)})")
        return _read_folder(str(path), listing)
    if p.suffix.lower() != ".npz":
        raise OwnImagesError(f"dataset {path} is a file but not an .npz archive; save your "
                             "arrays with np.savez(path, images=..., labels=...)")
    stat = p.stat()
    return _read_npz(str(path), (stat.st_size, stat.st_mtime_ns, stat.st_ino))


# --------------------------------------------------------------------------- checks
def _images(array: np.ndarray, where: str) -> np.ndarray:
    """(N, C, H, W) uint8 from N x H x W or N x H x W x C; a wrong dtype or shape is an error."""
    if array.dtype != np.uint8:
        raise OwnImagesError(f"{where} must be uint8 (grey levels 0-255), got {array.dtype}; "
                             "convert with (x * 255).round().astype('uint8') if x is in [0, 1]")
    if array.ndim == 3:
        array = array[:, None]
    elif array.ndim == 4 and array.shape[-1] in (1, 3):
        array = array.transpose(0, 3, 1, 2)
    else:
        raise OwnImagesError(f"{where} must be N x H x W or N x H x W x C with C = 1 or 3 "
                             f"(channels last), got shape {tuple(array.shape)}")
    if not len(array) or min(array.shape[2:]) < 1:
        raise OwnImagesError(f"{where} holds no images (shape {tuple(array.shape)})")
    return np.ascontiguousarray(array)


def _labels(array: np.ndarray | None, n: int, where: str) -> np.ndarray:
    """int64 labels (N,), zeros where none are given."""
    if array is None:
        return np.zeros(n, dtype=np.int64)
    if not np.issubdtype(array.dtype, np.integer) or array.shape != (n,):
        raise OwnImagesError(f"{where} must be {n} integers (one per image), got "
                             f"{array.dtype} of shape {tuple(array.shape)}")
    if n and int(array.min()) < 0:
        raise OwnImagesError(f"{where} must be >= 0, got {int(array.min())}")
    return array.astype(np.int64)


def _fixed_split(images: np.ndarray, labels: np.ndarray, where: str
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    n = len(images)
    if n < TEST_EVERY * MIN_SPLIT:
        raise OwnImagesError(f"{where} holds {n} images; at least {TEST_EVERY * MIN_SPLIT} are "
                             f"needed for a train/test split (one in {TEST_EVERY} is kept for "
                             f"testing, and the test loss needs {MIN_SPLIT} images at least)")
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    test, train = np.sort(perm[:n // TEST_EVERY]), np.sort(perm[n // TEST_EVERY:])
    note = (f"split: {len(test)} of {n} images for testing, drawn by a permutation with seed "
            f"{SPLIT_SEED}")
    return images[train], labels[train], images[test], labels[test], note


def _split_size(images: np.ndarray, where: str) -> None:
    if len(images) < MIN_SPLIT:
        raise OwnImagesError(f"{where} holds {len(images)} image(s); a split needs at least "
                             f"{MIN_SPLIT} (the loss averages batches of two or more images: "
                             "dHSIC is a batch statistic, so one image would give a loss of 0)")


# --------------------------------------------------------------------------- .npz
def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _check_npz(path: str) -> None:
    """Refuse, naming the cause, what ``np.load`` would misreport: an empty or non-zip file (numpy
    tries to unpickle it and speaks of pickled data), and an array whose header claims more bytes
    than its member holds, or than this machine's memory (numpy would try to allocate them)."""
    save = "save your arrays with np.savez(path, images=..., labels=...)"
    with open(path, "rb") as fh:
        head = fh.read(64)
    if not head:
        raise OwnImagesError(f"dataset {path} is empty (0 bytes), not an .npz archive; {save}")
    if not zipfile.is_zipfile(path):
        text = all(32 <= b < 127 or b in b"\t\r\n" for b in head)
        what = "a text file" if text else f"a file starting with {head[:8]!r}"
        raise OwnImagesError(f"dataset {path} is not an .npz archive (a zip of .npy arrays): it "
                             f"is {what}; {save}")
    memory = _memory_bytes()
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                member = f"dataset {path}: array {info.filename[:-4]}"
                with archive.open(info) as fh:
                    try:
                        version = np.lib.format.read_magic(fh)
                        reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                  else np.lib.format.read_array_header_2_0)
                        shape, _, dtype = reader(fh)
                    except (ValueError, OSError, EOFError) as err:
                        raise OwnImagesError(f"{member} has a damaged .npy header ("
                                             f"{' '.join(str(err).split())[:120]})") from None
                    held = info.file_size - fh.tell()
                if dtype.hasobject:
                    raise OwnImagesError(f"{member} holds Python objects (dtype {dtype}), which "
                                         "mvae never unpickles; store plain numeric arrays")
                claimed = math.prod(shape) * dtype.itemsize
                if claimed > held:
                    raise OwnImagesError(f"{member}: its header claims shape {tuple(shape)} of "
                                         f"{dtype} ({claimed:,} bytes) but the file holds "
                                         f"{held:,}: damaged, or not written by numpy")
                if memory is not None and claimed > memory:
                    raise OwnImagesError(f"{member} is {claimed:,} bytes, more than this "
                                         f"machine's memory ({memory:,} bytes)")
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise OwnImagesError(f"dataset {path} is a damaged .npz archive ("
                             f"{' '.join(str(err).split())[:160]})") from None


@functools.lru_cache(maxsize=1)
def _read_npz(path: str, _signature: tuple[int, ...]) -> OwnImages:
    _check_npz(path)
    digest = sha256_file(Path(path))
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise OwnImagesError(f"dataset {path} cannot be read as an .npz archive ("
                             f"{' '.join(str(err).split())[:160]})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise OwnImagesError(f"dataset {path} is a single array, not an .npz archive; save with "
                             "np.savez(path, images=..., labels=...)")
    with archive:
        names = set(archive.files)

        def get(key: str) -> np.ndarray | None:
            if key not in names:
                return None
            try:
                return archive[key]
            except ValueError as err:  # an object array: never unpickled
                raise OwnImagesError(f"dataset {path}: {key} cannot be read without unpickling "
                                     f"({err}); store plain numeric arrays") from None

        if "train_images" in names or "test_images" in names:
            if not {"train_images", "test_images"} <= names:
                raise OwnImagesError(f"dataset {path} must hold both train_images and "
                                     "test_images, or a single images array")
            parts = []
            for split in ("train", "test"):
                images = _images(get(f"{split}_images"), f"dataset {path}: {split}_images")
                _split_size(images, f"dataset {path}: {split}_images")
                parts += [images, _labels(get(f"{split}_labels"), len(images),
                                          f"dataset {path}: {split}_labels")]
            if parts[0].shape[1:] != parts[2].shape[1:]:
                raise OwnImagesError(f"dataset {path}: train images are "
                                     f"{'x'.join(map(str, parts[0].shape[1:]))} but test images "
                                     f"{'x'.join(map(str, parts[2].shape[1:]))}")
            parts.append("split: the file's train_images and test_images")
        elif "images" in names:
            images = _images(get("images"), f"dataset {path}: images")
            labels = _labels(get("labels"), len(images), f"dataset {path}: labels")
            parts = list(_fixed_split(images, labels, f"dataset {path}"))
        else:
            raise OwnImagesError(f"dataset {path} holds no images array (it holds: "
                                 f"{', '.join(sorted(names)) or 'nothing'}); save with "
                                 "np.savez(path, images=..., labels=...)")
    train_images, train_labels, test_images, test_labels, note = parts
    return OwnImages(path=path, kind="npz", sha256=digest, split_note=note, classes=(),
                     train_images=train_images, train_labels=train_labels,
                     test_images=test_images, test_labels=test_labels, files=((path, digest),))


# --------------------------------------------------------------------------- folder
def _listing(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(path in the folder, size, mtime) of every image, sorted; hidden entries skipped."""
    found = []
    for top, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") or not name.lower().endswith(IMAGE_SUFFIXES):
                continue
            path = Path(top) / name
            stat = path.stat()
            found.append((path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(sorted(found))


def _decode(raw: bytes, where: str) -> np.ndarray:
    """(H, W) for a grey image, (H, W, 3) for any other, uint8."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(raw)) as img:
            if img.mode in GREY_MODES:
                return np.asarray(img.convert("L"), dtype=np.uint8)
            if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                raise OwnImagesError(f"{where} is a {img.mode} (16-bit or float) image; save it "
                                     "with 8 bits per channel")
            return np.asarray(img.convert("RGB"), dtype=np.uint8)
    except Image.DecompressionBombError as err:  # not an OSError: it named no file
        raise OwnImagesError(f"{where} is too large to decode safely ("
                             f"{' '.join(str(err).split())[:160]}); resize it to the size the "
                             "model should see") from None
    except (UnidentifiedImageError, OSError) as err:
        raise OwnImagesError(f"{where} is not a readable PNG or JPEG image ("
                             f"{' '.join(str(err).split())[:120]})") from None


@functools.lru_cache(maxsize=1)
def _read_folder(path: str, listing: tuple[tuple[str, int, int], ...]) -> OwnImages:
    folder = Path(path)
    names = [rel for rel, _, _ in listing]
    nested = ["/" in rel for rel in names]
    if any(nested) and not all(nested):
        top = names[nested.index(False)]
        sub = names[nested.index(True)].split("/")[0]
        raise OwnImagesError(f"dataset folder {path} mixes images at its top level ({top}) with "
                             f"class sub-folders ({sub}/); put every image in a class folder, "
                             "or none")
    classes = tuple(sorted({rel.split("/")[0] for rel in names})) if all(nested) else ()
    manifest, decoded, files = hashlib.sha256(), [], []
    for rel in names:
        raw = (folder / rel).read_bytes()
        files.append((f"{path.rstrip('/')}/{rel}", hashlib.sha256(raw).hexdigest()))
        manifest.update(f"{files[-1][1]}  {rel}\n".encode())
        pixels = _decode(raw, f"{folder / rel}")
        if decoded and pixels.shape[:2] != decoded[0].shape[:2]:
            h, w = pixels.shape[:2]
            h0, w0 = decoded[0].shape[:2]
            raise OwnImagesError(f"dataset folder {path}: {rel} is {w}x{h}, not {w0}x{h0} like "
                                 f"{names[0]}; resize the images to one size")
        decoded.append(pixels)
    if all(p.ndim == 2 for p in decoded):
        images = np.stack(decoded)[:, None]
    else:
        images = np.stack([np.repeat(p[..., None], 3, axis=2) if p.ndim == 2 else p
                           for p in decoded]).transpose(0, 3, 1, 2)
    labels = np.array([classes.index(rel.split("/")[0]) for rel in names] if classes
                      else np.zeros(len(names)), dtype=np.int64)
    parts = _fixed_split(np.ascontiguousarray(images), labels, f"dataset folder {path}")
    return OwnImages(path=path, kind="folder", sha256=manifest.hexdigest(), split_note=parts[4],
                     classes=classes, train_images=parts[0], train_labels=parts[1],
                     test_images=parts[2], test_labels=parts[3], files=tuple(files))
