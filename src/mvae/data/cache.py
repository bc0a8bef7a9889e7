"""The dataset cache: ``<root>/<name>/{train,test}_{images,labels}.npy`` and ``SOURCE.json``.

Every cached file is verified before anything is parsed from it, and a bad one is named and moved
aside (the next run rebuilds the cache):

* ``SOURCE.json`` (source, sizes, array hashes) is sealed with ``record_sha256``, the SHA-256 of
  its own canonical content, which catches garbage, truncation and hand edits. Where the registry
  knows the content (MNIST, Fashion-MNIST) the record must also agree with it, so it is trusted
  from the code, not from the cache. CIFAR-10's decoded-array hashes are not published (and the
  JPEG copy's depend on the decoder), so they are known only after the first decode: the seal
  detects accidents, not a forger who can rewrite the cache (and so the data). Records written
  before the seal existed are checked against the registry where it knows the content, and
  sealed on first read.
* ``<split>_<kind>.npy``: the file's size and header bytes must equal those this module writes
  for the shape the (verified) record gives, and its payload's SHA-256 the trusted hash; only
  then is the payload turned into an array (``np.load`` is never called on a cached file). A
  wrong size in the record therefore blames the record, not a good array file.

Files are written atomically (:func:`mvae.files.atomic_write`: a temp file renamed over the
target, which replaces a symbolic link there instead of writing through it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from mvae.data.integrity import ChecksumError, move_aside, sha256_array
from mvae.data.registry import ARRAY_KEYS, SPLITS, spec
from mvae.files import atomic_write

Arrays = dict[str, np.ndarray]
Record = dict[str, Any]
RECORD = "SOURCE.json"


def default_root() -> Path:
    """``$MVAE_DATA_DIR`` or ``./data``: one cache shared by the CLI, the pipeline and the book."""
    return Path(os.environ.get("MVAE_DATA_DIR") or "data")


def npy_header(shape: tuple[int, ...]) -> bytes:
    """The exact NPY 1.0 header ``np.save`` writes for a C-order uint8 array of ``shape``
    (numpy 2's layout: 21-digit growth space, 64-byte alignment). Cached arrays are written with
    it and checked against it byte for byte, so that no header of a cached file is ever parsed."""
    shape = tuple(int(d) for d in shape)
    text = f"{{'descr': '|u1', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (21 - len(repr(shape[0])))
    padding = 64 - (10 + len(text) + 1) % 64
    body = (text + " " * padding + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body


def write_npy(fh: Any, array: np.ndarray) -> None:
    """Write ``array`` as uint8 with exactly the header :func:`npy_header` checks on loading."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    fh.write(npy_header(array.shape))
    fh.write(memoryview(array).cast("B"))


def record_sha256(record: Record) -> str:
    """SHA-256 of a source record's canonical JSON, without its own ``record_sha256`` field."""
    body = {k: v for k, v in record.items() if k != "record_sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
                          ).hexdigest()


def _is_sha256(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 64 and all(
        c in "0123456789abcdef" for c in value)


def record_problem(name: str, record: Any) -> str | None:
    """Why a parsed SOURCE.json cannot be trusted, or None (see the module docstring)."""
    if not isinstance(record, dict):
        return f"it holds a JSON {type(record).__name__}, not an object"
    if record.get("dataset") != name or not isinstance(record.get("source"), str):
        return f"it does not describe {name} (dataset {record.get('dataset')!r})"
    hashes, sizes = record.get("array_sha256"), record.get("sizes")
    if not isinstance(hashes, dict) or not all(_is_sha256(hashes.get(k)) for k in ARRAY_KEYS):
        return "its array_sha256 entry is missing or malformed"
    if not isinstance(sizes, dict) or not all(
            isinstance(sizes.get(s), int) and not isinstance(sizes.get(s), bool)
            and sizes[s] > 0 for s in SPLITS):
        return "its sizes entry is missing or malformed"
    if "record_sha256" in record and record["record_sha256"] != record_sha256(record):
        return "its content does not match its record_sha256 (it was edited or damaged)"
    entry = spec(name)
    if entry.array_sha256:
        wrong = [k for k in ARRAY_KEYS if hashes[k] != entry.array_sha256.get(k, hashes[k])]
        if wrong:
            return f"its array hashes for {', '.join(wrong)} are not the published ones"
        expected = dict(zip(SPLITS, entry.split_sizes, strict=True))
        if {s: sizes[s] for s in SPLITS} != expected:
            return f"its sizes {sizes} are not {name}'s {expected}"
    return None


def read_record(folder: Path, name: str) -> Record:
    """The verified ``SOURCE.json`` of a cache folder; a bad one is moved aside and named."""
    path = folder / RECORD
    try:
        record = json.loads(path.read_bytes())
    except (UnicodeDecodeError, ValueError) as err:
        problem: str | None = f"it is not valid JSON ({' '.join(str(err).split())[:120]})"
    except OSError as err:
        raise ChecksumError(f"dataset cache record {path} cannot be read ({err})") from None
    else:
        problem = record_problem(name, record)
    if problem:
        raise ChecksumError(f"dataset cache record {path} is damaged: {problem}; "
                            f"{move_aside(path)}; run again to rebuild the {name} cache "
                            "(the array files are checked again then)")
    if "record_sha256" not in record:  # written before records were sealed: seal it now
        sealed = {**record, "record_sha256": record_sha256(record)}
        with contextlib.suppress(OSError):  # a read-only shared cache stays as it is
            text = (json.dumps(sealed, indent=2) + "\n").encode()
            atomic_write(path, lambda fh: fh.write(text))
        record = sealed
    return record


def cache_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a record and all four arrays (their content is checked on load)."""
    return (folder / RECORD).exists() and all(
        (folder / f"{key}.npy").exists() for key in ARRAY_KEYS)


def verify_arrays(name: str, arrays: Arrays, origin: str) -> dict[str, str]:
    """Check decoded arrays against the registry's published hashes (where it has them); return
    all their hashes."""
    hashes = {key: sha256_array(a) for key, a in arrays.items()}
    for key, expected in spec(name).array_sha256.items():
        if key in hashes and hashes[key] != expected:
            raise ChecksumError(f"checksum mismatch for {name} {key} decoded from {origin}: "
                                f"expected sha256 {expected}, got {hashes[key]}")
    return hashes


def check_arrays(name: str, arrays: Arrays, origin: str) -> None:
    """Shapes, dtypes and label range, whatever the source (cheap; hashes catch the rest)."""
    entry = spec(name)
    for split in SPLITS:
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if (images.dtype != np.uint8 or images.shape[1:] != entry.cached_shape
                or labels.dtype != np.uint8 or labels.shape != images.shape[:1]
                or (labels.size and int(labels.max()) >= entry.classes)):
            raise ValueError(f"{name} {split} from {origin}: unexpected arrays "
                             f"{images.dtype}{images.shape} / {labels.dtype}{labels.shape}")


def store(name: str, arrays: Arrays, record: Record, root: Path | None = None) -> Record:
    """Verify decoded arrays and write them, then their source record, into the cache.

    SOURCE.json is written last: its presence marks a complete cache.
    """
    folder = (root or default_root()) / name
    folder.mkdir(parents=True, exist_ok=True)
    check_arrays(name, arrays, record.get("location", "?"))
    hashes = verify_arrays(name, arrays, record.get("location", "?"))
    hashes = {key: hashes[key] for key in ARRAY_KEYS}
    for key in ARRAY_KEYS:
        atomic_write(folder / f"{key}.npy", lambda fh, a=arrays[key]: write_npy(fh, a))
    record = {"dataset": name, "source": record["source"], "location": record.get("location"),
              "file_checksums": record.get("file_checksums", {}), "array_sha256": hashes,
              "sizes": {split: int(len(arrays[f"{split}_labels"])) for split in SPLITS},
              "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    record["record_sha256"] = record_sha256(record)
    text = (json.dumps(record, indent=2) + "\n").encode()
    atomic_write(folder / RECORD, lambda fh: fh.write(text))
    return record


def _bad_cache_file(path: Path, problem: str) -> ChecksumError:
    return ChecksumError(f"dataset cache file {path} is damaged: {problem}; {move_aside(path)}; "
                         "run again to rebuild it from the source")


def load_array(path: Path, expected_sha256: str, shape: tuple[int, ...]) -> np.ndarray:
    """A cached array, verified before it is parsed: file size, header bytes (:func:`npy_header`)
    and the payload's SHA-256."""
    header = npy_header(shape)
    size = len(header) + int(np.prod(shape))
    try:
        got_size = path.stat().st_size
    except OSError as err:
        raise ChecksumError(f"dataset cache file {path} cannot be read ({err}); run again to "
                            "rebuild the cache") from None
    if got_size != size:
        raise _bad_cache_file(path, f"it has {got_size} bytes, not the {size} of uint8{shape}")
    payload = bytearray(size - len(header))  # writable, so torch.from_numpy need not copy
    with open(path, "rb") as fh:
        head = fh.read(len(header))
        fh.readinto(payload)
    if head != header:
        raise _bad_cache_file(path, f"its header is not the .npy header of uint8{shape}")
    got = hashlib.sha256(payload).hexdigest()
    if got != expected_sha256:
        raise _bad_cache_file(path, f"expected sha256 {expected_sha256}, got {got}")
    return np.frombuffer(payload, dtype=np.uint8).reshape(shape)
