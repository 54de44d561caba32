"""The cold-start init step (chalicelib/coldstart.py): one shared client for
every model, a priming read, every route's validators built; a configuration
error is left for the first request; app.py runs it at import only inside
Lambda (AWS_LAMBDA_FUNCTION_NAME)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import coldstart, db
from chalicelib.settings import reset_settings
from tests.api import Api

ROOT = Path(__file__).resolve().parents[2]


def test_init_binds_every_model_to_one_client_primes_and_builds_every_route_validator(api: Api) -> None:
    took = coldstart.init()
    assert set(took) == {"client", "prime", "routes", "validators"} and all(s >= 0 for s in took.values())
    shared = db.connection().client
    assert all(model._get_connection().connection._client is shared for model in db.all_models())
    models = coldstart.route_models()
    assert len(models) > 40 and all(model.__pydantic_complete__ for model in models)
    assert coldstart.build_validators() == 0  # nothing left to build
    assert api.get("/openapi.json").status == 200


def test_a_configuration_error_is_left_for_the_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORELOOP_JWT_SECRET", "short")
    reset_settings()
    assert set(coldstart.init()) == {"client"}  # no exception in the init phase


@pytest.mark.parametrize(("in_lambda", "preload"), [(True, "all"), (True, "none"), (False, "all")])
def test_app_runs_init_at_import_only_inside_lambda(in_lambda: bool, preload: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    # nothing listens on port 9: the priming read fails fast, and init still completes
    env.update(AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9", STORELOOP_DDB_MAX_RETRIES="0",
               PYTHONDONTWRITEBYTECODE="1", STORELOOP_PRELOAD=preload)
    if in_lambda:
        env["AWS_LAMBDA_FUNCTION_NAME"] = "storeloop-dev"
    code = ("import sys, app; from chalicelib import coldstart, db; "
            "print(db._bound_to is not None, 'chalicelib.coupons.routes' in sys.modules, "
            "all(m.__pydantic_complete__ for m in coldstart.route_models()))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    preloaded = in_lambda and preload == "all"
    assert done.stdout.split() == [str(in_lambda), str(preloaded), str(preloaded)]


PRELOAD_NONE = """
import json, sys
import app, pydantic
from chalice.test import Client
from chalicelib import coldstart

def subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from subclasses(sub)

def ours():
    return {
        "routes": sorted(m for m in sys.modules if m.startswith("chalicelib.") and m.endswith(".routes")),
        "edge_of_routes": sorted(m for m in ("chalicelib.web", "chalicelib.openapi", "chalicelib.schema")
                                 if m in sys.modules),
        "pydantic_models": sorted({c.__module__ for c in subclasses(pydantic.BaseModel)
                                   if c.__module__.startswith("chalicelib")}),
    }

took = coldstart.init(preload="none")
after_init = ours()
with Client(app.app) as client:
    status = client.http.get("/members/me").status_code  # no token: 401, from the members capability
print(json.dumps({"took": sorted(took), "after_init": after_init, "status": status, "after_request": ours()}))
"""


def test_preload_none_leaves_every_capability_to_its_first_request() -> None:
    """GIVEN a fresh interpreter; WHEN init runs with STORELOOP_PRELOAD=none;
    THEN the client is bound and primed, but no capability's routes.py, no
    route decorator and no pydantic model of ours is imported; the first
    request of one capability imports that capability's routes only."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_LAMBDA_FUNCTION_NAME"}
    # nothing listens on port 9: the priming read fails fast, and init still completes
    env.update(AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:9", STORELOOP_DDB_MAX_RETRIES="0",
               PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-c", PRELOAD_NONE], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["took"] == ["client", "prime"]
    assert got["after_init"] == {"routes": [], "edge_of_routes": [], "pydantic_models": []}
    assert got["status"] == 401
    assert got["after_request"]["routes"] == ["chalicelib.members.routes"]


def test_an_unknown_preload_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORELOOP_PRELOAD", "some")
    reset_settings()
    assert set(coldstart.init()) == {"client"}  # left for the first request, which answers it in the envelope
