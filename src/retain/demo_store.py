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

import pandas as pd

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
#: The demo shop's customers speak these languages and live in these zones (the rest write
#: in English, on the shop's time), so its emails show retain's languages and local times.
_ELSEWHERE = (("th", "Asia/Bangkok"), ("vi", "Asia/Ho_Chi_Minh"), ("el", "Europe/Athens"),
              ("id", "Asia/Jakarta"))  # fmt: skip
_FIRST_NAMES = ("Ada", "Somchai", "Linh", "Eleni", "Budi", "Grace", "Malee", "Minh",
                "Nikos", "Sari", "Alan", "Ploy", "Thu", "Maria", "Dewi", "Tom")  # fmt: skip
_FAMILY_NAMES = ("Lovelace", "Jaidee", "Nguyen", "Papadopoulou", "Santoso", "Hopper",
                 "Srisuk", "Tran", "Georgiou", "Wijaya", "Turing", "Kaewmanee")  # fmt: skip


def run_store_demo(
    business: Business, *, folder: Path, outbox: Path | None = None
) -> Iterator[str]:
    """Load ``business`` into the store through its doors, score it, run the built-in
    journeys over it (simulated over its last 90 days, then for real at its last day, the
    emails written to ``outbox``, default ``folder``'s sibling ``outbox``); lines to show.

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
            table = getattr(business, attribute)
            if attribute == "customers":
                table = with_contacts(table)
            table.to_parquet(path, index=False)
            counts = _post_file(f"{base}/api/v1/imports/{kind}", key, path)
            yield (
                f"imported {kind}: {counts['rows']:,} rows, {counts['created']:,} created, "
                f"{counts['updated']:,} updated, {counts['unchanged']:,} unchanged"
            )
        calls = _tracking_calls(business)
        _post_json(f"{base}/v1/batch", key, {"batch": calls})
        yield f"tracked {len(calls):,} calls (identify, Product Viewed) through /v1/batch"
    yield from _apply_and_score(business)
    yield from _journeys(business, outbox or folder.parent / "outbox")
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


def with_contacts(customers: pd.DataFrame) -> pd.DataFrame:
    """The synthetic customers with what a shop would know to write to them: an address
    (``customer<id>@example.com``, a domain that receives nothing), a name, and for one in
    four a language and time zone of Thailand, Vietnam, Greece or Indonesia (as traits)."""
    ids = customers["customer_id"].astype("int64")
    named = customers.assign(
        email=[f"customer{number}@example.com" for number in ids],
        name=[f"{_FIRST_NAMES[n % len(_FIRST_NAMES)]} {_FAMILY_NAMES[n % len(_FAMILY_NAMES)]}"
              for n in ids],
    )  # fmt: skip
    where = [_ELSEWHERE[n % 16] if n % 16 < len(_ELSEWHERE) else (None, None) for n in ids]
    return named.assign(locale=[w[0] for w in where], timezone=[w[1] for w in where])


#: The demo's "now" for its journeys: noon (UTC) on the shop's last day.
_NOON = dt.time(12, tzinfo=dt.UTC)
#: The days the simulation replays, up to the shop's last day.
SIMULATED_DAYS = 90
#: Who the demo's emails come from (example.com receives nothing).
DEMO_SENDER = "Demo Shop <shop@example.com>"


def _journeys(business: Business, outbox: Path) -> Iterator[str]:
    """Apply the built-in journeys, simulate them over the shop's last 90 days, run them
    once at the shop's "now" and send what they queued through a loopback SMTP server that
    writes each email to ``outbox``; then pause them, so ``retain serve`` sends nothing."""
    import time

    from django.conf import settings
    from django.db import transaction

    from retain.demo_smtp import OutboxSink
    from retain.journeys.services import pause_journey, resume_journey
    from retain.journeys.tasks import run_once
    from retain.messaging.composing import ComposeOptions
    from retain.messaging.smtp import SmtpServer, open_connection
    from retain.messaging.tasks import run_sender
    from retain.server.commands import apply_journey_files, simulate_journeys

    keys = [outcome.key for outcome in apply_journey_files([], builtin=True)]
    with transaction.atomic():  # paused by an earlier run of the demo: active again
        for key in keys:
            resume_journey(key)
    yield ""
    yield f"Applied the {len(keys)} built-in journeys (retain journeys list)."
    last = business.end.date()
    first = last - dt.timedelta(days=SIMULATED_DAYS - 1)
    simulation = simulate_journeys(start=first, end=last)
    yield (
        f"Simulated them over the shop's last {SIMULATED_DAYS} days, {first} to {last}, in "
        f"{simulation.seconds:.1f} s (nothing stored or sent; predictions use today's scores):"
    )
    yield from (f"  {line}" for line in simulation.table())
    now = dt.datetime.combine(last, _NOON)
    started = time.perf_counter()
    passes = 0
    while run_once(now=now).more and passes < 100:
        passes += 1
    with transaction.atomic():
        for key in keys:
            pause_journey(key)
    with OutboxSink(outbox) as sink:
        server = SmtpServer(host="127.0.0.1", port=sink.port, timeout=10)
        sent = run_sender(
            connect=lambda: open_connection(server, local_hostname="shop.example"),
            options=ComposeOptions(sender=DEMO_SENDER, public_url=settings.RETAIN_PUBLIC_URL),
            max_seconds=600,
        )  # fmt: skip
    yield (
        f"Ran them once at the shop's now ({now:%Y-%m-%d %H:%M} UTC) and sent what they "
        f"queued ({sent.counts.get('sent', 0):,} sent) through a loopback SMTP server in "
        f"{time.perf_counter() - started:.1f} s: wrote {len(sink.written):,} "
        f"email{'' if len(sink.written) == 1 else 's'} to {outbox.resolve()}/<n>.eml"
    )
    yield (
        "The journeys are paused now, so `retain serve` sends nothing: "
        "`retain journeys resume KEY` starts one (set RETAIN_SMTP_URL and RETAIN_EMAIL_FROM "
        "first); `retain journeys simulate --help` replays any period."
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
