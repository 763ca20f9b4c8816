"""The store half of ``retain demo`` on a small shop: it applies the built-in journeys,
simulates them over the shop's last 90 days, runs them at its "now" and writes the emails
due to ``.eml`` files through its loopback SMTP server, saying so on stdout only."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest

SMALL_DEMO = """
import sys
from pathlib import Path

from retain.datasets import make_business
from retain.demo_store import run_store_demo

for line in run_store_demo(make_business(300, seed=0), folder=Path(sys.argv[1]) / "files"):
    print(line)
"""


@pytest.mark.slow
def test_the_store_demo_simulates_the_journeys_and_writes_the_emails_due(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["RETAIN_HOME"] = str(tmp_path / "home")  # a workspace of its own
    done = subprocess.run(
        [sys.executable, "-c", SMALL_DEMO, str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=environment,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    out = done.stdout
    assert "Applied the 11 built-in journeys" in out
    assert "Simulated them over the shop's last 90 days, 2024-10-03 to 2024-12-31" in out
    table = out.split("predictions use today's scores):\n")[1].splitlines()
    assert table[0].split()[:3] == ["journey", "entered", "holdout"]
    entered = {row.split()[0]: int(row.split()[1].replace(",", "")) for row in table[1:12]}
    assert entered["thank-you"] > 0 and entered["birthday"] > 0
    written = sorted((tmp_path / "outbox").glob("*.eml"))
    assert written, out
    assert f"wrote {len(written):,} email" in out
    message = email.message_from_bytes(written[0].read_bytes(), policy=email.policy.default)
    assert message["From"] == "Demo Shop <shop@example.com>"
    assert message["To"].endswith("@example.com")
