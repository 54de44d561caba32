"""The one HTTP path to WeCom (API calls and robot webhooks): JSON in and
out, a timeout on every call, redirects never followed (a 3xx is an error:
a redirect could point our request, with its key or token, anywhere), and
failures reported as `WeComError` codes, never as the library's message."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from chalicelib.wecom.errors import WeComError

TIMEOUT_S = 5.0
MAX_RESPONSE_BYTES = 1 << 20


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_opener = urllib.request.build_opener(_NoRedirect())


def call(method: str, url: str, payload: Any = None, timeout_s: float = TIMEOUT_S) -> dict[str, Any]:
    data = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with _opener.open(request, timeout=timeout_s) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise WeComError("redirect" if 300 <= exc.code < 400 else f"http_{exc.code}") from None
    except TimeoutError:
        raise WeComError("timeout") from None
    except (urllib.error.URLError, ConnectionError, OSError) as exc:
        if isinstance(getattr(exc, "reason", None), TimeoutError):
            raise WeComError("timeout") from None
        raise WeComError("network") from None
    if len(body) > MAX_RESPONSE_BYTES:
        raise WeComError("bad_response")
    try:
        answer = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise WeComError("bad_response") from None
    if not isinstance(answer, dict):
        raise WeComError("bad_response")
    return answer
