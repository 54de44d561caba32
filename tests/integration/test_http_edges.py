"""What a client meets at the HTTP edge of `chalice local` (the emulator
`make run` and the integration tests serve), found by a black-box sweep:
each test failed before its fix."""

from __future__ import annotations

import pytest
import requests

from tests.integration.conftest import ChaliceLocal

pytestmark = [pytest.mark.integration]


def test_a_head_request_answers_no_body_and_the_connection_stays_usable(served: ChaliceLocal) -> None:
    """HEAD is 405 in the envelope's headers, but its body was written too: a
    keep-alive client read it as the status line of its next answer."""
    with requests.Session() as session:
        head = session.head(served.url + "/openapi.json", timeout=10)
        assert head.status_code == 405 and head.headers["Content-Length"] == "0"
        after = session.get(served.url + "/openapi.json", timeout=10)
        assert after.status_code == 200 and after.json()["openapi"].startswith("3.1")
