"""Sphinx extension of the API reference (``book/api/``): all it prints is read from the code.

``.. mvae-exports::``
    A table of ``mvae.__all__``: each name with a link to the page that documents it (the module
    that defines it) and the first paragraph of its docstring.

The ``Keys:`` section of :class:`mvae.config.Config`'s docstring
    becomes a table of every key: its default (the model's field), the values it accepts (what
    :class:`mvae.config.Config` accepts, in the words of its own error messages) and the meaning
    the docstring gives. Nothing about a key is written twice: a new field, a changed
    default or a new allowed value shows up at the next build (``tests/test_api_reference.py``
    fails when a field has no meaning in the docstring).

Use both inside ``{eval-rst}`` blocks (they emit reStructuredText). The functions without a
leading underscore are what the tests call; Sphinx is imported only by :func:`setup`.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

#: Values tried on every key, one at a time, with every other key at its default: a wrong type,
#: negative and zero numbers, a fraction, a number that is not a multiple of ten, a missing value.
#: Each value :class:`~mvae.config.Config` refuses contributes the rule its error message states.
PROBES: tuple[Any, ...] = ("?", -1, 0, 0.5, 15, None)

KEYS_HEADING = "Keys:"

#: Docstrings napoleon would misread. It takes the first line of an attribute's, a constant's or a
#: property's docstring as Google's ``type: description``, and this code base writes those as
#: prose ("E[w] = alpha / sum(alpha), (K, B)", "a subset larger than this: ..."): they are kept
#: as written. Function, class and module docstrings still get napoleon's Google/NumPy sections.
PROSE_KINDS = ("attribute", "data", "property")


def key_meanings(doc: str) -> dict[str, str]:
    """``{key: meaning}`` from the ``Keys:`` section of a docstring (an indented list of
    ``key: text`` entries, continuation lines indented further)."""
    lines = inspect.cleandoc(doc).splitlines()
    start = _keys_section(lines)
    if start is None:
        return {}
    meanings: dict[str, str] = {}
    key = None
    for line in lines[start + 1:_section_end(lines, start)]:
        entry = re.match(r"^ {4}(\w+): (.*)$", line)
        if entry:
            key = entry.group(1)
            meanings[key] = entry.group(2).strip()
        elif key and line.strip():
            meanings[key] += " " + line.strip()
    return meanings


def _keys_section(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if line.strip() == KEYS_HEADING and not line.startswith(" "):
            return i
    return None


def _section_end(lines: list[str], start: int) -> int:
    """The index after the section's last line: the first unindented line after it."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # trailing blank lines belong to what follows
    return end


def _rule(key: str, message: str) -> str:
    """The rule an error message of :class:`~mvae.config.Config` states, without the key and the
    rejected value: ``"lr must be > 0, got -1"`` -> ``"> 0"``."""
    message = " ".join(message.split())
    prefix = f"{key} must be "
    if message.startswith(prefix):
        message = message[len(prefix):]
    return re.sub(r"[,;] got .*$", "", message).strip()


def allowed_values(key: str) -> str:
    """What ``key`` accepts, in the words of :class:`mvae.config.Config`'s refusals (see
    :data:`PROBES`); ``"any <type>"`` for a key that nothing is checked on."""
    from mvae.config import Config, ConfigError

    rules: list[str] = []
    null_ok = False
    for value in PROBES:
        try:
            Config(**{key: value})
        except ConfigError as err:
            rule = _rule(key, str(err))
            if rule not in rules:
                rules.append(rule)
        except Exception:  # refused without a message: no rule to print
            continue
        else:
            null_ok = null_ok or value is None
    if not rules:
        kind = str(Config.model_fields[key].annotation)
        if kind.endswith(" | None"):
            return f"any ``{kind.removesuffix(' | None')}``, or ``null``"
        return f"any ``{kind}``"
    text = ", ".join(_literal_choices(rule) for rule in rules)
    return text + (", or ``null``" if null_ok else "")


def _literal_choices(rule: str) -> str:
    """``one of a, b`` -> ``one of ``a``, ``b```` (the values a user types); other rules are
    escaped so that reStructuredText prints them as written."""
    if not rule.startswith("one of "):
        return _escape(rule)
    parts = rule[len("one of "):].split(", ")
    names = 0
    while names < len(parts) and re.fullmatch(r"[\w.+-]+", parts[names]):
        names += 1
    rest = ", ".join(parts[names:])
    return "one of " + ", ".join(f"``{v}``" for v in parts[:names]) + (
        ", " + _escape(rest) if rest else "")


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_|])", r"\\\1", text)


def default_value(key: str) -> Any:
    """The key's default, as a fresh :class:`~mvae.config.Config` holds it."""
    from mvae.config import Config

    return getattr(Config(), key)


def _yaml(value: Any) -> str:
    """A value as a user writes it in ``config.yaml`` or as ``key=value``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    return str(value)


def config_keys() -> list[dict[str, str]]:
    """One row per :class:`~mvae.config.Config` field, in field order: ``key``, ``default``
    (as YAML), ``allowed`` and ``meaning`` (empty when the docstring gives none)."""
    from mvae.config import Config

    meanings = key_meanings(Config.__doc__ or "")
    return [{"key": key, "default": _yaml(default_value(key)), "allowed": allowed_values(key),
             "meaning": meanings.get(key, "")} for key in Config.model_fields]


def _cell(first: bool, text: str) -> list[str]:
    return [f"   {'* -' if first else '  -'} {text}"]


def config_table() -> list[str]:
    """The reStructuredText list-table of :func:`config_keys`."""
    lines = [".. list-table:: Every key: its default, the values it accepts (both read from the "
             "code at build time) and what it does",
             "   :header-rows: 1", "   :widths: 16 14 30 40", ""]
    lines += _cell(True, "key") + _cell(False, "default") + _cell(False, "allowed values")
    lines += _cell(False, "meaning")
    for row in config_keys():
        lines += _cell(True, f"``{row['key']}``") + _cell(False, f"``{row['default']}``")
        lines += _cell(False, row["allowed"]) + _cell(False, row["meaning"] or "(undocumented)")
    return lines + [""]


def replace_keys_section(lines: list[str]) -> None:
    """Swap the ``Keys:`` section of Config's (prepared) docstring for :func:`config_table`."""
    start = _keys_section(lines)
    if start is None:
        return
    lines[start:_section_end(lines, start)] = ["", *config_table()]


def _summary(obj: Any) -> str:
    """The first paragraph of an object's docstring, on one line."""
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


def exports() -> list[tuple[str, str | None, str]]:
    """``(name, documented at, summary)`` for each name of ``mvae.__all__``; the target is the
    object's own module and qualified name (None for a plain value such as ``__version__``)."""
    import mvae

    rows = []
    for name in mvae.__all__:
        obj = getattr(mvae, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            rows.append((name, f"{obj.__module__}.{obj.__qualname__}", _summary(obj)))
        else:
            rows.append((name, None, f"``{obj!r}``"))
    return rows


def exports_table() -> list[str]:
    """The reStructuredText list-table of :func:`exports`."""
    lines = [".. list-table:: ``mvae.__all__``: what ``import mvae`` gives, and where each is "
             "documented", "   :header-rows: 1", "   :widths: 30 70", ""]
    lines += _cell(True, "name") + _cell(False, "summary")
    for name, target, summary in exports():
        link = f":py:obj:`mvae.{name} <{target}>`" if target else f"``mvae.{name}``"
        lines += _cell(True, link) + _cell(False, summary)
    return lines + [""]


def setup(app: Any) -> dict[str, Any]:
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class MvaeExports(SphinxDirective):
        """``.. mvae-exports::``: the table of :func:`exports`."""

        def run(self) -> list:
            from docutils import nodes

            container = nodes.container()
            self.state.nested_parse(StringList(exports_table(), "mvae-exports"),
                                    self.content_offset, container)
            return container.children

    kept: dict[int, list[str]] = {}

    def before_napoleon(app: Any, what: str, name: str, obj: Any, options: Any,
                        lines: list[str]) -> None:
        from mvae.config import Config

        if obj is Config:
            replace_keys_section(lines)
        if what in PROSE_KINDS:
            kept[id(lines)] = list(lines)

    def after_napoleon(app: Any, what: str, name: str, obj: Any, options: Any,
                       lines: list[str]) -> None:
        if what in PROSE_KINDS and id(lines) in kept:
            lines[:] = kept.pop(id(lines))

    app.setup_extension("sphinx.ext.autodoc")
    app.add_directive("mvae-exports", MvaeExports)
    # napoleon (if loaded) handles the event at priority 500
    app.connect("autodoc-process-docstring", before_napoleon, priority=400)
    app.connect("autodoc-process-docstring", after_napoleon, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
