"""`/docs` in a real browser (Playwright driving Debian's Chromium, as the
console's tests do): Swagger UI loads from the API itself, renders every
operation of the document with its tag, and makes no request elsewhere."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import ChaliceLocal

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_docs_page_renders_every_operation_from_local_assets(served: ChaliceLocal, browser: Any) -> None:
    from chalicelib.web import all_routes

    routes = all_routes()

    requested: list[str] = []
    problems: list[str] = []
    page = browser.new_page()
    try:
        page.set_default_timeout(20_000)
        page.on("request", lambda r: requested.append(r.url))
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.goto(served.url + "/docs")
        page.wait_for_selector(".opblock-tag")  # Swagger UI rendered the document
        tags = {t.get_attribute("data-tag") for t in page.query_selector_all(".opblock-tag")}
        assert {spec.tag for spec in routes} <= tags
        ids = {el.inner_text().strip() for el in page.query_selector_all(".opblock-summary-operation-id")}
        assert {"claimCoupon", "joinGroup", "getWallet", "redeemCoupon"} <= ids
        assert len(ids) == len(routes)
    finally:
        page.close()
    assert problems == []
    assert requested and all(url.startswith(served.url) or url.startswith("data:") for url in requested), requested
