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
    """Run ``function`` ``warmup`` times apart, then ``runs`` times; the median and all runs.

    The warm-up runs (first call: imports, caches, page faults) are timed too and reported
    apart as ``warmup_s``, never in the median.
    """
    result = None
    warmups = []
    for _ in range(warmup):
        start = time.perf_counter()
        result = function()
        warmups.append(time.perf_counter() - start)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return result, {"median_s": statistics.median(seconds), "runs_s": seconds, "warmup_s": warmups}


def save(name: str, record: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2))
    brief = {key: value for key, value in record.items() if key not in ("runs_s", "outcomes")}
    print(f"{name}: {json.dumps(brief)}")


def load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None
