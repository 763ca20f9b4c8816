"""``retain serve`` on the embedded store runs the job worker in its own process: a tracked
order reaches the customer 360 within seconds with nothing else started, and not at all with
``--no-worker``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from retain.server.background import background_server
from tests.ingest.builders import basic_auth, make_order_completed
from tests.server.workspaces import fresh_environment, run_retain

#: How long a tracked order may take to reach the 360 with the worker in the server.
APPLIED_WITHIN = 10.0
#: How long the test watches a server without a worker (its worker would poll every 0.5 s).
WATCHED_FOR = 3.0


def send(base: str, key: str, message: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/v1/track", data=json.dumps(message).encode(), method="POST",
        headers={"Authorization": basic_auth(key), "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def orders_in_360(base: str, key: str, customer_id: str) -> list[str] | None:
    """The order ids the API's 360 shows, or ``None`` while the customer does not exist."""
    request = urllib.request.Request(
        f"{base}/api/v1/customers/{customer_id}", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return [order["order_id"] for order in json.load(response)["orders"]]
    except urllib.error.HTTPError as error:
        if error.code == 404 and json.load(error)["code"] == "not_found":
            return None
        raise


def watch(base: str, key: str, customer_id: str, seconds: float) -> tuple[list[str] | None, float]:
    """Poll the 360 until the customer has an order or ``seconds`` pass: the orders last
    seen and the seconds it took."""
    started = time.monotonic()
    while True:
        orders = orders_in_360(base, key, customer_id)
        waited = time.monotonic() - started
        if orders or waited > seconds:
            return orders, waited
        time.sleep(0.2)


def test_a_tracked_order_reaches_the_360_only_when_serve_runs_the_worker(tmp_path: Path) -> None:
    environment = fresh_environment(tmp_path)
    created = run_retain(["keys", "create", "shop", "--scopes", "track,read"], environment)
    key = created.out.strip().splitlines()[-1]
    order = make_order_completed(userId="c-42", order_id="o-42", messageId="m-42")

    with background_server(environment=environment, arguments=["--no-worker"]) as base:
        assert send(base, key, order) == {"success": True}
        orders, _ = watch(base, key, "c-42", WATCHED_FOR)
    assert orders is None  # accepted, but nothing applies it

    with background_server(environment=environment) as base:
        orders, waited = watch(base, key, "c-42", APPLIED_WITHIN)
        assert orders == ["o-42"], f"not in the 360 after {waited:.1f} s"
        later = make_order_completed(userId="c-42", order_id="o-43", messageId="m-43",
                                     timestamp="2026-03-02T12:00:00+00:00")  # fmt: skip
        assert send(base, key, later) == {"success": True}
        started = time.monotonic()
        while (orders := orders_in_360(base, key, "c-42")) != ["o-43", "o-42"]:
            assert time.monotonic() - started < APPLIED_WITHIN, orders
            time.sleep(0.2)


def test_with_several_server_processes_the_parent_still_applies_the_orders(
    tmp_path: Path,
) -> None:
    """``--workers 2``: uvicorn's two server processes take the calls, and the one worker, in
    the parent that supervises them, applies them."""
    environment = fresh_environment(tmp_path)
    created = run_retain(["keys", "create", "shop", "--scopes", "track,read"], environment)
    key = created.out.strip().splitlines()[-1]
    with background_server(environment=environment, workers=2) as base:
        for number in range(4):
            order = make_order_completed(userId="c-7", order_id=f"o-{number}",
                                         messageId=f"m-{number}")  # fmt: skip
            assert send(base, key, order) == {"success": True}
        started = time.monotonic()
        while len(orders := orders_in_360(base, key, "c-7") or []) < 4:
            assert time.monotonic() - started < APPLIED_WITHIN, orders
            time.sleep(0.2)
    assert sorted(orders) == ["o-0", "o-1", "o-2", "o-3"]
