"""Preparing the cache from the first source that works, and loading verified splits as tensors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mvae.data import cache, sources
from mvae.data.integrity import SourceUnavailable, warn
from mvae.data.registry import spec


@dataclass(frozen=True)
class ImageDataset:
    """One split: uint8 images (N, C, H, W), int64 labels (N,), and where they came from.

    Images stay uint8 (4x smaller than float) until :meth:`floats` is asked for; ``source`` travels
    with them so that every result can name its data (the CIFAR-10 JPEG copy in particular).
    """

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    source: str

    def __post_init__(self) -> None:
        """Reject malformed tensors here rather than deep inside a training step."""
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {self.images.dtype} "
                             f"{tuple(self.images.shape)}")
        if self.labels.dtype != torch.int64 or self.labels.shape != self.images.shape[:1]:
            raise ValueError(f"labels must be int64 ({len(self.images)},), got "
                             f"{self.labels.dtype} {tuple(self.labels.shape)}")

    def floats(self) -> torch.Tensor:
        """Images as float32 in [0, 1] (the Bernoulli-likelihood scale)."""
        return self.images.float().div_(255)

    def __len__(self) -> int:
        return len(self.labels)


def prepare(name: str, root: Path | None = None, *, cifar10_path: str | Path | None = None,
            progress: bool = True) -> cache.Record:
    """Obtain ``name`` from the first source that works, verify it and cache it; return its
    source record (the contents of SOURCE.json, verified by :func:`mvae.data.cache.read_record`).
    Only reads the record once the cache exists.

    Downloads go to ``<root>/<name>/downloads/`` (not a temp folder, so that a file moved aside
    as ``.corrupt`` survives for inspection) and are removed after success.
    """
    spec(name)
    folder = (root or cache.default_root()) / name
    if cache.cache_complete(folder):
        return cache.read_record(folder, name)
    workdir = folder / "downloads"
    workdir.mkdir(parents=True, exist_ok=True)
    failures = []
    for label, fetch in sources.sources_for(name, workdir, cifar10_path, progress):
        try:
            arrays, record = fetch()
        except SourceUnavailable as err:
            warn(f"{name}: source {label!r} unavailable ({err}); trying the next one")
            failures.append(f"{label}: {err}")
            continue
        record = cache.store(name, arrays, record, root)
        sources.clean_downloads(workdir)
        return record
    if not workdir.is_symlink() and not any(workdir.iterdir()):
        workdir.rmdir()
    local = next((s for s in spec(name).sources if s.kind == "local_copy"), None)
    hint = (f" For {name} offline, point cifar10_path or ${local.env_var} at a folder holding "
            f"its files ({', '.join(local.files)})." if local is not None else "")
    raise RuntimeError(f"could not obtain {name} from any source:\n  " + "\n  ".join(failures)
                       + hint)


def class_balanced_subset(labels: torch.Tensor, n: int) -> torch.Tensor:
    """Sorted indices of the first ``n // classes`` images of each class, in dataset order.

    Deterministic and source-independent: on CIFAR-10 the first 1,000 per class are the same
    images in the official archive and in the JPEG copy (which keeps the within-class order).
    """
    classes = torch.unique(labels)
    if n <= 0 or n % len(classes):
        raise ValueError(f"subset size {n} is not a positive multiple of the {len(classes)} "
                         "classes (it must be divisible by the class count)")
    per_class = n // len(classes)
    picks = []
    for c in classes:
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) < per_class:
            raise ValueError(f"class {int(c)} has only {len(idx)} images, {per_class} asked for")
        picks.append(idx[:per_class])
    return torch.cat(picks).sort().values


def load(name: str, split: str, root: Path | None = None, *, subset: int | None = None,
         cifar10_path: str | Path | None = None) -> ImageDataset:
    """One split as an :class:`ImageDataset`, prepared on first use and re-verified on every load.

    ``subset`` keeps a class-balanced part (:func:`class_balanced_subset`); ``None`` or the split's
    size keeps everything.
    """
    entry = spec(name, split)
    record = prepare(name, root, cifar10_path=cifar10_path)
    folder = (root or cache.default_root()) / name
    n = int(record["sizes"][split])
    known = {**record["array_sha256"], **entry.array_sha256}
    images = cache.load_array(folder / f"{split}_images.npy", known[f"{split}_images"],
                              (n, *entry.cached_shape))
    labels = cache.load_array(folder / f"{split}_labels.npy", known[f"{split}_labels"], (n,))
    if images.ndim == 3:
        images = images[:, None]
    image_t = torch.from_numpy(np.ascontiguousarray(images))
    label_t = torch.from_numpy(labels.astype(np.int64))
    if subset is not None and subset != n:
        if subset > n:
            raise ValueError(f"{split}_subset={subset} is larger than {name} {split} as cached "
                             f"({n} images from {record['source']}); use at most {n}")
        keep = class_balanced_subset(label_t, subset)
        image_t, label_t = image_t[keep], label_t[keep]
    return ImageDataset(name=name, split=split, images=image_t, labels=label_t,
                        source=record["source"])
