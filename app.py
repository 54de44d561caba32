"""Chalice entry point: wiring only. Routes live in chalicelib/*/routes.py."""

import os
import sys

from chalice import Chalice, Response

from chalicelib import apidocs, coldstart, web
from chalicelib.campaigns.routes import bp as campaigns_bp
from chalicelib.coupons.routes import bp as coupons_bp
from chalicelib.errors import StoreloopError
from chalicelib.groups.routes import bp as groups_bp
from chalicelib.insights.routes import bp as insights_bp
from chalicelib.inventory.routes import bp as inventory_bp
from chalicelib.members.routes import bp as members_bp
from chalicelib.payments.routes import bp as payments_bp
from chalicelib.staff.routes import bp as staff_bp
from chalicelib.stats.routes import bp as stats_bp
from chalicelib.stores.routes import bp as stores_bp
from chalicelib.wecom.routes import bp as wecom_bp

app = Chalice(app_name="storeloop")

for blueprint in (stores_bp, staff_bp, members_bp, groups_bp, coupons_bp, campaigns_bp, payments_bp, stats_bp,
                  inventory_bp, wecom_bp, insights_bp):
    app.register_blueprint(blueprint)

app.register_middleware(web.envelope_framework_errors, "http")
app.register_middleware(web.cors_headers, "http")
if "chalice.cli" in sys.modules or "chalice.test" in sys.modules:
    # Under `chalice local` or the Chalice test client only (never in Lambda:
    # devtools/ is not in the zip): make the emulator answer like API Gateway.
    from devtools.local_gateway import install_on_local_gateway

    install_on_local_gateway()
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # Lambda's init phase (this import): the DynamoDB client, table binding,
    # a priming read and the route validators, not the first request
    # (chalicelib/coldstart.py, docs/cold_start.md).
    coldstart.init()


@app.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    from chalicelib.openapi import build_openapi  # lazy: only this route needs it (cold start)

    return web.json_response(build_openapi())


@app.route("/docs", methods=["GET"])
def docs() -> Response:
    # Without the trailing slash the page's relative asset URLs resolve under /docs/.
    return Response(apidocs.PAGE, status_code=200, headers={"Content-Type": "text/html; charset=utf-8"})


@app.route("/docs/{asset}", methods=["GET"])
def docs_asset(asset: str) -> Response:
    try:
        body, content_type = apidocs.asset(asset)
    except StoreloopError as err:
        return web.error_response(err)
    return Response(body, status_code=200, headers={"Content-Type": content_type,
                                                    "Cache-Control": "public, max-age=86400"})


web.add_preflight(app)  # last: an OPTIONS view on every path above (CORS preflight, docs/console.md)
