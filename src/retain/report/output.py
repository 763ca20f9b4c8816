"""Write what ``retain analyze`` produces: the scores (Parquet and CSV), the report, and the
lists of customers behind its sections (CSV, linked from the report)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from retain.csv_safety import neutralise_arrow
from retain.report.analysis import Analysis
from retain.report.downloads import customer_lists
from retain.report.html import render_report


def write_outputs(analysis: Analysis, out: Path) -> dict[str, Path]:
    """Write ``scores.parquet``, ``scores.csv``, ``report.html`` and the report's customer
    lists into ``out``; return their paths (the lists under their file names).

    Both score files are written from one Arrow table (pyarrow's CSV writer is many times
    faster than pandas' on millions of rows), in threads beside the report's rendering. Every
    CSV has its text cells neutralised for spreadsheets (:mod:`retain.csv_safety`); the
    Parquet file keeps the values as they are.
    """
    out.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(analysis.scores, preserve_index=False)
    paths = {
        "parquet": out / "scores.parquet",
        "csv": out / "scores.csv",
        "report": out / "report.html",
    }
    lists = customer_lists(analysis)
    # The writers release the GIL: both files are written while the report is rendered.
    with ThreadPoolExecutor(max_workers=2) as pool:
        written = [
            pool.submit(pq.write_table, table, paths["parquet"]),
            pool.submit(write_csv, table, paths["csv"]),
        ]
        for item in lists:
            paths[item.filename] = out / item.filename
            write_csv(item.in_words(), paths[item.filename])
        paths["report"].write_text(render_report(analysis, lists), encoding="utf-8")
        for future in written:
            future.result()
    return paths


def write_csv(table: pa.Table | pd.DataFrame, path: Path) -> None:
    """A CSV a spreadsheet opens safely: text cells that would start a formula get a ``'``."""
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    pa_csv.write_csv(neutralise_arrow(table), path)
