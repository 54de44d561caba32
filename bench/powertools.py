"""Does Powertools for AWS Lambda pay for its cold-start cost here?

What we would use it for is what chalicelib/logs.py and chalicelib/metrics.py
already do: JSON log lines with the request id, and metrics in Embedded Metric
Format. This times, over fresh interpreters, importing those (plus emitting
one EMF line) both ways, against a baseline of `import json, logging` measured
in the same run, and prints the difference as a ratio and in ms.

    .venv/bin/python bench/powertools.py [--runs 15] [--powertools-path DIR]

Powertools is not a dependency; install it somewhere for the measurement:
`pip install --target /tmp/pt aws-lambda-powertools` then `--powertools-path /tmp/pt`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "import json, logging, chalice.app; from pydantic import BaseModel"  # the app imports these anyway
# each program runs after BASE in a fresh interpreter; only the program is timed
PROGRAMS = {
    "baseline (nothing more)": "pass",
    "ours (logs + metrics)": ("from chalicelib import logs, metrics; logs.get_logger('x'); "
                              "metrics.count('Claims'); metrics.flush('bench')"),
    "powertools (Logger + Metrics)": (
        "from aws_lambda_powertools import Logger, Metrics; from aws_lambda_powertools.metrics import MetricUnit; "
        "log = Logger(service='bench'); m = Metrics(namespace='Storeloop', service='bench'); "
        "m.add_metric(name='Claims', unit=MetricUnit.Count, value=1); m.flush_metrics()"),
}


def time_once(statement: str, extra_path: str | None) -> float:
    code = (f"{BASE}\nimport time, sys; t = time.perf_counter()\n{statement}\n"
            "print(time.perf_counter() - t, file=sys.stderr)")
    env = {**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "Storeloop"}
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), extra_path) if p)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(done.stderr.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--powertools-path", help="directory where aws-lambda-powertools is installed")
    args = parser.parse_args()
    programs = dict(PROGRAMS)
    try:
        time_once(programs["powertools (Logger + Metrics)"], args.powertools_path)
    except subprocess.CalledProcessError:
        print("powertools not importable: pass --powertools-path (see the docstring); timing ours only")
        programs.pop("powertools (Logger + Metrics)")
    for statement in programs.values():  # warm the file cache
        time_once(statement, args.powertools_path)
    medians = {}
    for name, statement in programs.items():
        samples = [time_once(statement, args.powertools_path) for _ in range(args.runs)]
        medians[name] = statistics.median(samples)
        print(f"{name:32s} median {medians[name] * 1000:7.1f} ms  (min {min(samples) * 1000:.1f}, n={args.runs})")
    ours = medians["ours (logs + metrics)"]
    if "powertools (Logger + Metrics)" in medians:
        pt = medians["powertools (Logger + Metrics)"]
        print(f"ratio powertools / ours (added to a cold start): {pt / ours:6.1f}x  (+{(pt - ours) * 1000:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
