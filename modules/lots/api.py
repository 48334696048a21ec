"""JSON endpoints of the catalogue and lots."""
from core.api import ApiBlueprint

api = ApiBlueprint("lots", __name__)
