"""The API reference (book/api/): every public name has a docstring and a place on its page.

A module's public names are its ``__all__`` or, where it has none, the classes and functions it
defines without a leading underscore; with them, the public methods and properties those classes
define. Each needs a docstring of its own (a dataclass's generated signature does not count), each
constant of an ``__all__`` a ``#:`` comment (what autodoc prints for it), and each module a page
under ``book/api/`` whose ``automodule`` lists its members. The build test compiles the pages with
the book's own Sphinx extensions and settings and checks that every one of those names is in the
built reference, and that the Config table shows every key with its default.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
import importlib.util
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
API = BOOK / "api"
#: The modules the reference must document, at least.
REQUIRED = ("mvae", "mvae.config", "mvae.model", "mvae.objective", "mvae.dhsic",
            "mvae.likelihood", "mvae.evaluate", "mvae.probes", "mvae.train", "mvae.selections",
            "mvae.presets", "mvae.run_report")
AUTOMODULE = re.compile(r"^\.\. automodule:: ([\w.]+)\n((?:   :.*\n)*)", re.M)


def api_extension() -> ModuleType:
    """``book/api/mvae_api.py``, the extension that prints the tables read from the code."""
    spec = importlib.util.spec_from_file_location("mvae_api", API / "mvae_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pages() -> dict[str, tuple[Path, str]]:
    """``{module: (page, automodule options)}`` over the pages of ``book/api/``."""
    found = {}
    for page in sorted(API.glob("*.md")):
        for match in AUTOMODULE.finditer(page.read_text()):
            found[match.group(1)] = (page, match.group(2))
    return found


def public_names(module: ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is not None:
        return list(names)
    return [name for name, obj in vars(module).items() if not name.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and obj.__module__ == module.__name__]


def public_members(cls: type) -> dict[str, object]:
    """The public methods and properties ``cls`` defines itself (not its dataclass fields)."""
    members = {}
    for name, attr in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(attr, property):
            members[name] = attr.fget
        elif isinstance(attr, staticmethod | classmethod):
            members[name] = attr.__func__
        elif inspect.isfunction(attr):
            members[name] = attr
    return members


def own_doc(obj: object) -> str:
    """``obj``'s own docstring: not inherited, not a dataclass's generated signature."""
    doc = (vars(obj).get("__doc__") if inspect.isclass(obj) else obj.__doc__) or ""
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc.startswith(
            f"{obj.__name__}("):
        return ""
    return doc.strip()


def has_doc_comment(module: ModuleType, name: str) -> bool:
    """Whether the constant ``name`` is introduced by a ``#:`` comment in its module's source."""
    lines = inspect.getsource(module).splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"{re.escape(name)}\s*(:[^=]*)?=", line):
            return i > 0 and lines[i - 1].startswith("#:")
    return False


def undocumented(module_name: str) -> list[str]:
    """The public names of a module (and their public members) that have no docstring."""
    module = importlib.import_module(module_name)
    missing = []
    for name in public_names(module):
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            if not own_doc(obj):
                missing.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                missing += [f"{module_name}.{name}.{member}"
                            for member, func in public_members(obj).items()
                            if not (func.__doc__ or "").strip()]
        elif module_name != "mvae" and not has_doc_comment(module, name):
            missing.append(f"{module_name}.{name} (a constant: needs a #: comment above it)")
    return missing


# --------------------------------------------------------------------------- the sources
def test_every_required_module_has_a_page_in_the_toc() -> None:
    found = pages()
    assert set(REQUIRED) <= set(found), f"no API page for {sorted(set(REQUIRED) - set(found))}"
    toc = (BOOK / "_toc.yml").read_text()
    for module, (page, options) in found.items():
        assert f"file: api/{page.stem}\n" in toc, f"{page} is not in book/_toc.yml"
        if module == "mvae":
            assert ".. mvae-exports::" in page.read_text(), page
        else:
            assert ":members:" in options and ":exclude-members:" not in options, page
    assert "file: api/index\n" in toc


@pytest.mark.parametrize("module_name", sorted(set(REQUIRED) | set(pages())))
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    missing = undocumented(module_name)
    assert not missing, f"public names without a docstring: {missing}"


def test_the_checks_catch_a_missing_docstring(monkeypatch) -> None:
    from mvae import objective

    monkeypatch.setattr(objective.elbo, "__doc__", None)
    monkeypatch.setattr(objective.LossTerms.stacked, "__doc__", "")
    assert {"mvae.objective.elbo", "mvae.objective.LossTerms.stacked"} <= set(
        undocumented("mvae.objective"))

    @dataclasses.dataclass
    class Record:
        value: int

    assert own_doc(Record) == ""  # the signature dataclasses generate is not documentation


def test_every_top_level_name_is_documented_where_it_is_defined() -> None:
    import mvae

    found = pages()
    for name, target, _ in api_extension().exports():
        if target is None:  # a plain value (__version__): the exports table shows it
            continue
        module = getattr(mvae, name).__module__
        assert module in found, f"mvae.{name} is defined in {module}, which has no API page"
        assert name in public_names(importlib.import_module(module)), (name, module)


def test_the_config_table_has_every_key_with_its_default_and_allowed_values() -> None:
    from mvae.config import (
        ARCHITECTURES,
        DEVICES,
        KL_REDUCTIONS,
        LIKELIHOODS,
        PRECISIONS,
        RECONSTRUCTIONS,
        WEIGHT_SAMPLERS,
        Config,
    )

    ext = api_extension()
    rows = {row["key"]: row for row in ext.config_keys()}
    fields = list(Config.model_fields)
    assert list(rows) == fields
    meanings = ext.key_meanings(Config.__doc__)
    assert set(meanings) == set(fields), {"undocumented keys": set(fields) - set(meanings),
                                          "documented, not keys": set(meanings) - set(fields)}
    for key, row in rows.items():
        assert row["meaning"] and row["allowed"], key
        assert row["default"] == ext._yaml(getattr(Config(), key)), key
    for key, allowed in (("architecture", ARCHITECTURES), ("likelihood", LIKELIHOODS),
                         ("kl_reduction", KL_REDUCTIONS), ("reconstruction", RECONSTRUCTIONS),
                         ("weight_sampler", WEIGHT_SAMPLERS), ("device", DEVICES),
                         ("precision", PRECISIONS)):
        for value in allowed:
            assert f"``{value}``" in rows[key]["allowed"], (key, value)
    assert rows["components"]["allowed"] == "an integer >= 1"
    assert rows["lr"]["allowed"] == "a number, > 0"
    assert rows["train_subset"]["allowed"].endswith("or ``null``")


def test_the_config_table_replaces_the_keys_section() -> None:
    ext = api_extension()
    from mvae.config import Config

    lines = inspect.cleandoc(Config.__doc__).splitlines()
    ext.replace_keys_section(lines)
    text = "\n".join(lines)
    assert "Keys:" not in text and ".. list-table::" in text
    assert text.index(".. list-table::") > text.index("beside its meaning")


# --------------------------------------------------------------------------- the build
def build_api(out: Path) -> subprocess.CompletedProcess:
    """Build book/api/*.md alone, with the extensions and autodoc/napoleon settings of the book's
    ``_config.yml`` (and myst_parser, which reads MyST as the book's myst-nb does)."""
    for module in ("sphinx", "myst_parser"):
        pytest.importorskip(module, reason="the book's tools: pip install -e '.[book]'")
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    sphinx = config["sphinx"]
    name = next(n for n, folder in sphinx["local_extensions"].items() if folder == "api")
    settings = {k: v for k, v in sphinx["config"].items()
                if k.startswith(("autodoc_", "napoleon_"))}
    src = out / "src"
    src.mkdir(parents=True)
    for page in API.glob("*.md"):
        shutil.copy(page, src / page.name)
    others = sorted(p.stem for p in API.glob("*.md") if p.stem != "index")
    with open(src / "index.md", "a") as fh:
        fh.write("\n```{toctree}\n:hidden:\n\n" + "\n".join(others) + "\n```\n")
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(API)!r})\n"
        f"extensions = {['myst_parser', *sphinx['extra_extensions'], name]!r}\n"
        f"myst_enable_extensions = {config['parse']['myst_enable_extensions']!r}\n"
        + "".join(f"{k} = {v!r}\n" for k, v in settings.items()))
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W",
                           "--keep-going", "-E", str(src), str(out / "html")],
                          capture_output=True, text=True, timeout=600)


def _text(page: Path) -> str:
    body = re.sub(r"<script.*?</script>", " ", page.read_text(), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.mark.slow
def test_the_api_pages_build_warning_free_and_list_every_public_name(tmp_path) -> None:
    from sphinx.util.inventory import InventoryFile

    proc = build_api(tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    html_dir = tmp_path / "html"
    with open(html_dir / "objects.inv", "rb") as fh:
        inventory = InventoryFile.load(fh, "", lambda a, b: b)
    documented = {name for entries in inventory.values() for name in entries}

    import mvae

    wanted = []
    for module_name in pages():
        module = importlib.import_module(module_name)
        for name in public_names(module):
            obj = getattr(module, name)
            if module_name == "mvae":
                continue  # the top-level names: their own modules document them (below)
            wanted.append(f"{module_name}.{name}")
            if inspect.isclass(obj):
                wanted += [f"{module_name}.{name}.{m}" for m in public_members(obj)]
    missing = sorted(set(wanted) - documented)
    assert not missing, f"not in the built API reference: {missing}"

    top = (html_dir / "mvae.html").read_text()
    for name, target, _ in api_extension().exports():
        assert f"mvae.{name}" in _text(html_dir / "mvae.html"), name
        if target is not None:
            assert target in documented, f"mvae.{name} links to {target}, which is undocumented"
            assert f"#{target}\"" in top, f"mvae.html does not link mvae.{name} to {target}"
    assert len(mvae.__all__) == len(api_extension().exports())

    config_page = _text(html_dir / "config.html")
    for row in api_extension().config_keys():
        assert f"{row['key']} {row['default']}" in config_page, row["key"]
