from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.db import db
from plugins.login_journal.models import LoginJournalEntry


def note_login(user, remote_addr):
    """Record a login; part of the login's own transaction, so a failed login leaves no entry."""
    db.session.add(LoginJournalEntry(user_id=user.id, remote_addr=remote_addr))


def recent_logins(limit=100):
    query = (select(LoginJournalEntry).options(joinedload(LoginJournalEntry.user))
             .order_by(LoginJournalEntry.id.desc()).limit(limit))
    return db.session.scalars(query).all()
