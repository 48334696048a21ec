"""Health data stays out of the logs: a site's day of work with national IDs and phone numbers, served
by the development server, then the logs searched for every ID and phone it used (behind gunicorn:
tests/reliability/test_logs.py)."""
import http.cookiejar
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request

from core import roles
from core.db import db
from tests.conftest import PASSWORD
from tests.transport.test_api import bearer
from tests.warehouse.helpers import build_tree, receive_lot, user_at, vaccine_with_gtin

# Illustrative CCCD numbers: birth province 001 (Hà Nội), century/gender digit, year, then six digits.
LAN = {"national_id": "001190123456", "full_name": "Nguyễn Thị Lan", "gender": "female",
       "date_of_birth": "1990-05-17", "phone": "+84 912 345 678"}
WRONG_ID = "001090123457"  # says a man born in 1990: refused, with the number in the reply, not in a log
TRACES = ("001190123456", "912345678", "001090123457")


def world(app):
    with app.app_context():
        tree = build_tree()
        receive_lot(tree.site_a, vaccine_with_gtin("VAXZEVRIA"), "AZ1", doses=30)
        staff = user_at(roles.SITE_STAFF, tree.site_a, "tram.px")
        headers = bearer(staff)
        db.session.commit()
        return headers


class Browser:
    """A user's browser against a real server: cookies kept, CSRF token read from each form."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def open(self, path, form=None, json_body=None, headers=()):
        data = None
        headers = dict(headers)
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        elif json_body is not None:
            data, headers["Content-Type"] = json.dumps(json_body).encode(), "application/json"
        request = urllib.request.Request(self.base + path, data=data, headers=headers)
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def log_in(self, username):
        _status, page = self.open("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        status, _page = self.open("/login", form={"csrf_token": token, "username": username, "password": PASSWORD})
        assert status == 200


def a_days_work(base, headers):
    """Register Lan, search for her by ID and phone on the API and the pages, and make one mistake."""
    api = Browser(base)
    assert api.open("/api/v1/injections", json_body={"person": LAN, "vaccine": "VAXZEVRIA", "lot": "AZ1",
                                                     "site": "DT-PX"}, headers=headers)[0] == 201
    assert api.open(f"/api/v1/persons?national_id={LAN['national_id']}", headers=headers)[0] == 200
    assert api.open("/api/v1/persons?q=0912345678", headers=headers)[0] == 200
    refused = api.open("/api/v1/injections", json_body={"person": {**LAN, "national_id": WRONG_ID}, "vaccine":
                                                        "VAXZEVRIA", "lot": "AZ1", "site": "DT-PX"}, headers=headers)
    assert refused[0] == 422
    browser = Browser(base)
    browser.log_in("tram.px")
    assert browser.open("/register?q=0912345678")[0] == 200
    assert browser.open(f"/persons?q={LAN['national_id']}")[0] == 200


def test_the_development_server_logs_no_national_id_or_phone(app, live_server, caplog):
    headers = world(app)
    caplog.set_level(logging.DEBUG)
    a_days_work(live_server, headers)
    assert "/api/v1/persons" in caplog.text  # the requests were logged…
    assert [trace for trace in TRACES if trace in caplog.text] == []  # …without the person
