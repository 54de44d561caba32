"""HTTP routes for payments."""

from chalice import Blueprint

bp = Blueprint(__name__)
