"""Issue 10's figure: the tracking door while a bulk import runs. ``retain serve`` on a fresh
SQLite workspace and on a fresh PostgreSQL database; a client sends one ``POST /v1/track``
every ``--interval`` seconds (one keep-alive connection, as a shop's server-side client does),
first with nothing else going on, then while the full CDNOW orders file (69,659 orders of
23,570 customers, as a shop exports it: ``cdnow_files.export``) is uploaded to
``POST /api/v1/imports/orders``. Reports p50/p99/max of the tracking calls idle and during the
import, their failures, and the import's duration and answer; medians over ``--runs``.

``--via upload`` (the figure) runs the import in the server process itself, so the door shares
its interpreter (and its GIL) with the parsing and checking; ``--via cli`` runs the same import
as ``retain import orders`` in a process of its own, so the door waits only for the store
(SQLite's write lock): the two rows tell the lock's share from the interpreter's.

    cd benchmarks && ../.venv/bin/python door_during_import.py --runs 3

PostgreSQL at ``--postgres`` (its ``retain_bench_tracking`` database is dropped and created
afresh, as in ``tracking_load.py``).
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import requests

from _timing import save
from cdnow_files import export
from retain.server.background import background_server
from tracking_load import fresh_store, retain


class Door:
    """Single tracking calls on one keep-alive connection, each timed; a call that fails
    (status not 2xx, or no answer) counts as an error with what it said."""

    def __init__(self, base: str, key: str) -> None:
        parts = urlsplit(base)
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.headers = {
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        }

    def call(self, number: int) -> tuple[float, float, str | None]:
        body = json.dumps({
            "type": "track", "messageId": str(uuid.uuid4()), "userId": f"u{number % 500}",
            "event": "Product Viewed", "properties": {"sku": f"A{number}", "price": 9.99},
        })  # fmt: skip
        start = time.perf_counter()
        try:
            self.connection.request("POST", "/v1/track", body=body, headers=self.headers)
            response = self.connection.getresponse()
            said = response.read()
        except OSError as error:
            self.connection.close()
            return start, time.perf_counter() - start, f"{type(error).__name__}: {error}"
        seconds = time.perf_counter() - start
        if response.status >= 300:
            return start, seconds, f"{response.status}: {said[:200].decode(errors='replace')}"
        return start, seconds, None


Call = tuple[float, float, str | None]  # when it started, seconds it took, what went wrong


def probe(door: Door, interval: float, stop: threading.Event) -> list[Call]:
    """Calls every ``interval`` seconds (at once when the last one came back late) until
    ``stop`` is set."""
    calls = []
    start = time.perf_counter()
    number = 0
    while not stop.is_set():
        calls.append(door.call(number))
        number += 1
        wait = start + number * interval - time.perf_counter()
        if wait > 0:
            stop.wait(wait)
    return calls


def summary(calls: list[Call], since: float | None = None) -> dict:
    """Percentiles of the calls; with ``since`` (the upload's start), when the slowest began."""
    milliseconds = sorted(seconds * 1000 for _, seconds, _ in calls)
    errors = [said for _, _, said in calls if said is not None]
    slowest = sorted(calls, key=lambda call: call[1])[-5:]
    return {
        "calls": len(calls),
        "p50_ms": round(statistics.median(milliseconds), 1),
        "p99_ms": round(milliseconds[min(len(milliseconds) - 1, int(len(milliseconds) * 0.99))], 1),
        "max_ms": round(milliseconds[-1], 1),
        "slowest_ms": [round(seconds * 1000) for _, seconds, _ in slowest],
        **(
            {"slowest_at_s": [round(start - since, 2) for start, _, _ in slowest]}
            if since is not None
            else {}
        ),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


def upload(base: str, key: str, orders: Path) -> tuple[float, int, str]:
    with orders.open("rb") as file:
        start = time.perf_counter()
        answer = requests.post(
            f"{base}/api/v1/imports/orders",
            files={"file": (orders.name, file, "text/csv")},
            headers={"Authorization": f"Bearer {key}"},
            timeout=600,
        )
    return time.perf_counter() - start, answer.status_code, answer.text[:300]


def import_by_cli(environment: dict[str, str], orders: Path) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "retain.cli", "import", "orders", str(orders)],
                          env=environment, capture_output=True, text=True)  # fmt: skip
    said = (done.stdout + done.stderr).strip()
    return time.perf_counter() - start, 200 if done.returncode == 0 else 500, said[-300:]


def measure(store: str, environment: dict[str, str], orders: Path, args) -> dict:
    track = retain(environment, "keys", "create", "door", "--scopes", "track").split()[-1]
    loader = retain(environment, "keys", "create", "loader", "--scopes", "import").split()[-1]
    with background_server(environment=environment, timeout=180) as base:
        door = Door(base, track)
        for number in range(20):  # warm-up: the connection, the key's cache, code paths
            door.call(number)
        stop = threading.Event()
        timer = threading.Timer(args.idle_seconds, stop.set)
        timer.start()
        idle = probe(door, args.interval, stop)
        stop.clear()
        during: list = []
        prober = threading.Thread(target=lambda: during.extend(probe(door, args.interval, stop)))
        prober.start()
        time.sleep(0.5)  # the door is being called before the upload starts
        since = time.perf_counter()
        if args.via == "upload":
            seconds, status, said = upload(base, loader, orders)
        else:
            seconds, status, said = import_by_cli(environment, orders)
        stop.set()
        prober.join()
    if status != 200:
        raise SystemExit(f"{store}: the import answered {status}: {said}")
    answer = json.loads(said) if said.startswith("{") else said
    return {"idle": summary(idle), "during": summary(during, since),
            "import_s": round(seconds, 2), "import": answer}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--idle-seconds", type=float, default=10)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--via", choices=("upload", "cli"), default="upload")
    args = parser.parse_args()
    record: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="door-import-") as scratch:
        orders, _ = export(Path(scratch))
        for number in range(args.runs):
            for store in args.stores.split(","):
                with fresh_store(store, args.postgres) as environment:
                    figures = measure(store, environment, orders, args)
                print(f"{store} run {number + 1}: {json.dumps(figures)}", flush=True)
                record.setdefault(store, []).append(figures)
    medians = {}
    print(f"\n{'store':<12}{'phase':<8}{'calls':>7}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'errors':>8}{'import s':>10}")  # fmt: skip
    for store, runs in record.items():
        medians[store] = {"import_s": statistics.median(run["import_s"] for run in runs)}
        for phase in ("idle", "during"):
            figures = {
                name: statistics.median(run[phase][name] for run in runs)
                for name in ("calls", "p50_ms", "p99_ms", "max_ms", "errors")
            }
            medians[store][phase] = figures
            shown = f"{medians[store]['import_s']:>10.2f}" if phase == "during" else ""
            print(f"{store:<12}{phase:<8}{figures['calls']:>7.0f}{figures['p50_ms']:>9.1f}"
                  f"{figures['p99_ms']:>9.1f}{figures['max_ms']:>9.1f}{figures['errors']:>8.0f}"
                  f"{shown}")  # fmt: skip
    save(f"door_during_import_{args.via}", {"runs": args.runs, "via": args.via,
                                            "medians": medians, "all": record})  # fmt: skip


if __name__ == "__main__":
    main()
