"""``mvae evaluate RUN_DIR``: a run trained with ``mvae train`` evaluated without the pipeline.

The runs are tiny and trained on synthetic blobs (``conftest.make_blobs``):
``mvae.train.load_split`` is replaced for the whole module, so neither training nor the
evaluation steps download anything.
"""

from __future__ import annotations

import importlib
import json
import math
import shutil
from pathlib import Path

import pytest
from conftest import make_blobs
from PIL import Image
from test_cli import _one_line_error

from mvae.cli import main
from mvae.run_report import RunReportError

train_module = importlib.import_module("mvae.train")  # mvae.train is also the function's name

TINY = ["--quiet", "components=2", "latent_dim=2", "hidden_dim=16", "hidden_layers=1",
        "batch_size=32", "device=cpu"]
PIXELS = 28 * 28


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three run folders: ``finished`` (2 of 2 epochs), ``unfinished`` (1 of 2) and ``gaussian``
    (a finished run with the Gaussian likelihood)."""
    root = tmp_path_factory.mktemp("runs")
    train_set, test_set = make_blobs(256, seed=0), make_blobs(64, seed=0, split="test")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(train_module, "load_split",
                   lambda config, split: train_set if split == "train" else test_set)
        finished = root / "finished"
        assert main(["train", "--run-dir", str(finished), *TINY, "epochs=2",
                     "--until-epoch", "1"]) == 0
        shutil.copytree(finished, root / "unfinished")
        assert main(["train", "--run-dir", str(finished), *TINY, "epochs=2"]) == 0
        assert main(["train", "--run-dir", str(root / "gaussian"), *TINY, "epochs=1",
                     "likelihood=gaussian"]) == 0
        yield {"finished": finished, "unfinished": root / "unfinished",
               "gaussian": root / "gaussian"}


def _numbers(record, path="") -> list[tuple[str, float]]:
    """Every number in a JSON record, with where it is."""
    if isinstance(record, dict):
        return [n for k, v in record.items() for n in _numbers(v, f"{path}.{k}")]
    if isinstance(record, list):
        return [n for i, v in enumerate(record) for n in _numbers(v, f"{path}[{i}]")]
    if isinstance(record, int | float) and not isinstance(record, bool):
        return [(path, float(record))]
    return []


@pytest.mark.slow
def test_evaluate_writes_a_finite_consistent_report(runs, tmp_path, capsys) -> None:
    out = tmp_path / "eval"
    capsys.readouterr()
    assert main(["evaluate", str(runs["finished"]), "--iwae-samples", "16", "--out",
                 str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["report"] == str(out / "evaluation.json")
    record = json.loads((out / "evaluation.json").read_text())

    assert {"run", "epochs_done", "finished", "test", "reconstruction", "mean_image_sse",
            "diagnostics", "iwae", "files", "provenance"} <= set(record)
    assert (record["epochs_done"], record["epochs"], record["finished"]) == (2, 2, True)
    bad = [(where, v) for where, v in _numbers(record) if not math.isfinite(v)]
    assert not bad, bad

    # the test loss terms and the ELBO: kl_reduction sum, kl_weight 1, beta 1
    test = record["test"]
    assert test["n_test"] == 64 and test["elbo"] < 0
    parts = test["reconstruction"] + test["kl_gauss"] + test["kl_dirichlet"]
    assert test["elbo"] == pytest.approx(-parts, rel=1e-12)
    assert test["loss"] == pytest.approx(parts + test["dhsic"], rel=1e-5)
    assert summary["test_elbo"] == test["elbo"]

    # per-image SSE in both modes, mixture and each component alone
    modes = record["reconstruction"]
    assert set(modes) == {"deterministic", "sampled"}
    for errors in modes.values():
        assert len(errors["components"]) == 2
        for entry in (errors["mixture"], *errors["components"]):
            assert entry["sse_per_image"] > 0
            assert entry["mse_per_pixel"] * PIXELS == pytest.approx(entry["sse_per_image"])
    assert summary["sse_per_image"] == {m: e["mixture"]["sse_per_image"] for m, e in modes.items()}

    # the diagnostics measure the deterministic mixture the same way
    diagnostics = record["diagnostics"]
    assert diagnostics["components"] == 2
    assert sum(diagnostics["expected_w"]) == pytest.approx(1.0)
    assert diagnostics["mixture_sse"] == pytest.approx(
        modes["deterministic"]["mixture"]["sse_per_image"], rel=1e-5)
    assert diagnostics["mean_image_sse"] == record["mean_image_sse"] > 0
    assert diagnostics["verdict"] == summary["verdict"]

    # IWAE: log p(x) = -NLL, a tighter bound than the ELBO of the same binarised images
    iwae = record["iwae"]
    assert iwae["samples"] == 16 and iwae["n_test"] == 64
    assert iwae["log_likelihood"] == -iwae["nll"] and iwae["nll"] > 0
    assert iwae["log_likelihood"] >= iwae["elbo"] - 1.0
    assert summary["iwae_nll"] == iwae["nll"]

    # the pipeline's own step files, and the figures
    for name in ("reconstruction.json", "examples.npz", "nll.json"):
        assert (out / name).is_file(), name
    assert all(Path(p).is_file() for p in record["files"].values())
    for name in ("reconstructions.png", "samples.png"):
        with Image.open(out / name) as png:
            assert png.format == "PNG" and min(png.size) > 100


def test_default_out_is_the_run_folder_and_iwae_is_optional(runs, capsys) -> None:
    assert main(["evaluate", str(runs["finished"])]) == 0
    record = json.loads((runs["finished"] / "evaluation" / "evaluation.json").read_text())
    assert "iwae" not in record and "iwae_nll" not in json.loads(capsys.readouterr().out)
    assert not (runs["finished"] / "evaluation" / "nll.json").exists()


def test_an_unfinished_run_is_refused_in_one_line(runs, capsys, tmp_path) -> None:
    run = runs["unfinished"]
    assert main(["evaluate", str(run), "--out", str(tmp_path / "refused")]) == 1
    _one_line_error(capsys, f"{run} has finished 1 of its 2 epochs", "mvae train --config",
                    "--allow-unfinished")
    assert not (tmp_path / "refused").exists()
    assert main(["evaluate", str(run), "--allow-unfinished", "--out", str(tmp_path / "e")]) == 0
    record = json.loads((tmp_path / "e" / "evaluation.json").read_text())
    assert (record["epochs_done"], record["finished"]) == (1, False)


def test_a_missing_or_untrained_run_folder_is_one_line(tmp_path, capsys) -> None:
    assert main(["evaluate", str(tmp_path / "nope")]) == 1
    _one_line_error(capsys, f"{tmp_path / 'nope'} is not a folder", "(rerun with --debug")
    assert main(["evaluate", str(tmp_path)]) == 1
    _one_line_error(capsys, f"{tmp_path} holds no trained run")
    (tmp_path / "config.yaml").write_text("components: 2\n")  # an attempt that never trained
    assert main(["evaluate", str(tmp_path)]) == 1
    _one_line_error(capsys, "checkpoint.pt does not exist: the run has not finished an epoch")


def test_iwae_needs_bernoulli_pixels(runs, capsys, tmp_path) -> None:
    out = tmp_path / "gauss"
    assert main(["evaluate", str(runs["gaussian"]), "--iwae-samples", "4", "--out",
                 str(out)]) == 1
    _one_line_error(capsys, "covers Bernoulli pixels only", "gaussian likelihood")
    assert not out.exists()  # refused before anything was computed


def test_debug_shows_the_traceback(tmp_path) -> None:
    with pytest.raises(RunReportError, match="is not a folder"):
        main(["evaluate", str(tmp_path / "nope"), "--debug"])


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_iwae_samples_must_be_a_positive_number(value, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "runs/x", "--iwae-samples", value])
    assert exit_.value.code == 2
    assert "must be a whole number >= 1" in capsys.readouterr().err
