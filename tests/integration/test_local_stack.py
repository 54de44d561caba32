"""`make run` as a newcomer meets it: a busy port is a clear error, the
banner's commands work from a fresh shell (the CLI finds the stack by
itself), and closing the terminal (SIGHUP) leaves no process behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from devtools.dynamodb_local import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def clean_env(local_dir: Path) -> dict[str, str]:
    """What a new terminal has: no AWS or Storeloop variables."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "JAVA_HOME", "TMPDIR")}
    return {**keep, "STORELOOP_LOCAL_DIR": str(local_dir)}


def test_a_busy_port_is_a_clear_error_and_starts_nothing(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "devtools.stack", "--in-memory", "--ddb-port", str(port),
                               "--port", str(free_port())], cwd=ROOT, env=clean_env(tmp_path),
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"port {port} (for DynamoDB Local) is already in use" in done.stderr
    assert "--ddb-port" in done.stderr
    assert not (tmp_path / "stack.json").exists()


def test_banner_commands_work_in_a_new_shell_and_sighup_leaves_no_process(tmp_path: Path) -> None:
    port, ddb_port = free_port(), free_port()
    stack = subprocess.Popen([sys.executable, "-m", "devtools.stack", "--in-memory", "--port", str(port),
                              "--ddb-port", str(ddb_port), "--tick-every", "3600",
                              "--wecom-port", str(free_port()), "--console-port", str(free_port())],
                             cwd=ROOT, env=clean_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
    try:
        assert stack.stdout is not None
        output = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = stack.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("  ") and "--help" in line:
                break  # the banner's last line
        banner = "".join(output)
        assert "Storeloop is up" in banner, banner
        assert "eyJ" not in banner  # no token in the banner's log
        children = descendants(stack.pid)
        assert len(children) >= 2  # DynamoDB Local (java) and chalice local
        assert "WeCom:    emulator on" in banner and "Console:" in banner
        assert "Streams:  coupons stream poller" in banner  # devtools/stream_poller.py, stopped with the rest

        fresh = clean_env(tmp_path)
        shell = [line.strip() for line in banner.splitlines() if line.strip().startswith(("export ", ".venv"))]
        exports = [line for line in shell if line.startswith("export ")]
        script = "set -e\n" + "\n".join(exports) + "\n" + \
            f'curl -sf -H "Authorization: Bearer $MEMBER" http://127.0.0.1:{port}/members/me -o /dev/null ' \
            '-w "%{http_code}" || echo " status"\n' + \
            'echo "$STAFF" | grep -q "^eyJ"\n' + \
            ".venv/bin/python -m chalicelib.cli tick --store 29329 --dry-run\n"
        done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=fresh, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        # 404: the token was accepted (the member has no profile yet) — not 401
        assert "404" in done.stdout and "dry run: window" in done.stdout, done.stdout + done.stderr
        assert requests.get(f"http://127.0.0.1:{port}/docs", timeout=10).status_code == 200

        stack.send_signal(signal.SIGHUP)
        assert stack.wait(timeout=60) == 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(alive(pid) for pid in children):
            time.sleep(0.2)
        assert not [pid for pid in children if alive(pid)]
        assert not (tmp_path / "stack.json").exists()
    finally:
        if stack.poll() is None:
            os.killpg(stack.pid, signal.SIGKILL)
            stack.wait()
