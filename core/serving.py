"""How requests are logged when the app is served: the path, never the query string.

Searches put a person's national ID or phone in the query (``/api/v1/persons?national_id=…``,
``/register?q=…``); health data must not end up in server logs, so request lines are logged without
it. ``vaxchain serve`` uses the handler below; gunicorn the settings in ``core/gunicorn_config.py``.
"""
from werkzeug.serving import WSGIRequestHandler


class PathOnlyRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, logging ``METHOD /path`` and the status, without the query."""

    def log_request(self, code="-", size="-"):
        path = self.path.split("?", 1)[0]
        self.log("info", '"%s %s %s" %s %s', self.command, path, self.request_version, getattr(code, "value", code),
                 size)
