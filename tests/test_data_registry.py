"""mvae.data.registry is the one list of datasets: the config reads it, and its entries are
complete and well formed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mvae import config
from mvae.config import Config
from mvae.data import registry

HEX = {"md5": re.compile(r"[0-9a-f]{32}"), "sha256": re.compile(r"[0-9a-f]{64}")}


def test_the_config_takes_names_shapes_and_sizes_from_the_registry():
    assert config.DATASETS == registry.DATASETS == tuple(registry.REGISTRY)
    for name, entry in registry.REGISTRY.items():
        assert config.SPLIT_SIZES[name] == entry.split_sizes
        assert config.SHORT_NAMES[name] == entry.short_name
        c = Config(dataset=name)
        assert c.image_shape == entry.image_shape
        assert (c.resolved_architecture, c.resolved_likelihood) == (entry.architecture,
                                                                     entry.likelihood)


def test_a_registry_change_reaches_the_config_properties(monkeypatch):
    changed = registry.REGISTRY["mnist"].replace(image_shape=(1, 16, 16), architecture="conv")
    monkeypatch.setitem(registry.REGISTRY, "mnist", changed)
    c = Config(dataset="mnist")
    assert c.image_shape == (1, 16, 16) and c.resolved_architecture == "conv"


def test_every_entry_is_complete_and_its_hashes_well_formed():
    for name, entry in registry.REGISTRY.items():
        assert entry.name == name and entry.sources
        # the official source first, unless the dataset is drawn by code (dSprites)
        assert entry.sources[0].label == "official" or entry.sources[0].kind == "generated"
        assert len(entry.image_shape) == 3 and entry.image_shape[0] in (1, 3)
        assert entry.cached_shape == (entry.image_shape[1:] if entry.image_shape[0] == 1
                                      else entry.image_shape)
        assert all(n > 0 for n in entry.split_sizes) and entry.classes > 1
        assert set(entry.array_sha256) <= set(registry.ARRAY_KEYS)
        assert all(HEX["sha256"].fullmatch(h) for h in entry.array_sha256.values())
        assert all(HEX["md5"].fullmatch(h) for h in entry.content_md5.values())
        labels = [s.label for s in entry.sources]
        assert len(set(labels)) == len(labels), name
        for source in entry.sources:
            for fname, known in source.files.items():
                algorithm, _, value = known.partition(":")
                assert algorithm in HEX and HEX[algorithm].fullmatch(value), (name, fname)
            if source.kind in ("idx_urls", "archive_url"):
                assert source.urls and all(u.startswith(("http://", "https://"))
                                           for u in source.urls)
            if source.kind == "idx_urls":
                assert set(source.files) == set(registry.IDX_FILES.values())
                assert set(entry.content_md5) == set(registry.ARRAY_KEYS)  # checked on parse
            if source.kind == "generated":  # nothing to check but the drawn arrays' hashes
                assert ":" in source.generator and not source.urls and not source.files
                assert set(entry.array_sha256) == set(registry.ARRAY_KEYS)


def test_unknown_source_kinds_and_names_are_refused():
    with pytest.raises(ValueError, match="source kind 'ftp'"):
        registry.Source("mirror", "ftp")
    with pytest.raises(ValueError, match="allowed: mnist, fashion_mnist, cifar10"):
        registry.spec("svhn")
    with pytest.raises(KeyError, match="no source 'debian'"):
        registry.REGISTRY["mnist"].source("debian")


def test_the_registry_imports_neither_torch_nor_the_config():
    """mvae.config imports the registry, so the registry must stay standard library only."""
    path = Path(registry.__file__)
    code = ("import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('registry', {str(path)!r})\n"
            "module = importlib.util.module_from_spec(spec)\n"
            "sys.modules['registry'] = module\n"
            "spec.loader.exec_module(module)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'numpy', 'mvae')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout
