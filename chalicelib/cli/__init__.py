"""Operator commands: `python -m chalicelib.cli <command>`.

  create-tables                 create every table (idempotent)
  token --role R --sub ID       print a signed JWT for local use
  seed [--csv PATH]             upsert demo stores (shared data when present)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib import db
from chalicelib.auth import ROLES, issue_token
from chalicelib.settings import get_settings

Command = Callable[[argparse.Namespace], int]
# Modules of other capabilities that add commands with @command.
CAPABILITY_COMMANDS: tuple[str, ...] = ("chalicelib.campaigns.cli",)
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None]]] = {}


def command(name: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    def register(fn: Command) -> Command:
        COMMANDS[name] = (fn, configure)
        return fn
    return register


@command("create-tables")
def create_tables(args: argparse.Namespace) -> int:
    created = db.create_tables()
    print(f"created {len(created)} table(s): {', '.join(created) or 'none (all existed)'}")
    return 0


def _token_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--sub", required=True)
    p.add_argument("--store-id")
    p.add_argument("--hours", type=float, default=24 * 7)


@command("token", _token_args)
def token(args: argparse.Namespace) -> int:
    if args.role == "staff" and not args.store_id:
        print("staff tokens need --store-id", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    print(issue_token(get_settings().jwt_secret, args.sub, args.role, now, timedelta(hours=args.hours),
                      store_id=args.store_id if args.role == "staff" else None))
    return 0


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--csv", type=Path, help="store-locator CSV (default: shared data, else built-in demo)")
    p.add_argument("--limit", type=int, default=0, help="only the first N stores")


@command("seed", _seed_args)
def seed(args: argparse.Namespace) -> int:
    from chalicelib.stores.csv_import import default_source, read_rows
    from chalicelib.stores.service import upsert_many

    source = args.csv or default_source()
    rows = list(read_rows(source))
    if args.limit:
        rows = rows[: args.limit]
    db.ensure_bound()
    upsert_many([(row.store_id, row) for row in rows], datetime.now(UTC))
    print(f"seeded {len(rows)} stores from {source.name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    for module in CAPABILITY_COMMANDS:  # they register themselves on import
        importlib.import_module(module)
    parser = argparse.ArgumentParser(prog="python -m chalicelib.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, configure) in COMMANDS.items():
        configure(sub.add_parser(name))
    args = parser.parse_args(argv)
    return COMMANDS[args.command][0](args)

