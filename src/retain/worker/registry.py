"""Job functions by name: ``@job("customers.rescore")`` in an app's ``tasks.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from retain.errors import NotFound

_JOBS: dict[str, Callable[..., Any]] = {}


def job(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the job ``name``; it takes the payload as keyword arguments."""

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _JOBS[name] = function
        return function

    return register


def job_function(name: str) -> Callable[..., Any]:
    if name not in _JOBS:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("tasks")  # every app's tasks.py registers its jobs
    try:
        return _JOBS[name]
    except KeyError:
        raise NotFound(f"no job named {name!r}", job=name) from None
