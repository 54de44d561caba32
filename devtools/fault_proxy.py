"""A DynamoDB proxy that fails a share of calls the ways real AWS does.

Put it between Storeloop and DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB` =
the proxy's URL) to watch the write paths under faults. Of every call it
passes on, a share `rate` fails, spread evenly over four kinds:

- `error`:    500 InternalServerError, the call never reached the database;
- `throttle`: 400 ThrottlingException (botocore backs off and retries);
- `drop`:     the connection closes with no answer (a timeout, a reset);
- `lost`:     the call is forwarded and COMMITS, then the answer is replaced
              by a 500: the caller cannot tell it from `error`. This is the
              fault that makes naive retries double-apply.

Tests can also script the next calls exactly (`proxy.script("lost", None,
"conflict")`: None passes); `conflict` answers a TransactWriteItems with
the cancellation DynamoDB gives a transaction that met another one
(`TransactionConflict` on its first item). Table management calls
(Create/Describe/List/Delete table, TTL) always pass.
`GET /__faults` answers the counts so far (per kind and per operation).

    python -m devtools.fault_proxy --upstream http://127.0.0.1:8001 --port 8002 --rate 0.15
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

KINDS = ("error", "throttle", "drop", "lost")
_PASS = ("CreateTable", "DescribeTable", "ListTables", "DeleteTable", "UpdateTimeToLive", "DescribeTimeToLive")
_ERROR = {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected fault"}
_THROTTLE = {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "injected throttle"}


class FaultProxy:
    def __init__(self, upstream: str, port: int = 0, rate: float = 0.15, seed: int | None = None,
                 only: tuple[str, ...] = KINDS):
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.rate = rate
        self.only = only
        self.counts: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._script: list[tuple[str | None, str | None]] = []  # (operation or None for any, kind)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *kinds: str | None, operation: str | None = None) -> None:
        """The next calls' fates, in order (None = pass), for calls of
        `operation` only when given; then back to `rate`."""
        with self._lock:
            self._script.extend((operation, kind) for kind in kinds)

    def pick(self, operation: str) -> str | None:
        if operation in _PASS:
            return None
        with self._lock:
            scripted = next((i for i, (op, _) in enumerate(self._script) if op in (None, operation)), None)
            if scripted is not None:
                kind = self._script.pop(scripted)[1]
            else:
                kind = self._rng.choice(self.only) if self._rng.random() < self.rate else None
            self.counts[f"{kind or 'ok'}"] += 1
            if kind:
                self.counts[f"{kind}:{operation}"] += 1
        return kind

    def forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        for attempt in range(2):  # a pooled connection DynamoDB Local closed: reconnect once
            if conn is None:
                conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
                self._local.conn = conn
            try:
                conn.request("POST", "/", body=body, headers=headers)
                resp = conn.getresponse()
                return resp.status, resp.getheaders(), resp.read()
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                pass

            def do_GET(self) -> None:  # noqa: N802 - stdlib name
                body = json.dumps(dict(proxy.counts)).encode()
                self._answer(200, [("Content-Type", "application/json")], body)

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                kind = proxy.pick(operation)
                if kind == "drop":
                    time.sleep(0.05)
                    self.close_connection = True
                    self.connection.close()
                    return
                if kind == "error":
                    return self._json(500, _ERROR)
                if kind == "throttle":
                    return self._json(400, _THROTTLE)
                if kind == "conflict":
                    items = len(json.loads(body or b"{}").get("TransactItems", [])) or 1
                    reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}]
                    reasons += [{"Code": "None"}] * (items - 1)
                    return self._json(400, {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                                            "Message": "Transaction cancelled", "CancellationReasons": reasons})
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                status, upstream_headers, answer = proxy.forward(body, headers)
                if kind == "lost":
                    return self._json(500, _ERROR)  # it committed; the caller never learns it
                keep = [(k, v) for k, v in upstream_headers if k.lower() not in ("connection", "transfer-encoding",
                                                                                 "content-length")]
                self._answer(status, keep, answer)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                self._answer(status, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(payload).encode())

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upstream", required=True, help="DynamoDB Local's URL")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    proxy = FaultProxy(args.upstream, args.port, args.rate, args.seed)
    print(f"fault proxy on {proxy.url} -> {args.upstream}, failing {args.rate:.0%} of calls", flush=True)
    try:
        proxy.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.server.server_close()


if __name__ == "__main__":
    main()
