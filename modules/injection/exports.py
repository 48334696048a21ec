"""Exports of personal data (lists of people to call or to trace) are each written to the audit log: who,
when, which list, how many rows, which personal fields and with which filters — Decree 13/2023/NĐ-CP asks
that processing of sensitive personal data be traceable. Called by the views that build an export."""
from core import audit
from core.db import db

ACTION = "personal_data.export"


def audited(export, rows, fields, **filters):
    """Record one export of ``rows`` rows of the list ``export`` (an endpoint name) and commit it at once: the
    file leaves the system whatever happens to the request afterwards."""
    audit.record(ACTION, object_type="export", object_id=export,
                 details={"rows": rows, "fields": list(fields),
                          "filters": {name: value for name, value in filters.items() if value is not None}})
    db.session.commit()
