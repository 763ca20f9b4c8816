"""Write what ``retain analyze`` produces: the scores (Parquet and CSV) and the report."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from retain.report.analysis import Analysis
from retain.report.html import render_report


def write_outputs(analysis: Analysis, out: Path) -> dict[str, Path]:
    """Write ``scores.parquet``, ``scores.csv`` and ``report.html`` into ``out``.

    Both score files are written from one Arrow table (pyarrow's CSV writer is many times
    faster than pandas' on millions of rows), in threads beside the report's rendering.
    """
    out.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(analysis.scores, preserve_index=False)
    paths = {
        "parquet": out / "scores.parquet",
        "csv": out / "scores.csv",
        "report": out / "report.html",
    }
    # The writers release the GIL: both files are written while the report is rendered.
    with ThreadPoolExecutor(max_workers=2) as pool:
        written = [
            pool.submit(pq.write_table, table, paths["parquet"]),
            pool.submit(pa_csv.write_csv, table, paths["csv"]),
        ]
        paths["report"].write_text(render_report(analysis), encoding="utf-8")
        for future in written:
            future.result()
    return paths
