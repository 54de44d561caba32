"""A patch of Chalice's local API Gateway emulator (`chalice local` and the
Chalice test client), so it answers as the deployed API Gateway does:
the envelope for a path no route serves (infra/gateway_responses.py, which
the deployed stack installs as GatewayResponses), 405 for any method, a
deep listen backlog. Development only: app.py imports this module only when
Chalice's CLI or test client is loaded, and it is not in the Lambda zip."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from chalicelib import logs
from infra.gateway_responses import GATEWAY_RESPONSES


def serving_on_threads() -> bool:
    """This process is `chalice local` (its HTTP server answers each request
    on a thread), not the test client, `chalice package` or another command."""
    return Path(sys.argv[0]).name == "chalice" and "local" in sys.argv[1:]


def install_on_local_gateway() -> None:
    from chalice import local

    if getattr(local.LocalGateway, "storeloop_gateway_responses", False):
        return
    original = local.LocalGateway.handle_request

    def handle_request(self: Any, method: str, path: str, headers: Any, body: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, method, path, headers, body)
        except local.ForbiddenError:
            # Chalice's emulator raises this (as API Gateway does) only for a
            # path that matches no route: no authorizers are used here.
            status, envelope = GATEWAY_RESPONSES["MISSING_AUTHENTICATION_TOKEN"]
            request_id = str(uuid.uuid4())
            # Deployed, API Gateway's access log has this line; locally, we write it.
            logs.clear()
            logs.bind(request_id=request_id, code=envelope["error"]["code"])
            logs.access(f"{method} (no route)", status, (time.perf_counter() - started) * 1000)
            logs.clear()
            return {"statusCode": status, "headers": {"Content-Type": "application/json; charset=utf-8",
                                                      "x-request-id": request_id},
                    "multiValueHeaders": {}, "body": json.dumps(envelope)}

    local.LocalGateway.handle_request = handle_request  # type: ignore[method-assign]
    # http.server answers methods it has no `do_X` for (TRACE, QUERY, ...) with
    # a 501 HTML page; route every method through the gateway instead, so an
    # unsupported one gets the 405 envelope, as the deployed API does.
    def any_method(self: Any, name: str) -> Any:
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    local.ChaliceRequestHandler.__getattr__ = any_method  # type: ignore[attr-defined]
    # ...but a HEAD answer has no body (RFC 9110 §9.3.2): one written anyway
    # is read by a keep-alive client as the start of its next response.
    send = local.ChaliceRequestHandler._send_http_response

    def send_no_body_to_head(self: Any, code: int, headers: Any, body: Any) -> None:
        send(self, code, headers, None if self.command == "HEAD" else body)

    local.ChaliceRequestHandler._send_http_response = send_no_body_to_head  # type: ignore[method-assign]
    # socketserver's listen backlog is 5: a burst of concurrent clients (the
    # concurrency tests, a load test) gets connection resets before a thread
    # picks them up. API Gateway queues instead; so does the emulator now.
    local.ThreadedHTTPServer.request_queue_size = 256
    local.LocalGateway.storeloop_gateway_responses = True  # type: ignore[attr-defined]
