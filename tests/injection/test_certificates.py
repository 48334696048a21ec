"""Certificates as their holders and checkers meet them: the JSON and PDF of a person's certificate, the
public key, verification by API and by page, and the rate-limited public lookup by ID and birth date."""
import base64

import zxingcpp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.db import db
from modules.injection import certificates, people
from tests.conftest import csrf_token
from tests.injection.test_api import LAN, register, world  # noqa: F401  (the world fixture)
from tests.reports.test_manifest import pdf_text, render


def registered(app, world):  # noqa: F811
    response = register(app, world)
    assert response.status_code == 201, response.json
    return response.json["person_id"]


def test_the_certificate_json_carries_a_payload_anyone_can_verify_with_the_public_key(app, world):  # noqa: F811
    person_id = registered(app, world)
    client = app.test_client()
    body = client.get(f"/api/v1/persons/{person_id}/certificate", headers=world.headers["site"]).json
    assert (body["status"], body["color"]) == ("partial", "yellow")
    key = client.get("/api/v1/certificates/public-key").json  # no login needed
    assert key["algorithm"] == "Ed25519"
    raw = base64.urlsafe_b64decode(key["public_key"] + "=" * (-len(key["public_key"]) % 4))
    signed, signature = body["payload"].rsplit(".", 1)
    Ed25519PublicKey.from_public_bytes(raw).verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)), signed.encode("ascii"))
    checked = client.post("/api/v1/certificates/verify", json={"payload": body["payload"]}).json
    assert checked["valid"] is True and checked["certificate"]["name"] == "Nguyễn Thị Lan"
    assert checked["certificate"]["doses"][0]["lot"] == "AZ1"
    tampered = body["payload"].replace(".", ".A", 1)
    refused = client.post("/api/v1/certificates/verify", json={"payload": tampered}).json
    assert refused["valid"] is False and refused["reason"] != "ok"


def test_the_certificate_pdf_reads_back_with_its_qr_code(app, world, tmp_path):  # noqa: F811
    person_id = registered(app, world)
    client = app.test_client()
    payload = client.get(f"/api/v1/persons/{person_id}/certificate", headers=world.headers["site"]).json["payload"]
    pdf = client.get(f"/api/v1/persons/{person_id}/certificate.pdf?lang=vi", headers=world.headers["site"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data, tmp_path)
    assert "Nguyễn Thị Lan" in text and "AZ1" in text and "123456" not in text.replace("3456", "")
    [page] = render(pdf.data, tmp_path, dpi=200)
    assert [code.text for code in zxingcpp.read_barcodes(page)] == [payload]


def test_the_verify_page_says_whether_a_code_is_genuine(app, world):  # noqa: F811
    person_id = registered(app, world)
    with app.app_context():
        payload = certificates.certificate_for(people.get_person(person_id)).payload
    client = app.test_client()
    token = csrf_token(client, "/verify")
    good = client.post("/verify", data={"csrf_token": token, "payload": payload})
    assert good.status_code == 200 and 'data-valid="yes"' in good.get_data(as_text=True)
    bad = client.post("/verify", data={"csrf_token": token, "payload": payload[:-3] + "AAA"})
    assert bad.status_code == 422 and 'data-valid="no"' in bad.get_data(as_text=True)


def test_the_public_lookup_shows_initials_and_status_only_and_is_rate_limited(app, world):  # noqa: F811
    registered(app, world)
    client = app.test_client()
    token = csrf_token(client, "/lookup")
    found = client.post("/lookup", data={"csrf_token": token, "national_id": LAN["national_id"],
                                         "date_of_birth": "17/05/1990"})
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and "N. T. L." in page and 'data-status="partial"' in page
    assert "Nguyễn Thị Lan" not in page and "0912" not in page
    pdf = client.post("/lookup", data={"csrf_token": token, "national_id": LAN["national_id"],
                                       "date_of_birth": "17/05/1990", "pdf": "1"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    wrong = client.post("/lookup", data={"csrf_token": token, "national_id": LAN["national_id"],
                                         "date_of_birth": "18/05/1990"})
    assert wrong.status_code == 404 and "N. T. L." not in wrong.get_data(as_text=True)
    statuses = [client.post("/lookup", data={"csrf_token": token, "national_id": "001190000000",
                                             "date_of_birth": "01/01/1990"}).status_code for _ in range(10)]
    assert statuses[-1] == 429 and set(statuses[:7]) == {404}
    with app.app_context():
        assert db.session.execute(db.text("SELECT max(hits) FROM core_rate_limit")).scalar() > 10
