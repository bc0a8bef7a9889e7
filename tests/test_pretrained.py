"""mvae.pretrained (exported half-precision models, loaded in one line with their SHA-256 checked)
and mvae.explore (a component's weight changed, a walk along a latent dimension)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from mvae import explore, pretrained
from mvae.config import Config
from mvae.model import MVAE
from mvae.objective import mixture_loss


@pytest.fixture(scope="module")
def trained() -> tuple[MVAE, torch.Tensor]:
    """A tiny M-VAE trained for a few seconds on synthetic binary digits, and its "test set"."""
    torch.manual_seed(0)
    config = Config(components=2, latent_dim=4, hidden_dim=32)
    model = MVAE(config)
    pattern = (torch.rand(1, 1, 28, 28) > 0.6).float()
    images = torch.where(torch.rand(384, 1, 28, 28) < 0.1, 1 - pattern, pattern)
    train, test = images[:256], images[256:]
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(40):
        batch = train[(step % 2) * 128:(step % 2 + 1) * 128]
        loss = mixture_loss(model(batch), batch, config).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), test


def test_an_exported_model_loads_in_one_line_and_reproduces_its_recorded_sse(trained, tmp_path):
    model, test = trained
    entry = pretrained.export(model, "tiny", test, tmp_path, run="tiny-run", archived_sse=1.5)
    path = tmp_path / "tiny.pt"
    assert entry.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    stored = torch.load(path, weights_only=True)
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    loaded = pretrained.load("tiny", tmp_path)
    # the loaded weights are the trained ones rounded to half precision, nothing else
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value.half().float()), key
    assert round(pretrained.sse_on(loaded, test), 3) == round(entry.sse_per_image, 3)
    recorded, measured = pretrained.check("tiny", test, tmp_path)
    assert recorded == entry.sse_per_image and round(measured, 3) == round(recorded, 3)
    record = json.loads((tmp_path / "manifest.json").read_text())["tiny"]
    assert record["run"] == "tiny-run" and record["archived_sse_per_image"] == 1.5
    assert record["config"]["components"] == 2 and record["n_test"] == len(test)
    assert pretrained.available(tmp_path) == ["tiny"]
    row = pretrained.table(tmp_path).iloc[0]  # the book's table of the exported models
    assert row["model"] == "tiny" and row["test SSE (float16)"] == entry.sse_per_image
    assert row["archived SSE (float32)"] == 1.5 and row["same training"] == "unknown"
    assert row["MB"] == path.stat().st_size / 1e6


def test_a_changed_file_or_record_is_refused(trained, tmp_path):
    model, test = trained
    entry = pretrained.export(model, "tiny", test, tmp_path)
    manifest = tmp_path / "manifest.json"
    records = json.loads(manifest.read_text())
    records["tiny"]["sse_per_image"] = entry.sse_per_image + 0.01     # a wrong record
    manifest.write_text(json.dumps(records))
    with pytest.raises(ValueError, match="manifest records"):
        pretrained.check("tiny", test, tmp_path)
    raw = bytearray((tmp_path / "tiny.pt").read_bytes())
    raw[-100] ^= 0xFF                                                 # a damaged file
    (tmp_path / "tiny.pt").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="SHA-256"):
        pretrained.load("tiny", tmp_path)


def test_a_model_not_exported_yet_says_so(trained, tmp_path):
    with pytest.raises(pretrained.NotAvailable, match="lists none yet"):
        pretrained.load("mnist-k4-s0", tmp_path)
    model, test = trained
    pretrained.export(model, "tiny", test, tmp_path)
    (tmp_path / "tiny.pt").unlink()
    with pytest.raises(pretrained.NotAvailable, match="tiny.pt does not exist"):
        pretrained.load("tiny", tmp_path)
    assert pretrained.available(tmp_path) == []
    assert pretrained.main(["check", "tiny", "--dir", str(tmp_path)]) == 1


def test_an_exported_retrain_carries_the_archived_sse_and_whether_it_trained_the_same(
        blobs, tmp_path, monkeypatch):
    """export_run reads the float32 SSE from the archive's reconstruction.json (its mixture,
    the deterministic mode) and compares the retrain's per-epoch training losses with the
    archived history's: equal for a copy whose timings and test losses (measurements) differ, not
    for a changed training loss."""
    import importlib

    from mvae import layout

    train_module = importlib.import_module("mvae.train")  # the package exports a train()

    config = Config(name="tiny", epochs=1, components=2, latent_dim=4, hidden_dim=32,
                    batch_size=32, device="cpu")
    retrain = tmp_path / "retrain" / "tiny"
    train_module.train(config, retrain, progress=False, datasets=blobs)
    monkeypatch.setattr(train_module, "load_split", lambda _config, _split: blobs[1])
    archive = tmp_path / "archive"
    (archive / layout.eval_dir("tiny")).mkdir(parents=True)
    (archive / layout.eval_file("tiny", "reconstruction.json")).write_text(
        json.dumps({"mixture": {"sse_per_image": 3.25}}))
    (archive / layout.run_dir("tiny")).mkdir(parents=True)
    history = json.loads((retrain / "history.json").read_text())
    archived_history = archive / layout.run_file("tiny", "history.json")
    archived_history.write_text(json.dumps(
        [{**epoch, "seconds": 99.0, "test": {"loss": epoch["test"]["loss"] + 1e-5}}
         for epoch in history]))

    entry = pretrained.export_run(retrain, where=tmp_path / "out", archive=archive)
    assert entry.archived_sse_per_image == 3.25 and entry.same_training is True
    provenance = json.loads((retrain / "provenance.json").read_text())
    assert entry.trained["device"] == provenance["device"]
    assert entry.trained["git"] == provenance["git"]

    history[0]["train"]["loss"] += 1e-6
    archived_history.write_text(json.dumps(history))
    entry = pretrained.export_run(retrain, where=tmp_path / "out", archive=archive)
    assert entry.same_training is False
    (archive / layout.eval_file("tiny", "reconstruction.json")).unlink()
    entry = pretrained.export_run(retrain, where=tmp_path / "out", archive=archive)
    assert entry.archived_sse_per_image is None and entry.same_training is None


def _cached(dataset: str) -> bool:
    from mvae.data import cache

    return cache.cache_complete(cache.default_root() / dataset)


@pytest.mark.parametrize("name", sorted(pretrained.manifest()) or ["none exported yet"])
def test_the_committed_models_reproduce_their_recorded_sse(name):
    """Each model under pretrained/ loads with its SHA-256 checked and gets, on its dataset's
    whole test split, the SSE its manifest records to three decimals, and the archived run's
    when it is that run retrained bit for bit (same_training)."""
    entries = pretrained.manifest()
    if name not in entries:
        pytest.skip("no model is exported yet (pretrained/manifest.json lists none)")
    if not _cached(entries[name].config["dataset"]):
        pytest.skip(f"the {entries[name].config['dataset']} test split is not cached here")
    recorded, measured = pretrained.check(name)
    assert round(measured, 3) == round(recorded, 3)
    archived = entries[name].archived_sse_per_image
    if archived is not None and entries[name].same_training:  # the archived run, retrained
        assert round(measured, 3) == round(archived, 3)  # half precision costs next to nothing
    elif archived is not None:  # another training of the same config: within seed noise
        assert abs(measured - archived) < 0.05 * archived


# --------------------------------------------------------------------------- mvae.explore
def test_a_components_weight_moves_between_the_mixture_and_that_component_alone(trained):
    model, test = trained
    x = test[0]
    with torch.no_grad():
        _, _, alpha = model.encode(x.unsqueeze(0))
        expected = float(model.expected_weights(alpha)[0, 0])
        mixture = model.reconstruct(x.unsqueeze(0))[0]
        alone = model.reconstruct_components(x.unsqueeze(0))[:, 0]
    torch.testing.assert_close(explore.with_weight(model, x, 0, expected), mixture)
    torch.testing.assert_close(explore.with_weight(model, x, 0, 1.0), alone[0])
    torch.testing.assert_close(explore.with_weight(model, x, 0, 0.0), alone[1])  # K = 2
    sweep = explore.weight_sweep(model, x, 1, (0.0, 1.0))
    torch.testing.assert_close(sweep[1], alone[1])
    with pytest.raises(ValueError, match="weight must be in"):
        explore.with_weight(model, x, 0, 1.5)


def test_a_latent_walk_changes_one_coordinate_of_one_component(trained):
    model, test = trained
    x = test[1]
    with torch.no_grad():
        mu = model.encode(x.unsqueeze(0))[0]
        alone = model.reconstruct_components(x.unsqueeze(0))[1, 0]
    start = float(mu[1, 0, 2])
    walk = explore.latent_walk(model, x, component=1, dimension=2, values=(start, start + 3.0))
    torch.testing.assert_close(walk[0], alone)            # at its own value: the component alone
    assert not torch.allclose(walk[1], alone)
    with torch.no_grad():
        spread = model.encode(test)[0][0].var(0)
    assert explore.busiest_dimensions(model, test, 0, n=2) == \
        sorted(range(4), key=lambda d: -float(spread[d]))[:2]


def test_the_default_folder_is_pretrained_at_the_repository_root():
    assert Path(__file__).resolve().parents[1] / "pretrained" == pretrained.DEFAULT_DIR


def test_components_are_ordered_by_their_mean_weight(trained):
    model, test = trained
    with torch.no_grad():
        mean_w = model.expected_weights(model.encode(test)[2]).mean(1)
    assert explore.usage_order(model, test) == sorted(range(2), key=lambda k: -float(mean_w[k]))
    assert explore.as_uint8(torch.tensor([0.0, 0.5, 1.0])).tolist() == [0, 128, 255]
