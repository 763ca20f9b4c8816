"""`retain ...`: thin commands around plain functions.

Errors retain raises on purpose reach the user as one red line and exit code 2 (1 for
anything unexpected); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

from retain import __version__
from retain.analytics import rfm_summary
from retain.errors import RetainError
from retain.io import read_table, write_table


def _demo(args: argparse.Namespace) -> None:
    from pathlib import Path

    from retain.datasets import make_business
    from retain.demo import render_cdnow_demo, run_business_demo, run_cdnow_demo
    from retain.demo_store import run_store_demo

    for line in render_cdnow_demo(run_cdnow_demo()):
        print(line)
    print()
    business = make_business(10_000, seed=0)
    for line in run_business_demo(Path(args.out), business):
        print(line)
    print()
    print("The same shop in the operational store (the embedded SQLite in RETAIN_HOME):")
    for line in run_store_demo(business, folder=Path(args.out) / "files"):
        print(line)


def _rfm(args: argparse.Namespace) -> None:
    summary = rfm_summary(
        read_table(args.transactions),
        customer_id=args.customer_id,
        datetime=args.datetime,
        monetary=args.monetary,
        observation_end=args.observation_end,
        calibration_end=args.calibration_end,
        time_unit=args.time_unit,
    )
    if args.out:
        path = write_table(summary, args.out)
        print(f"wrote {path}")
    else:
        print(summary.limit(20).to_pyarrow().to_pandas().to_string(index=False))


def _analyze(args: argparse.Namespace) -> None:
    from pathlib import Path

    from retain.report import STAGES, analyze, write_outputs  # fits models: load on demand

    def progress(number: int, stage: str) -> None:
        print(f"[{number}/{len(STAGES)}] {stage}", file=sys.stderr, flush=True)

    def local(path: str | None) -> object:
        return None if path is None else read_table(path).to_pyarrow()

    analysis = analyze(
        local(args.orders),
        observation_end=args.observation_end,
        customers=local(args.customers),
        subscriptions=local(args.subscriptions),
        progress=progress,
    )
    paths = write_outputs(analysis, Path(args.out))
    for note in analysis.notes:  # every score not given by the fitted models, and why
        print(f"note: {note}", file=sys.stderr)
    model = analysis.model.model or "no model (see the note)"
    print(
        f"{analysis.n_customers:,} customers scored with {model}; wrote "
        f"{paths['parquet']}, {paths['csv']} and {paths['report']}"
    )


def _serve(args: argparse.Namespace) -> None:
    from retain.server.commands import serve

    print(f"retain serving on http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr)
    serve(host=args.host, port=args.port, workers=args.workers)


def _worker(args: argparse.Namespace) -> None:
    from retain.server.commands import work

    ran = work(max_jobs=args.max_jobs)
    print(f"worker stopped after {ran} job(s)", file=sys.stderr)


def _migrate(args: argparse.Namespace) -> None:
    from retain.server.commands import migrate_store

    migrate_store()
    print("the store is up to date")


def _rescore(args: argparse.Namespace) -> None:
    from retain.server.commands import rescore_store

    for line in rescore_store(as_of=args.as_of).lines():
        print(line)


def _day(text: str) -> dt.date:
    """An argument that must be a day, YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _keys_create(args: argparse.Namespace) -> None:
    from retain.server.commands import create_key

    scopes = [scope.strip() for scope in args.scopes.split(",") if scope.strip()]
    plain = create_key(args.name, scopes)
    print(f"API key {args.name!r} with scopes {', '.join(sorted(set(scopes)))}; keep it safe:")
    print(plain)


def _import(args: argparse.Namespace) -> None:
    from retain.server.commands import import_into_store

    result = import_into_store(args.kind, args.file)
    print(
        f"{result.kind}: {result.rows:,} row(s): {result.created:,} created, "
        f"{result.updated:,} updated, {result.unchanged:,} unchanged; "
        f"{result.customers_created:,} new customer(s) from their ids"
    )


def _users_create(args: argparse.Namespace) -> None:
    import getpass
    import os

    from retain.errors import RuleViolation
    from retain.server.commands import create_store_user

    password = os.environ.get("RETAIN_PASSWORD")
    if password is None:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise RuleViolation("the two passwords differ", field="password")
    create_store_user(args.username, password=password, role=args.role)
    print(f"user {args.username!r} created with the {args.role} role")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="retain",
        description="Customer retention: who your customers are, what they are worth.",
    )
    parser.add_argument("--version", action="version", version=f"retain {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="fit the models to CDNOW and show estimates, holdout check and top customers"
    )
    demo.add_argument(
        "--out", default="retain-data/demo", help="folder for the synthetic shop's report"
    )
    demo.set_defaults(handler=_demo)
    rfm = commands.add_parser(
        "rfm", help="summarise a transaction file (CSV/Parquet) per customer for the models"
    )
    rfm.add_argument("transactions", help="CSV or Parquet file, one row per purchase")
    rfm.add_argument("--observation-end", required=True, help="last day observed, YYYY-MM-DD")
    rfm.add_argument("--calibration-end", help="split calibration and holdout at this day")
    rfm.add_argument("--time-unit", default="W", choices=["D", "W", "M", "Y"])
    rfm.add_argument("--customer-id", default="customer_id", help="column name")
    rfm.add_argument("--datetime", default="date", help="column name")
    rfm.add_argument("--monetary", default="amount", help="column name")
    rfm.add_argument("--out", help="write the summary to this .csv or .parquet file")
    rfm.set_defaults(handler=_rfm)
    analyze = commands.add_parser(
        "analyze", help="score every customer and write scores.parquet/.csv and report.html"
    )
    analyze.add_argument("orders", help="orders CSV or Parquet (see docs/analytics.md)")
    analyze.add_argument("--customers", help="customers file with acquisition_channel")
    analyze.add_argument("--subscriptions", help="subscriptions file")
    analyze.add_argument("--observation-end", help="day of the analysis (default: last order)")
    analyze.add_argument("--out", required=True, help="folder for the scores and the report")
    analyze.set_defaults(handler=_analyze)
    serve = commands.add_parser("serve", help="run the web server (store, tracking API, REST API)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="server processes")
    serve.set_defaults(handler=_serve)
    worker = commands.add_parser("worker", help="run background jobs from the store's queue")
    worker.add_argument("--max-jobs", type=int, help="stop after this many jobs")
    worker.set_defaults(handler=_worker)
    rescore = commands.add_parser(
        "rescore", help="recompute every customer's scores, segment and stage in the store now"
    )
    rescore.add_argument(
        "--as-of", type=_day, help="day of the scores, YYYY-MM-DD (default: today, UTC)"
    )
    rescore.set_defaults(handler=_rescore)
    migrate = commands.add_parser("migrate", help="create or update the store's tables")
    migrate.set_defaults(handler=_migrate)
    keys = commands.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True, metavar="ACTION"
    )
    create = keys.add_parser("create", help="create an API key; it is printed on the last line")
    create.add_argument("name")
    create.add_argument("--scopes", required=True, help="comma-separated: track,read,import,write")
    create.set_defaults(handler=_keys_create)
    users = commands.add_parser("users", help="people who sign in").add_subparsers(
        dest="users_command", required=True, metavar="ACTION"
    )
    create_user = users.add_parser(
        "create", help="create a user; the password comes from RETAIN_PASSWORD or a prompt"
    )
    create_user.add_argument("username")
    create_user.add_argument("--role", required=True, choices=["admin", "analyst", "agent"])
    create_user.set_defaults(handler=_users_create)
    imports = commands.add_parser(
        "import", help="check a CSV or Parquet file whole, then load it into the store"
    )
    imports.add_argument(
        "kind", choices=["customers", "orders", "subscriptions", "complaints", "survey-answers"]
    )
    imports.add_argument("file", help="CSV or Parquet file (see docs/store.md)")
    imports.set_defaults(handler=_import)
    return parser


def _red(text: str) -> str:
    return f"\033[31m{text}\033[0m" if sys.stderr.isatty() else text


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.handler(args)
    except RetainError as error:
        if args.debug:
            raise
        print(_red(f"error [{error.code}]: {error}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_red("interrupted"), file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(
            _red(f"unexpected error: {type(error).__name__}: {error} (run with --debug)"),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
