"""`import app` registers every HTTP route from the generated route table
without importing any capability (cold start, docs/cold_start.md): the
table must match the routes' code, each proxy must reach its real view, and
the event handlers' modules must stay lean."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from chalice import Chalice

from chalicelib import edge
from chalicelib.route_table import ROUTES
from devtools import route_table as generator

ROOT = Path(__file__).resolve().parents[2]
# What `import app` may import of ours: the edge, what the middleware and the
# event registrations need, and the capability packages holding events.py.
LEAN = {"app", "chalicelib", "chalicelib.apidocs", "chalicelib.clock", "chalicelib.coldstart", "chalicelib.db",
        "chalicelib.edge", "chalicelib.errors", "chalicelib.logs", "chalicelib.metrics", "chalicelib.route_table",
        "chalicelib.secrets", "chalicelib.settings"}
EVENT_MODULES = ("chalicelib.campaigns.events", "chalicelib.groups.events", "chalicelib.insights.events",
                 "chalicelib.stats.events")

IMPORTED = """
import json, sys
{statement}
import pydantic, pynamodb.models

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

ours = lambda cls: cls.__module__.startswith("chalicelib")
print(json.dumps({{
    "modules": sorted(m for m in sys.modules if m == "app" or m.startswith("chalicelib")),
    "pydantic": sorted({{c.__module__ for c in subclasses(pydantic.BaseModel) if ours(c)}}),
    "pynamodb": sorted({{c.__module__ for c in subclasses(pynamodb.models.Model) if ours(c)}}),
}}))
"""


def _imported_by(statement: str) -> dict[str, list[str]]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("AWS_LAMBDA_FUNCTION_NAME", None)
    done = subprocess.run([sys.executable, "-c", IMPORTED.format(statement=statement)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_route_table_is_up_to_date() -> None:
    assert generator.render() == generator.TABLE.read_text(encoding="utf-8"), (
        "chalicelib/route_table.py is stale: run `.venv/bin/python -m devtools.route_table --write`")


def test_import_app_imports_no_capability_no_pydantic_model_and_no_pynamodb_model() -> None:
    got = _imported_by("import app")
    packages = {m.rsplit(".", 1)[0] for m in EVENT_MODULES}
    assert set(got["modules"]) <= LEAN | set(EVENT_MODULES) | packages, \
        sorted(set(got["modules"]) - LEAN - set(EVENT_MODULES) - packages)
    assert got["pydantic"] == [] and got["pynamodb"] == []


def test_each_event_handler_module_is_lean_on_its_own() -> None:
    """A schedule, queue or stream Lambda imports only its handler's module
    (`<module>.<function>`); the work is imported when it runs."""
    for module in EVENT_MODULES:
        got = _imported_by(f"import {module}")
        assert got["pydantic"] == [] and got["pynamodb"] == [], module


def test_every_entry_reaches_its_view_and_every_handler_string_resolves() -> None:
    from app import app

    assert len(ROUTES) == len({(e.method, e.path) for e in ROUTES}) > 60
    for entry in ROUTES:
        registered = app.routes[entry.path][entry.method]
        assert registered.view_name == entry.view and registered.content_types == list(entry.content_types)
        real = edge.module_routes(entry.module)[(entry.path, entry.method)].view_function
        assert real.__name__ == entry.view and real.__module__ == entry.module
    handlers = {source.name: source.handler_string for source in app.event_sources}
    assert set(handlers) == {"campaigns_tick", "campaigns_fanout", "groups_reconcile", "insights_refresh",
                             "stats_member_tiers"}
    for handler in handlers.values():
        module, function = handler.rsplit(".", 1)
        assert module in EVENT_MODULES and callable(getattr(importlib.import_module(module), function))


def test_the_generator_names_the_command_when_stale(tmp_path: Path, monkeypatch) -> None:
    stale = tmp_path / "route_table.py"
    stale.write_text(generator.TABLE.read_text(encoding="utf-8").replace("'GET', '/members/me'", "'GET', '/x'"))
    monkeypatch.setattr(generator, "TABLE", stale)
    assert generator.main(["--check"]) == 1


def test_concurrent_first_calls_register_a_capability_once() -> None:
    """chalice local answers on threads: first requests racing into one
    capability must not replay its blueprint twice (Chalice's deferred
    registrations lose their methods on a second replay)."""
    code = """
import threading, app
from chalicelib import edge
from chalicelib.route_table import ROUTES
barrier, got = threading.Barrier(8), []
def first_call():
    barrier.wait()
    got.append(edge.module_routes("chalicelib.coupons.routes"))
threads = [threading.Thread(target=first_call) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
expected = {(e.path, e.method) for e in ROUTES if e.module == "chalicelib.coupons.routes"}
assert len(got) == 8 and len({id(g) for g in got}) == 1 and set(got[0]) == expected, got
print("ok")
"""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_routes_api_key_follows_its_pos_flag_and_the_stage(monkeypatch) -> None:
    """`RouteSpec.api_key` (the OpenAPI document's `posApiKey`) and the proxy
    Chalice registers (`chalice package`: API Gateway's key requirement)
    are both derived from `pos`, so the two can never disagree."""
    from chalicelib.openapi import all_routes
    from chalicelib.web import ROUTES as SPECS

    all_routes()
    pos = {(e.method, e.path) for e in ROUTES if e.pos}
    assert ("POST", "/payments") in pos and ("GET", "/members/me") not in pos
    assert {(s.method, s.path) for s in SPECS if s.pos} == pos
    for required in (True, False):
        monkeypatch.setattr(edge, "POS_API_KEYS_REQUIRED", required)
        assert {(s.method, s.path) for s in SPECS if s.api_key} == (pos if required else set())
        mounted = Chalice("pos-keys")
        edge.mount(mounted)
        keyed = {(m, path) for path, views in mounted.routes.items() for m, v in views.items() if v.api_key_required}
        assert keyed == (pos if required else set())
