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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--no-package", action="store_true")
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
