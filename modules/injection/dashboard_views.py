"""Pages of the injection module: dashboard (being built)."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__, template_folder="templates")
