"""`nicheflow`: review checkpoints from the terminal, and run the stack.

  nicheflow pending [--channel C]          list checkpoints waiting for a decision
  nicheflow show ID                        one checkpoint with its artifacts and history
  nicheflow approve ID [--notes N]         approve (the production continues)
  nicheflow request-changes ID --notes N   the stage runs again with the notes, as a new revision
  nicheflow reject ID --notes REASON       the production ends; its files are kept
  nicheflow logs PRODUCTION [--stage S] [--json]
                                           one production's log lines: every task, attempt, trigger, CLI
  nicheflow topics suggest CHANNEL         next topics from the coverage gaps
  nicheflow topics check CHANNEL TOPIC     is a topic too close to one the channel covered?
  nicheflow validate                       check every channel YAML
  nicheflow youtube client PROJECT --secrets FILE [--api-root URL]
                                           store a Google Cloud project's OAuth client (Desktop app JSON)
  nicheflow youtube connect CHANNEL [--port 8765]
                                           consent for a channel's YouTube account, store its token
  nicheflow youtube status                 every channel's YouTube state, each project's quota today
  nicheflow analytics pull [CHANNEL]       pull YouTube Analytics now (one channel, or every YouTube one)
  nicheflow analytics show CHANNEL         the channel's videos with their figures, and its last pull
  nicheflow costs PRODUCTION               what a production cost (tokens, characters, calls, units, CPU)
  nicheflow costs --channel C [--month YYYY-MM]
                                           a channel's spend per month, or that month's videos
  nicheflow db                             start the embedded PostgreSQL (if needed) and migrate
  nicheflow run [--port P] [--executor celery --workers N]
                                           everything: PostgreSQL, migrations, Airflow (Ctrl-C stops)
  nicheflow demo [--channel C]             one unattended production and its Shorts, auto-approved

Decisions record who decided (--as, else $NICHEFLOW_REVIEWER, else your login name) and when.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import signal
import sys
import time

import psycopg

from pipelines import checkpoints, logfields
from pipelines.config import load_all
from pipelines.db import connect, database_url, one
from pipelines.local import analytics_cli, costs_cli, youtube_cli

log = logging.getLogger(__name__)


def _log_to_file() -> None:
    """The CLI's lines also go, as JSON with their production's fields, to data/logs/cli.jsonl (what
    `nicheflow logs` reads besides the task logs)."""
    from pipelines.paths import data_dir

    path = logfields.cli_log_file(data_dir())
    root = logging.getLogger()
    if any(getattr(h, "baseFilename", None) == str(path) for h in root.handlers):
        return  # main() called again in one process
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return  # a read-only data folder: the terminal still gets every line
    handler.addFilter(logfields.ContextFilter())
    handler.setFormatter(logfields.JsonLines())
    handler.setLevel(logging.INFO)
    root.addHandler(handler)
    log.setLevel(logging.INFO)  # the CLI's own lines (decisions) are kept whatever the terminal shows


def _reviewer(args) -> str:
    return args.reviewer or os.environ.get("NICHEFLOW_REVIEWER") or getpass.getuser()


def _fmt_time(t) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M") if t else "-"


def cmd_pending(args) -> int:
    with connect() as conn:
        rows = checkpoints.pending(conn, args.channel)
    if not rows:
        print("No checkpoints waiting.")
        return 0
    print(f"{'ID':>5}  {'CHANNEL':<16} {'PROD':>5}  {'STAGE':<7} {'REV':>3}  {'WAITING SINCE':<16}  TOPIC")
    for c in rows:
        print(
            f"{c.id:>5}  {c.channel:<16} {c.production_id:>5}  {c.stage:<7} {c.revision:>3}  "
            f"{_fmt_time(c.created_at):<16}  {c.topic}"
        )
    return 0


def cmd_show(args) -> int:
    from pipelines import production, storage

    with connect() as conn:
        cp = checkpoints.get(conn, args.id)
        hist = checkpoints.history(conn, cp.production_id)
        row = one(
            conn.execute("SELECT channel, workspace FROM productions WHERE id = %s", (cp.production_id,)),
            f"production {cp.production_id}",
        )
    key, old = production.locate(row["channel"], row["workspace"])
    print(f"Checkpoint {cp.id}: {cp.channel} production {cp.production_id} ({cp.topic!r})")
    print(
        f"  stage {cp.stage}, revision {cp.revision}, {cp.status}"
        + (f" by {cp.reviewer} at {_fmt_time(cp.decided_at)}" if cp.reviewer else "")
    )
    print(f"  workspace: {old or storage.get().where(key)}")
    print("  artifacts: " + json.dumps(cp.artifacts, ensure_ascii=False, indent=2).replace("\n", "\n  "))
    print("  history:")
    for h in hist:
        print(
            f"    #{h.id} {h.stage} r{h.revision}: {h.status}"
            + (f" by {h.reviewer}" if h.reviewer else "")
            + (f" — {h.notes}" if h.notes else "")
        )
    return 0


def _decide(decision: str):
    def run(args) -> int:
        with connect() as conn:
            cp = checkpoints.get(conn, args.id)
            with logfields.bound(
                channel=cp.channel, production_id=cp.production_id, stage=f"review_{cp.stage}"
            ):
                cp = checkpoints.decide(conn, args.id, decision, _reviewer(args), args.notes)
                log.info("checkpoint %s %s by %s (cli)", cp.id, cp.status, cp.reviewer)
        print(
            f"Checkpoint {cp.id} ({cp.channel} production {cp.production_id}, {cp.stage} r{cp.revision}): "
            f"{cp.status.replace('_', ' ')} by {cp.reviewer} at {_fmt_time(cp.decided_at)}."
        )
        return 0

    return run


def cmd_logs(args) -> int:
    from pipelines import production
    from pipelines.paths import data_dir

    with connect() as conn:
        p = production.load(conn, args.production)  # its ids only: no file is staged
        since = one(conn.execute("SELECT created_at FROM productions WHERE id = %s", (p.id,)))["created_at"]
    logs, cli_log = data_dir() / "airflow" / "logs", logfields.cli_log_file(data_dir())
    lines = logfields.read_production_logs(logs, cli_log, p.id, p.channel, p.dag_run_id, since)
    if not lines:
        print(f"no log lines of production {p.id} yet ({p.channel}, run {p.dag_run_id})", file=sys.stderr)
        return 1
    for line in lines:
        if args.stage and line.record.get("stage") != args.stage:
            continue
        print(json.dumps(line.record, ensure_ascii=False) if args.json else line.text())
    return 0


def cmd_topics(args) -> int:
    from knowledge import topics
    from pipelines.config import get_config
    from pipelines.production import channel_db

    cfg = get_config(args.channel)
    with channel_db(cfg.channel) as conn:
        if args.action == "check":
            close = topics.similar_covered(conn, cfg.channel, cfg.text_search_config, args.topic)
            for c in close:
                print(
                    f"similar ({c.similarity:.2f}): {c.topic!r}, production {c.production_id}, {c.covered_at:%Y-%m-%d}"
                )
            print("not covered yet" if not close else "covered: the DAG refuses it unless allow_similar=true")
            return 1 if close else 0
        for s in topics.suggest(conn, cfg.channel, cfg.text_search_config, cfg.topics, cfg.sources_path):
            print(f"{s['topic']}    ({s['reason']})")
    return 0


def cmd_validate(args) -> int:
    loaded = load_all()
    for ch in loaded.configs:
        print(f"ok       {ch}")
    for msg in loaded.errors.values():
        print(f"INVALID  {msg}")
    return 1 if loaded.errors else 0


def cmd_db(args) -> int:
    from pipelines import db
    from pipelines.local import pgembed

    url = os.environ.get("DATABASE_URL") or pgembed.ensure_running()
    applied = db.migrate(url)
    print(f"Database ready: {url.split('@')[-1]} ({len(applied)} migrations applied now).")
    return 0


def _serve(stack, body) -> int:
    from pipelines.local.stack import StackError

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background, where SIGINT is ignored
    try:
        stack.start()
        return body(stack)
    except KeyboardInterrupt:
        print("\nStopping nicheflow (Airflow and, if it started it, the embedded PostgreSQL)…", flush=True)
        return 0
    except StackError as e:
        print(f"nicheflow: {e}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stack.stop()


def cmd_run(args) -> int:
    from pipelines.local.stack import Stack

    def body(stack) -> int:
        pw = stack.passwords()
        print(
            f"\nnicheflow is running: {stack.url}\n"
            f"  login: admin / {pw['admin']}   (reviewer / {pw['reviewer']}, viewer / {pw['viewer']})\n"
            f"  passwords are kept in {stack.home / 'passwords.json'}\n"
            f"  review from a terminal: .venv/bin/nicheflow pending\n"
            f"  logs: {stack.home}/*.log\nCtrl-C stops everything.",
            flush=True,
        )
        while True:
            stack.check_alive()
            time.sleep(2)

    return _serve(Stack(args.port, args.executor, args.workers), body)


def cmd_demo(args) -> int:
    from pipelines.local.demo import report, run_production
    from pipelines.local.stack import Stack

    def body(stack) -> int:
        print(f"Airflow is up on {stack.url}; running one production for {args.channel}…", flush=True)
        result = run_production(stack, args.channel, args.topic, args.seconds)
        print("\nDemo finished: the long-form video and its Shorts went through the real scheduler.")
        print("Checkpoints were approved by 'demo-auto-approver' (recorded as such).\n")
        print(report(args.channel, result["production"]))
        return 0

    return _serve(Stack(args.port, args.executor, args.workers), body)


def _executor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--executor",
        choices=["local", "celery"],
        default=os.environ.get("NICHEFLOW_EXECUTOR", "local"),
        help="LocalExecutor (default) or CeleryExecutor with a local Redis",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("NICHEFLOW_WORKERS", "1")),
        help="with celery: how many workers (each: a default-queue worker and a render-queue worker)",
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("NICHEFLOW_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    _log_to_file()
    ap = argparse.ArgumentParser(
        prog="nicheflow",
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("pending", help="list checkpoints waiting for a decision")
    p.add_argument("--channel")
    p.set_defaults(func=cmd_pending)
    p = sub.add_parser("show", help="one checkpoint, its artifacts and history")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_show)
    for name, decision, needs in (
        ("approve", "approved", False),
        ("request-changes", "changes_requested", True),
        ("reject", "rejected", True),
    ):
        p = sub.add_parser(name, help=f"decide a checkpoint: {decision.replace('_', ' ')}")
        p.add_argument("id", type=int)
        p.add_argument("--notes", "--reason", required=needs, help="what to change / why")
        p.add_argument("--as", dest="reviewer", help="reviewer name (default: $NICHEFLOW_REVIEWER or login)")
        p.set_defaults(func=_decide(decision))
    p = sub.add_parser("logs", help="one production's log lines across its tasks, attempts and the CLI")
    p.add_argument("production", type=int)
    p.add_argument("--stage", help="only this task's lines (e.g. script, review_script, shorts)")
    p.add_argument("--json", action="store_true", help="the JSON lines as written")
    p.set_defaults(func=cmd_logs)
    p = sub.add_parser("topics", help="suggest next topics, or check one against the channel's coverage")
    p.add_argument("action", choices=["suggest", "check"])
    p.add_argument("channel")
    p.add_argument("topic", nargs="?")
    p.set_defaults(func=cmd_topics)
    sub.add_parser("validate", help="check every channel YAML").set_defaults(func=cmd_validate)
    youtube_cli.register(sub)
    analytics_cli.register(sub)
    costs_cli.register(sub)
    sub.add_parser("db", help="start the embedded PostgreSQL if needed and migrate").set_defaults(func=cmd_db)
    p = sub.add_parser("run", help="start PostgreSQL and Airflow; Ctrl-C stops")
    p.add_argument("--port", type=int, default=int(os.environ.get("NICHEFLOW_PORT", "8080")))
    _executor_args(p)
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("demo", help="one unattended production and its Shorts")
    p.add_argument("--channel", default="science_en")
    p.add_argument("--topic")
    p.add_argument("--seconds", type=int, default=45, help="target length of the long-form video")
    p.add_argument("--port", type=int, default=int(os.environ.get("NICHEFLOW_PORT", "8080")))
    _executor_args(p)
    p.set_defaults(func=cmd_demo)
    args = ap.parse_args(argv)
    try:
        return args.func(args)
    except checkpoints.CheckpointError as e:
        print(f"nicheflow: {e}", file=sys.stderr)
        return 2
    except psycopg.OperationalError as e:
        print(
            f"nicheflow: cannot reach the database at {database_url().split('@')[-1]}: {e.args[0].strip()}\n"
            "Start it with `make run` (or `nicheflow db`), or set DATABASE_URL.",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
