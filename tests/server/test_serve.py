"""`retain serve` starts a production ASGI server on the store; `retain keys create` prints a
usable key on its last line."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

import pytest

from retain.accounts.services import authenticate_api_key
from tests.store import child_environment, running_server


@pytest.mark.django_db(transaction=True)
def test_serve_answers_the_health_probe() -> None:
    with running_server() as base, urllib.request.urlopen(f"{base}/healthz") as response:
        body = json.load(response)
        server = response.headers["server"]
    assert body["status"] == "ok"
    assert server == "uvicorn"


@pytest.mark.django_db(transaction=True)
def test_keys_create_prints_the_key_last() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "retain.cli", "keys", "create", "shop", "--scopes", "track,read"],
        env=child_environment(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    plain = done.stdout.strip().splitlines()[-1]
    assert authenticate_api_key(plain, scope="track").name == "shop"


@pytest.mark.django_db(transaction=True)
def test_serve_hands_out_the_admin_static_files_itself() -> None:
    with (
        running_server() as base,
        urllib.request.urlopen(f"{base}/static/admin/css/base.css") as response,
    ):
        assert response.status == 200
        assert "text/css" in response.headers["content-type"]
