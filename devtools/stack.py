"""`make run`: the whole of Storeloop on this machine.

DynamoDB Local (data kept in .local/dynamodb, or --in-memory), the tables,
demo stores, `chalice local` on port 8000, and a scheduler loop that runs the
same `tick` the deployed schedule runs, once a minute.

Nothing outlives it: Ctrl-C, SIGTERM and SIGHUP (the terminal closing) stop
every process it started, and each child is also asked by the kernel to stop
if this process dies without cleaning up (PR_SET_PDEATHSIG). A port already in
use is an error, never a silent attach to someone else's server. While up it
writes `.local/stack.json` (endpoints, table prefix, pid), from which
`python -m chalicelib.cli` finds the stack in any shell.

Optional extra services (an emulator, a static server) plug in through
`EXTRA_SERVICES`: each is a function `(env) -> Service | None`, started after
the API and stopped before it.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from devtools import console_server, stream_poller
from devtools.dynamodb_local import DynamoDBLocal
from devtools.wecom_emulator import Emulator, start_emulator

ROOT = Path(__file__).resolve().parents[1]
# Where the stack keeps its state; tests point it elsewhere (the CLI reads the same variable).
LOCAL = Path(os.environ.get("STORELOOP_LOCAL_DIR") or ROOT / ".local")
STACK_FILE = LOCAL / "stack.json"
BIN = Path(sys.executable).parent
PR_SET_PDEATHSIG = 1


class PortBusy(SystemExit):
    pass


def die_with_parent() -> None:
    """preexec_fn for children: the kernel sends SIGTERM when we die (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the signal handlers still clean up
        pass


def require_free_port(port: int, what: str, flag: str) -> None:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise PortBusy(
                f"port {port} (for {what}) is already in use: something else is listening there "
                f"(`ss -ltnp 'sport = :{port}'` shows what). Stop it, or choose another port with {flag}.") from None


def local_secret() -> str:
    """A per-checkout dev secret, made once and kept out of git (.local/)."""
    path = LOCAL / "jwt-secret"
    if not path.exists():
        LOCAL.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def cli(env: dict[str, str], *args: str, check: bool = True) -> str:
    done = subprocess.run([sys.executable, "-m", "chalicelib.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, preexec_fn=die_with_parent)
    if check and done.returncode != 0:
        raise SystemExit(f"`chalicelib.cli {' '.join(args)}` failed:\n{done.stderr}")
    return (done.stdout + done.stderr).strip()


class Service(Protocol):
    name: str
    banner: str  # lines for the banner (may be "")

    def stop(self) -> None: ...


@dataclass
class ProcessService:
    """A child process as a Service (what extra services usually are)."""
    name: str
    process: subprocess.Popen[bytes]
    banner: str = ""

    def stop(self) -> None:
        stop_process(self.process)


ExtraService = Callable[[dict[str, str]], "Service | None"]
# Hook for optional services, started after the API (the console's static server).
EXTRA_SERVICES: list[ExtraService] = [console_server.stack_service,
                                      stream_poller.stack_service]  # the coupons stream, as Lambda reads it


class EmulatorService:
    name = "wecom-emulator"

    def __init__(self, emulator: Emulator):
        self.emulator = emulator
        self.banner = (f"  WeCom:    emulator on {emulator.url} (callbacks to this API's /wecom/callback); "
                       "docs/wecom.md shows how to register a store's seed group and scan its join code")

    def stop(self) -> None:
        self.emulator.stop()


def stop_process(process: subprocess.Popen[Any], timeout_s: float = 10) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def scheduler_loop(env: dict[str, str], stop: threading.Event, every_s: float) -> None:
    """Fire the tick at the top of every minute (the deployed schedule fires
    every 5 minutes; the tick catches up on anything due since)."""
    while not stop.is_set():
        at = datetime.now(UTC).replace(microsecond=0).isoformat()
        for line in cli(env, "tick", "--at", at, "--json", check=False).splitlines():
            print(line if line.startswith("{") else json.dumps({"scheduler": line}, ensure_ascii=False), flush=True)
        stop.wait(every_s - time.time() % every_s)


def wait_for_http(url: str, process: subprocess.Popen[Any], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} did not come up: the process exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up within {timeout_s:.0f} s")


def banner(base: str, services: list[Service]) -> str:
    """Every line runs verbatim in a new shell at the repository root: the
    CLI finds this stack in .local/stack.json. No token is printed."""
    cli_cmd = ".venv/bin/python -m chalicelib.cli"
    extra = "".join(f"\n{s.banner}" for s in services if s.banner)
    return f"""
Storeloop is up on {base}  (Ctrl-C stops everything; so does closing this terminal)
API docs: {base}/docs{extra}

  export ADMIN=$({cli_cmd} token --role admin --sub local-admin)
  export MEMBER=$({cli_cmd} token --role member --sub demo-member)
  export STAFF=$({cli_cmd} token --role staff --sub clerk-1 --store-id 29329)
  curl -s -H "Authorization: Bearer $MEMBER" "{base}/stores/nearby?lat=31.2304&lng=121.4737&coord=gcj02"
  curl -s -X POST -H "Authorization: Bearer $MEMBER" -H 'Content-Type: application/json' \\
       -d '{{"lat":31.2304,"lng":121.4737,"coord":"gcj02"}}' {base}/groups/join
  curl -s -H "Authorization: Bearer $ADMIN" "{base}/stores/29329/posts?date=$(TZ=Asia/Shanghai date +%F)"
  {cli_cmd} tick --store 29329 --dry-run
  {cli_cmd} --help
"""


@dataclass
class Stack:
    port: int
    ddb_port: int
    in_memory: bool
    tick_every: float
    wecom_port: int = 8790
    console_port: int = 8080
    ddb: DynamoDBLocal | None = None
    server: subprocess.Popen[bytes] | None = None
    seeding: subprocess.Popen[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    answering_after_s: float = 0.0  # first HTTP answer, from the stack's start
    ready_after_s: float = 0.0  # and every demo store seeded
    services: list[Service] = field(default_factory=list)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def start(self) -> str:
        emulated = os.environ.get("STORELOOP_WECOM", "emulator") == "emulator"
        require_free_port(self.port, "the API (chalice local)", "--port / PORT")
        require_free_port(self.ddb_port, "DynamoDB Local", "--ddb-port / DDB_PORT")
        require_free_port(self.console_port, "the console", "--console-port / CONSOLE_PORT")
        if emulated:
            require_free_port(self.wecom_port, "the WeCom emulator", "--wecom-port / WECOM_PORT")
        self.ddb = DynamoDBLocal(port=self.ddb_port, in_memory=self.in_memory, data_dir=LOCAL / "dynamodb",
                                 preexec_fn=die_with_parent)
        env = {**os.environ, **self.ddb.env(),
               "STORELOOP_JWT_SECRET": os.environ.get("STORELOOP_JWT_SECRET") or local_secret()}
        env.setdefault("STORELOOP_TABLE_PREFIX", "storeloop-dev-")
        env.setdefault("STORELOOP_CHANNEL", "record")
        env["PORT"] = str(self.port)
        env["CONSOLE_PORT"] = str(self.console_port)
        if emulated:
            # the WeCom emulator stands in for qyapi.weixin.qq.com; it pushes its
            # signed, encrypted callbacks to this stack's /wecom/callback
            emulator = start_emulator(self.wecom_port, f"http://127.0.0.1:{self.port}/wecom/callback")
            env.update(emulator.env())
            self.services.append(EmulatorService(emulator))
        # The API first: chalice local touches no table until a request, so its
        # start overlaps DynamoDB Local's.
        self.server = subprocess.Popen(
            [str(BIN / "chalice"), "local", "--no-autoreload", "--port", str(self.port)],
            cwd=ROOT, env=env, preexec_fn=die_with_parent)
        self.ddb.start()
        print(f"DynamoDB Local on {self.ddb.endpoint} ({'in memory' if self.in_memory else LOCAL / 'dynamodb'})",
              flush=True)
        # The tables, then the seed, in one process beside the API's start: a
        # complete seed is found in its ledger and skipped (a restart), an
        # interrupted one resumes (campaigns/store_seed.py). It inherits the terminal,
        # so its progress bar shows live.
        self.seeding = subprocess.Popen([sys.executable, "-m", "chalicelib.cli", "seed", "--create-tables"],
                                        cwd=ROOT, env=env, preexec_fn=die_with_parent)
        base = f"http://127.0.0.1:{self.port}"
        wait_for_http(base + "/openapi.json", self.server)
        self.answering_after_s = time.monotonic() - self.started
        busy = self.seeding.poll() is None
        # on a terminal, off the progress bar's line (it redraws itself below)
        print(("\n" if busy and sys.stdout.isatty() else "") + f"API answering on {base} after "
              f"{self.answering_after_s:.1f} s"
              + ("; seeding the demo stores continues (progress below)" if busy else ""), flush=True)
        for make in EXTRA_SERVICES:
            service = make(env)
            if service is not None:
                self.services.append(service)
        self._write_stack_file(env, base)
        if self.seeding.wait() != 0:
            raise SystemExit(f"`chalicelib.cli seed` failed ({self.seeding.returncode}); see above. "
                             "Run `make run` again: the seed resumes where it stopped.")
        self.ready_after_s = time.monotonic() - self.started
        print(f"ready after {self.ready_after_s:.1f} s (every demo store seeded)", flush=True)
        threading.Thread(target=scheduler_loop, args=(env, self.stop_event, self.tick_every), daemon=True).start()
        return base

    def _write_stack_file(self, env: dict[str, str], base: str) -> None:
        keys = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION",
                "STORELOOP_TABLE_PREFIX", "STORELOOP_CHANNEL")
        LOCAL.mkdir(exist_ok=True)
        STACK_FILE.write_text(json.dumps({
            "pid": os.getpid(), "api": base, "env": {k: env[k] for k in keys if k in env},
            "services": [s.name for s in self.services]}, indent=2))

    def stop(self) -> None:
        self.stop_event.set()
        for service in reversed(self.services):
            service.stop()
        if self.seeding is not None:
            stop_process(self.seeding)  # an interrupted seed resumes on the next start
        if self.server is not None:
            stop_process(self.server)
        if self.ddb is not None:
            self.ddb.stop()
        try:
            if json.loads(STACK_FILE.read_text()).get("pid") == os.getpid():
                STACK_FILE.unlink()
        except (OSError, ValueError):
            pass


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--ddb-port", type=int, default=int(os.environ.get("DDB_PORT", "8001")))
    parser.add_argument("--in-memory", action="store_true", help="do not keep DynamoDB data between runs")
    parser.add_argument("--tick-every", type=float, default=60.0, help="scheduler period in seconds")
    parser.add_argument("--wecom-port", type=int, default=int(os.environ.get("WECOM_PORT", "8790")),
                        help="the WeCom emulator (STORELOOP_WECOM=emulator, the local default)")
    parser.add_argument("--console-port", type=int, default=int(os.environ.get("CONSOLE_PORT", "8080")),
                        help="the HQ and staff console")
    args = parser.parse_args(argv)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, _interrupt)
    stack = Stack(args.port, args.ddb_port, args.in_memory, args.tick_every, args.wecom_port,
                  args.console_port)
    try:
        base = stack.start()
        print(banner(base, stack.services), flush=True)
        assert stack.server is not None
        stack.server.wait()
        return stack.server.returncode or 0
    except PortBusy as busy:
        print(busy.code, file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()
        print("stopped DynamoDB Local and chalice local", flush=True)


if __name__ == "__main__":
    sys.exit(main())
