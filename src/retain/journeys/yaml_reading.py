"""YAML as a journey's author means it, read safely, with the line of every part.

PyYAML's ``SafeLoader`` is safe from code execution but not from everything a document may
do. This reader also:

- reads YAML 1.2's scalars, not 1.1's: ``10:00`` stays the text ``10:00`` (1.1 reads the
  number 600, which became the time 00:10), ``no``, ``on`` and ``yes`` stay text (the
  country code ``NO``), ``010`` is not octal; ``.nan``, ``.inf`` and numbers beyond a float
  are refused (no JSON column stores them);
- refuses a key given twice in one mapping (YAML keeps the last one silently), a key that
  is not plain text, NUL characters and lone surrogates (PostgreSQL refuses them), and the
  tags that make bytes, sets or pairs;
- bounds the nesting depth (the composer recurses) and the size of the document with its
  aliases expanded, so an alias bomb ("billion laughs") or an alias to its own node is
  refused while it is read, before it costs memory or time;
- reads a JSON document indented with tabs (YAML does not allow tabs as indentation).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.error import Mark, MarkedYAMLError

#: The deepest nesting of mappings and lists a document may have.
MAX_DEPTH = 64
#: The most values (mappings, lists, scalars, keys included) a document may hold, counted
#: with its aliases expanded.
MAX_NODES = 20_000

_INT, _FLOAT, _BOOL = (f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool"))
_MERGE = "tag:yaml.org,2002:merge"
_SURROGATE = re.compile("[\\ud800-\\udfff]")

#: Lines by path: ``("steps", 2, "wait", "days") -> 14``; ``()`` is the document.
Lines = dict[tuple[Any, ...], int]


class YamlProblem(Exception):
    """A document that cannot be read, at ``line`` (1-based; 0 when unknown)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class ReadYaml:
    data: Any
    #: The line of each path (a mapping entry's key, a list item's first line).
    lines: Lines
    #: The line each text value's own first line is on (a block scalar, ``|`` or ``>``,
    #: starts on the line after its key): where a template's line 1 is.
    starts: Lines


class _Refused(MarkedYAMLError):
    """One of this reader's own refusals, at the mark of what it refuses."""

    def __init__(self, mark: Mark | None, message: str) -> None:
        super().__init__(problem=message, problem_mark=mark)


def _scalar(constructor: Callable[[Any, yaml.Node], Any], what: str) -> Callable[..., Any]:
    """A scalar constructor that refuses a value it cannot make (PyYAML's raise
    ``ValueError``, ``KeyError`` or ``AttributeError`` for ``!!int x``, ``!!bool maybe``,
    ``2026-13-45``) and a number no float holds."""

    def construct(loader: Any, node: yaml.Node) -> Any:
        try:
            value = constructor(loader, node)
        except (ValueError, KeyError, AttributeError, TypeError, OverflowError):
            raise _Refused(node.start_mark, f"{_shown(node.value)} is not {what}") from None
        if isinstance(value, float) and not math.isfinite(value):
            raise _Refused(node.start_mark, f"{_shown(node.value)} is not a finite number")
        return value

    return construct


def _shown(text: str) -> str:
    """A value in a message, cut to a readable length."""
    return repr(text if len(text) <= 40 else f"{text[:37]}...")


def _resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    """SafeLoader's implicit resolvers with YAML 1.2's booleans and numbers."""
    ours = {_BOOL, _INT, _FLOAT}
    resolvers = {
        first: [(tag, pattern) for tag, pattern in entries if tag not in ours]
        for first, entries in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    added = [
        (_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
        (_INT, re.compile(r"^[-+]?(?:0|[1-9][0-9]{0,17})$"), "-+0123456789"),
        (
            _FLOAT,
            re.compile(r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+)$"),
            "-+0123456789.",
        ),
    ]
    for tag, pattern, firsts in added:
        for first in firsts:
            resolvers.setdefault(first, []).append((tag, pattern))
    return resolvers


class _Loader(yaml.SafeLoader):
    yaml_implicit_resolvers = _resolvers()
    yaml_constructors = {
        tag: constructor
        for tag, constructor in yaml.SafeLoader.yaml_constructors.items()
        if tag is None or tag.rsplit(":", 1)[-1] not in {"binary", "set", "omap", "pairs"}
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._total = 0
        self._sizes: dict[int, int] = {}

    def _count(self, size: int, mark: Mark) -> None:
        self._total += size
        if self._total > MAX_NODES:
            raise _Refused(
                mark, f"more than {MAX_NODES:,} values (aliases expanded): too large a journey"
            )

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = self.anchors.get(event.anchor)
            if node is not None:
                if id(node) not in self._sizes:
                    raise _Refused(
                        event.start_mark, f"the alias *{event.anchor} is inside its own anchor"
                    )
                self._count(self._sizes[id(node)], event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        self._count(1, event.start_mark)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(child), 1) for child in _children(node))
        return node

    def compose_scalar_node(self, anchor: str | None) -> yaml.ScalarNode:
        node = super().compose_scalar_node(anchor)
        if "\x00" in node.value:
            raise _Refused(node.start_mark, "contains a NUL character")
        if _SURROGATE.search(node.value):
            raise _Refused(node.start_mark, "contains a lone surrogate (not a character)")
        return node

    def compose_mapping_node(self, anchor: str | None) -> yaml.MappingNode:
        node = super().compose_mapping_node(anchor)
        seen: dict[str, int] = {}
        for key, _value in node.value:
            if key.tag == _MERGE:
                continue
            if not isinstance(key, yaml.ScalarNode):
                raise _Refused(key.start_mark, "a key must be plain text, not a list or mapping")
            if key.value in seen:
                raise _Refused(
                    key.start_mark,
                    f"the key {key.value!r} is given twice (first on line {seen[key.value]})",
                )
            seen[key.value] = key.start_mark.line + 1
        return node


for _tag, _what in ((_INT, "a whole number"), (_FLOAT, "a number"), (_BOOL, "true or false"),
                    ("tag:yaml.org,2002:timestamp", "a date or a time")):  # fmt: skip
    _Loader.add_constructor(_tag, _scalar(SafeConstructor.yaml_constructors[_tag], _what))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def read_yaml(text: str) -> ReadYaml:
    """The document's data (plain ``dict``, ``list`` and scalars) and the line of each
    path; :class:`YamlProblem` for a document this reader refuses."""
    text = _untabbed_json(text)
    loader = None
    try:
        loader = _Loader(text)  # the reader checks every character here
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except _Refused as error:
        raise YamlProblem(_line(error.problem_mark), str(error.problem)) from None
    except yaml.MarkedYAMLError as error:
        raise YamlProblem(_line(error.problem_mark), f"not valid YAML: {error.problem}") from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        reason = f"not valid YAML: {error.reason} (#x{error.character:04x})"
        raise YamlProblem(line, reason) from None
    except yaml.YAMLError as error:
        raise YamlProblem(0, f"not valid YAML: {error}") from None
    finally:
        if loader is not None:
            loader.dispose()
    lines, starts = _lines_of(node)
    return ReadYaml(data=_plain(data), lines=lines, starts=starts)


def _line(mark: Mark | None) -> int:
    return 0 if mark is None else mark.line + 1


def _untabbed_json(text: str) -> str:
    """A JSON document indented with tabs, with spaces instead (JSON allows a tab only
    between tokens, so the change touches no value and keeps every line)."""
    if "\t" not in text or not text.lstrip().startswith(("{", "[")):
        return text
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return text
    return text.replace("\t", " ")


def _plain(data: Any) -> Any:
    """Mappings and lists as plain ``dict`` and ``list`` with text keys (YAML reads the key
    ``1`` as a number); each alias becomes a copy of its own."""
    if isinstance(data, dict):
        return {str(key): _plain(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain(item) for item in data]
    return data


def _lines_of(node: yaml.Node | None) -> tuple[Lines, Lines]:
    """The line (1-based) of every path in the document (a key's line for a mapping's
    entry, an item's first line for a list's), and of every text value's first line."""
    lines: Lines = {}
    starts: Lines = {}

    def walk(current: yaml.Node, path: tuple[Any, ...]) -> None:
        lines.setdefault(path, current.start_mark.line + 1)
        if isinstance(current, yaml.ScalarNode):
            block = current.style in ("|", ">")
            starts[path] = current.start_mark.line + (2 if block else 1)
        elif isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                child = (*path, str(key.value))
                lines[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                walk(item, (*path, index))

    if node is not None:
        walk(node, ())
    return lines, starts
