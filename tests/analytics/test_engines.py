"""The same Ibis expressions on PostgreSQL and on PySpark give what the embedded DuckDB gives,
to 1e-9.

PostgreSQL is the server and database of ``RETAIN_TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``, which ``make test`` starts and creates); PySpark
runs in local mode on the machine's Java 17, one session per test worker. These tests fail,
never skip, when either cannot be reached.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from retain.analytics import (
    cohort_retention,
    lifecycle_history,
    lifecycle_stages,
    lifecycle_transitions,
    rfm_segments,
    rfm_summary,
    segment_summary,
    subscription_churn,
)
from retain.analytics._tables import fetch
from retain.datasets import make_business
from tests.workspace import postgres_test_url

ENGINES = [
    "postgres",
    # PySpark reads each result from a local socket it never closes (the garbage collector
    # does, with a ResourceWarning, which `filterwarnings = error` would turn into a failure).
    pytest.param(
        "pyspark",
        marks=pytest.mark.filterwarnings(r"ignore:unclosed <socket\.socket:ResourceWarning"),
    ),
]

#: A small, quick local Spark: two threads, two shuffle partitions, no UI, loopback only.
#: Adaptive execution and whole-stage code generation cost more than they save on tables
#: this size, and the JVM's quick (C1) compiler alone warms up sooner.
SPARK_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
}


_table_numbers = itertools.count()


def _unique(name: str) -> str:
    """A table name no other test (or test worker) on the same server uses."""
    return f"{name}_{os.getpid()}_{next(_table_numbers)}"


def _arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


Load = Callable[[pd.DataFrame, str], ir.Table]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Load]:
    connection = ibis.connect(postgres_test_url())
    yield lambda frame, name: connection.create_table(
        _unique(name), _arrow(frame), overwrite=True, temp=True
    )
    connection.disconnect()


@pytest.fixture(scope="session")
def pyspark() -> Iterator[Load]:
    if shutil.which("java") is None:
        pytest.fail("PySpark needs Java 17 (`java` on PATH); make test installs it")
    builder = SparkSession.builder.master("local[2]").appName("retain-tests")
    for key, value in SPARK_SETTINGS.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    connection = ibis.pyspark.connect(session)

    def load(frame: pd.DataFrame, name: str) -> ir.Table:
        # ibis makes no temporary tables on PySpark; a temporary view of a DataFrame built
        # from Arrow lives as long as the session and leaves nothing on disk.
        view = _unique(name)
        session.createDataFrame(_arrow(frame)).createOrReplaceTempView(view)
        return connection.table(view)

    yield load
    session.stop()


@pytest.fixture(params=ENGINES)
def load(request) -> Load:
    """Puts a local frame on the engine under test and returns it as an ibis table."""
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def shop_orders() -> pd.DataFrame:
    return make_business(1_500, seed=21).orders


@pytest.fixture(scope="module")
def cdnow_orders(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return cdnow_transactions.rename(columns={"date": "ordered_at"}).assign(
        order_id=np.arange(len(cdnow_transactions))
    )


def run_remote(expression: ir.Table) -> pd.DataFrame:
    assert not isinstance(expression, pd.DataFrame)  # an ibis expression, run where the data is
    return fetch(expression).to_pandas()


def assert_same(remote: pd.DataFrame, local: pd.DataFrame) -> None:
    assert list(remote.columns) == list(local.columns)
    assert len(remote) == len(local)
    for column in local.columns:
        ours, theirs = remote[column].to_numpy(), local[column].to_numpy()
        if pd.api.types.is_numeric_dtype(local[column]):
            np.testing.assert_allclose(
                ours.astype(float), theirs.astype(float), rtol=1e-9, equal_nan=True,
                err_msg=column,
            )  # fmt: skip
        else:
            assert [str(v) for v in ours] == [str(v) for v in theirs], column


@pytest.mark.parametrize("data", ["shop_orders", "cdnow_orders"])
@pytest.mark.parametrize(
    ("analysis", "options"),
    [
        (cohort_retention, {}),
        (cohort_retention, {"period": "week"}),
        (rfm_segments, {"observation_end": "1998-06-30"}),
        (lifecycle_stages, {"as_of": "1998-06-30"}),
        (lifecycle_transitions, {"start": "1998-01-31", "end": "1998-06-30"}),
        (lifecycle_history, {"until": "1998-06-30"}),
    ],
    ids=["cohorts-month", "cohorts-week", "rfm-segments", "lifecycle", "transitions", "history"],
)
def test_orders_analyses_match_duckdb(load, request, data, analysis, options) -> None:
    frame = request.getfixturevalue(data)
    if data == "shop_orders":  # the synthetic shop runs 2023-2024
        options = {key: value.replace("1998", "2024") for key, value in options.items()}
    remote = analysis(load(frame, "orders"), **options)
    assert_same(run_remote(remote), analysis(frame, **options))


def test_rfm_summary_matches_duckdb(load, cdnow_transactions) -> None:
    options = {"observation_end": "1998-06-30", "calibration_end": "1997-09-30"}
    remote = rfm_summary(load(cdnow_transactions, "transactions"), **options)
    assert_same(run_remote(remote), rfm_summary(cdnow_transactions, **options))


def test_segment_summary_matches_duckdb(load, shop_orders) -> None:
    scores = rfm_segments(shop_orders, observation_end="2024-12-31")
    remote = segment_summary(load(scores, "scores"))
    assert_same(run_remote(remote), segment_summary(scores))


def test_subscription_churn_matches_duckdb(load) -> None:
    subscriptions = make_business(1_500, seed=21).subscriptions
    remote = subscription_churn(load(subscriptions, "subscriptions"), observation_end="2024-12-31")
    local = subscription_churn(subscriptions, observation_end="2024-12-31")
    assert_same(run_remote(remote), local)
