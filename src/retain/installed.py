"""Which of retain's optional parts are installed.

An analyst's install (``pip install retain-engine``) has the models, the analytics and the
report; the operational store (Django, uvicorn, psycopg, ...) comes with the ``[server]`` extra.
The commands that need the store say so in one line when it is missing, before they start.
"""

from __future__ import annotations

import importlib.util

#: How to add the store's parts, from the package index or from a checkout.
SERVER_INSTALL = "pip install 'retain-engine[server]' (in a checkout: pip install '.[server]')"
#: The top-level modules the ``[server]`` extra brings.
SERVER_MODULES = ("django", "ninja", "uvicorn", "psycopg", "psycopg_pool", "whitenoise")
#: The ``retain`` commands that run the store.
STORE_COMMANDS = frozenset(
    {"serve", "worker", "keys", "users", "import", "migrate", "rescore", "ingest", "journeys"}
)


def missing_server_modules() -> list[str]:
    """The ``[server]`` extra's modules that cannot be imported (found without importing)."""
    return [name for name in SERVER_MODULES if importlib.util.find_spec(name) is None]


def server_installed() -> bool:
    return not missing_server_modules()


def missing_server_parts(command: str) -> str | None:
    """The one line to show when ``retain COMMAND`` needs the store's parts and they are
    missing; None when the command does not need them or they are installed."""
    if command not in STORE_COMMANDS or not (missing := missing_server_modules()):
        return None
    return (
        f"this needs the store's server parts ({', '.join(missing)} not installed): "
        f"{SERVER_INSTALL}"
    )
