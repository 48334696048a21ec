"""The audit log: every write made through a service records who, when (UTC) and what.

``record()`` only adds the entry to the caller's session, so it commits or rolls back together
with the change it describes.
"""
from flask import has_request_context
from flask_login import current_user

from core.db import db
from core.models import AuditEntry

SYSTEM_ACTOR = "system"


def record(action, obj=None, *, object_type=None, object_id=None, details=None, user=None):
    """Add an audit entry for ``action`` (``"user.create"``, ``"lot.recall"``...) on ``obj``.

    ``user`` defaults to the logged-in user; outside a request (CLI, imports) the actor is "system"
    unless a user is given.
    """
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user._get_current_object()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    entry = AuditEntry(
        user_id=user.id if user is not None else None,
        actor=user.username if user is not None else SYSTEM_ACTOR,
        action=action,
        object_type=object_type or "",
        object_id=None if object_id is None else str(object_id),
        details=details or {},
    )
    db.session.add(entry)
    return entry
