"""HTTP routes for groups."""

from chalice import Blueprint

bp = Blueprint(__name__)
