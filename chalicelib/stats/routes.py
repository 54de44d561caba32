"""HTTP routes for stats."""

from chalice import Blueprint

bp = Blueprint(__name__)
