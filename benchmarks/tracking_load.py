"""Load on the tracking door: ``retain serve --workers 3`` on a fresh PostgreSQL database and
on a fresh SQLite workspace, driven by wrk over loopback with ``POST /v1/batch`` (100 events a
request, every messageId unique); then how fast the apply job turns them into events.

    .venv/bin/python benchmarks/tracking_load.py --seconds 30

Needs ``wrk`` (Debian: ``apt-get install -y wrk``) and PostgreSQL at ``--postgres`` (its
``retain_bench_tracking`` database is dropped and created afresh).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from retain.server.background import background_server

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("tracking_load.lua")
BENCH_DATABASE = "retain_bench_tracking"
EVENTS_PER_BATCH = 100
#: Applies pending messages for a fixed time in a worker process; prints applied count, time.
APPLY_SNIPPET = """
import time
from retain.server import setup
setup()
from retain.worker.runner import run_next_job
start = time.perf_counter()
jobs = 0
while time.perf_counter() - start < {seconds} and run_next_job() is not None:
    jobs += 1
print(jobs, time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30, help="wrk duration per store")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=3, help="retain serve processes")
    parser.add_argument("--apply-seconds", type=int, default=20)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--stores", default="postgresql,sqlite")
    args = parser.parse_args()
    results = {}
    for store in args.stores.split(","):
        with fresh_store(store, args.postgres) as environment:
            results[store] = measure(store, environment, args)
        print(f"{store}: {json.dumps(results[store])}", flush=True)
    print(f"\n{'store':<12}{'events/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}"
          f"{'stored':>10}{'apply ev/s':>12}")  # fmt: skip
    for store, figures in results.items():
        print(f"{store:<12}{figures['events_per_s']:>10,.0f}{figures['p50_ms']:>9.1f}"
              f"{figures['p99_ms']:>9.1f}{figures['non_2xx']:>9}{figures['stored']:>10,}"
              f"{figures['apply_events_per_s']:>12,.0f}")  # fmt: skip


@contextmanager
def fresh_store(store: str, postgres: str) -> Iterator[dict[str, str]]:
    """The environment of a child process on an empty, migrated store."""
    with tempfile.TemporaryDirectory(prefix="retain-bench-") as home:
        path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
        environment = {**os.environ, "RETAIN_HOME": home, "PYTHONPATH": path}
        environment.pop("DATABASE_URL", None)
        if store == "postgresql":
            with psycopg.connect(postgres, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
                admin.execute(f"CREATE DATABASE {BENCH_DATABASE}")
            environment["DATABASE_URL"] = postgres.rsplit("/", 1)[0] + f"/{BENCH_DATABASE}"
        retain(environment, "migrate")
        yield environment


def retain(environment: dict[str, str], *arguments: str) -> str:
    done = subprocess.run([sys.executable, "-m", "retain.cli", *arguments], env=environment,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


def measure(store: str, environment: dict[str, str], args: argparse.Namespace) -> dict:
    key = retain(environment, "keys", "create", "bench", "--scopes", "track").split()[-1]
    with background_server(workers=args.workers, environment=environment, timeout=180) as base:
        # A short warm-up: connections opened, code paths loaded, the key cached.
        wrk(base, key, seconds=3, args=args, run_id="warmup")
        figures = wrk(base, key, seconds=args.seconds, args=args, run_id="load")
    figures["stored"] = count_messages(environment)
    applied, elapsed = apply_for(environment, seconds=args.apply_seconds)
    figures["apply_events_per_s"] = applied / elapsed
    figures["applied"] = applied
    return figures


def wrk(base: str, key: str, *, seconds: int, args: argparse.Namespace, run_id: str) -> dict:
    authorization = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    environment = {**os.environ, "AUTHORIZATION": authorization, "RUN_ID": run_id,
                   "EVENTS_PER_BATCH": str(EVENTS_PER_BATCH)}  # fmt: skip
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s",
               "--timeout", "10s", "-s", str(LUA), f"{base}/v1/batch"]  # fmt: skip
    output = subprocess.run(command, env=environment, capture_output=True, text=True,
                            check=True).stdout  # fmt: skip
    found = dict(re.findall(r"(\w+)=(\d+)", output.split("RESULT", 1)[1]))
    requests, non_2xx = int(found["requests"]), int(found["non2xx"])
    duration = int(found["duration_us"]) / 1e6
    return {
        "command": " ".join(command),
        "requests": requests,
        "non_2xx": non_2xx,
        "socket_errors": int(found["socket_errors"]),
        "events_per_s": (requests - non_2xx) * EVENTS_PER_BATCH / duration,
        "p50_ms": int(found["p50_us"]) / 1000,
        "p99_ms": int(found["p99_us"]) / 1000,
        "max_ms": int(found["max_us"]) / 1000,
    }


def count_messages(environment: dict[str, str]) -> int:
    if url := environment.get("DATABASE_URL"):
        with psycopg.connect(url) as connection:
            return connection.execute("SELECT count(*) FROM ingest_message").fetchone()[0]
    path = Path(environment["RETAIN_HOME"]) / "retain.sqlite3"
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM ingest_message").fetchone()[0]


def apply_for(environment: dict[str, str], *, seconds: int) -> tuple[int, float]:
    """Messages applied by one worker process in about ``seconds``, and the time it took."""
    before = count_applied(environment)
    snippet = APPLY_SNIPPET.format(seconds=seconds)
    output = subprocess.run([sys.executable, "-c", snippet], env=environment,
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    elapsed = float(output.split()[-1])
    return count_applied(environment) - before, elapsed


def count_applied(environment: dict[str, str]) -> int:
    query = "SELECT count(*) FROM ingest_message WHERE applied_at IS NOT NULL"
    if url := environment.get("DATABASE_URL"):
        with psycopg.connect(url) as connection:
            return connection.execute(query).fetchone()[0]
    with sqlite3.connect(Path(environment["RETAIN_HOME"]) / "retain.sqlite3") as connection:
        return connection.execute(query).fetchone()[0]


if __name__ == "__main__":
    main()
