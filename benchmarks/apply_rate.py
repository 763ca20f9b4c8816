"""Does applying keep up with the door? ``retain serve`` and ``retain worker`` processes on a
fresh PostgreSQL database (then a fresh SQLite workspace, where ``serve`` runs the only
worker, in a thread), the door driven at a fixed rate of ``POST /v1/batch`` calls (100 events
each, every messageId new, users drawn from a large pool), and every few seconds: messages
accepted so far, applied so far, the backlog.

    .venv/bin/python benchmarks/apply_rate.py --seconds 60 --rate 5500 --threads 10 --workers 2

PostgreSQL at ``--postgres`` (its ``retain_bench_apply`` database is dropped and created
afresh). Prints one line per sample and a summary (median rates while the load ran).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import itertools
import json
import os
import queue
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

import tracking_load
from retain.server.background import background_server
from tracking_load import fresh_store, retain

EVENTS_PER_BATCH = 100
#: Its own database, so it can run beside tracking_load.py.
BENCH_DATABASE = "retain_bench_apply"
EVENT_NAMES = ("Product Viewed", "Product Added", "Checkout Started", "Signed In")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="how long the door is driven")
    parser.add_argument("--rate", type=int, default=5000, help="events per second sent")
    parser.add_argument("--workers", type=int, default=2, help="retain worker processes (PG)")
    parser.add_argument("--servers", type=int, default=1, help="retain serve --workers "
                        "(its default; a second one adds contention on 2 cores)")  # fmt: skip
    parser.add_argument("--users", type=int, default=200_000, help="distinct userIds")
    parser.add_argument("--threads", type=int, default=8, help="sending threads (each waits "
                        "for its call's answer)")  # fmt: skip
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--drain", type=int, default=60, help="seconds to wait for the backlog")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--stores", default="postgresql,sqlite")
    parser.add_argument("--backlog", type=int, default=0,
                        help="instead: store this many events with no worker, then time how "
                        "fast the workers apply them (PostgreSQL)")  # fmt: skip
    args = parser.parse_args()
    tracking_load.BENCH_DATABASE = BENCH_DATABASE
    if args.backlog:
        with fresh_store("postgresql", args.postgres) as environment:
            drain(environment, args)
        return
    summaries = {}
    for store in args.stores.split(","):
        with fresh_store(store, args.postgres) as environment:
            summaries[store] = run(store, environment, args)
    print(f"\n{'store':<12}{'sent ev/s':>10}{'accepted ev/s':>15}{'applied ev/s':>14}"
          f"{'max backlog':>13}{'backlog at end':>16}{'drained after':>15}")  # fmt: skip
    for store, s in summaries.items():
        drained = "never" if s["drained_after_s"] is None else f"{s['drained_after_s']:.0f} s"
        print(f"{store:<12}{s['sent_per_s']:>10,.0f}{s['accepted_median']:>15,.0f}"
              f"{s['applied_median']:>14,.0f}{s['max_backlog']:>13,}{s['backlog_at_end']:>16,}"
              f"{drained:>15}")  # fmt: skip


def run(store: str, environment: dict[str, str], args: argparse.Namespace) -> dict:
    key = retain(environment, "keys", "create", "bench", "--scopes", "track").split()[-1]
    embedded = store == "sqlite"
    with ExitStack() as stack:
        base = stack.enter_context(
            background_server(workers=args.servers, environment=environment, timeout=180)
        )
        if not embedded:
            for _ in range(args.workers):
                stack.enter_context(worker_process(environment))
        counter = Counter(store, environment)
        load = Load(base, key, rate=args.rate, users=args.users, threads=args.threads)
        warm_up(load, counter)
        samples = [counter.sample(0.0)]
        start = time.monotonic()
        load.start(seconds=args.seconds)
        print(f"{store}: {'t':>6}{'accepted':>10}{'applied':>10}{'backlog':>10}", flush=True)
        drained_after = None
        while True:
            time.sleep(args.sample)
            elapsed = time.monotonic() - start
            samples.append(counter.sample(elapsed))
            t, accepted, applied = samples[-1]
            print(f"{store}: {t:>6.1f}{accepted:>10,}{applied:>10,}{accepted - applied:>10,}",
                  flush=True)  # fmt: skip
            if elapsed >= args.seconds and not load.running():
                if accepted == applied:
                    drained_after = elapsed - args.seconds
                    break
                if elapsed >= args.seconds + args.drain:
                    break
        sent, failures = load.join()
    during = [(a, b) for a, b in itertools.pairwise(samples) if b[0] <= args.seconds]
    rates = [((b[1] - a[1]) / (b[0] - a[0]), (b[2] - a[2]) / (b[0] - a[0])) for a, b in during]
    at_end = next(s for s in samples if s[0] >= args.seconds)
    summary = {
        "sent_per_s": sent * EVENTS_PER_BATCH / args.seconds,
        "failed_requests": failures,
        **load.latencies(),
        "accepted_median": statistics.median(r[0] for r in rates),
        "applied_median": statistics.median(r[1] for r in rates),
        "max_backlog": max(s[1] - s[2] for s in samples),
        "backlog_at_end": at_end[1] - at_end[2],
        "drained_after_s": drained_after,
        "samples": samples,
    }
    print(f"{store}: {json.dumps({k: v for k, v in summary.items() if k != 'samples'})}",
          flush=True)  # fmt: skip
    return summary


def drain(environment: dict[str, str], args: argparse.Namespace) -> None:
    """Applying alone: a backlog stored first (no worker running), then ``--workers`` workers
    started and the backlog sampled until it is gone."""
    key = retain(environment, "keys", "create", "bench", "--scopes", "track").split()[-1]
    counter = Counter("postgresql", environment)
    with background_server(workers=args.servers, environment=environment, timeout=180) as base:
        load = Load(base, key, rate=args.rate, users=args.users, threads=args.threads)
        while counter.sample(0.0)[1] < args.backlog:
            load.start(seconds=5)
            load.join()
    with ExitStack() as stack:
        for _ in range(args.workers):
            stack.enter_context(worker_process(environment))
        samples, start = [counter.sample(0.0)], time.monotonic()
        while samples[-1][2] < samples[-1][1]:
            time.sleep(args.sample)
            samples.append(counter.sample(time.monotonic() - start))
            t, accepted, applied = samples[-1]
            print(f"drain: {t:>6.1f}{applied:>10,}{accepted - applied:>10,}", flush=True)
    started = next(s for s in samples if s[2] > 0)  # the workers have imported and begun
    rates = [(b[2] - a[2]) / (b[0] - a[0]) for a, b in itertools.pairwise(samples) if a[2] > 0]
    total = (samples[-1][2] - started[2]) / (samples[-1][0] - started[0])
    print(f"drain: {samples[-1][1]:,} events, {args.workers} workers: median "
          f"{statistics.median(rates):,.0f} applied/s over {len(rates)} samples, "
          f"{total:,.0f}/s from the first applied to the end")  # fmt: skip


def warm_up(load: Load, counter: Counter, *, timeout: float = 300) -> None:
    """One call, applied: the server and the workers have started (importing takes a while
    on a busy machine) before the clock starts."""
    load.start(seconds=1)
    load.join()
    deadline = time.monotonic() + timeout
    while (found := counter.sample(0.0))[1] != found[2] or not found[1]:
        if time.monotonic() > deadline:
            raise SystemExit(f"the warm-up call was not applied within {timeout:.0f} s")
        time.sleep(1)


class worker_process:  # noqa: N801 (used as a context manager, like background_server)
    """A ``retain worker`` child for as long as the block runs."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment

    def __enter__(self) -> subprocess.Popen:
        self.child = subprocess.Popen(
            [sys.executable, "-m", "retain.cli", "worker"], env=self.environment,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return self.child

    def __exit__(self, *_: object) -> None:
        self.child.terminate()
        self.child.wait(timeout=60)


class Counter:
    """Messages accepted and applied so far, read from the store."""

    QUERY = "SELECT count(*), count(applied_at) FROM ingest_message"

    def __init__(self, store: str, environment: dict[str, str]) -> None:
        self.url = environment.get("DATABASE_URL")
        self.path = Path(environment["RETAIN_HOME"]) / "retain.sqlite3"

    def sample(self, elapsed: float) -> tuple[float, int, int]:
        if self.url:
            with psycopg.connect(self.url) as connection:
                accepted, applied = connection.execute(self.QUERY).fetchone()
        else:
            with sqlite3.connect(self.path, timeout=30) as connection:
                accepted, applied = connection.execute(self.QUERY).fetchone()
        return elapsed, accepted, applied


class Load:
    """``POST /v1/batch`` calls at a fixed rate, from a few threads with a kept-alive
    connection each; a call that falls behind its time is sent at once, and calls not sent
    when the time is up are dropped (the accepted figure then shows the shortfall)."""

    def __init__(self, base: str, key: str, *, rate: int, users: int, threads: int = 8) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.authorization = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
        self.interval = EVENTS_PER_BATCH / rate
        self.users = users
        self.threads_wanted = threads
        self.due: queue.Queue[float | None] = queue.Queue()
        self.sent = self.failures = 0
        self.lock = threading.Lock()
        #: each call's seconds and status (0: no answer)
        self.calls: list[tuple[float, int]] = []
        self.threads: list[threading.Thread] = []
        self.deadline = float("inf")

    def start(self, *, seconds: float) -> None:
        self.sent = self.failures = 0
        self.calls = []
        self.threads = [threading.Thread(target=self._send, daemon=True)
                        for _ in range(self.threads_wanted)]  # fmt: skip
        for thread in self.threads:
            thread.start()
        self.clock = threading.Thread(target=self._schedule, args=(seconds,), daemon=True)
        self.clock.start()

    def running(self) -> bool:
        return self.clock.is_alive() or not self.due.empty()

    def join(self) -> tuple[int, int]:
        self.clock.join()
        for thread in self.threads:
            thread.join()
        return self.sent, self.failures

    def _schedule(self, seconds: float) -> None:
        start = time.monotonic()
        self.deadline = start + seconds
        for number in range(int(seconds / self.interval)):
            self.due.put(start + number * self.interval)
        for _ in self.threads:
            self.due.put(None)

    def _send(self) -> None:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        randomness = random.Random()
        while (due := self.due.get()) is not None:
            if time.monotonic() > self.deadline:
                continue
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            events = [self._event(randomness) for _ in range(EVENTS_PER_BATCH)]
            body = json.dumps({"batch": events})
            started, status = time.monotonic(), 0
            try:
                headers = {"Authorization": self.authorization,
                           "Content-Type": "application/json"}  # fmt: skip
                connection.request("POST", "/v1/batch", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            ok = status == 200
            with self.lock:
                self.sent += ok
                self.failures += not ok
                self.calls.append((time.monotonic() - started, status))

    def latencies(self) -> dict[str, object]:
        """The calls' p50 and p99 in ms, and how many got each status (0: no answer)."""
        seconds = sorted(call[0] for call in self.calls) or [0.0]
        statuses = [call[1] for call in self.calls]
        return {
            "p50_ms": round(seconds[len(seconds) // 2] * 1000, 1),
            "p99_ms": round(seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))] * 1000, 1),
            "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
        }

    def _event(self, randomness: random.Random) -> dict:
        return {
            "type": "track", "messageId": str(uuid.uuid4()),
            "userId": f"user-{randomness.randrange(self.users)}",
            "event": randomness.choice(EVENT_NAMES),
            "properties": {"sku": f"SKU-{randomness.randrange(1000)}", "price": 19.5},
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }  # fmt: skip


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent)
    main()
