"""Operator commands: `python -m chalicelib.cli <command>` (`--help` lists them all).

Where they act: the environment's settings (STORELOOP_JWT_SECRET,
AWS_ENDPOINT_URL_DYNAMODB, STORELOOP_TABLE_PREFIX, AWS_DEFAULT_REGION, ...).
Where those are not set and `make run` is up, the local stack it describes in
`.local/stack.json` (and `.local/jwt-secret`) is used, so its banner's
examples work in any new shell.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib import db
from chalicelib.auth import ROLES, issue_token
from chalicelib.cli.progress import Progress
from chalicelib.errors import ConfigError
from chalicelib.settings import get_settings

Command = Callable[[argparse.Namespace], int]
# Modules of other capabilities that add commands with @command.
CAPABILITY_COMMANDS: tuple[str, ...] = ("chalicelib.campaigns.cli", "chalicelib.insights.cli",
                                        "chalicelib.cli.backfill")
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}

ROOT = Path(__file__).resolve().parents[2]
LOCAL = Path(os.environ.get("STORELOOP_LOCAL_DIR") or ROOT / ".local")  # as devtools/stack.py
LOCAL_STACK = LOCAL / "stack.json"
LOCAL_SECRET = LOCAL / "jwt-secret"
# What a deployed or hand-configured environment sets; with none of these
# set, the CLI looks for the local stack.
_CONFIGURED = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "STORELOOP_TABLE_PREFIX")


def command(name: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None, help: str = ""):
    def register(fn: Command) -> Command:
        doc = (fn.__doc__ or "").strip().splitlines()
        COMMANDS[name] = (fn, configure, help or (doc[0] if doc else ""))
        return fn
    return register


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def local_stack_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The variables of the running `make run` stack, for what the
    environment does not set itself ({} when none is running)."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    if not any(env.get(k) for k in _CONFIGURED) and LOCAL_STACK.exists():
        try:
            stack = json.loads(LOCAL_STACK.read_text())
        except ValueError:
            stack = {}
        if isinstance(stack.get("pid"), int) and _alive(stack["pid"]):
            found.update({k: str(v) for k, v in stack.get("env", {}).items() if k not in env})
    if not env.get("STORELOOP_JWT_SECRET") and LOCAL_SECRET.exists():
        found["STORELOOP_JWT_SECRET"] = LOCAL_SECRET.read_text().strip()
    return found


@command("create-tables", help="create every table (idempotent)")
def create_tables(args: argparse.Namespace) -> int:
    created = db.create_tables()
    print(f"created {len(created)} table(s): {', '.join(created) or 'none (all existed)'}")
    from chalicelib.groups import directory
    from chalicelib.groups.models import GroupRecord

    if GroupRecord.Meta.table_name in created:
        # a groups table made just now holds no group an older version made:
        # its listing is complete by construction (backfill-lists' marker)
        directory.mark_listing_complete()
        print("group listing marker: written (new groups table)")
    return 0


def _token_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--sub", required=True)
    p.add_argument("--store-id")
    p.add_argument("--hours", type=float, default=24 * 7)


@command("token", _token_args, help="print a signed JWT for local use (--role R --sub ID [--store-id S])")
def token(args: argparse.Namespace) -> int:
    if args.role == "staff" and not args.store_id:
        print("staff tokens need --store-id", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    if args.role == "staff":
        _ensure_on_roster(args.sub, args.store_id, now)
    print(issue_token(get_settings().jwt_secret, args.sub, args.role, now, timedelta(hours=args.hours),
                      store_id=args.store_id if args.role == "staff" else None))
    return 0


def _ensure_on_roster(staff_id: str, store_id: str, now: datetime) -> None:
    """Staff tokens are honoured only for staff on the roster (docs/reliability.md):
    a new staff id is added at the token's store; an existing entry is left alone."""
    from pynamodb.exceptions import PutError

    from chalicelib.staff.models import StaffRecord

    try:
        db.ensure_bound()
        StaffRecord(staff_id, store_id=store_id, role="clerk", updated_at=now).save(
            condition=StaffRecord.staff_id.does_not_exist())
        print(f"added {staff_id} to the roster at store {store_id}", file=sys.stderr)
    except PutError as exc:
        if exc.cause_response_code != "ConditionalCheckFailedException":
            print(f"note: could not check the roster ({exc.cause_response_code}); the token is refused "
                  f"unless {staff_id} is on it", file=sys.stderr)
            return
        current = StaffRecord.get(staff_id)
        if current.store_id != store_id or (current.status or "active") != "active":
            print(f"note: {staff_id} is on the roster at store {current.store_id} ({current.status or 'active'}); "
                  "this token will be refused (PUT /staff/{id} to move them)", file=sys.stderr)


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", type=Path, help="store-locator CSV (default: STORELOOP_SEED_CSV, the shared data, "
                                            "else the built-in demo)")
    p.add_argument("--limit", type=int, default=0, help="only the first N stores")
    p.add_argument("--workers", type=int, default=0, help="parallel writers (default: campaigns.store_seed.WORKERS)")
    p.add_argument("--create-tables", action="store_true", help="create missing tables first (`make run`)")


@command("seed", _seed_args, help="upsert demo stores (shared data when present); skips a complete seed, "
                                  "resumes an interrupted one")
def seed(args: argparse.Namespace) -> int:
    from chalicelib.campaigns import store_seed as seeding
    from chalicelib.stores.csv_import import default_source, read_rows

    if args.create_tables:
        create_tables(args)
    source = args.csv or default_source()
    db.ensure_bound()
    fp = seeding.source_fingerprint(source, args.limit)
    if seeding.read_ledger(fp).complete:  # a restart: one read, no row parsed
        with source.open(newline="", encoding="utf-8") as handle:
            count = sum(1 for _ in csv.DictReader(handle))
        count = min(count, args.limit) if args.limit else count
        print(f"{count:,} stores from {source.name} already seeded (nothing to write)", flush=True)
        return 0
    rows = [(row.store_id, row) for row in read_rows(source)]
    if args.limit:
        rows = rows[: args.limit]
    state = seeding.read_ledger(fp)
    bar = Progress(len(rows), "seeding stores")
    already = sum(len(part) for i, part in enumerate(seeding.split(rows, seeding.CHUNK)) if i in state.done)
    if already:
        print(f"resuming an interrupted seed: {already:,} of {len(rows):,} stores already written", flush=True)
        bar.base = bar.done = already

    def advance(done: int, _total: int, _s: float) -> None:  # runs under the seed's lock
        bar.advance(done - bar.done)

    seconds = seeding.seed(rows, datetime.now(UTC), progress=advance, workers=args.workers or seeding.WORKERS,
                           fp=fp)
    bar.close()
    written = len(rows) - already
    print(f"seeded {written:,} stores from {source.name} in {seconds:.1f} s "
          f"({written / max(seconds, 1e-9):,.0f} stores/s)", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    for module in CAPABILITY_COMMANDS:  # they register themselves on import
        importlib.import_module(module)
    listing = "\n".join(f"  {name:15s} {help_text}" for name, (_, _, help_text) in COMMANDS.items())
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__,
                                     epilog=f"commands:\n{listing}",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    for name, (_, configure, help_text) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    found = local_stack_env()
    if found.keys() - {"STORELOOP_JWT_SECRET"}:
        print(f"(using the local stack of {LOCAL_STACK}: "
              f"DynamoDB {found.get('AWS_ENDPOINT_URL_DYNAMODB')}, tables {found.get('STORELOOP_TABLE_PREFIX')}*)",
              file=sys.stderr)
    os.environ.update(found)
    try:
        return COMMANDS[args.command][0](args)
    except ConfigError as exc:
        print(f"{exc}\n\nSet it in the environment, or start the local stack (`make run`), whose settings "
              f"this CLI then finds in .local/ by itself.", file=sys.stderr)
        return 2
