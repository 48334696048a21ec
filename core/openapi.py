"""The OpenAPI 3.1 document of ``/api/v1``, assembled once at start-up from the mounted blueprints."""
import re

from core.api import API_PREFIX

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["code", "message", "field"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                       "field": {"type": ["string", "null"]}},
    }},
}
ERROR_RESPONSES = {
    "400": "Bad input: the message says what, `field` names the input.",
    "401": "Missing, invalid, expired or revoked token.",
    "403": "Your role may not do this.",
    "404": "No such record (or not in your locations).",
    "409": "The record is not in a state that allows this (a shipment already dispatched, a plan already "
           "approved), or other requests were changing the same stock at that moment: nothing was saved.",
    "422": "The input is well-formed but breaks a business rule.",
}
BODY_ERROR_RESPONSES = {"413": "The request body is larger than the server accepts."}


CREATING = set()  # (package, view name) of the operations that answer 201 Created, see answers_created


def answers_created(view):
    """Mark an API view (under its ``@api.endpoint``) as answering 201 Created: documented so instead of 200.
    Known by its package and name: a module's blueprint may gather views from several of its files."""
    CREATING.add((view.__module__.rpartition(".")[0], view.__name__))
    return view


def build(blueprints, version):
    paths = {}
    for blueprint in blueprints:
        prefix = API_PREFIX + (blueprint.url_prefix or "")
        for doc in blueprint.docs:
            path = prefix + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", doc.rule)
            for method in doc.methods:
                paths.setdefault(path, {})[method.lower()] = operation(blueprint, doc, path_parameters(doc.rule),
                                                                       method)
    return {
        "openapi": "3.1.0",
        "info": {"title": "vaxchain API", "version": version or "0",
                 "description": "National vaccine supply chain. Errors are always "
                                "`{\"error\": {\"code\", \"message\", \"field\"}}` with a 4xx status."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "A token from `vaxchain token create USER`."},
                "session": {"type": "apiKey", "in": "cookie", "name": "vaxchain_session"},
            },
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }


CONVERTER_TYPES = {"int": "integer", "bigint": "integer", "float": "number"}


def path_parameters(rule):
    """The parameters of a Flask rule's path, typed by their converters (``<int:shipment_id>``: integer)."""
    return [{"name": name, "in": "path", "required": True,
             "schema": {"type": CONVERTER_TYPES.get(converter, "string")}}
            for converter, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule)]


def operation(blueprint, doc, path_params, method="GET"):
    success = "201" if (blueprint.import_name.rpartition(".")[0], doc.endpoint) in CREATING else "200"
    op = {
        "operationId": f"{blueprint.name}.{doc.endpoint}",
        "summary": doc.summary,
        "tags": [doc.tag],
        "responses": {success: {"description": "Created" if success == "201" else "OK"}},
    }
    if doc.response_schema:
        op["responses"][success]["content"] = {"application/json": {"schema": doc.response_schema}}
    errors = {**ERROR_RESPONSES, **(BODY_ERROR_RESPONSES if method in ("POST", "PUT", "PATCH") else {})}
    for status, text in sorted(errors.items()):
        op["responses"][status] = {"description": text, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if doc.public:
        op["security"] = []
    else:
        op["security"] = [{"bearer": []}, {"session": []}]
        if doc.roles:
            op["description"] = "Roles: " + ", ".join(doc.roles) + " (and admin)."
    declared = {(p["name"], p["in"]) for p in doc.parameters}  # a description given by the endpoint wins
    op["parameters"] = [p for p in path_params if (p["name"], "path") not in declared] + doc.parameters
    if doc.request_schema:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": doc.request_schema}}}
    return op
