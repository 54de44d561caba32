"""Cold-start cost of our own code.

Median, over fresh interpreters, of the time to import `app` (which imports
its dependencies too) against the time to import those third-party
dependencies alone, in the same run; the ratio says what our code adds to a
Lambda cold start. Then the zipped deployment size from `chalice package`
(through infra/build.py, boto3/botocore left to the runtime).

    .venv/bin/python bench/cold_start.py [--runs 9] [--no-package]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPS = ("import chalice, chalice.app, pydantic, jwt, zoneinfo, json, logging, "
        "pynamodb.models, pynamodb.attributes, pynamodb.indexes, pynamodb.transactions, pynamodb.connection")
PROGRAMS = {
    "third-party deps only": DEPS,
    "import app": "import app",
    "import app + bind tables": "import app; from chalicelib import db; db.ensure_bound()",
}


def time_once(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, "STORELOOP_JWT_SECRET": "b" * 40, "AWS_DEFAULT_REGION": "ap-east-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


FIRST_CALL = """
import json, time
from datetime import UTC, datetime, timedelta
t = time.perf_counter()
import app
from chalice.test import Client
from chalicelib.auth import issue_token
imported = time.perf_counter() - t
token = issue_token("b" * 40, "m1", "member", datetime.now(UTC), timedelta(hours=1))
hdrs = {"Authorization": "Bearer " + token}
with Client(app.app) as client:
    t = time.perf_counter()
    first = client.http.get("/stores/S1", headers=hdrs)
    first_s = time.perf_counter() - t
    warm = []
    for _ in range(15):
        t = time.perf_counter()
        client.http.get("/stores/S1", headers=hdrs)
        warm.append(time.perf_counter() - t)
assert first.status_code == 200, first.body
warm.sort()
print(json.dumps({"import": imported, "first": first_s, "warm": warm[len(warm) // 2]}))
"""


def first_call_runs(runs: int) -> list[dict[str, float]]:
    """import app, then the first request vs a warm one, in fresh
    interpreters against a DynamoDB Local of its own (GET /stores/{id}: a
    route that reads DynamoDB, so the first call pays for the client)."""
    import json
    import uuid

    sys.path.insert(0, str(ROOT))
    from devtools.dynamodb_local import DynamoDBLocal

    ddb = DynamoDBLocal().start()
    try:
        env = {**os.environ, **ddb.env(), "STORELOOP_TABLE_PREFIX": f"cold{uuid.uuid4().hex[:6]}-",
               "STORELOOP_JWT_SECRET": "b" * 40, "PYTHONDONTWRITEBYTECODE": "1"}
        setup = ("from datetime import UTC, datetime; from chalicelib import db; db.create_tables(); "
                 "from chalicelib.stores.schemas import StoreIn; from chalicelib.stores.service import upsert_store; "
                 "upsert_store('S1', StoreIn(name='S1', city='上海市', lat=31.2, lng=121.5), datetime.now(UTC))")
        subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True)
        out = []
        for _ in range(runs + 1):  # the first warms the OS file cache
            done = subprocess.run([sys.executable, "-c", FIRST_CALL], cwd=ROOT, env=env, capture_output=True,
                                  text=True, check=True)
            out.append(json.loads(done.stdout.strip().splitlines()[-1]))
        return out[1:]
    finally:
        ddb.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-package", action="store_true")
    parser.add_argument("--no-first-call", action="store_true")
    args = parser.parse_args()
    for statement in PROGRAMS.values():  # warm the OS file cache and .pyc files once
        time_once(statement)
    medians = {}
    for name, statement in PROGRAMS.items():
        samples = [time_once(statement) for _ in range(args.runs)]
        medians[name] = statistics.median(samples)
        print(f"{name:28s} median {medians[name] * 1000:7.1f} ms  (min {min(samples) * 1000:.1f}, n={args.runs})")
    deps = medians["third-party deps only"]
    print(f"ratio import app / deps alone:          {medians['import app'] / deps:.2f}x "
          f"(our code adds {(medians['import app'] - deps) * 1000:.1f} ms)")
    print(f"ratio app + table binding / deps alone: {medians['import app + bind tables'] / deps:.2f}x")
    if not args.no_first_call:
        calls = first_call_runs(max(3, args.runs // 2))
        first = statistics.median(c["first"] for c in calls)
        warm = statistics.median(c["warm"] for c in calls)
        print(f"first request after import: median {first * 1000:.1f} ms, warm request {warm * 1000:.1f} ms "
              f"-> {first / warm:.2f}x (goal <= 2)")
    if not args.no_package:
        sys.path.insert(0, str(ROOT))
        from infra.build import build

        with tempfile.TemporaryDirectory() as tmp:
            report = build("prod", Path(tmp) / "prod", lint=False)
        print(f"deployment.zip: {report['zip_bytes'] / 1e6:.2f} MB zipped "
              f"(chalice package: {report['zip_bytes_chalice'] / 1e6:.2f} MB with boto3/botocore)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
