"""Asking the app as a given role, and reading what it answered (HTML, JSON, xlsx or PDF) as text."""
import io
import json
import re
import subprocess

from openpyxl import load_workbook
from sqlalchemy import MetaData, select

from core.db import db
from tests.conftest import CSRF_FIELD

API = "/api/"
PARAMETER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def routes(app):
    """``(rule, method)`` for every route but static files, in a stable order."""
    found = [(rule, method) for rule in app.url_map.iter_rules() if not rule.endpoint.endswith("static")
             for method in sorted(rule.methods - IGNORED_METHODS)]
    return sorted(found, key=lambda pair: (pair[0].rule, pair[1]))


def url_for_side(rule, ids, row=None, own=None):
    """The rule's URL with its parameters taken from ``ids`` (a side's ids, by parameter name), and the query
    string the row asks for, filled from the ``own`` side (the caller's own site and people)."""
    names = dict(row.params) if row is not None else {}
    url = PARAMETER.sub(lambda match: str(ids[names.get(match.group(1), match.group(1))]), rule.rule)
    if row is not None and row.query:
        url += "?" + row.query.format(code=own.ids["code"], name=own.names[0].split()[0])
    return url


class Caller:
    """Sends requests as a role: pages with that role's logged-in session, the API with its bearer token."""

    def __init__(self, app, world, clients):
        self.app, self.world, self.clients = app, world, clients
        self.csrf = {}

    def send(self, role, method, url, csrf=True, json=None):
        if url.startswith(API):
            headers = {"Authorization": f"Bearer {self.world.tokens[role]}"} if role else {}
            return self.app.test_client().open(url, method=method, headers=headers,
                                              json=json if json is not None else ({} if method != "GET" else None))
        data = {"csrf_token": self.token(role)} if csrf and method != "GET" and role else {}
        return self.clients[role].open(url, method=method, data=data)

    def token(self, role):
        if role not in self.csrf:
            page = self.clients[role].get("/account").get_data(as_text=True)
            self.csrf[role] = CSRF_FIELD.search(page).group(1)
        return self.csrf[role]


def readable(response):
    """What a person would read in the response: the text of a page, JSON, a workbook's cells or a PDF."""
    kind = response.headers.get("Content-Type", "")
    if "pdf" in kind:
        done = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True)
        return done.stdout.decode("utf-8", "replace")
    if "json" in kind:  # as written, without the \u escapes that would hide Vietnamese names
        return json.dumps(response.get_json(), ensure_ascii=False)
    if "spreadsheet" in kind:
        book = load_workbook(io.BytesIO(response.data), read_only=True)
        return "\n".join(str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)
                         for cell in row if cell is not None)
    return response.get_data(as_text=True)


def leaked(response, texts):
    """Which of ``texts`` (another province's records) the response shows."""
    if response.status_code >= 300:
        return []
    shown = readable(response)
    return [text for text in texts if text in shown]


# Written by reading, by design: when a login session or a token was last used (idle timeout, token
# hygiene) and the rate limits' counters. Nothing else may change when nothing was asked to change.
BOOKKEEPING = {"core_login_session": {"last_seen_at"}, "core_api_token": {"last_used_at"}, "core_rate_limit": "*"}


def snapshot(app, leave_out=BOOKKEEPING):
    """Every table's rows (the world is small) but ``leave_out``'s columns (``"*"``: the whole table), to
    prove that nothing was inserted, updated or deleted."""
    with app.app_context():
        metadata = MetaData()
        metadata.reflect(db.engine)
        rows = {}
        for name, found in sorted(metadata.tables.items()):
            skipped = leave_out.get(name, set())
            if skipped != "*":
                columns = [column for column in found.columns if column.name not in skipped]
                rows[name] = sorted(repr(tuple(row)) for row in db.session.execute(select(*columns)))
        db.session.remove()
        return rows


def changes(before, after):
    """The tables whose rows differ, with how many rows each had before and after."""
    return {name: (len(before[name]), len(after.get(name, []))) for name in before if before[name] != after.get(name)}
