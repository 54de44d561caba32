"""The OpenAPI document is served, covers every route, and a bounded
schemathesis run against `chalice local` finds no 5xx and no response that
breaks the document."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import requests

from app import app
from tests.api import token
from tests.integration.conftest import ChaliceLocal

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_openapi_lists_every_route_chalice_serves(http_api, served: ChaliceLocal) -> None:
    doc = requests.get(served.url + "/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    served_routes = {(path, method) for path, methods in app.routes.items() for method in methods
                     if path not in ("/openapi.json", "/docs", "/docs/{asset}")
                     and method != "OPTIONS"}  # CORS preflight views (edge.add_preflight), no API operations
    assert all("OPTIONS" in methods for methods in app.routes.values())
    assert served_routes == documented
    for ops in doc["paths"].values():
        for op in ops.values():
            if "security" in op:
                assert "401" in op["responses"] and "403" in op["responses"]


@pytest.mark.parametrize("role", ["admin", "member", "staff"])
def test_schemathesis_finds_no_server_error_or_schema_break(served: ChaliceLocal, tmp_path: Path, role: str) -> None:
    bearer = token(role, f"fuzz-{role}", store_id="fuzz-store" if role == "staff" else None)
    cmd = [str(Path(sys.executable).with_name("schemathesis")), "run", served.url + "/openapi.json",
           "-H", f"Authorization: Bearer {bearer}", "--checks",
           "not_a_server_error,response_schema_conformance,content_type_conformance,status_code_conformance",
           "--phases", "examples,coverage,fuzzing", "-n", "8", "--max-time", "30", "-w", "1",
           "--seed", "20261125", "--no-color", "--request-timeout", "20"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
