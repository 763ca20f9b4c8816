"""Holdouts by hash (retain.journeys.holdout): the share asked for, the same answer in any
process, and a draw an analyst can repeat."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from scipy import stats

from retain.journeys.holdout import in_global_control, in_holdout, stable_fraction

CUSTOMERS = [f"customer-{number}" for number in range(100_000)]


def _within_99_percent(count: int, share: float) -> bool:
    low, high = stats.binom.interval(0.99, len(CUSTOMERS), share)
    return low <= count <= high


@pytest.mark.parametrize("share", [0.05, 0.1, 0.5])
def test_the_holdout_holds_out_its_share_of_100000_customers(share: float) -> None:
    count = sum(in_holdout("win-back", customer, share) for customer in CUSTOMERS)
    assert _within_99_percent(count, share), count


@pytest.mark.parametrize("share", [0.05, 0.1, 0.5])
def test_the_global_control_group_holds_its_share_of_100000_customers(share: float) -> None:
    count = sum(in_global_control(customer, share, "shop-salt") for customer in CUSTOMERS)
    assert _within_99_percent(count, share), count


def test_no_share_holds_nobody_out_and_a_whole_share_everybody() -> None:
    assert not any(in_holdout("win-back", customer, 0) for customer in CUSTOMERS[:1000])
    assert all(in_holdout("win-back", customer, 1) for customer in CUSTOMERS[:1000])


def test_a_larger_share_holds_out_everybody_a_smaller_one_did() -> None:
    small = {c for c in CUSTOMERS[:10_000] if in_holdout("win-back", c, 0.05)}
    large = {c for c in CUSTOMERS[:10_000] if in_holdout("win-back", c, 0.1)}
    assert small < large


def test_each_journey_draws_its_own_holdout() -> None:
    welcome = {c for c in CUSTOMERS if in_holdout("welcome", c, 0.1)}
    win_back = {c for c in CUSTOMERS if in_holdout("win-back", c, 0.1)}
    both = len(welcome & win_back)
    # independent draws: about 1 % of customers in both, not 10 %
    low, high = stats.binom.interval(0.99, len(CUSTOMERS), 0.01)
    assert low <= both <= high


def test_the_global_control_group_is_drawn_apart_from_journeys_and_by_its_salt() -> None:
    control = {c for c in CUSTOMERS if in_global_control(c, 0.1, "salt-a")}
    resalted = {c for c in CUSTOMERS if in_global_control(c, 0.1, "salt-b")}
    holdout = {c for c in CUSTOMERS if in_holdout("salt-a", c, 0.1)}
    low, high = stats.binom.interval(0.99, len(CUSTOMERS), 0.01)
    assert low <= len(control & resalted) <= high
    assert low <= len(control & holdout) <= high


def test_the_draw_is_the_same_in_another_process_with_another_hash_seed() -> None:
    script = (
        "from retain.journeys.holdout import in_holdout, in_global_control\n"
        "print(''.join('1' if in_holdout('welcome', f'customer-{n}', 0.3) else '0'"
        " for n in range(2000)))\n"
        "print(''.join('1' if in_global_control(f'customer-{n}', 0.3, 's') else '0'"
        " for n in range(2000)))\n"
    )
    here = (
        "".join("1" if in_holdout("welcome", f"customer-{n}", 0.3) else "0" for n in range(2000)),
        "".join("1" if in_global_control(f"customer-{n}", 0.3, "s") else "0" for n in range(2000)),
    )
    for seed in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        output = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env=environment,
        ).stdout.split()
        assert tuple(output) == here


def test_an_analyst_repeats_the_draw_from_the_documented_formula() -> None:
    """SHA-256 of "journey:customer", its first 8 bytes as a number over 2**64."""
    digest = hashlib.sha256(b"welcome:c-1").hexdigest()
    assert stable_fraction("welcome:c-1") == int(digest[:16], 16) / 2**64
    # pinned: a change of formula would move every customer already drawn
    assert stable_fraction("welcome:c-1") == 0.1311737061333755
    assert in_holdout("welcome", "c-1", 0.14) and not in_holdout("welcome", "c-1", 0.13)


def test_customer_keys_in_any_script_are_drawn() -> None:
    assert 0 <= stable_fraction("welcome:ลูกค้า-๑") < 1
    assert in_holdout("welcome", "Nguyễn", 1)


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan"), float("inf"), True, "0.1", None])
def test_a_share_that_is_no_fraction_is_refused(share: object) -> None:
    with pytest.raises(ValueError, match="share must be a fraction from 0 to 1"):
        in_holdout("welcome", "c-1", share)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share must be a fraction from 0 to 1"):
        in_global_control("c-1", share, "salt")  # type: ignore[arg-type]
