"""What can go wrong talking to WeCom, as typed exceptions carrying a short
code (never the network library's text, which may hold URLs with keys or
tokens). Routes map them to 502/503 envelopes; delivery stores the code."""

from __future__ import annotations

from chalicelib.errors import StoreloopError


class WeComError(Exception):
    """`code`: e.g. `timeout`, `network`, `http_500`, `redirect`, `bad_response`, `errcode_60011`."""

    def __init__(self, code: str, errcode: int | None = None):
        super().__init__(code)
        self.code = code
        self.errcode = errcode


class WeComApiError(WeComError):
    """WeCom answered with a non-zero `errcode`."""

    def __init__(self, errcode: int):
        super().__init__(f"errcode_{errcode}", errcode)


class WeComUnavailable(StoreloopError):
    """The API edge's view of a WeCom failure: no network text, just its code."""

    status, code, default_message = 502, "wecom_unavailable", "WeCom did not accept the request; try again later"

    @classmethod
    def of(cls, exc: WeComError) -> WeComUnavailable:
        return cls(f"WeCom call failed ({exc.code})", [{"field": "wecom", "problem": exc.code}])


class WeComOff(StoreloopError):
    status, code = 409, "wecom_off"
    default_message = "WeCom is not configured for this deployment (STORELOOP_WECOM=off)"
