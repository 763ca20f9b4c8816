"""How fast does the sender drain the outbox? N marketing emails (about 6 KB of HTML with a
style sheet and six links, and their text) are queued on a fresh store, then sender
processes (``run_sender``, as the send job runs it) deliver them to an aiosmtpd sink on
loopback, in a process of its own. Each sender reports what it sent and how long it took.

    .venv/bin/python benchmarks/smtp_delivery.py [--messages 5000] [--workers 1]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

Without ``--postgres``, an embedded SQLite workspace; with it, a fresh database
``retain_bench_smtp`` on that server (dropped and created again). Goal (issue 12): at least
500 messages/s per sender.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._timing import save  # noqa: E402

DATABASE = "retain_bench_smtp"
SENDER = (
    "import json, time\n"
    "from retain.server import setup; setup()\n"
    "from retain.messaging.tasks import run_sender\n"
    "from retain.messaging.composing import ComposeOptions\n"
    "ComposeOptions.from_settings()  # loads the URLs once, as a worker's first job does\n"
    "started = time.perf_counter()\n"
    "report = run_sender(max_seconds=3600)\n"
    "print(json.dumps({'counts': report.counts, 'batches': report.batches,\n"
    "                  'seconds': time.perf_counter() - started,\n"
    "                  'stopped_because': report.stopped_because}))\n"
)
STYLE = (
    "<style>body{font-family:Georgia,serif;color:#222}h1{font-size:24px;color:#0a3d62}"
    "p.lead{font-size:17px}a.button{background:#0a3d62;color:#fff;padding:10px 16px}"
    "td.product{border:1px solid #ddd;padding:8px}@media (max-width:600px){h1{font-size:20px}}"
    "</style>"
)


def html_for(number: int) -> str:
    products = "".join(
        f'<td class="product"><a href="https://shop.example/p/{number % 97}-{i}?utm_source=email">'
        f"Product {i}</a><p>A short description of product {i}, " + "and its merits, " * 12
        + "</p></td>"
        for i in range(5)
    )  # fmt: skip
    return (
        f"<html><head>{STYLE}</head><body><h1>Hello reader {number},</h1>"
        '<p class="lead">Our spring selection is here. ' + "Something worth reading. " * 40
        + "</p><table><tr>" + products + "</tr></table>"
        '<p><a class="button" href="https://shop.example/spring?c=123&amp;d=4">See it all</a></p>'
        '<p><a href="%%unsubscribe_url%%">Unsubscribe</a></p></body></html>'
    )  # fmt: skip


def text_for(number: int) -> str:
    return (
        f"Hello reader {number},\n\nOur spring selection is here. "
        + "Something worth reading. " * 40
        + "\n\nSee it all: https://shop.example/spring\n\nUnsubscribe: %%unsubscribe_url%%\n"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=1, help="sender processes")
    parser.add_argument("--postgres", default="", help="a PostgreSQL server's URL")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="retain-bench-smtp-")
    os.environ["RETAIN_HOME"] = home
    os.environ.pop("DATABASE_URL", None)
    if args.postgres:
        import psycopg

        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {DATABASE}")
        os.environ["DATABASE_URL"] = args.postgres.rsplit("/", 1)[0] + f"/{DATABASE}"
    port = free_port()
    os.environ.update(
        RETAIN_SMTP_URL=f"smtp://127.0.0.1:{port}",
        RETAIN_EMAIL_FROM="Shop <news@shop.example>",
        RETAIN_PUBLIC_URL="https://retain.shop.example",
    )
    from retain.server.commands import migrate_store

    migrate_store()
    from django.db import connection, transaction

    from retain.customers.models import Customer
    from retain.messaging.models import Message
    from retain.messaging.services import EmailDraft, queue_emails

    customer = Customer.objects.create(external_id="bench")
    started = time.perf_counter()
    with transaction.atomic():
        queued = queue_emails(
            EmailDraft(
                key=f"bench:{n}", customer_id=customer.pk, to=f"reader{n}@example.com",
                subject=f"Spring news for reader {n}", html=html_for(n), text=text_for(n),
                topic="newsletter",
            )
            for n in range(args.messages)
        )  # fmt: skip
    queue_seconds = time.perf_counter() - started
    print(f"queued {queued} messages in {queue_seconds:.2f} s ({connection.vendor})")
    connection.close()

    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
         "-c", "aiosmtpd.handlers.Sink"],
    )  # fmt: skip
    try:
        _wait_for_port(port)
        path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
        environment = {**os.environ, "PYTHONPATH": path}
        started = time.perf_counter()
        senders = [
            subprocess.Popen([sys.executable, "-c", SENDER], env=environment,
                             stdout=subprocess.PIPE, text=True)
            for _ in range(args.workers)
        ]  # fmt: skip
        outputs = [sender.communicate()[0] for sender in senders]
        reports = [json.loads(output.strip().splitlines()[-1]) for output in outputs]
        wall = time.perf_counter() - started
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    sent = Message.objects.filter(status="sent").count()
    rates = [r["counts"].get("sent", 0) / r["seconds"] for r in reports]
    for number, (report, rate) in enumerate(zip(reports, rates, strict=True), 1):
        print(f"sender {number}: {report['counts']} in {report['seconds']:.2f} s "
              f"({report['batches']} batches): {rate:.0f} messages/s")  # fmt: skip
    print(f"{sent} of {args.messages} sent; all senders together {sent / wall:.0f} "
          f"messages/s (wall time {wall:.2f} s, process start included)")  # fmt: skip
    save(
        f"smtp_delivery_{connection.vendor}_{args.workers}",
        {"messages": args.messages, "workers": args.workers, "store": connection.vendor,
         "queue_seconds": queue_seconds, "sent": sent, "per_worker_per_s": rates,
         "wall_seconds": wall, "reports": reports},
    )  # fmt: skip


def _wait_for_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the SMTP sink did not start")


if __name__ == "__main__":
    main()
