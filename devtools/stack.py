"""`make run`: the whole of Storeloop on this machine.

DynamoDB Local (data kept in .local/dynamodb, or --in-memory), the tables,
demo stores, `chalice local` on port 8000, and a scheduler loop that runs the
same `tick` the deployed schedule runs, once a minute. Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from devtools.dynamodb_local import DynamoDBLocal

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / ".local"
BIN = Path(sys.executable).parent


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
                          capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"`chalicelib.cli {' '.join(args)}` failed:\n{done.stderr}")
    return (done.stdout + done.stderr).strip()


def scheduler_loop(env: dict[str, str], stop: threading.Event, every_s: float) -> None:
    """Fire the tick at the top of every minute (the deployed schedule fires
    every 5 minutes; the tick catches up on anything due since)."""
    while not stop.is_set():
        at = datetime.now(UTC).replace(microsecond=0).isoformat()
        print(f"[scheduler] {cli(env, 'tick', '--at', at, check=False)}", flush=True)
        stop.wait(every_s - time.time() % every_s)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--ddb-port", type=int, default=int(os.environ.get("DDB_PORT", "8001")))
    parser.add_argument("--in-memory", action="store_true", help="do not keep DynamoDB data between runs")
    parser.add_argument("--tick-every", type=float, default=60.0, help="scheduler period in seconds")
    args = parser.parse_args()

    ddb = DynamoDBLocal(port=args.ddb_port, in_memory=args.in_memory, data_dir=LOCAL / "dynamodb").start()
    env = {**os.environ, **ddb.env(), "STORELOOP_JWT_SECRET": os.environ.get("STORELOOP_JWT_SECRET") or local_secret()}
    env.setdefault("STORELOOP_TABLE_PREFIX", "storeloop-dev-")
    env.setdefault("STORELOOP_CHANNEL", "record")
    stop = threading.Event()
    server: subprocess.Popen[bytes] | None = None
    try:
        print(f"DynamoDB Local on {ddb.endpoint} ({'in memory' if args.in_memory else LOCAL / 'dynamodb'})")
        print(cli(env, "create-tables"))
        marker = LOCAL / f"seeded-{env['STORELOOP_TABLE_PREFIX']}"
        if args.in_memory or not marker.exists():
            print(cli(env, "seed"))
            marker.touch()
        server = subprocess.Popen([str(BIN / "chalice"), "local", "--no-autoreload", "--port", str(args.port)],
                                  cwd=ROOT, env=env)
        threading.Thread(target=scheduler_loop, args=(env, stop, args.tick_every), daemon=True).start()
        admin = cli(env, "token", "--role", "admin", "--sub", "local-admin")
        member = cli(env, "token", "--role", "member", "--sub", "demo-member")
        base = f"http://127.0.0.1:{args.port}"
        print(f"""
Storeloop is up on {base}  (Ctrl-C stops everything)

  export ADMIN="{admin}"
  export MEMBER="{member}"
  curl -s {base}/openapi.json | head -c 300
  curl -s -H "Authorization: Bearer $MEMBER" "{base}/stores/nearby?lat=31.2304&lng=121.4737&coord=gcj02"
  curl -s -X POST -H "Authorization: Bearer $MEMBER" -H 'Content-Type: application/json' \\
       -d '{{"lat":31.2304,"lng":121.4737,"coord":"gcj02"}}' {base}/groups/join
  curl -s -H "Authorization: Bearer $ADMIN" "{base}/stores/29329/posts?date=$(TZ=Asia/Shanghai date +%F)"
  .venv/bin/python -m chalicelib.cli token --role staff --sub clerk-1 --store-id 29329
""", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        server.wait()
        return server.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        stop.set()
        if server is not None and server.poll() is None:
            server.terminate()
            server.wait(timeout=10)
        ddb.stop()
        print("stopped DynamoDB Local and chalice local")


if __name__ == "__main__":
    sys.exit(main())
