"""Limits on how often one client may do one thing (a public lookup, a login), counted in the database
so that every worker and every machine shares the count. Fixed windows: simple, and an attacker gets at
most twice the limit across a window's edge."""
from datetime import timedelta
from functools import wraps

from flask import abort, request
from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from core.db import db, utcnow
from core.models import RateLimitHit


def hit(name, limit, per_seconds, client=None):
    """Count one more ``name`` by ``client`` (default: the request's address); ``True`` while within
    ``limit`` per ``per_seconds``. Commits the count at once: a failing request still counts."""
    now = utcnow()
    start = now - timedelta(seconds=now.timestamp() % per_seconds, microseconds=0)
    start = start.replace(microsecond=0)
    key = f"{name}:{client or request.remote_addr or '-'}"[:160]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(RateLimitHit).values(key=key, window_start=start, hits=1)
    statement = statement.on_conflict_do_update(
        index_elements=[RateLimitHit.key, RateLimitHit.window_start],
        set_={"hits": RateLimitHit.hits + 1}).returning(RateLimitHit.hits)
    hits = db.session.execute(statement).scalar_one()
    db.session.execute(delete(RateLimitHit).where(RateLimitHit.key == key, RateLimitHit.window_start < start))
    db.session.commit()
    return hits <= limit


def limited(name, limit, per_seconds, methods=("POST",)):
    """Answer 429 to a client doing ``name`` more than ``limit`` times per ``per_seconds`` (only for the
    request ``methods``: showing a form is free)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if request.method in methods and not hit(name, limit, per_seconds):
                abort(429, _("Too many attempts from your address: wait a few minutes and try again."))
            return view(*args, **kwargs)

        return wrapper

    return decorate
