"""``GET /health``: may this process take traffic? For a load balancer, systemd or a monitoring probe.

200 ``{"status": "ok", "database": "ok", "schema": "current"}`` when the database answers and holds the
newest revision of every migration; 503 naming what fails otherwise (``"database": "unreachable"``, or
``"schema": "outdated"``: run ``vaxchain init``). Public and cheap: no session, no personal data, one query
(the migrations' version table); the revisions the code expects are worked out once per process.
"""
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core import access, schema
from core.db import db

bp = Blueprint("health", __name__)

VERSIONS = text("SELECT version_num FROM alembic_version")


@bp.route("/health")
@access.public
def check():
    report = {"status": "ok", "database": "ok", "schema": "current"}
    try:
        connection = db.engine.connect()
    except SQLAlchemyError as error:
        current_app.logger.warning("health: the database cannot be reached (%s)", type(error).__name__)
        report.update(status="failing", database="unreachable", schema="unknown")
    else:
        with connection:
            try:
                held = set(connection.execute(VERSIONS).scalars())
            except SQLAlchemyError:
                held = set()  # no version table: never migrated
        if not schema_is_current(held):
            report.update(status="failing", schema="outdated")
    response = jsonify(report)
    response.status_code = 200 if report["status"] == "ok" else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def schema_is_current(held):
    """Is every revision the code expects applied, given the revisions in the version table?"""
    expected, lineage = expected_revisions()
    applied = set()
    for revision in held:
        if revision not in lineage:
            return False  # a revision this code does not know: the database is newer than the code
        applied |= lineage[revision]
    return expected <= applied


def expected_revisions():
    """The code's head revisions, and for each revision the set of revisions it stands on (itself included),
    computed once per app: reading the migration scripts costs far more than a request may."""
    cached = current_app.extensions.get("vaxchain_health")
    if cached is None:
        script = ScriptDirectory.from_config(schema.alembic_config())
        lineage = {revision.revision: {ancestor.revision
                                       for ancestor in script.iterate_revisions(revision.revision, "base")}
                   for revision in script.walk_revisions()}
        cached = current_app.extensions["vaxchain_health"] = (set(script.get_heads()), lineage)
    return cached
