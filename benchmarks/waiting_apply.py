"""What waiting messages cost the apply runs: plain events applied with none waiting, then
with many waiting (parked anonymous calls nobody links), and one sweep over them.

A fresh store (PostgreSQL ``retain_bench_waiting``, dropped and recreated; ``--sqlite`` an
embedded one) gets ``--waiting`` parked messages (stored as waiting, as an apply run leaves
them), then rounds of ``--events`` tracked events from 1,000 known users (every ``--anonymous``-th
with an ``anonymousId`` too, as browser clients send, so each run looks for what its links
woke; 0: none), each round applied by ``apply_pending_messages`` runs of 500 until none is left (not
the job queue: the runs alone). Rounds alternate between the parked messages waiting and
hidden (marked applied), so both see the same table on a noisy machine; medians of
``--rounds`` each. The sweep (``sweep_waiting``: wake what resolves, fail what expired; here
nothing does) is timed alone.

    .venv/bin/python benchmarks/waiting_apply.py [--events 20000] [--waiting 50000] [--sqlite]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks._timing import save

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "retain_bench_waiting"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--waiting", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--anonymous", type=int, default=0, help="every N-th event has one")
    parser.add_argument("--sqlite", action="store_true", help="run on SQLite instead")
    args = parser.parse_args()
    os.environ["RETAIN_HOME"] = tempfile.mkdtemp(prefix="retain-bench-waiting-")
    if args.sqlite:
        os.environ.pop("DATABASE_URL", None)
    else:
        recreate_database()
        os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    from retain.server.commands import migrate_store

    migrate_store()
    from retain.ingest.models import Message

    record: dict = {"store": "sqlite" if args.sqlite else "postgresql", "events": args.events,
                    "waiting": args.waiting, "anonymous": args.anonymous}  # fmt: skip
    park(args.waiting)
    parked = Message.objects.exclude(waiting_for="")
    seconds: dict[str, list[float]] = {"none_waiting": [], "many_waiting": []}
    apply_round(args.events, args.anonymous)  # warm-up
    for _ in range(args.rounds):
        parked.update(applied_at=dt.datetime.now(dt.UTC))
        seconds["none_waiting"].append(apply_round(args.events, args.anonymous))
        parked.update(applied_at=None)
        seconds["many_waiting"].append(apply_round(args.events, args.anonymous))
    for name, runs in seconds.items():
        median = statistics.median(runs)
        record[name] = {"median_s": round(median, 3), "runs_s": [round(s, 3) for s in runs],
                        "events_per_s": round(args.events / median)}  # fmt: skip
    record["sweep_s"] = sweep()
    record["ratio"] = round(
        record["many_waiting"]["events_per_s"] / record["none_waiting"]["events_per_s"], 2
    )
    save(f"waiting_apply_{record['store']}_anonymous{args.anonymous}", record)


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        connection.execute(f"CREATE DATABASE {DATABASE}")


def messages(count: int, anonymous: int) -> list:
    from retain.ingest.models import Message

    now = dt.datetime.now(dt.UTC)
    rows = []
    for index in range(count):
        message_id = str(uuid.uuid4())
        payload = {"type": "track", "messageId": message_id, "userId": f"u-{index % 1000}",
                   "event": "Product Viewed", "properties": {"sku": "A1"},
                   "timestamp": now.isoformat()}  # fmt: skip
        if anonymous and index % anonymous == 0:
            payload["anonymousId"] = f"b-{index % 1000}"
        rows.append(Message(message_id=message_id, type="track", payload=payload,
                            received_at=now, timestamp=now))  # fmt: skip
    return rows


def park(count: int) -> None:
    """``count`` anonymous identifies left waiting, each for its own anonymousId."""
    from retain.ingest.models import Message

    now = dt.datetime.now(dt.UTC)
    rows = []
    for index in range(count):
        message_id = str(uuid.uuid4())
        payload = {
            "type": "identify",
            "messageId": message_id,
            "anonymousId": f"w-{index}",
            "traits": {"email": f"w{index}@example.com"},
            "timestamp": now.isoformat(),
        }
        rows.append(Message(message_id=message_id, type="identify", payload=payload,
                            received_at=now, timestamp=now, waiting_for=f"anonymous_id:w-{index}",
                            wait_until=now + dt.timedelta(days=30)))  # fmt: skip
    Message.objects.bulk_create(rows, batch_size=2000)


def apply_round(events: int, anonymous: int) -> float:
    """Seconds to apply ``events`` new tracked events."""
    from django.db import transaction

    from retain.ingest.applying import apply_pending_messages
    from retain.ingest.models import Message

    Message.objects.bulk_create(messages(events, anonymous), batch_size=2000)
    started = time.perf_counter()
    applied = 0
    while True:
        with transaction.atomic():
            result = apply_pending_messages()
        applied += result.applied
        if result.claimed == 0:
            break
    assert applied == events, (applied, events)
    return time.perf_counter() - started


def sweep() -> float:
    from django.db import transaction

    from retain.ingest.applying import sweep_waiting

    started = time.perf_counter()
    with transaction.atomic():
        result = sweep_waiting()
    assert result.woken == 0 and result.failed == 0
    return round(time.perf_counter() - started, 3)


if __name__ == "__main__":
    main()
