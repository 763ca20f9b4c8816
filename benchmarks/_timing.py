"""Timing helpers shared by both environments (standard library only)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def timed(function: Callable[[], Any], *, runs: int, warmup: int = 1) -> tuple[Any, dict]:
    """Run ``function`` ``warmup`` times untimed, then ``runs`` times; the median and all runs."""
    result = None
    for _ in range(warmup):
        result = function()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return result, {"median_s": statistics.median(seconds), "runs_s": seconds}


def save(name: str, record: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2))
    print(f"{name}: {json.dumps({k: v for k, v in record.items() if k != 'runs_s'})}")


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None
