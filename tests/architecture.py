"""The source of ``src/retain`` as data, read with :mod:`ast` (nothing is imported): its
modules, what each imports, and the calls that open or end a database transaction.

``tests/test_architecture.py`` holds the rules (docs/architecture.md says why).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
#: ``django.db.transaction``'s functions that begin, end or mark a transaction.
TRANSACTION_VERBS = frozenset(
    {"atomic", "commit", "rollback", "set_autocommit", "set_rollback", "savepoint",
     "savepoint_commit", "savepoint_rollback", "clean_savepoints"}
)  # fmt: skip
#: A connection's methods that do the same.
CONNECTION_VERBS = frozenset(
    {"commit", "rollback", "set_autocommit", "set_rollback", "savepoint", "savepoint_commit",
     "savepoint_rollback", "clean_savepoints"}
)  # fmt: skip


@dataclass(frozen=True)
class Module:
    """One module: its dotted name, its file and its syntax tree."""

    name: str
    #: The file as a reader finds it (``src/retain/...``).
    shown: str
    tree: ast.Module
    is_package: bool


@dataclass(frozen=True)
class Import:
    """One module of retain imported by another, on one line."""

    importer: Module
    target: str
    #: The names taken from ``target`` (empty: the module itself).
    names: tuple[str, ...]
    line: int
    #: Under ``if TYPE_CHECKING:``: for type hints only, never run.
    types_only: bool

    def where(self) -> str:
        return f"{self.importer.shown}:{self.line}"


@dataclass(frozen=True)
class ExternalImport:
    """A module from outside retain (the standard library or a dependency)."""

    importer: Module
    top: str
    line: int

    def where(self) -> str:
        return f"{self.importer.shown}:{self.line}"


@dataclass(frozen=True)
class TransactionCall:
    """A use of ``transaction.atomic`` (or another verb) or a connection's ``commit`` and
    the like."""

    module: Module
    verb: str
    line: int
    #: ``with transaction.atomic():`` as the body of a ``try`` that handles its failure: a
    #: savepoint the code rolls back to and goes on, inside its caller's transaction.
    savepoint: bool

    def where(self) -> str:
        return f"{self.module.shown}:{self.line}"


def read_source(root: Path = SOURCE) -> dict[str, Module]:
    """Every module under ``root`` (a folder holding the ``retain`` package) by dotted name,
    migrations left out (Django writes them)."""
    modules = {}
    for path in sorted((root / "retain").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if "migrations" in parts:
            continue
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        shown = path.relative_to(root.parent).as_posix()
        modules[name] = Module(name, shown, tree, is_package)
    return modules


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.If) and _is_type_checking(parent.test) and child in parent.body:
            return True
        child, parent = parent, parents.get(parent)
    return False


def _absolute(module: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: Module, modules: dict[str, Module]) -> list[Import]:
    """What ``module`` imports of retain, anywhere in it (a function-local import counts)."""
    parents = _parents(module.tree)
    found = []
    for node in ast.walk(module.tree):
        types_only = _under_type_checking(node, parents)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "retain":
                    found.append(Import(module, alias.name, (), node.lineno, types_only))
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, node)
            if source.split(".")[0] != "retain":
                continue
            names = []
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:  # a submodule: ``from pkg import mod``
                    found.append(Import(module, f"{source}.{alias.name}", (), node.lineno,
                                        types_only))  # fmt: skip
                else:
                    names.append(alias.name)
            if names:
                found.append(Import(module, source, tuple(names), node.lineno, types_only))
    return found


def external_imports_of(module: Module) -> list[ExternalImport]:
    """The top-level names of what ``module`` imports from outside retain."""
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            tops = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            tops = [(node.module or "").split(".")[0]]
        else:
            continue
        found += [ExternalImport(module, top, node.lineno) for top in tops if top != "retain"]
    return found


def _transaction_names(tree: ast.Module) -> tuple[set[str], dict[str, str], set[str]]:
    """The names a module binds to ``django.db.transaction``, to its functions (name ->
    verb) and to a connection (``django.db.connection``, ``connections[...]`` is not
    followed)."""
    modules, verbs, connections = set(), {}, set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "django.db":
            for alias in node.names:
                if alias.name == "transaction":
                    modules.add(alias.asname or alias.name)
                elif alias.name == "connection":
                    connections.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module == "django.db.transaction":
            for alias in node.names:
                if alias.name in TRANSACTION_VERBS:
                    verbs[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "django.db.transaction" and alias.asname:
                    modules.add(alias.asname)
    return modules, verbs, connections


def _is_savepoint(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """``node`` (a reference to ``atomic``) is called as a ``with`` item, and that ``with``
    is a statement of a ``try`` body whose handlers catch what it raises."""
    call = parents.get(node)
    if not (isinstance(call, ast.Call) and call.func is node):
        return False
    item = parents.get(call)
    statement = parents.get(item) if isinstance(item, ast.withitem) else None
    block = parents.get(statement) if isinstance(statement, ast.With) else None
    return (
        isinstance(block, ast.Try | ast.TryStar)
        and statement in block.body
        and bool(block.handlers)
    )


def transaction_calls(module: Module) -> list[TransactionCall]:
    """Every reference in ``module`` to a function that opens, commits or rolls back."""
    modules, verbs, connections = _transaction_names(module.tree)
    parents = _parents(module.tree)
    found = []
    for node in ast.walk(module.tree):
        verb = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in modules and node.attr in TRANSACTION_VERBS:
                verb = node.attr
            elif node.value.id in connections and node.attr in CONNECTION_VERBS:
                verb = f"connection.{node.attr}"
        elif isinstance(node, ast.Name) and node.id in verbs:
            verb = verbs[node.id]
        if verb is not None:
            savepoint = verb == "atomic" and _is_savepoint(node, parents)
            found.append(TransactionCall(module, verb, node.lineno, savepoint))
    return found


def module_constants(module: Module) -> set[str]:
    """The names a models module defines that are no model: constants assigned at the top
    level and enumerations (classes built on Django's ``TextChoices``/``IntegerChoices``)."""
    names = set()
    for node in module.tree.body:
        if isinstance(node, ast.Assign):
            names |= {
                name.id
                for target in node.targets
                for name in (target.elts if isinstance(target, ast.Tuple) else [target])
                if isinstance(name, ast.Name)
            }
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ClassDef):
            bases = [ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases]
            if bases and all(base.endswith("Choices") for base in bases):
                names.add(node.name)
    return names
