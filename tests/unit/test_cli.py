"""The operator CLI: `--help` lists every command, the local stack is found
from .local/, a future instant on the real channel needs --force, and a
missing secret says what to do instead of a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import cli

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def test_help_lists_every_command_with_its_purpose(tmp_path: Path) -> None:
    done = run("--help", env={"STORELOOP_LOCAL_DIR": str(tmp_path)})
    assert done.returncode == 0
    cli.build_parser()
    assert {"create-tables", "token", "seed", "tick"} <= set(cli.COMMANDS)
    for name, (_, _, help_text) in cli.COMMANDS.items():
        assert name in done.stdout and help_text and help_text in done.stdout, name
    tick_help = run("tick", "--help", env={"STORELOOP_LOCAL_DIR": str(tmp_path)}).stdout
    for flag in ("--store", "--dry-run", "--force", "--at"):
        assert flag in tick_help


def test_without_a_secret_or_stack_the_cli_says_what_to_set(tmp_path: Path) -> None:
    done = run("token", "--role", "admin", "--sub", "a", env={"STORELOOP_LOCAL_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "STORELOOP_JWT_SECRET must be set" in done.stderr and "make run" in done.stderr


def test_the_cli_finds_a_running_local_stack_and_its_secret(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jwt-secret").write_text("s" * 48)
    (tmp_path / "stack.json").write_text(json.dumps({"pid": os.getpid(), "api": "http://127.0.0.1:1", "env": {
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:1", "STORELOOP_TABLE_PREFIX": "stack-"}}))
    done = run("token", "--role", "admin", "--sub", "a", env={"STORELOOP_LOCAL_DIR": str(tmp_path)})
    assert done.returncode == 0 and done.stdout.startswith("eyJ"), done.stderr
    assert "using the local stack" in done.stderr and "stack-" in done.stderr
    # a stack file whose process is gone is ignored
    (tmp_path / "stack.json").write_text(json.dumps({"pid": 2 ** 22 + 12345, "env": {"X": "1"}}))
    monkeypatch.setattr(cli, "LOCAL_STACK", tmp_path / "stack.json")
    monkeypatch.setattr(cli, "LOCAL_SECRET", tmp_path / "jwt-secret")
    assert cli.local_stack_env({}) == {"STORELOOP_JWT_SECRET": "s" * 48}
    # explicit settings win over the stack file
    found = run("token", "--role", "admin", "--sub", "a",
                env={"STORELOOP_LOCAL_DIR": str(tmp_path), "STORELOOP_JWT_SECRET": "e" * 48})
    assert "using the local stack" not in found.stderr


def test_a_future_instant_on_the_wecom_channel_needs_force(tmp_path: Path) -> None:
    env = {"STORELOOP_LOCAL_DIR": str(tmp_path), "STORELOOP_JWT_SECRET": "s" * 48, "STORELOOP_CHANNEL": "wecom",
           "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9", "AWS_DEFAULT_REGION": "ap-east-1",
           "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
    done = run("tick", "--at", "2099-01-01T12:00:00+08:00", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--force" in done.stderr and "--dry-run" in done.stderr


def test_progress_bar_draws_on_a_terminal_and_stays_silent_in_pipes() -> None:
    import io

    from chalicelib.cli.progress import Progress

    shown = io.StringIO()
    bar = Progress(4, "seed", stream=shown, force=True)
    bar.advance(2)
    bar.advance(2)
    bar.close()
    assert "seed [" in shown.getvalue() and "4/4" in shown.getvalue() and shown.getvalue().endswith("\n")
    piped = io.StringIO()  # not a TTY
    quiet = Progress(4, "seed", stream=piped)
    quiet.advance(4)
    quiet.close()
    assert piped.getvalue() == ""
