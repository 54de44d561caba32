"""`python -m chalicelib.cli tick --at T` in separate processes, started
together at the same instant against one DynamoDB Local: every due slot is
posted exactly once across them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.campaigns import posts
from chalicelib.campaigns.tick import advance_watermark
from chalicelib.delivery.record import recorded
from tests.integration.test_campaign_days import DAY, add_store, sh

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def start_tick(env: dict[str, str], at: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "chalicelib.cli", "tick", "--at", at], cwd=ROOT,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_three_processes_ticking_the_same_instant_post_each_slot_once(ddb_env: dict[str, str]) -> None:
    for i in range(6):
        add_store(f"p{i}", tz="Asia/Urumqi" if i % 2 else "Asia/Shanghai", idle_hour=None)
    advance_watermark(sh("10:25"))
    # 10:30 Shanghai = 08:30 Urumqi: the Urumqi stores' morning is due; the Shanghai ones' was at 08:30
    procs = [start_tick(ddb_env, "2026-11-20T10:30:00+08:00") for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    lines = [out.strip().splitlines()[-1] for out, _ in outputs]  # after the JSON log lines
    assert all(line.startswith("tick 2026-11-20T10:30:00+08:00: ") for line in lines)
    posted = sum(int(line.split(", ")[1].split()[0]) for line in lines)
    assert posted == 3
    for i in range(6):
        expected = ["morning"] if i % 2 else []
        assert [p.slot for p in posts.for_day(f"p{i}", DAY)] == expected
        assert len(recorded(f"p{i}")) == len(expected)


def test_tick_prints_a_summary_line(ddb_env: dict[str, str]) -> None:
    add_store("s1", idle_hour=None)
    advance_watermark(sh("11:55"))
    out = subprocess.run([sys.executable, "-m", "chalicelib.cli", "tick", "--at", "2026-11-20T12:00:00+08:00"],
                         cwd=ROOT, env={**os.environ, **ddb_env}, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "tick 2026-11-20T12:00:00+08:00: 1 due, 1 posted, 0 duplicate"
    again = subprocess.run([sys.executable, "-m", "chalicelib.cli", "tick", "--at", "2026-11-20T12:00:00+08:00"],
                           cwd=ROOT, env={**os.environ, **ddb_env}, capture_output=True, text=True, timeout=120)
    assert again.stdout.strip().splitlines()[-1] == "tick 2026-11-20T12:00:00+08:00: 1 due, 0 posted, 1 duplicate"


def cli_tick(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", "tick", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=120)


def test_dry_run_lists_what_is_due_and_store_fires_one_store_only(ddb_env: dict[str, str]) -> None:
    from chalicelib.campaigns.tick import read_watermark

    add_store("a1", idle_hour=None)
    add_store("b1", idle_hour=None)
    advance_watermark(sh("11:55"))
    dry = cli_tick(ddb_env, "--at", "2026-11-20T12:00:00+08:00", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "2 slot(s) due" in dry.stdout and "store a1: slot" in dry.stdout and "store b1: slot" in dry.stdout
    assert posts.for_day("a1", DAY) == [] and read_watermark() == sh("11:55")  # changed nothing

    one = cli_tick(ddb_env, "--at", "2026-11-20T12:00:00+08:00", "--store", "a1", "--json")
    assert one.returncode == 0, one.stderr
    summary = json.loads(one.stdout.strip().splitlines()[-1])
    assert summary["store"] == "a1" and summary["tick"]["due"] == 1 and summary["tick"]["posted"] == 1
    assert len(posts.for_day("a1", DAY)) == 1 and posts.for_day("b1", DAY) == []
    assert read_watermark() == sh("11:55")  # b1's slot is still due for the next regular tick

    rest = cli_tick(ddb_env, "--at", "2026-11-20T12:00:00+08:00")
    assert rest.stdout.strip().splitlines()[-1].endswith("2 due, 1 posted, 1 duplicate")
    assert len(posts.for_day("b1", DAY)) == 1
