"""The engine stays pure: its modules import no database, network, clock or randomness, and
never read the time themselves (the runner passes ``now``)."""

from __future__ import annotations

import ast

import pytest

from tests.architecture import external_imports_of, imports_of, read_source

ENGINE_MODULES = (
    "retain.journeys.engine",
    "retain.journeys.enrolment_state",
    "retain.journeys.clock",
    "retain.journeys.holdout",
)
#: What the engine's modules may import from outside retain.
PURE_IMPORTS = {"__future__", "collections", "dataclasses", "datetime", "enum", "hashlib",
                "math", "typing", "zoneinfo", "pydantic"}  # fmt: skip
#: And of retain: each other and the journey document.
OWN_IMPORTS = {*ENGINE_MODULES, "retain.journeys.documents"}
#: Calls that read the clock (``time`` and ``random`` are not importable at all).
CLOCK_READS = {"now", "utcnow", "today"}


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_the_engine_imports_nothing_that_does_io(name: str) -> None:
    modules = read_source()
    module = modules[name]
    outside = {found.top for found in external_imports_of(module)} - PURE_IMPORTS
    own = {found.target for found in imports_of(module, modules)} - OWN_IMPORTS
    assert not outside, outside
    assert not own, own


@pytest.mark.parametrize("name", ENGINE_MODULES)
def test_the_engine_never_reads_the_clock(name: str) -> None:
    module = read_source()[name]
    reads = [
        f"{module.shown}:{node.lineno}"
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CLOCK_READS
    ]
    assert not reads
