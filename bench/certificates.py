"""Certificates (issue 8): a person's certificate PDF over the API (target ≤ 100 ms), and signing QR payloads
(target ≥ 2 000 a second), each beside a reference measured in the same run.

    python bench/certificates.py                          # SQLite in a temp folder
    python bench/certificates.py --database postgresql://postgres@127.0.0.1:PORT/postgres
    python bench/certificates.py --requests 50 --payloads 1000     # quick look

PDF: ``GET /api/v1/persons/<id>/certificate.pdf`` of a person with two doses (green certificate), through the
whole WSGI app in this process (routing, bearer token, scope, the history query, signing, the A5 page with its
QR code), no network; server time. References: a bare reportlab canvas drawing the same texts and the same
payload's QR code, no layout, with the QR drawn as one path as the certificate draws it (the ratio: what the
app, the data and the layout cost), and with reportlab's own QR widget (one rectangle per module).
Signing: ``signing.sign`` of that person's certificate data (JSON, base64url, Ed25519), beside the bare
Ed25519 signature of the same bytes by ``cryptography``; verifying (``signing.verify``) is reported too.
"""
import argparse
import io
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from reportlab.graphics import renderPDF  # noqa: E402
from reportlab.graphics.barcode.qr import QrCodeWidget  # noqa: E402
from reportlab.graphics.shapes import Drawing  # noqa: E402
from reportlab.lib.pagesizes import A5  # noqa: E402

from bench.common import fresh_database, gtin_of, machine, percentiles, timed, write_result  # noqa: E402
from core import create_app, roles, schema  # noqa: E402
from core.accounts import create_user  # noqa: E402
from core.clock import local_today  # noqa: E402
from core.db import db  # noqa: E402
from core.tokens import create_token  # noqa: E402
from modules.injection import certificates, people, services, signing  # noqa: E402
from modules.lots import services as lots  # noqa: E402
from modules.warehouse import locations  # noqa: E402
from modules.warehouse import services as warehouse  # noqa: E402
from modules.warehouse.models import NATIONAL, SITE  # noqa: E402
from reports.certificate import draw_qr, qr_modules  # noqa: E402
from reports.document import FONT, FONT_BOLD, mm, new_canvas  # noqa: E402

TARGET_PDF_MS = 100
TARGET_SIGNED_PER_S = 2000


def seed(vaccine):
    """A site, a lot, a site staff user with a token, and a person given two doses there (backlog history)."""
    presentation = lots.presentation_by_code(vaccine)
    national = locations.create_location("KHO-QG", "Kho vắc xin quốc gia", NATIONAL)
    site = locations.create_location("DT-0001", "Trạm Y tế phường Điện Biên, quận Ba Đình", SITE, national)
    line = warehouse.ReceiptLine(gtin=gtin_of(presentation), lot="BENCH-CERT-1", doses=100,
                                 expiry=local_today() + timedelta(days=365), confirm_new_lot=True)
    lot = warehouse.receive(national, [line]).moves[0].lot
    user = create_user("tram0001", "bench-password-2026", roles.SITE_STAFF)
    locations.assign(user, site)
    person = people.create_person(people.PersonData(
        full_name="Nguyễn Thị Thu Hương", gender="female", date_of_birth=datetime(1985, 3, 14).date(),
        national_id="001185001234", phone="0912345678"))
    today = local_today()
    services.record_backlog(person, lot, site, today - timedelta(days=70))
    services.record_backlog(person, lot, site, today - timedelta(days=35))
    db.session.flush()
    token = create_token(user, name="bench")[1]
    db.session.commit()
    return person.id, token


def bare_canvas(data, payload, one_path):
    """The certificate's texts and QR code on a plain A5 canvas at fixed positions, the QR code drawn by
    reportlab's widget (one rectangle per module), or as one path as the certificate draws it."""
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A5, title="bench")
    width, height = A5
    canvas.setFont(FONT_BOLD, 8.5)
    canvas.drawCentredString(width / 2, height - 20 * mm, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    canvas.drawCentredString(width / 2, height - 24 * mm, "Độc lập - Tự do - Hạnh phúc")
    canvas.setFont(FONT_BOLD, 14)
    canvas.drawCentredString(width / 2, height - 32 * mm, "GIẤY CHỨNG NHẬN TIÊM CHỦNG COVID-19")
    canvas.setFillColorRGB(0.1, 0.5, 0.23)
    canvas.rect(12 * mm, height - 50 * mm, width - 24 * mm, 15 * mm, stroke=0, fill=1)
    canvas.setFillColorRGB(1, 1, 1)
    canvas.setFont(FONT_BOLD, 12)
    canvas.drawCentredString(width / 2, height - 43 * mm, "ĐÃ TIÊM ĐỦ LIỀU CƠ BẢN")
    canvas.setFillColorRGB(0, 0, 0)
    texts = [("Họ và tên", data["name"]), ("Ngày sinh", f"{data['birth_date']:%d/%m/%Y}"),
             ("Số CCCD/CMND", "********1234"), ("Ngày cấp", f"{local_today():%d/%m/%Y}")]
    for index, (label, value) in enumerate(texts):
        canvas.setFont(FONT, 7.5)
        canvas.drawString(12 * mm, height - (58 + index * 10) * mm, label)
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(12 * mm, height - (62 + index * 10) * mm, value)
    size = 40 * mm
    if one_path:
        modules = qr_modules(payload)
        draw_qr(canvas, width - 12 * mm - size, height - 95 * mm, modules, size / len(modules))
    else:
        widget = QrCodeWidget(payload, barLevel="M")
        left, bottom, right, top = widget.getBounds()
        drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, canvas, width - 12 * mm - size, height - 95 * mm)
    canvas.setFont(FONT, 8)
    for index, dose in enumerate(data["doses"]):
        y = height - (110 + index * 7) * mm
        for x, value in ((14, str(dose["dose"])), (24, f"{dose['date']:%d/%m/%Y}"), (45, "Vero Cell (Sinopharm)"),
                         (85, dose["lot"]), (105, "Trạm Y tế phường Điện Biên, quận Ba Đình")):
            canvas.drawString(x * mm, y, value)
    canvas.save()
    return buffer.getvalue()


def per_second(function, count):
    started = time.perf_counter()
    for _ in range(count):
        function()
    return round(count / (time.perf_counter() - started), 1)


def measure_signing(data, count):
    key = signing.SigningKey(Ed25519PrivateKey.generate())
    payload = signing.sign(data, key=key)
    message = payload.rsplit(".", 1)[0].encode("ascii")  # exactly the bytes sign() signs
    private_key, public_key = key.private_key, key.public_key
    for _ in range(50):  # warm-up
        signing.sign(data, key=key)
        private_key.sign(message)
    app_rate = per_second(lambda: signing.sign(data, key=key), count)
    bare_rate = per_second(lambda: private_key.sign(message), count)
    verify_rate = per_second(lambda: signing.verify(payload, public_keys=[public_key]), count)
    bare_verify_rate = per_second(lambda: public_key.verify(private_key.sign(message), message), count)
    return {"app_per_s": app_rate, "bare_ed25519_per_s": bare_rate, "payloads": count,
            "payload_bytes": len(payload), "ratio": round(app_rate / bare_rate, 3),
            "verify_per_s": verify_rate, "bare_sign_and_verify_per_s": bare_verify_rate}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="sqlite", help="sqlite (default) or a PostgreSQL server URL")
    parser.add_argument("--requests", type=int, default=200, help="certificate PDFs per side (default 200)")
    parser.add_argument("--payloads", type=int, default=5000, help="payloads signed per side (default 5000)")
    parser.add_argument("--vaccine", default="VEROCELL")
    args = parser.parse_args()
    url, drop = fresh_database(args.database)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-" + "x" * 40,
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="vaxchain-bench-instance-")})
    try:
        with app.app_context():
            schema.upgrade()
            facts = machine(db.engine)
            person_id, token = seed(args.vaccine)
            certificate = certificates.certificate_for(db.session.get(people.Person, person_id))
            data = signing.verify(certificate.payload).data
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}

        def pdf_request():
            response = client.get(f"/api/v1/persons/{person_id}/certificate.pdf?lang=vi", headers=headers)
            assert response.status_code == 200 and response.data.startswith(b"%PDF"), response.status_code
            return response.data

        pdf, payload = pdf_request(), certificate.payload
        for _ in range(10):  # warm-up: first-use costs (fonts' glyph tables, statement caches) on every side
            pdf_request()
            bare_canvas(data, payload, one_path=False)
            bare_canvas(data, payload, one_path=True)
        app_pdf = percentiles(timed(pdf_request, args.requests))
        # reportlab's widget draws a rectangle per module (about 0.3 s a page): a fifth as many suffice
        bare_pdf = percentiles(timed(lambda: bare_canvas(data, payload, one_path=False), max(10, args.requests // 5)))
        one_path_pdf = percentiles(timed(lambda: bare_canvas(data, payload, one_path=True), args.requests))
        with app.app_context():
            signed = measure_signing(data, args.payloads)
            db.engine.dispose()
    finally:
        drop()
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    result = {
        "benchmark": "certificates", "database": kind, "machine": facts,
        "pdf": {"app": app_pdf, "bare_one_path": one_path_pdf, "bare_reportlab": bare_pdf, "bytes": len(pdf),
                "doses": len(data["doses"]), "ratio_p95": round(app_pdf["p95_ms"] / one_path_pdf["p95_ms"], 2),
                "ratio_p95_to_bare_reportlab": round(app_pdf["p95_ms"] / bare_pdf["p95_ms"], 2),
                "target": f"p95 <= {TARGET_PDF_MS} ms", "met": app_pdf["p95_ms"] <= TARGET_PDF_MS},
        "signing": {**signed, "target": f">= {TARGET_SIGNED_PER_S} payloads/s",
                    "met": signed["app_per_s"] >= TARGET_SIGNED_PER_S},
    }
    path = write_result(f"certificates-{kind}", result)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
