"""Chalice entry point: wiring only. Routes live in chalicelib/*/routes.py."""

from chalice import Chalice, Response

from chalicelib import gateway, web
from chalicelib.campaigns.routes import bp as campaigns_bp
from chalicelib.coupons.routes import bp as coupons_bp
from chalicelib.groups.routes import bp as groups_bp
from chalicelib.inventory.routes import bp as inventory_bp
from chalicelib.members.routes import bp as members_bp
from chalicelib.openapi import build_openapi
from chalicelib.payments.routes import bp as payments_bp
from chalicelib.staff.routes import bp as staff_bp
from chalicelib.stats.routes import bp as stats_bp
from chalicelib.stores.routes import bp as stores_bp

app = Chalice(app_name="storeloop")

for blueprint in (stores_bp, staff_bp, members_bp, groups_bp, coupons_bp, campaigns_bp, payments_bp, stats_bp,
                  inventory_bp):
    app.register_blueprint(blueprint)

app.register_middleware(web.envelope_framework_errors, "http")
if gateway.running_under_local_gateway():
    gateway.install_on_local_gateway()


@app.route("/openapi.json", methods=["GET"])
def openapi() -> Response:
    return web.json_response(build_openapi())
