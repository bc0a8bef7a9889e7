"""Trained models a reader loads in one line, without training: ``mvae.pretrained.load(name)``.

The paper archive (``results/paper/``) keeps each run's records but not its checkpoint (a
float32 checkpoint with Adam's state is 16 to 63 MB a run). A model worth playing with is
exported instead as a **half-precision state dict** (about 2.6 MB for the MNIST VAE, 10.5 MB
for the K = 4 mixture), beside a manifest entry with

* the file's SHA-256, checked on every load (``torch.load(weights_only=True)`` reads tensors
  only, never pickled code);
* the per-image test SSE that the exported model gets (deterministic mode: expected weights,
  posterior means; :func:`mvae.evaluate.reconstruction_errors`), measured at export on the
  float32 model holding the half-precision weights, which is what :func:`load` returns; the
  archived run's own float32 SSE is recorded beside it, so the rounding's cost is on record;
* the run's config, from which the model is rebuilt.

The files are committed to the repository under ``pretrained/`` (:data:`DEFAULT_DIR`): a
reader of the book, a clone and the hosted notebooks then have them with the code, offline, and
the hash pins them as the manifest pins the archive; fetching them by hash (pooch) would need a
hosting place outside the repository and the network at build time, which the book does
without. ``$MVAE_PRETRAINED_DIR`` points elsewhere.

The committed models are retrains of archived runs, bit for bit where the archive's CPU kernels
are pinned (``pretrained/README.md``; ``same_training`` in the manifest records it):

    python -m mvae.pretrained export runs/mnist-k4-s0 --name mnist-k4-s0   # after training it
    python -m mvae.pretrained check mnist-k4-s0   # the recorded SSE again, on the test set
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from mvae import layout
from mvae.config import Config
from mvae.model import MVAE

ENV_DIR = "MVAE_PRETRAINED_DIR"
MANIFEST = "manifest.json"
#: ``pretrained/`` at the repository root (this module sits in ``src/mvae/``).
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "pretrained"
#: The committed paper archive, where an exported run's float32 SSE and history are looked up.
ARCHIVE = DEFAULT_DIR.parent / "results" / "paper"
#: Decimals to which a loaded model must reproduce its recorded test SSE.
SSE_DECIMALS = 3


class NotAvailable(FileNotFoundError):
    """A pretrained model that is not in this copy of the repository (yet)."""


@dataclass(frozen=True)
class Entry:
    """One exported model, as the manifest records it."""

    name: str
    file: str
    sha256: str
    config: dict[str, Any]
    sse_per_image: float          # the exported (half-precision) model, deterministic mode
    n_test: int
    run: str = ""
    archived_sse_per_image: float | None = None   # the float32 run, as archived
    same_training: bool | None = None   # its per-epoch training losses equal the archived run's
    trained: dict[str, Any] | None = None   # the retrain's commit, device, torch and threads
    dtype: str = "float16"


def _shown(path: Path) -> str:
    """``path`` as a reader's checkout names it: from the repository root when inside it."""
    try:
        return str(path.resolve().relative_to(DEFAULT_DIR.parent))
    except ValueError:
        return str(path)


def directory(where: str | Path | None = None) -> Path:
    """Where the files and the manifest live: ``where``, ``$MVAE_PRETRAINED_DIR`` or
    :data:`DEFAULT_DIR`."""
    return Path(where or os.environ.get(ENV_DIR) or DEFAULT_DIR)


def manifest(where: str | Path | None = None) -> dict[str, Entry]:
    """Every exported model of ``directory(where)`` by name ({} without a manifest)."""
    path = directory(where) / MANIFEST
    if not path.is_file():
        return {}
    try:
        records = json.loads(path.read_text())
        return {name: Entry(name=name, **{k: v for k, v in record.items() if k != "name"})
                for name, record in records.items()}
    except (ValueError, TypeError) as err:
        raise ValueError(f"{path}: not a manifest of pretrained models ({err})") from None


def available(where: str | Path | None = None) -> list[str]:
    """The names whose files are present (and so can be loaded)."""
    folder = directory(where)
    return [name for name, entry in manifest(where).items() if (folder / entry.file).is_file()]


def table(where: str | Path | None = None) -> Any:
    """The exported models as a pandas table, one row each: the file's size, the test SSE the
    half-precision model gets, the archived float32 run's, and whether the retrain trained the
    same (every training loss equal)."""
    import pandas as pd

    folder = directory(where)
    return pd.DataFrame([{
        "model": name, "components": e.config["components"],
        "MB": (folder / e.file).stat().st_size / 1e6 if (folder / e.file).is_file() else None,
        "test SSE (float16)": e.sse_per_image, "archived SSE (float32)": e.archived_sse_per_image,
        "same training": {True: "yes", False: "no", None: "unknown"}[e.same_training]}
        for name, e in manifest(where).items()])


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def half_state(model: MVAE) -> dict[str, torch.Tensor]:
    """The model's state dict with every floating-point tensor in float16 (counters stay)."""
    return {k: (v.detach().to("cpu", torch.float16) if v.is_floating_point() else v.cpu())
            for k, v in model.state_dict().items()}


def from_state(state: dict[str, torch.Tensor], config: Config) -> MVAE:
    """A float32 model (eval mode, CPU) holding ``state``'s weights."""
    model = MVAE(config)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in state.items()})
    return model.eval()


def sse_on(model: MVAE, images: torch.Tensor) -> float:
    """Mean per-image SSE of ``model`` on ``images`` in the deterministic mode (Table I's)."""
    from mvae.evaluate import reconstruction_errors

    return float(reconstruction_errors(model, images)["mixture"]["sse_per_image"])


def _write_manifest(folder: Path, entries: dict[str, Entry]) -> None:
    records = {name: {k: v for k, v in asdict(e).items() if k != "name"}
               for name, e in sorted(entries.items())}
    temp = folder / f".{MANIFEST}.tmp"
    temp.write_text(json.dumps(records, indent=1) + "\n")
    temp.replace(folder / MANIFEST)


def export(model: MVAE, name: str, images: torch.Tensor, where: str | Path | None = None,
           run: str = "", archived_sse: float | None = None,
           same_training: bool | None = None, trained: dict[str, Any] | None = None) -> Entry:
    """Save ``model`` as ``<name>.pt`` (half precision) in ``directory(where)`` and record it
    in the manifest with its SHA-256 and the test SSE the saved model gets on ``images`` (float,
    [0, 1], (N, C, H, W): the run's test split)."""
    folder = directory(where)
    folder.mkdir(parents=True, exist_ok=True)
    state = half_state(model)
    path = folder / f"{name}.pt"
    temp = folder / f".{name}.pt.tmp"
    torch.save(state, temp)
    temp.replace(path)
    entry = Entry(name=name, file=path.name, sha256=sha256(path), config=model.config.to_dict(),
                  sse_per_image=sse_on(from_state(state, model.config), images),
                  n_test=len(images), run=run, archived_sse_per_image=archived_sse,
                  same_training=same_training, trained=trained)
    _write_manifest(folder, {**manifest(folder), name: entry})
    return entry


def load(name: str, where: str | Path | None = None, device: str | torch.device = "cpu") -> MVAE:
    """The exported model ``name`` (float32, eval mode), its file checked against the SHA-256
    the manifest records: ``mvae.pretrained.load("mnist-k4-s0")``. Raises :class:`NotAvailable`
    (one line) when this copy does not hold it."""
    entries = manifest(where)
    folder = directory(where)
    if name not in entries:
        known = ", ".join(entries) or "none yet"
        raise NotAvailable(f"pretrained model {name!r} is not available yet: "
                           f"{_shown(folder / MANIFEST)} lists {known}")
    entry = entries[name]
    path = folder / entry.file
    if not path.is_file():
        raise NotAvailable(f"pretrained model {name!r} is not available yet: {_shown(path)} "
                           "does not exist (python -m mvae.pretrained export <run folder> "
                           "writes it)")
    digest = sha256(path)
    if digest != entry.sha256:
        raise ValueError(f"{path}: SHA-256 {digest} differs from the manifest's {entry.sha256}; "
                         "the file is damaged or not the exported model")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return from_state(state, Config.from_dict(entry.config)).to(device)


def check(name: str, images: torch.Tensor | None = None,
          where: str | Path | None = None) -> tuple[float, float]:
    """(recorded, measured) test SSE of model ``name``: loaded as a reader loads it, on
    ``images`` or its config's test split; raises ValueError when they differ at the
    :data:`SSE_DECIMALS`-th decimal."""
    model = load(name, where)  # NotAvailable unless the manifest lists it
    if images is None:
        from mvae.train import load_split

        images = load_split(model.config, "test").floats()
    measured = sse_on(model, images)
    recorded = manifest(where)[name].sse_per_image
    if round(measured, SSE_DECIMALS) != round(recorded, SSE_DECIMALS):
        raise ValueError(f"pretrained model {name!r}: test SSE {measured:.6f} per image, the "
                         f"manifest records {recorded:.6f}")
    return recorded, measured


def export_run(run_dir: str | Path, name: str | None = None,
               where: str | Path | None = None, archive: str | Path | None = None) -> Entry:
    """:func:`export` of a trained run folder (its checkpoint), measured on its config's test
    split, with the archived float32 run's SSE beside it: from ``archive`` (default
    :data:`ARCHIVE`, the committed paper archive) by the run's name, or from the pipeline's
    ``<results>/eval/<run>/`` beside ``run_dir``'s ``runs/``. ``same_training`` records whether
    the retrain's per-epoch training losses equal the archived run's exactly."""
    from mvae.train import load_run, load_split

    run_dir = Path(run_dir)
    model, config = load_run(run_dir)
    archive = Path(archive) if archive is not None else ARCHIVE
    reconstruction = layout.eval_file(config.name, "reconstruction.json")
    found = [folder for folder in (archive, run_dir.parent.parent)
             if (folder / reconstruction).is_file()]
    archived_sse = same = None
    if found:
        record = json.loads((found[0] / reconstruction).read_text())
        archived_sse = record["mixture"]["sse_per_image"]
        history = found[0] / layout.run_file(config.name, "history.json")
        if history.is_file() and (run_dir / "history.json").is_file():
            same = _losses(history) == _losses(run_dir / "history.json")
    record = run_dir / "provenance.json"
    trained = ({k: v for k, v in json.loads(record.read_text()).items()
                if k in ("git", "device", "torch", "threads", "time")}
               if record.is_file() else None)
    return export(model, name or run_dir.name, load_split(config, "test").floats(), where,
                  run=config.name, archived_sse=archived_sse, same_training=same,
                  trained=trained)


def _losses(history: Path) -> list[Any]:
    """A history.json's training losses per epoch: what two bit-identical trainings share (the
    test loss is a measurement whose float32 sum can differ in its last bit between machines;
    measured: retraining mnist-k1-s0, every training loss equal, 9 of 100 test losses 1 ulp off)."""
    return [epoch["train"] for epoch in json.loads(history.read_text())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mvae.pretrained",
                                 description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    out = sub.add_parser("export", help="export a trained run folder (half precision)")
    out.add_argument("run_dir")
    out.add_argument("--name", default=None, help="the model's name (default: the folder's)")
    out.add_argument("--dir", default=None, help=f"where to write (default: {DEFAULT_DIR})")
    out.add_argument("--archive", default=None,
                     help=f"the archive holding the run's float32 record (default: {ARCHIVE})")
    chk = sub.add_parser("check", help="measure a model's test SSE again against its record")
    chk.add_argument("name")
    chk.add_argument("--dir", default=None)
    args = ap.parse_args(argv)
    try:
        if args.command == "export":
            entry = export_run(args.run_dir, args.name, args.dir, args.archive)
            print(f"{entry.name}: {entry.file}, sha256 {entry.sha256}, test SSE "
                  f"{entry.sse_per_image:.4f} per image (archived float32 run: "
                  f"{entry.archived_sse_per_image}; same training: {entry.same_training})")
        else:
            recorded, measured = check(args.name, where=args.dir)
            print(f"{args.name}: test SSE {measured:.6f} per image, recorded {recorded:.6f}")
    except (OSError, ValueError) as err:
        print(f"mvae.pretrained: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
