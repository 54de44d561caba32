"""Chalice entry point: wiring only. Routes live in chalicelib/*/routes.py;
`edge.mount` registers them from chalicelib/route_table.py, each importing
its capability on its first call (docs/cold_start.md)."""

import os
import sys

from chalice import Chalice, Response

from chalicelib import apidocs, coldstart, edge
from chalicelib.campaigns.events import bp as campaigns_events
from chalicelib.errors import StoreloopError
from chalicelib.groups.events import bp as groups_events
from chalicelib.insights.events import bp as insights_events
from chalicelib.stats.events import bp as stats_events

app = Chalice(app_name="storeloop")

edge.mount(app)  # every HTTP route of chalicelib/route_table.py (`python -m devtools.route_table --write`)
for events in (groups_events, campaigns_events, stats_events, insights_events):  # schedules, queue, stream
    app.register_blueprint(events)

app.register_middleware(edge.envelope_framework_errors, "http")
app.register_middleware(edge.cors_headers, "http")
if "chalice.cli" in sys.modules or "chalice.test" in sys.modules:
    # Under `chalice local` or the Chalice test client only (never in Lambda:
    # devtools/ is not in the zip): make the emulator answer like API Gateway.
    from devtools.local_gateway import install_on_local_gateway, serving_on_threads

    install_on_local_gateway()
    if serving_on_threads():
        # `chalice local` answers each request on a thread of its own, where a
        # Lambda process serves one at a time: load every capability here, on
        # one thread, before the first request, as Lambda's init does with
        # STORELOOP_PRELOAD=all. Left to the first requests, a burst of them
        # imported (and, from a fresh clone, compiled) capabilities side by side
        # and ran out of their retry budgets (docs/cold_start.md).
        coldstart.preload_all()
elif os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # Lambda's init phase (this import): the DynamoDB client, table binding,
    # a priming read and, with STORELOOP_PRELOAD=all (the default), every
    # capability and its route validators, not the first request
    # (chalicelib/coldstart.py, docs/cold_start.md).
    coldstart.init()


@app.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    from chalicelib.openapi import build_openapi  # lazy: only this route needs it (cold start)

    return edge.json_response(build_openapi())


@app.route("/docs", methods=["GET"])
def docs() -> Response:
    # Without the trailing slash the page's relative asset URLs resolve under /docs/.
    return Response(apidocs.PAGE, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


@app.route("/docs/{asset}", methods=["GET"])
def docs_asset(asset: str) -> Response:
    try:
        body, content_type = apidocs.asset(asset)
    except StoreloopError as err:
        return edge.error_response(err)
    return Response(body, status_code=200, headers={"Content-Type": content_type,
                                                    "Cache-Control": "public, max-age=86400"})


edge.add_preflight(app)  # last: an OPTIONS view on every path above (CORS preflight, docs/console.md)
