"""The demo's second half: the synthetic shop goes into the embedded store through its public
doors, is scored there, and can then be browsed.

The files are sent to a real ``retain serve`` on loopback, over the REST import API, and a
few behavioural events over the Segment-compatible tracking API, exactly as a shop would send
them. Running the demo again changes nothing: the same files and the same message ids; its
API key is replaced (the previous one revoked), so one demo key is live at a time.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import shutil
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from retain.datasets.synthetic import Business
from retain.installed import SERVER_INSTALL, server_installed

IMPORTS = {
    "customers": "customers",
    "orders": "orders",
    "subscriptions": "subscriptions",
    "complaints": "complaints",
    "survey-answers": "survey_answers",
}
#: The demo's API key: its name and scopes (one live at a time).
DEMO_KEY_NAME = "demo"
DEMO_KEY_SCOPES = ("import", "track", "read")
# Viewers whose page views and consent are sent as tracking calls.
_TRACKED_CUSTOMERS = 200


def run_store_demo(business: Business, *, folder: Path) -> Iterator[str]:
    """Load ``business`` into the store through its doors, score it; lines to show.

    On an analyst's install (no ``[server]`` extra) one line says how to add the store."""
    if not server_installed():
        yield f"skipped: the store needs the [server] extra: {SERVER_INSTALL}"
        return
    from retain.server.background import background_server
    from retain.server.commands import migrate_store

    migrate_store()
    key = _demo_key()
    folder.mkdir(parents=True, exist_ok=True)
    with background_server() as base:
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
    retain = _command()
    yield ""
    yield "Open the store in a browser:"
    yield f"  {retain} users create admin --role admin    # choose a password"
    yield f"  {retain} serve     # then sign in at http://127.0.0.1:8000/"
    yield f"  customer 360: http://127.0.0.1:8000/customers/{customer}/"
    yield "  segments:     http://127.0.0.1:8000/segments/"
    yield "  API docs:     http://127.0.0.1:8000/api/v1/docs"
    yield f"  or: curl -H 'Authorization: Bearer {key}' \\"
    yield f"        http://127.0.0.1:8000/api/v1/customers/{customer}"


def _demo_key() -> str:
    """A fresh key for this run; the previous runs' demo keys are revoked (their plain text
    was shown once and is not kept), so running the demo again leaves one live demo key."""
    from django.db import transaction

    from retain.accounts.models import ApiKey
    from retain.accounts.services import create_api_key, revoke_api_key

    with transaction.atomic():
        live = ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True)
        for prefix in live.values_list("prefix", flat=True):
            revoke_api_key(prefix)
        _, plain = create_api_key(DEMO_KEY_NAME, scopes=DEMO_KEY_SCOPES)
    return plain


def _command() -> str:
    """How to call ``retain`` from here: by name when it is on the PATH, else its path."""
    script = Path(sys.executable).with_name("retain")
    return "retain" if shutil.which("retain") == str(script) else str(script)


def _apply_and_score(business: Business) -> Iterator[str]:
    from django.db import transaction

    from retain.customers.rescoring import rescore_customers
    from retain.worker.runner import run_jobs_until_idle

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
