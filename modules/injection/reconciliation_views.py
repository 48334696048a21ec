"""Pages of the injection module: reconciliation (being built)."""
from flask import Blueprint

bp = Blueprint("reconciliation", __name__, template_folder="templates")
