"""JSON endpoints of the warehouse."""
from core.api import ApiBlueprint

api = ApiBlueprint("warehouse", __name__)
