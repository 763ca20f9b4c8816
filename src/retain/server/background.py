"""``retain serve`` in a child process, for as long as a block runs (the demo, tests, load
benchmarks): on a free loopback port, ready once ``/healthz`` answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from retain.errors import ConfigError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def background_server(
    *,
    workers: int = 1,
    environment: dict[str, str] | None = None,
    timeout: float = 120,
    arguments: Sequence[str] = (),
) -> Iterator[str]:
    """Yield the base URL of a ``retain serve`` child on ``environment`` (default: ours),
    with more ``arguments`` to ``serve`` (``["--no-worker"]``).

    A busy machine takes a while to import the server; ``timeout`` bounds the wait. What the
    child printed on its way out is in the error if it never answered.
    """
    port = free_port()
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "retain.cli", "serve", "--port", str(port),
             "--workers", str(workers), *arguments],
            env=environment, stdout=subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                        break
                except OSError:
                    if child.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        said = log.read().decode(errors="replace")[-2000:]
                        raise ConfigError(f"retain serve did not start: {said}") from None
                    time.sleep(0.1)
            yield base
        finally:
            child.terminate()
            child.wait(timeout=30)
