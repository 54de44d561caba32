"""The console on this machine: builds the bundle (esbuild from npm), then
serves `console/` on a port, proxies `/api/*` to the API (same origin, as
CloudFront does when deployed) and offers a local-only one-click sign-in
(`POST /dev/token`, signed with the local dev secret; never deployed).

    python -m devtools.console_server --api http://127.0.0.1:8000 --port 8080

`start(api_url, secret, port)` is what `devtools/stack.py` and the browser
tests call."""

from __future__ import annotations

import argparse
import json
import mimetypes
import subprocess
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from chalicelib.auth import issue_token

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = ROOT / "console"
DIST = CONSOLE / "dist"
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "server", "date"}


def build() -> Path:
    """Bundle console/src/app.js (+ ECharts, jsQR) into console/dist/ (not committed)."""
    DIST.mkdir(exist_ok=True)
    esbuild = str(ROOT / "node_modules" / ".bin" / "esbuild")
    subprocess.run([esbuild, str(CONSOLE / "src" / "app.js"), "--bundle", "--minify", "--format=iife",
                    "--target=es2019", f"--outfile={DIST / 'app.js'}", "--log-level=warning"], check=True, cwd=ROOT)
    for name in ("index.html", "style.css"):
        (DIST / name).write_bytes((CONSOLE / "src" / name).read_bytes())
    return DIST


def handler(api_url: str, secret: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _proxy(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            req = urllib.request.Request(api_url + self.path[len("/api"):], data=data, method=self.command,
                                         headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    status, body, out = resp.status, resp.read(), dict(resp.headers.items())
            except urllib.error.HTTPError as err:
                status, body, out = err.code, err.read(), dict(err.headers.items())
            self._send(status, body, {k: v for k, v in out.items() if k.lower() not in _HOP})

        def _token(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            ask = json.loads(self.rfile.read(length) or b"{}")
            role = ask.get("role") if ask.get("role") in ("admin", "staff") else "admin"
            sub, store_id = str(ask.get("sub") or f"local-{role}"), ask.get("store_id") if role == "staff" else None
            now = datetime.now(UTC)
            if role == "staff":  # the API only accepts staff on the roster: put this one there
                admin = issue_token(secret, "local-console", "admin", now, timedelta(minutes=1))
                req = urllib.request.Request(f"{api_url}/staff/{sub}", method="PUT",
                                             data=json.dumps({"store_id": store_id}).encode(),
                                             headers={"Authorization": f"Bearer {admin}",
                                                      "Content-Type": "application/json"})
                try:
                    urllib.request.urlopen(req, timeout=30).close()
                except urllib.error.HTTPError as err:  # e.g. no such store: tell the sign-in page
                    self._send(err.code, err.read(), {"Content-Type": "application/json"})
                    return
            tok = issue_token(secret, sub, role, now, timedelta(hours=8), store_id=store_id)
            self._send(200, json.dumps({"token": tok}).encode(), {"Content-Type": "application/json"})

        def _static(self) -> None:
            name = self.path.split("?")[0].lstrip("/") or "index.html"
            path = (DIST / name).resolve()
            if DIST.resolve() not in path.parents or not path.is_file():
                path = DIST / "index.html"
            ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            self._send(200, path.read_bytes(), {"Content-Type": ctype + ("; charset=utf-8" if "text" in ctype
                                                                           or "javascript" in ctype else ""),
                                                 "Cache-Control": "no-store"})

        def do_GET(self) -> None:  # noqa: N802
            self._proxy() if self.path.startswith("/api/") else self._static()

        def do_POST(self) -> None:  # noqa: N802
            if self.path == "/dev/token":
                self._token()
            else:
                self._proxy()

        do_PUT = do_PATCH = do_DELETE = _proxy  # noqa: N815

    return Handler


def start(api_url: str, secret: str, port: int = 0) -> ThreadingHTTPServer:
    """Build, then serve in a daemon thread; `server.server_address[1]` is the port."""
    build()
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(api_url.rstrip("/"), secret))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class ConsoleService:
    """The console as a `devtools.stack` extra service (see `stack_service`)."""

    name = "console"

    def __init__(self, server: ThreadingHTTPServer):
        self.server = server
        self.banner = (f"  Console:  http://127.0.0.1:{server.server_address[1]}/  "
                       "(one-click local sign-in: HQ operator or store staff)")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def stack_service(env: dict[str, str]) -> ConsoleService:
    """For `devtools.stack.EXTRA_SERVICES`: serve the console next to the
    local API (`http://127.0.0.1:$PORT`, default 8000) on `$CONSOLE_PORT`
    (default 8080), signing dev tokens with the stack's JWT secret."""
    api = f"http://127.0.0.1:{env.get('PORT', '8000')}"
    return ConsoleService(start(api, env["STORELOOP_JWT_SECRET"], int(env.get("CONSOLE_PORT", "8080"))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    from devtools.stack import local_secret

    server = start(args.api, local_secret(), args.port)
    print(f"console: http://127.0.0.1:{server.server_address[1]}/", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
