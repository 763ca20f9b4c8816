"""`retain ...`: thin commands around plain functions.

Errors retain raises on purpose reach the user as one red line and exit code 2 (1 for
anything unexpected); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence

from retain import __version__
from retain.errors import DataError, RetainError
from retain.file_options import add_file_options, file_options, in_file_terms
from retain.installed import missing_server_parts


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
    from retain.analytics import orders_left_out, rfm_summary  # pandas, ibis: loaded on demand
    from retain.io import read_table, write_table

    options = file_options(args)
    with in_file_terms(options):
        transactions = read_table(args.transactions, kind="orders", options=options)
        summary = rfm_summary(
            transactions,
            customer_id="customer_id",
            datetime="ordered_at",
            monetary="amount",
            observation_end=args.observation_end,
            calibration_end=args.calibration_end,
            time_unit=args.time_unit,
        )
        if not summary.count().to_pyarrow().as_py():
            raise DataError(
                f"{args.transactions}: no customer bought on or before the observation end "
                f"{args.observation_end}; the summary would be empty (is the day right?)"
            )
        print(orders_left_out(transactions, observation_end=args.observation_end).line())
        if args.out:
            path = write_table(summary, args.out)
            print(f"wrote {path}")
        else:
            print(summary.limit(20).to_pyarrow().to_pandas().to_string(index=False))


#: Columns of the per-customer summary the models read: an error about one of them comes
#: from inside retain, after the file's checks passed.
_SUMMARY_COLUMNS = {"frequency", "recency", "T", "monetary_value", "weight", "t", "n"}


def in_analyze_terms(error: DataError, stage: str) -> DataError:
    """An error from ``retain analyze``, as the user should read it.

    An error about the file stays as it is. One about a column of the per-customer summary
    the models read comes from inside retain after the file passed its checks: the user
    cannot fix it in their file, so it says where analyze stopped and asks for a report.
    """
    if error.column not in _SUMMARY_COLUMNS:
        return error
    return DataError(
        f"retain analyze stopped while {stage}: {error.bad_rows or 'some'} customer(s) "
        f"have a {error.column} the models cannot use ({error.rule}); your file passed the "
        "orders checks, so this is retain's fault: please report it with the output of "
        "--debug"
    )


def _analyze(args: argparse.Namespace) -> None:
    from pathlib import Path

    from retain.io import read_file
    from retain.report import STAGES, analyze, write_outputs  # fits models: load on demand

    options = file_options(args)
    reached = ["reading the files"]

    def progress(number: int, stage: str) -> None:
        reached.append(stage)
        print(f"[{number}/{len(STAGES)}] {stage}", file=sys.stderr, flush=True)

    def local(path: str | None, kind: str) -> object:
        return None if path is None else read_file(path, kind=kind, options=options)

    try:
        with in_file_terms(options):
            analysis = analyze(
                local(args.orders, "orders"),
                observation_end=args.observation_end,
                customers=local(args.customers, "customers"),
                subscriptions=local(args.subscriptions, "subscriptions"),
                progress=progress,
            )
    except DataError as error:
        raise in_analyze_terms(error, reached[-1]) from error
    paths = write_outputs(analysis, Path(args.out))
    if analysis.left_out is not None:  # the orders rule: refunded, cancelled, ... left out
        print(analysis.left_out.line(), file=sys.stderr)
    for note in analysis.notes:  # every score not given by the fitted models, and why
        print(f"note: {note}", file=sys.stderr)
    model = analysis.model.model or "no model (see the note)"
    print(
        f"{analysis.n_customers:,} customers scored with {model}; wrote "
        f"{paths['parquet']}, {paths['csv']} and {paths['report']}"
    )


def _serve(args: argparse.Namespace) -> None:
    from retain.server.commands import serve

    def announce(jobs: str) -> None:
        from retain.store_config import unshared_key_warning

        warning = unshared_key_warning(
            os.environ.get("DATABASE_URL"), os.environ.get("RETAIN_SECRET_KEY")
        )
        if warning:
            logging.getLogger("retain.server").warning(warning)
        where = f"http://{args.host}:{args.port}/"
        print(f"retain serving on {where}; {jobs} (Ctrl-C stops)", file=sys.stderr, flush=True)

    serve(
        host=args.host, port=args.port, workers=args.workers, worker=not args.no_worker,
        announce=announce,
    )  # fmt: skip


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


def _ingest_retry(args: argparse.Namespace) -> None:
    from retain.server.commands import ready_store

    if args.all == bool(args.message_ids):
        raise DataError("name the failed messages' ids, or --all (not both)", field="messageId")
    ready_store()
    from django.db import transaction

    from retain.ingest.applying import retry_failed_messages
    from retain.ingest.queries import count_failed_messages

    with transaction.atomic():
        result = retry_failed_messages(None if args.all else args.message_ids)
    print(f"{result.retried()}; {count_failed_messages():,} failed in all")


def _day(text: str) -> dt.date:
    """An argument that must be a day, YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day (YYYY-MM-DD)") from None


def _keys_create(args: argparse.Namespace) -> None:
    from retain.server.commands import create_key

    scopes = [scope.strip() for scope in args.scopes.split(",") if scope.strip()]
    key, plain = create_key(args.name, scopes, expires_in_days=args.expires_in)
    lifetime = f"expires on {_minute(key.expires_at)}" if key.expires_at else "never expires"
    print(f"API key {key.name!r} with scopes {', '.join(key.scopes)} ({lifetime}); keep it safe:")
    print(plain)


def _days(text: str) -> int:
    """An argument that must be a whole number of days, at least 1."""
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days (1 or more)")
    return days


def _import(args: argparse.Namespace) -> None:
    from retain.server.commands import import_into_store

    options = file_options(args)
    with in_file_terms(options):
        result = import_into_store(
            args.kind, args.file, options=options, allow_moves=args.allow_moves
        )
    print(
        f"{result.kind}: {result.rows:,} row(s): {result.created:,} created, "
        f"{result.updated:,} updated, {result.unchanged:,} unchanged; "
        f"{result.customers_created:,} new customer(s) from their ids"
    )
    if result.refunds_kept:
        print(
            f"{result.refunds_kept:,} order(s) stay refunded: the file states them otherwise, "
            "and a refund is never undone by stating the order again"
        )


def _keys_list(args: argparse.Namespace) -> None:
    from retain.server.commands import list_keys

    keys = list_keys()
    if not keys:
        print("no API keys yet; create one with `retain keys create NAME --scopes read`")
        return
    rows = [("name", "prefix", "scopes", "created", "expires", "last used", "revoked")]
    rows += [
        (key.name, key.prefix, ",".join(key.scopes), _minute(key.created_at),
         _minute(key.expires_at, "never"), _minute(key.last_used_at, "never"),
         _minute(key.revoked_at, "-"))
        for key in keys
    ]  # fmt: skip
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def _minute(moment: dt.datetime | None, missing: str = "") -> str:
    """A stored time as the CLI shows it: UTC, to the minute."""
    if moment is None:
        return missing
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _keys_revoke(args: argparse.Namespace) -> None:
    from retain.server.commands import revoke_key

    key = revoke_key(args.key)
    print(f"API key {key.name!r} (prefix {key.prefix}) is revoked since {_minute(key.revoked_at)}")


def _journeys_apply(args: argparse.Namespace) -> None:
    from retain.server.commands import apply_journey_files

    if not args.paths and not args.builtin:
        raise DataError("name journey files or folders to apply, or --builtin")
    try:
        outcomes = apply_journey_files(args.paths, builtin=args.builtin)
    except DataError as error:  # a refused document: every problem on a line of its own
        if not (problems := error.details.get("problems")):
            raise
        raise DataError(
            f"{len(problems)} problem(s); nothing was applied:\n" + "\n".join(problems),
            problems=problems,
        ) from None
    if args.json:
        print(json.dumps([vars(outcome) for outcome in outcomes], indent=2))
        return
    for outcome in outcomes:
        said = {"created": "created version", "new version": "new version",
                "unchanged": "unchanged, still version"}[outcome.outcome]  # fmt: skip
        note = "" if outcome.status == "active" else f" ({outcome.status})"
        print(f"{outcome.key}: {said} {outcome.version}{note}  <- {outcome.source}")


def _journeys_list(args: argparse.Namespace) -> None:
    from retain.server.commands import ready_store

    ready_store()
    from retain.journeys.queries import list_journeys

    journeys = list_journeys()
    if args.json:
        print(json.dumps([vars(journey) for journey in journeys], indent=2, default=str))
        return
    if not journeys:
        print("no journeys yet; apply one with `retain journeys apply FILE`")
        return
    _table(
        ("key", "name", "status", "version", "applied", "by", "from"),
        [(j.key, j.name, j.status, str(j.version or "-"), _minute(j.applied_at, "-"),
          j.applied_by or "-", j.source or "-") for j in journeys],
    )  # fmt: skip


def _journeys_show(args: argparse.Namespace) -> None:
    from retain.server.commands import ready_store

    ready_store()
    from retain.journeys.queries import get_version

    version = get_version(args.key, args.version)
    if args.json:
        shown = {name: value for name, value in vars(version).items() if name != "stored"}
        print(json.dumps({**shown, "document": version.stored}, indent=2, default=str))
        return
    current = " (current)" if version.current else ""
    print(
        f"# {version.key} version {version.number}{current}, applied "
        f"{_minute(version.applied_at)} by {version.applied_by or '-'} from "
        f"{version.source or '-'}",
        file=sys.stderr,
    )
    print(version.source_text, end="" if version.source_text.endswith("\n") else "\n")


def _journeys_status(args: argparse.Namespace) -> None:
    from retain.server.commands import change_journey_status

    change = change_journey_status(args.key, args.journeys_command)
    if change.changed:
        print(f"journey {change.key!r} is {change.after} (was {change.before})")
    else:
        print(f"journey {change.key!r} was {change.after} already; nothing changed")


def _journeys_report(args: argparse.Namespace) -> None:
    from retain.server.commands import ready_store

    ready_store()
    from retain.journeys.report import journey_report

    report = journey_report(args.key).as_json()
    if args.json:
        print(json.dumps(report, indent=2))
        return
    treated, held = report["treatment"], report["holdout"]
    print(f"{report['journey']}: {report['name']} (revenue and goal within "
          f"{report['window_days']:g} days of entering)")  # fmt: skip
    _table(
        ("", "treatment", "holdout"),
        [("enrolled", f"{treated['enrolled']:,}", f"{held['enrolled']:,}"),
         ("converted", f"{treated['converted']:,}", f"{held['converted']:,}"),
         ("conversion rate", _share(treated["conversion_rate"]),
          _share(held["conversion_rate"])),
         ("revenue per customer", _amount(treated["revenue_per_customer"]),
          _amount(held["revenue_per_customer"]))],
    )  # fmt: skip
    print()
    uplift = report["uplift"]
    print(f"uplift (conversion rate): {_points(uplift['estimate'])} "
          f"(95 % interval {_points(uplift['low'])} to {_points(uplift['high'])})")  # fmt: skip
    for name, label in (("revenue_uplift", "revenue uplift per customer"),
                        ("incremental_revenue", "incremental revenue")):  # fmt: skip
        low, estimate, high = (_amount(report[name][end], signed=True)
                               for end in ("low", "estimate", "high"))  # fmt: skip
        print(f"{label}: {estimate} (95 % interval {low} to {high})")
    if not held["enrolled"]:
        print("no customer is in the holdout yet: the uplift needs both groups")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _points(value: float | None) -> str:
    """A difference of rates, in percentage points."""
    return "n/a" if value is None else f"{value * 100:+.1f} pts"


def _amount(value: float | None, *, signed: bool = False) -> str:
    if value is None:
        return "n/a" if signed else "-"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def _journeys_preview(args: argparse.Namespace) -> None:
    from retain.server.commands import ready_store

    ready_store()
    from retain.journeys.previews import preview_journey

    previews = preview_journey(args.key, args.customer, version=args.version)
    if args.json:
        shown = [
            {"step": p.step_id, "to": p.to, "topic": p.topic, "transactional": p.transactional,
             "locale": p.message.locale, "subject": p.message.subject, "html": p.message.html,
             "text": p.message.text}
            for p in previews
        ]  # fmt: skip
        print(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    if not previews:
        print(f"journey {args.key!r} sends no email")
        return
    for number, preview in enumerate(previews):
        if number:
            print()
        kind = "transactional" if preview.transactional else f"marketing, topic {preview.topic}"
        print(f"--- step {preview.step_id} ({kind}, {preview.message.locale}) ---")
        print(f"To: {preview.to or '(no address: it would be suppressed)'}")
        print(f"Subject: {preview.message.subject}")
        print()
        print(preview.message.text.rstrip("\n"))


def _sample_count(text: str) -> int:
    """An argument that must be a count of messages, 0 to 1000."""
    if not (text.isascii() and text.isdigit()) or int(text) > 1000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of messages (0 to 1000)")
    return int(text)


def _tick_hours(text: str) -> int:
    """An argument that must be a whole number of hours, 1 to 24."""
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 24:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours (1 to 24)")
    return int(text)


def _journeys_simulate(args: argparse.Namespace) -> None:
    from retain.server.commands import simulate_journeys

    if args.end < args.start:
        raise DataError(
            f"--to {args.end} is before --from {args.start}: give the first day, then the last",
            field="to",
        )
    month = [None]

    def progress(clock: dt.datetime) -> None:
        if sys.stderr.isatty() and (clock.year, clock.month) != month[0]:
            month[0] = (clock.year, clock.month)
            print(f"simulating {clock:%Y-%m} ...", file=sys.stderr, flush=True)

    result = simulate_journeys(
        start=args.start, end=args.end, journey=args.journey, sample=args.sample,
        tick_hours=args.tick_hours, progress=progress,
    )  # fmt: skip
    if args.json:
        print(json.dumps(result.as_json(), indent=2, ensure_ascii=False))
        return
    for line in result.lines():
        print(line)


def _version(text: str) -> int:
    """An argument that must be a version number, 1 or more."""
    if not (text.isascii() and text.isdigit() and 0 < len(text) < 10) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a version number (1 or more)")
    return int(text)


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, two spaces apart."""
    everything = [header, *rows]
    widths = [max(len(row[column]) for row in everything) for column in range(len(header))]
    for row in everything:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def _users_create(args: argparse.Namespace) -> None:
    import getpass
    import os

    from retain.errors import ConfigError, RuleViolation
    from retain.server.commands import create_store_user

    password = os.environ.get("RETAIN_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise ConfigError(
                "no terminal to ask for the password: set RETAIN_PASSWORD for this command"
            )
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
    add_file_options(rfm)
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
    add_file_options(analyze)
    analyze.set_defaults(handler=_analyze)
    serve = commands.add_parser("serve", help="run the web server (store, tracking API, REST API)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=1,
        help="server processes (on the embedded store the job worker still runs once)",
    )  # fmt: skip
    serve.add_argument(
        "--no-worker", action="store_true",
        help="do not run jobs in this process (the embedded store; start `retain worker`)",
    )  # fmt: skip
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
    ingest = commands.add_parser("ingest", help="tracked messages").add_subparsers(
        dest="ingest_command", required=True, metavar="COMMAND"
    )
    retry = ingest.add_parser(
        "retry", help="apply failed tracking messages again (after fixing what failed them)"
    )
    retry.add_argument("message_ids", nargs="*", metavar="MESSAGE_ID", help="their messageId")
    retry.add_argument("--all", action="store_true", help="every failed message")
    retry.set_defaults(handler=_ingest_retry)
    migrate = commands.add_parser("migrate", help="create or update the store's tables")
    migrate.set_defaults(handler=_migrate)
    keys = commands.add_parser("keys", help="API keys").add_subparsers(
        dest="keys_command", required=True, metavar="ACTION"
    )
    create = keys.add_parser("create", help="create an API key; it is printed on the last line")
    create.add_argument("name")
    create.add_argument(
        "--scopes", required=True, help="comma-separated: track,read,import,write,journeys"
    )
    create.add_argument(
        "--expires-in", type=_days, metavar="DAYS",
        help="refuse the key after this many days (default: it lives until revoked)",
    )  # fmt: skip
    create.set_defaults(handler=_keys_create)
    listing = keys.add_parser(
        "list", help="every key: name, prefix, scopes, created, expires, last used, revoked"
    )
    listing.set_defaults(handler=_keys_list)
    revoke = keys.add_parser("revoke", help="revoke a key at once, by its name or prefix")
    revoke.add_argument("key", metavar="NAME|PREFIX")
    revoke.set_defaults(handler=_keys_revoke)
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
    imports.add_argument(
        "--allow-moves",
        action="store_true",
        help="let orders already stored under one customer id move to the id the file gives",
    )
    add_file_options(imports)
    imports.set_defaults(handler=_import)
    journeys = commands.add_parser(
        "journeys",
        help="journeys as YAML documents: apply, list, show, pause, resume, archive; "
        "report, preview, simulate",
    ).add_subparsers(dest="journeys_command", required=True, metavar="ACTION")
    apply = journeys.add_parser(
        "apply", help="check journey documents and store them, all or nothing (exit 2: refused)"
    )
    apply.add_argument("paths", nargs="*", metavar="FILE|DIR",
                       help="a .yaml/.yml/.json document, or a folder of them")  # fmt: skip
    apply.add_argument("--builtin", action="store_true", help="also the built-in journeys")
    apply.add_argument("--json", action="store_true", help="the outcomes as JSON")
    apply.set_defaults(handler=_journeys_apply)
    listed = journeys.add_parser("list", help="every journey: status, version, when applied")
    listed.add_argument("--json", action="store_true", help="as JSON")
    listed.set_defaults(handler=_journeys_list)
    show = journeys.add_parser("show", help="a journey's document as applied (YAML)")
    show.add_argument("key")
    show.add_argument(
        "--version", type=_version, metavar="N", help="that version (default: current)"
    )
    show.add_argument("--json", action="store_true", help="the checked document as JSON")
    show.set_defaults(handler=_journeys_show)
    report = journeys.add_parser(
        "report", help="treatment against holdout: conversions, revenue, uplift (95 % interval)"
    )
    report.add_argument("key")
    report.add_argument("--json", action="store_true", help="as JSON")
    report.set_defaults(handler=_journeys_report)
    preview = journeys.add_parser(
        "preview", help="each email of a journey rendered for one customer (nothing is sent)"
    )
    preview.add_argument("key")
    preview.add_argument("--customer", required=True, metavar="ID", help="the shop's customer id")
    preview.add_argument(
        "--version", type=_version, metavar="N", help="that version (default: current)"
    )
    preview.add_argument("--json", action="store_true", help="subject, HTML and text per step")
    preview.set_defaults(handler=_journeys_preview)
    simulate = journeys.add_parser(
        "simulate",
        help="replay the store's history through the journeys on a virtual clock: what they "
        "would have done (nothing is stored or sent)",
    )
    simulate.add_argument("--from", dest="start", type=_day, required=True, metavar="DAY",
                          help="first day, YYYY-MM-DD (the shop's time zone)")  # fmt: skip
    simulate.add_argument("--to", dest="end", type=_day, required=True, metavar="DAY",
                          help="last day, YYYY-MM-DD (included)")  # fmt: skip
    simulate.add_argument(
        "--journey", metavar="KEY", help="only this journey (even paused): default every active one"
    )
    simulate.add_argument("--sample", type=_sample_count, default=0, metavar="N",
                          help="also print N of the messages that would be sent")  # fmt: skip
    simulate.add_argument(
        "--tick-hours", type=_tick_hours, default=1, metavar="H",
        help="move the clock H hours at a time (default 1; more is faster and rougher)",
    )  # fmt: skip
    simulate.add_argument("--json", action="store_true", help="the figures as JSON")
    simulate.set_defaults(handler=_journeys_simulate)
    for action, said in (("pause", "stop enrolling and advancing until resumed"),
                         ("resume", "make a paused or archived journey active"),
                         ("archive", "retire a journey (its versions stay)")):  # fmt: skip
        changing = journeys.add_parser(action, help=said)
        changing.add_argument("key")
        changing.set_defaults(handler=_journeys_status)
    return parser


def _red(text: str) -> str:
    return f"\033[31m{text}\033[0m" if sys.stderr.isatty() else text


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if (missing := missing_server_parts(args.command)) is not None:
        print(_red(f"error: retain {args.command}: {missing}"), file=sys.stderr)
        return 2
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
