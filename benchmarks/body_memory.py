"""Issue 10's figure: the resident memory (RSS) of a ``retain serve`` process while 4 clients
send it the largest bodies it takes, at once. The serve process runs on a fresh SQLite
workspace (the default: one process, the job worker in a thread); its RSS is read from
``/proc/<pid>/status`` every 10 ms. Each case: 4 clients each send ``--repeat`` bodies one
after another, all 4 at the same time; reported: RSS before the case and its peak.

Cases (the limits: ``retain.server.middleware`` and ``retain.server.settings``):

* ``batch plain``: valid ``/v1/batch`` bodies just under Segment's 500 KB;
* ``batch gzip``: valid batches gzip-compressed, inflating to just under 500 KB;
* ``gzip bomb``: gzip bodies just under the wire limit inflating to about 500 MB (413);
* ``upload refused``: orders uploads just under the upload limit (``--upload-mb``) that the
  checks refuse (a column missing), so the whole file is received and read;
* ``upload import``: real orders files of ``--import-mb`` MB each (CDNOW rows repeated
  under new order ids), imported at once; an import's memory grows with its rows, so the
  4 x 100 MB case is extrapolated from this one (100 MB imports at once would take many GB).

    cd benchmarks && ../.venv/bin/python body_memory.py [--cases "upload refused" "upload import"]
"""

from __future__ import annotations

import argparse
import base64
import gzip
import http.client
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import requests

from _timing import save
from cdnow_files import export
from retain.server.background import background_server
from tracking_load import fresh_store, retain

CLIENTS = 4
BATCH_LIMIT = 500 * 1024  # Segment's, as retain.ingest.services states it (needs Django)


def serve_pid(port: int) -> int:
    """The ``retain serve`` process listening on ``port`` (found by its command line)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in words and b"--port" in words and str(port).encode() in words:
            return int(cmdline.parent.name)
    raise SystemExit(f"no retain serve process on port {port}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise SystemExit(f"no VmRSS for {pid}")


class Peak:
    """The largest RSS of ``pid`` seen while the block runs (sampled every 10 ms)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def __enter__(self) -> Peak:
        self.before = rss_mb(self.pid)
        self.thread = threading.Thread(target=self._sample)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self.stop.wait(0.01)

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


def batch_body() -> bytes:
    """A valid batch of track calls, as large as fits under Segment's 500 KB."""
    event = {"type": "track", "userId": "u1", "event": "Product Viewed",
             "properties": {"sku": "A1", "price": 9.99, "note": "x" * 120},
             "timestamp": "2026-03-01T12:00:00.000+00:00"}  # fmt: skip
    each = len(json.dumps({**event, "messageId": str(uuid.uuid4()), "userId": "u499"})) + 2
    events = [{**event, "messageId": str(uuid.uuid4()), "userId": f"u{n % 500}"}
              for n in range((BATCH_LIMIT - 200) // each)]  # fmt: skip
    body = json.dumps({"batch": events}).encode()
    while len(body) > BATCH_LIMIT - 100:
        events.pop()
        body = json.dumps({"batch": events}).encode()
    return body


def post(base: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:  # a refused body may be cut off while it is still being sent
        return 0
    finally:
        connection.close()


def upload(base: str, key: str, path: Path) -> int:
    with path.open("rb") as file:
        answer = requests.post(
            f"{base}/api/v1/imports/orders",
            files={"file": (path.name, file, "text/csv")},
            headers={"Authorization": f"Bearer {key}"},
            timeout=1800,
        )
    return answer.status_code


def at_once(send: Callable[[int, int], int], repeat: int) -> list[int]:
    """``send(client, number)`` by 4 clients at the same time, ``repeat`` times each."""
    statuses: list[int] = []
    start = threading.Barrier(CLIENTS)

    def client(number: int) -> None:
        start.wait()
        for time_ in range(repeat):
            statuses.append(send(number, time_))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def orders_file(folder: Path, cdnow: pd.DataFrame, megabytes: float, name: str) -> Path:
    """CDNOW's orders repeated under new order ids until the file is about ``megabytes``."""
    path = folder / f"{name}.csv"
    copies = max(1, round(megabytes * 1024 * 1024 / (len(cdnow.to_csv(index=False)) or 1)))
    frames = [cdnow.assign(order_id=cdnow.order_id + f"-{name}-{copy}") for copy in range(copies)]
    pd.concat(frames).to_csv(path, index=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="bodies per client per case")
    parser.add_argument("--upload-mb", type=float, default=99, help="refused uploads' size")
    parser.add_argument("--import-mb", type=float, default=10, help="imported files' size")
    parser.add_argument("--cases", nargs="*", help="run only these cases (e.g. 'upload refused')")
    args = parser.parse_args()
    figures: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="body-memory-") as scratch:
        folder = Path(scratch)
        orders, _ = export(folder)
        cdnow = pd.read_csv(orders, dtype=str)
        refused = folder / "refused.csv"  # no amount column: refused after being read
        copies = round(args.upload_mb * 1024 * 1024 / orders.stat().st_size)
        pd.concat([cdnow.drop(columns="amount")] * copies).to_csv(refused, index=False)
        imports = [orders_file(folder, cdnow, args.import_mb, f"c{n}") for n in range(CLIENTS)]
        with fresh_store("sqlite", "") as environment:
            track = retain(environment, "keys", "create", "mem", "--scopes", "track").split()[-1]
            loader = retain(environment, "keys", "create", "up", "--scopes", "import").split()[-1]
            basic = "Basic " + base64.b64encode(f"{track}:".encode()).decode()
            plain = {"Content-Type": "application/json", "Authorization": basic}
            zipped = {**plain, "Content-Encoding": "gzip"}
            bomb = gzip.compress(b"\0" * (BATCH_LIMIT * 1000), compresslevel=9)
            cases: dict[str, Callable[[str], Callable[[int, int], int]]] = {
                "batch plain": lambda base: lambda c, n: post(
                    base, "/v1/batch", batch_body(), plain),
                "batch gzip": lambda base: lambda c, n: post(
                    base, "/v1/batch", gzip.compress(batch_body()), zipped),
                "gzip bomb": lambda base: lambda c, n: post(base, "/v1/batch", bomb, zipped),
                "upload refused": lambda base: lambda c, n: upload(base, loader, refused),
                "upload import": lambda base: lambda c, n: upload(base, loader, imports[c]),
            }  # fmt: skip
            with background_server(environment=environment, timeout=180) as base:
                pid = serve_pid(urlsplit(base).port)
                post(base, "/v1/batch", batch_body(), plain)  # warm-up
                time.sleep(2)
                idle = rss_mb(pid)
                figures["idle"] = {"rss_mb": round(idle)}
                print(f"idle: {idle:.0f} MB (pid {pid})", flush=True)
                for name, make in cases.items():
                    if args.cases and name not in args.cases:
                        continue
                    repeat = 1 if name.startswith("upload") else args.repeat
                    with Peak(pid) as peak:
                        start = time.perf_counter()
                        statuses = at_once(make(base), repeat)
                        seconds = time.perf_counter() - start
                    figures[name] = {
                        "before_mb": round(peak.before), "peak_mb": round(peak.peak),
                        "seconds": round(seconds, 1),
                        "statuses": {str(s): statuses.count(s) for s in sorted(set(statuses))},
                    }  # fmt: skip
                    print(f"{name}: {json.dumps(figures[name])}", flush=True)
                    time.sleep(2)
        sizes = {"upload_refused_mb": round(refused.stat().st_size / 2**20, 1),
                 "upload_import_mb": round(statistics.mean(
                     p.stat().st_size for p in imports) / 2**20, 1),
                 "gzip_bomb_wire_kb": round(len(bomb) / 1024)}  # fmt: skip
    print(f"\n{'case':<16}{'before MB':>10}{'peak MB':>9}{'seconds':>9}  statuses")
    for name, found in figures.items():
        if name != "idle":
            print(f"{name:<16}{found['before_mb']:>10}{found['peak_mb']:>9}"
                  f"{found['seconds']:>9}  {found['statuses']}")  # fmt: skip
    save("body_memory", {"clients": CLIENTS, "repeat": args.repeat, **sizes, "figures": figures})


if __name__ == "__main__":
    main()
