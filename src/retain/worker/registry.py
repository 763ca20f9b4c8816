"""Job functions by name: ``@job("customers.rescore")`` in an app's ``tasks.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from retain.errors import NotFound

_JOBS: dict[str, Callable[..., Any]] = {}
#: The jobs that open their own short transactions (see :func:`job`).
_OWN_TRANSACTIONS: set[str] = set()


def job(
    name: str, *, own_transactions: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function as the job ``name``; it takes the payload as keyword arguments.

    A job runs inside the transaction that claimed it, unless ``own_transactions``: then it
    runs after its claim has committed, outside any transaction, and opens its own short
    ones. That is for a job that talks to the network (the email sender): on SQLite a write
    transaction held across an SMTP conversation would block every writer. Such a job must
    survive its own crash (it is not retried by the queue beyond a failed attempt's
    successor): the sender keeps a lease on what it claimed and a follow-up job waiting.
    """

    def register(function: Callable[..., Any]) -> Callable[..., Any]:
        _JOBS[name] = function
        if own_transactions:
            _OWN_TRANSACTIONS.add(name)
        return function

    return register


def runs_outside_transactions(name: str) -> bool:
    job_function(name)  # loads the apps' jobs on first use
    return name in _OWN_TRANSACTIONS


def job_function(name: str) -> Callable[..., Any]:
    if name not in _JOBS:
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("tasks")  # every app's tasks.py registers its jobs
    try:
        return _JOBS[name]
    except KeyError:
        raise NotFound(f"no job named {name!r}", job=name) from None
