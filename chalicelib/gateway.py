"""API-Gateway-level error responses: what a client gets for a path no route
serves. Deployed, `infra/` installs these as API Gateway GatewayResponses;
under `chalice local` and the Chalice test client the same responses are
installed on Chalice's local gateway emulator, so both answer alike."""

from __future__ import annotations

import json
import sys
from typing import Any

UNKNOWN_ROUTE_BODY = {"error": {"code": "not_found", "message": "no such route", "details": []}}

# API Gateway response type -> (status, envelope); used by infra/ for the deployed API.
GATEWAY_RESPONSES: dict[str, tuple[int, dict[str, Any]]] = {
    "MISSING_AUTHENTICATION_TOKEN": (404, UNKNOWN_ROUTE_BODY),
    "DEFAULT_4XX": (400, {"error": {"code": "bad_request", "message": "$context.error.message", "details": []}}),
    "DEFAULT_5XX": (500, {"error": {"code": "internal_error", "message": "$context.error.message", "details": []}}),
}


def running_under_local_gateway() -> bool:
    return "chalice.cli" in sys.modules or "chalice.test" in sys.modules


def install_on_local_gateway() -> None:
    from chalice import local

    if getattr(local.LocalGateway, "storeloop_gateway_responses", False):
        return
    original = local.LocalGateway.handle_request

    def handle_request(self: Any, method: str, path: str, headers: Any, body: Any) -> Any:
        try:
            return original(self, method, path, headers, body)
        except local.ForbiddenError:
            # Chalice's emulator raises this (as API Gateway does) only for a
            # path that matches no route: no authorizers are used here.
            status, envelope = GATEWAY_RESPONSES["MISSING_AUTHENTICATION_TOKEN"]
            return {"statusCode": status, "headers": {"Content-Type": "application/json; charset=utf-8"},
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
    # socketserver's listen backlog is 5: a burst of concurrent clients (the
    # concurrency tests, a load test) gets connection resets before a thread
    # picks them up. API Gateway queues instead; so does the emulator now.
    local.ThreadedHTTPServer.request_queue_size = 256
    local.LocalGateway.storeloop_gateway_responses = True  # type: ignore[attr-defined]
