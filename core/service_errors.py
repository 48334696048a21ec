"""The one error type services raise for bad input or a broken business rule.

Views show ``message`` next to ``field``; the API answers ``{"error": {"code", "message", "field"}}``
with ``status`` (422 by default). Messages are translated where they are raised.
"""


class ServiceError(ValueError):
    status = 422

    def __init__(self, message, field=None, code="invalid", status=None):
        super().__init__(str(message))
        self.message = str(message)
        self.field = field
        self.code = code
        if status is not None:
            self.status = status


class NotFoundError(ServiceError):
    """The record does not exist, or is outside the user's locations (the API must not tell which)."""

    status = 404


class ConflictError(ServiceError):
    """The request is valid but the current state refuses it (not enough stock, lot recalled...)."""

    status = 409
