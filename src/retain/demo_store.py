"""The demo's second half: the synthetic shop goes into the embedded store through its public
doors, is scored there, and can then be browsed.

The files are sent to a real ``retain serve`` on loopback, over the REST import API, and a
few behavioural events over the Segment-compatible tracking API, exactly as a shop would send
them. Running the demo again changes nothing: the same files and the same message ids.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from retain.datasets.synthetic import Business

IMPORTS = {
    "customers": "customers",
    "orders": "orders",
    "subscriptions": "subscriptions",
    "complaints": "complaints",
    "survey-answers": "survey_answers",
}
# Viewers whose page views and consent are sent as tracking calls.
_TRACKED_CUSTOMERS = 200


def run_store_demo(business: Business, *, folder: Path) -> Iterator[str]:
    """Load ``business`` into the store through its doors, score it; lines to show."""
    from retain.server.commands import create_key, migrate_store

    migrate_store()
    key = create_key("demo", ["import", "track", "read"])
    folder.mkdir(parents=True, exist_ok=True)
    with _serving() as base:
        for kind, attribute in IMPORTS.items():
            path = folder / f"{attribute}.parquet"
            getattr(business, attribute).to_parquet(path, index=False)
            counts = _post_file(f"{base}/api/v1/imports/{kind}", key, path)
            yield (
                f"imported {kind}: {counts['rows']:,} rows, {counts['created']:,} created, "
                f"{counts['updated']:,} updated, {counts['unchanged']:,} unchanged"
            )
        calls = _tracking_calls(business)
        _post_json(f"{base}/v1/batch", key, {"batch": calls})
        yield f"tracked {len(calls):,} calls (identify, Product Viewed) through /v1/batch"
    yield from _apply_and_score(business)
    customer = str(business.customers.customer_id.iloc[0])
    yield ""
    yield "Open the store in a browser:"
    yield "  retain users create admin --role admin     # choose a password"
    yield "  retain serve                                # then sign in at http://127.0.0.1:8000/admin/"
    yield f"  customer 360: http://127.0.0.1:8000/api/v1/customers/{customer}"
    yield "  API docs:     http://127.0.0.1:8000/api/v1/docs"
    yield f"  or: curl -H 'Authorization: Bearer {key}' \\"
    yield f"        http://127.0.0.1:8000/api/v1/customers/{customer}"


def _apply_and_score(business: Business) -> Iterator[str]:
    from django.db import transaction

    from retain.customers.rescoring import rescore_customers
    from retain.worker.services import run_jobs_until_idle

    jobs = run_jobs_until_idle()
    yield f"applied the tracked calls ({jobs} job(s) of the worker queue)"
    with transaction.atomic():
        summary = rescore_customers(as_of=business.end.date())
    yield (
        f"scored {summary.customers_scored:,} customers with {summary.model} as of "
        f"{summary.as_of} ({summary.seconds:.1f} s): scores, RFM segments, lifecycle stages"
    )


def _tracking_calls(business: Business) -> list[dict]:
    """Identify calls with email consent, and page views, with stable message ids."""
    sent_at = dt.datetime.now(dt.UTC).isoformat()
    calls = []
    for customer_id in business.customers.customer_id.iloc[:_TRACKED_CUSTOMERS]:
        user = str(customer_id)
        calls.append(
            {"type": "identify", "userId": user, "messageId": f"demo-identify-{user}",
             "timestamp": sent_at, "traits": {"email": f"customer{user}@example.com",
                                              "email_consent": True}}
        )  # fmt: skip
        calls.append(
            {"type": "track", "event": "Product Viewed", "userId": user,
             "messageId": f"demo-view-{user}", "timestamp": sent_at,
             "properties": {"product": "gift card"}}
        )  # fmt: skip
    return calls


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def _serving() -> Iterator[str]:
    """``retain serve`` on a free loopback port, for as long as the block runs."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "retain.cli", "serve", "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("retain serve did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _post_file(url: str, key: str, path: Path) -> dict:
    boundary = secrets.token_hex(16)
    body = b"".join(
        [
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="file"; filename="{path.name}"\r\n'.encode(),
            b"Content-Type: application/octet-stream\r\n\r\n",
            path.read_bytes(),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": f"multipart/form-data; boundary={boundary}",
    }
    return _send(url, body, headers)


def _post_json(url: str, key: str, document: dict) -> dict:
    basic = base64.b64encode(f"{key}:".encode()).decode()
    headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/json"}
    return _send(url, json.dumps(document).encode(), headers)


def _send(url: str, body: bytes, headers: dict[str, str]) -> dict:
    from retain.errors import RetainError

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        problem = error.read().decode(errors="replace")
        raise RetainError(f"{url} answered {error.code}: {problem}") from None
