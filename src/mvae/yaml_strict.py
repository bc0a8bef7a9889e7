"""Strict YAML reading for config and preset files: what ``yaml.safe_load`` lets through silently.

``yaml.safe_load`` keeps the last of two equal keys without a word (a preset entry that says
``epochs`` twice trains with whichever came last) and expands aliases of aliases in memory (a
"billion laughs" file of a few lines takes all of it, and an error message that prints the value
never ends). :func:`load` refuses both, before anything is built, and turns every failure into
one :class:`YAMLInputError` line naming the source. The YAML dialect stays PyYAML's (YAML 1.1,
as every archived ``config.yaml`` was written): the libraries that refuse duplicate keys
(ruamel.yaml, strictyaml) read YAML 1.2 or a subset of it, where ``1e-3``, ``yes`` and flow lists
read differently.
"""

from __future__ import annotations

from typing import Any

import yaml

#: A config file is a page of ``key: value`` lines: these bounds leave room for any of them and
#: stop a YAML "billion laughs" (aliases of aliases) before it is expanded in memory.
MAX_YAML_BYTES = 1_000_000
MAX_YAML_VALUES = 10_000


class YAMLInputError(ValueError):
    """A YAML text cannot be read as a config: the message names its source and the cause."""


def short_repr(value: Any) -> str:
    """A value for an error message: a huge integer by its size (Python will not print one of
    over 4,300 digits), anything else by its repr cut to 80 characters."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "..."


class _DuplicateKey(Exception):
    def __init__(self, key: Any, first: int, again: int) -> None:
        super().__init__(key, first, again)
        self.key, self.first, self.again = key, first, again


class _StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # an unhashable key (a list): PyYAML's own error names it
                continue
            if first is not key_node.start_mark:
                raise _DuplicateKey(key, first.line + 1, key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)


def expanded_values(node: yaml.Node, limit: int) -> int:
    """How many values ``node`` holds once every alias is expanded (counting stops past
    ``limit``); a node that contains itself counts as over the limit."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()

    def size(n: yaml.Node) -> int:
        if id(n) in sizes:
            return sizes[id(n)]
        if id(n) in busy:  # a recursive structure (&a [*a]) never ends when expanded
            return limit + 1
        busy.add(id(n))
        if isinstance(n, yaml.SequenceNode):
            children = n.value
        elif isinstance(n, yaml.MappingNode):
            children = [part for pair in n.value for part in pair]
        else:
            children = []
        total = 1
        for child in children:
            total += size(child)
            if total > limit:
                break
        busy.discard(id(n))
        sizes[id(n)] = total
        return total

    return size(node)


def load(text: str, source: str) -> Any:
    """Parse YAML text strictly; every failure is one :class:`YAMLInputError` naming ``source``.

    Beyond ``yaml.safe_load``: a key given twice in a mapping is an error naming the key and both
    lines; a text over :data:`MAX_YAML_BYTES`, or one whose aliases expand to more than
    :data:`MAX_YAML_VALUES` values, is refused before anything is built, so an alias bomb costs
    neither memory nor an error message that prints it.
    """
    if len(text) > MAX_YAML_BYTES:
        raise YAMLInputError(f"{source} is {len(text):,} characters long; a config is a few "
                             f"lines (at most {MAX_YAML_BYTES:,})")
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if expanded_values(node, MAX_YAML_VALUES) > MAX_YAML_VALUES:
            raise YAMLInputError(f"{source} expands to more than {MAX_YAML_VALUES:,} values "
                                 "through YAML aliases (*name); a config needs no aliases: write "
                                 "the values out")
        return loader.construct_document(node)
    except YAMLInputError:
        raise
    except _DuplicateKey as dup:
        where = (f"on line {dup.first}" if dup.first == dup.again
                 else f"lines {dup.first} and {dup.again}")
        raise YAMLInputError(f"{source}: key {short_repr(dup.key)} is given twice ({where}); "
                             "keep one") from None
    except yaml.YAMLError as err:
        raise YAMLInputError(f"{source} is not valid YAML: {' '.join(str(err).split())[:500]}"
                             ) from None
    except (RecursionError, ValueError, OverflowError) as err:  # deep nesting, a 5000-digit int
        raise YAMLInputError(f"{source} cannot be read as a config ({type(err).__name__}: "
                             f"{' '.join(str(err).split())[:200]})") from None
    finally:
        loader.dispose()
