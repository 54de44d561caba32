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
# What `import app` itself loads of them since the route table: pydantic (beyond its
# lazy package) and PyJWT come with the first route's module (init, or first request).
APP_DEPS = "import chalice, chalice.app, zoneinfo, json, logging, " + DEPS.split("logging, ", 1)[1]
PROGRAMS = {
    "third-party deps only": DEPS,
    "deps + pydantic.BaseModel": DEPS + "; from pydantic import BaseModel",
    "import app": "import app",
    "import app + bind tables": "import app; from chalicelib import db; db.ensure_bound()",
    "deps app.py itself imports": APP_DEPS,
}


def time_once(statement: str, cwd: Path = ROOT, extra: dict[str, str] | None = None, no_site: bool = False) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    env = {**os.environ, "STORELOOP_JWT_SECRET": "b" * 40, "AWS_DEFAULT_REGION": "ap-east-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "PYTHONDONTWRITEBYTECODE": "1", **(extra or {})}
    flags = ["-S"] if no_site else []  # -S: no venv site-packages, only PYTHONPATH (as in Lambda)
    done = subprocess.run([sys.executable, *flags, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip().splitlines()[-1])


FIRST_CALL = """
import json, os, time
from datetime import UTC, datetime, timedelta
t = time.perf_counter()
import app
imported = time.perf_counter() - t
took = {}
if os.environ.get("BENCH_INIT"):  # what app.py does at import inside Lambda (AWS_LAMBDA_FUNCTION_NAME)
    from chalicelib import coldstart
    took = coldstart.init(preload=os.environ["BENCH_INIT"])  # STORELOOP_PRELOAD: all | none
init_s = sum(took.values())
from chalice.test import Client
from chalicelib.auth import issue_token
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
    # another capability's first request (members: GET /members/me, one GetItem), then warm
    t = time.perf_counter()
    other = client.http.get("/members/me", headers=hdrs)
    other_first_s = time.perf_counter() - t
    other_warm = []
    for _ in range(7):
        t = time.perf_counter()
        client.http.get("/members/me", headers=hdrs)
        other_warm.append(time.perf_counter() - t)
assert first.status_code == 200, first.body
assert other.status_code in (200, 404), other.body
warm.sort()
other_warm.sort()
print(json.dumps({"import": imported, "init": init_s, "first": first_s, "warm": warm[len(warm) // 2],
                  "other_first": other_first_s, "other_warm": other_warm[len(other_warm) // 2],
                  **{"init_" + k: v for k, v in took.items()}}))
"""

# The floor for a whole cold start: the same third-party imports, one
# botocore DynamoDB client made as PynamoDB makes it, one GetItem of the item.
RAW_FIRST_CALL = """
import json, os, time
t = time.perf_counter()
""" + DEPS + """
from pydantic import BaseModel
import botocore.session
imported = time.perf_counter() - t
t = time.perf_counter()
client = botocore.session.get_session().create_client(
    "dynamodb", region_name=os.environ["AWS_DEFAULT_REGION"], endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"])
init_s = time.perf_counter() - t
key = {"store_id": {"S": "S1"}}
table = os.environ["STORELOOP_TABLE_PREFIX"] + "stores"
t = time.perf_counter()
client.get_item(TableName=table, Key=key)
first_s = time.perf_counter() - t
warm = []
for _ in range(15):
    t = time.perf_counter()
    client.get_item(TableName=table, Key=key)
    warm.append(time.perf_counter() - t)
warm.sort()
print(json.dumps({"import": imported, "init": init_s, "first": first_s, "warm": warm[len(warm) // 2]}))
"""


def first_call_runs(runs: int) -> dict[str, list[dict[str, float]]]:
    """import app, then the first request vs a warm one, in fresh
    interpreters against a DynamoDB Local of its own (GET /stores/{id}: a
    route that reads DynamoDB, so the first call pays for the client):
    without the init step (as `chalice local` and tests run), with it (as
    Lambda runs: app.py calls db.init() in the init phase), and the raw
    floor (deps, one botocore client, GetItem), interleaved run by run."""
    import json
    import uuid

    sys.path.insert(0, str(ROOT))
    from devtools.dynamodb_local import DynamoDBLocal

    ddb = DynamoDBLocal().start()
    try:
        env = {**os.environ, **ddb.env(), "STORELOOP_TABLE_PREFIX": f"cold{uuid.uuid4().hex[:6]}-",
               "STORELOOP_JWT_SECRET": "b" * 40, "PYTHONDONTWRITEBYTECODE": "1"}
        setup = ("from datetime import UTC, datetime; from chalicelib import db; db.create_tables(); "
                 "from chalicelib.stores.schemas import StoreIn; "
                 "from chalicelib.campaigns.store_config import save_store; "
                 "save_store('S1', StoreIn(name='S1', city='上海市', lat=31.2, lng=121.5), datetime.now(UTC))")
        subprocess.run([sys.executable, "-c", setup], cwd=ROOT, env=env, check=True, capture_output=True)
        variants = {"lazy": (FIRST_CALL, {}), "init": (FIRST_CALL, {"BENCH_INIT": "all"}),
                    "init-client": (FIRST_CALL, {"BENCH_INIT": "none"}), "raw": (RAW_FIRST_CALL, {})}
        out: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
        for run in range(runs + 1):  # the first warms the OS file cache
            for name, (code, extra) in variants.items():
                done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, **extra},
                                      capture_output=True, text=True, check=True)
                if run:
                    out[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
        return out
    finally:
        ddb.stop()


def unpacked_imports(zip_path: Path, tmp: Path, runs: int) -> dict[str, tuple[float, float]]:
    """Import times as Lambda meets them: from the unpacked deployment.zip,
    with only what the runtime adds (boto3, botocore and their dependencies,
    linked from the venv; no other venv package, so e.g. PyJWT finds no
    `cryptography`, as in Lambda), with the zip's .pyc and with them removed
    (what a zip without bytecode costs: /var/task is read-only, so nothing
    is cached between cold starts)."""
    import shutil
    import site
    import zipfile

    from infra.build import RUNTIME_PROVIDED

    runtime = tmp / "runtime"
    runtime.mkdir()
    venv_site = Path(site.getsitepackages()[0])
    for entry in venv_site.iterdir():
        package = entry.name.split("-", 1)[0].replace("python_", "")
        if package in RUNTIME_PROVIDED:
            (runtime / entry.name).symlink_to(entry)
    out = {}
    for label, keep_pyc in (("with its .pyc", True), ("without .pyc", False)):
        where = tmp / ("unpacked-pyc" if keep_pyc else "unpacked-src")
        with zipfile.ZipFile(zip_path) as src:
            src.extractall(where)
        if not keep_pyc:
            for cache in list(where.rglob("__pycache__")):
                shutil.rmtree(cache)
        env = {"PYTHONPATH": f"{where}{os.pathsep}{runtime}"}
        time_once("import app", cwd=where, extra=env, no_site=True)
        deps = statistics.median(time_once(DEPS + "; from pydantic import BaseModel", cwd=where, extra=env,
                                           no_site=True) for _ in range(runs))
        app = statistics.median(time_once("import app", cwd=where, extra=env, no_site=True) for _ in range(runs))
        out[label] = (deps, app)
    return out


def compile_ours() -> None:
    """Bytecode for our code, as the deployment zip carries it (infra/build.py)
    and the venv has it for the dependencies: otherwise, on a machine with
    PYTHONDONTWRITEBYTECODE set, every run compiled our sources afresh while
    the dependencies loaded .pyc files."""
    import compileall

    compileall.compile_file(str(ROOT / "app.py"), quiet=1)
    compileall.compile_dir(str(ROOT / "chalicelib"), quiet=1, workers=0)


def drop_our_bytecode() -> None:
    import shutil

    for cache in [ROOT / "__pycache__", *(ROOT / "chalicelib").rglob("__pycache__")]:
        shutil.rmtree(cache, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-package", action="store_true")
    parser.add_argument("--no-first-call", action="store_true")
    args = parser.parse_args()
    drop_our_bytecode()
    time_once(PROGRAMS["import app"])
    no_pyc = statistics.median(time_once(PROGRAMS["import app"]) for _ in range(max(3, args.runs // 2)))
    compile_ours()
    for statement in PROGRAMS.values():  # warm the OS file cache once
        time_once(statement)
    # interleaved run by run, so the shared machine's load drifts over every program alike
    samples: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    for _ in range(args.runs):
        for name, statement in PROGRAMS.items():
            samples[name].append(time_once(statement))
    medians = {}
    for name in PROGRAMS:
        medians[name] = statistics.median(samples[name])
        print(f"{name:28s} median {medians[name] * 1000:7.1f} ms  (min {min(samples[name]) * 1000:.1f}, "
              f"n={args.runs})")
    deps = medians["third-party deps only"]
    print(f"ratio import app / deps alone:          {medians['import app'] / deps:.2f}x "
          f"(our code adds {(medians['import app'] - deps) * 1000:.1f} ms)")
    print(f"ratio app + table binding / deps alone: {medians['import app + bind tables'] / deps:.2f}x")
    with_model = medians["deps + pydantic.BaseModel"]
    print(f"ratio import app / deps incl. pydantic.BaseModel (which `import pydantic` alone does not load): "
          f"{medians['import app'] / with_model:.2f}x (goal <= 1.15)")
    print(f"import app without our .pyc (compiled at import, as before this bench compiled them): "
          f"{no_pyc * 1000:.1f} ms -> {no_pyc / deps:.2f}x deps")
    own = medians["deps app.py itself imports"]
    print(f"ratio import app / the deps it imports itself (Chalice, PynamoDB; pydantic models and PyJWT wait for "
          f"the first route's module): {medians['import app'] / own:.2f}x (our code adds "
          f"{(medians['import app'] - own) * 1000:.1f} ms)")
    if not args.no_first_call:
        calls = first_call_runs(max(3, args.runs // 2))

        def med(variant: str, key: str) -> float:
            return statistics.median(c[key] for c in calls[variant])

        first, warm = med("lazy", "first"), med("lazy", "warm")
        print(f"first request after import: median {first * 1000:.1f} ms, warm request {warm * 1000:.1f} ms "
              f"-> {first / warm:.2f}x (goal <= 2)")
        i_import, i_init, i_first, i_warm = (med("init", k) for k in ("import", "init", "first", "warm"))
        print(f"with the init step (Lambda init phase): import {i_import * 1000:.1f} ms + init "
              f"{i_init * 1000:.1f} ms, then first request {i_first * 1000:.1f} ms, warm {i_warm * 1000:.1f} ms "
              f"-> first/warm {i_first / i_warm:.2f}x (goal <= 2)")
        print("  init parts: " + ", ".join(f"{k[5:]} {med('init', k) * 1000:.1f} ms"
                                           for k in ("init_client", "init_prime", "init_routes", "init_validators")))
        c_init, c_first, c_warm = (med("init-client", k) for k in ("init", "first", "warm"))
        print(f"init without the validators (client + priming read only): init {c_init * 1000:.1f} ms, "
              f"first request {c_first * 1000:.1f} ms -> first/warm {c_first / c_warm:.2f}x")
        r_import, r_init, r_first, r_warm = (med("raw", k) for k in ("import", "init", "first", "warm"))
        ours, raw = i_import + i_init + i_first, r_import + r_init + r_first
        print(f"raw floor (deps + one botocore client + GetItem): import {r_import * 1000:.1f} ms + client "
              f"{r_init * 1000:.1f} ms + first GetItem {r_first * 1000:.1f} ms (warm {r_warm * 1000:.1f} ms)")
        print(f"raw floor's own first GetItem / warm GetItem: {r_first / r_warm:.2f}x (DynamoDB Local's first read "
              f"of a table and a new connection; the init step primes the connection, not every table)")
        print(f"whole cold start (import + init + first request): {ours * 1000:.1f} ms vs raw floor "
              f"{raw * 1000:.1f} ms -> {ours / raw:.2f}x; warm request / warm GetItem {i_warm / r_warm:.2f}x")
        # The operator's choice (STORELOOP_PRELOAD, docs/cold_start.md): `all` is the init step above.
        c_import = med("init-client", "import")
        whole_none = c_import + c_init + c_first
        for label, variant, whole in (("all", "init", ours), ("none", "init-client", whole_none)):
            imp, init, fst, wrm, o_fst, o_wrm = (med(variant, k) for k in (
                "import", "init", "first", "warm", "other_first", "other_warm"))
            print(f"STORELOOP_PRELOAD={label}: whole cold start (import + init + first request) {whole * 1000:.1f} ms "
                  f"vs raw floor {raw * 1000:.1f} ms -> {whole / raw:.2f}x; import {imp * 1000:.1f} ms + init "
                  f"{init * 1000:.1f} ms + first request {fst * 1000:.1f} ms (first/warm {fst / wrm:.2f}x); "
                  f"another capability's first request {o_fst * 1000:.1f} ms, warm {o_wrm * 1000:.1f} ms "
                  f"-> {o_fst / o_wrm:.2f}x")
    if not args.no_package:
        sys.path.insert(0, str(ROOT))
        from infra.build import build

        with tempfile.TemporaryDirectory() as tmp:
            report = build("prod", Path(tmp) / "prod", lint=False)
            unpacked = unpacked_imports(Path(tmp) / "prod" / "deployment.zip", Path(tmp), args.runs)
        print(f"deployment.zip: {report['zip_bytes'] / 1e6:.2f} MB zipped "
              f"(chalice package: {report['zip_bytes_chalice'] / 1e6:.2f} MB with boto3/botocore)")
        print(f"deployment.zip: {report['zip_bytes'] / 1e6:.2f} MB <= 8 MB without botocore: "
              f"{'yes' if report['zip_bytes'] <= 8e6 else 'NO'} ({report['bytecode_bytes'] / 1e6:.2f} MB of it .pyc)")
        for label, (deps_s, app_s) in unpacked.items():
            print(f"from the unpacked zip, {label}: deps {deps_s * 1000:.1f} ms, import app {app_s * 1000:.1f} ms "
                  f"-> {app_s / deps_s:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
