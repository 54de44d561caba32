"""HTTP routes for coupons."""

from chalice import Blueprint

bp = Blueprint(__name__)
