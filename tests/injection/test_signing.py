"""The signed payload a certificate's QR code carries: it verifies offline, and nothing else does.

Third-party checks below use only ``cryptography`` and the steps of docs/certificates.md, not our verifier.
"""
import base64
import datetime
import hashlib
import json
import multiprocessing
import re
import stat
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from modules.injection import signing
from modules.injection.signing import (
    BAD_BASE64,
    BAD_JSON,
    BAD_SIGNATURE,
    MALFORMED,
    OK,
    UNKNOWN_KEY,
    UNKNOWN_VERSION,
    SigningKey,
    SigningKeyError,
    load_or_create_key,
    sign,
    verify,
)

ROOT = Path(__file__).resolve().parents[2]
ISSUED = datetime.datetime(2026, 3, 15, 2, 30, 45, tzinfo=datetime.UTC)
NAME = "Nguyễn Thị Minh Khai"


def dose(number, lot="ABV5811", vaccine="VAXZEVRIA"):
    return {"date": datetime.date(2021, 8, 15) + datetime.timedelta(days=28 * (number - 1)), "vaccine": vaccine,
            "lot": lot, "dose": number}


def certificate(**changes):
    data = {"name": NAME, "birth_date": datetime.date(1985, 3, 12), "status": "partial", "doses": [dose(1)],
            "issued_at": ISSUED}
    return {**data, **changes}


def b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_text(key, body, prefix="VXC1"):
    """A payload over any body bytes, signed with ``key``: what a forger holding our key could make."""
    head = f"{prefix}.{b64(body)}"
    return f"{head}.{b64(key.private_key.sign(head.encode('ascii')))}"


def body_of(payload):
    return json.loads(unb64(payload.split(".")[1]))


@pytest.fixture
def key(tmp_path):
    return load_or_create_key(tmp_path / "instance")


def check(payload, key):
    return verify(payload, public_keys=[key.public_key])


# --- round trip ---------------------------------------------------------------------------------------------------

def test_a_signed_certificate_verifies_and_gives_back_what_was_signed(key):
    doses = [dose(1), dose(2), dose(3, "FK5618", "COMIRNATY")]
    payload = sign(certificate(status="complete", doses=doses), key=key)

    result = check(payload, key)

    assert (result.valid, result.reason_code) == (True, OK)
    assert result.message == "The certificate is genuine: its signature is valid."
    assert result.data == {"name": NAME, "birth_date": datetime.date(1985, 3, 12), "status": "complete",
                           "doses": doses, "issued_at": ISSUED, "key_id": key.key_id}


def test_the_payload_is_the_documented_compact_json(key):
    payload = sign(certificate(), key=key)

    prefix, body, signature = payload.split(".")
    assert prefix == "VXC1" and "=" not in payload and len(unb64(signature)) == 64
    assert unb64(body).decode("utf-8") == (
        f'{{"k":"{key.key_id}","t":1773541845,"n":"{NAME}","b":"1985-03-12","s":1,'
        '"d":[["2021-08-15","VAXZEVRIA","ABV5811",1]]}')


def test_a_person_with_no_dose_can_be_certified_as_none(key):
    result = check(sign(certificate(status="none", doses=[]), key=key), key)

    assert result.valid and result.data["status"] == "none" and result.data["doses"] == []


def test_a_four_dose_payload_is_short_enough_for_a_30_mm_qr_code(key):
    doses = [dose(1), dose(2), dose(3, "FK5618", "COMIRNATY"), dose(4, "FK5618", "COMIRNATY")]

    assert len(sign(certificate(status="complete", doses=doses), key=key)) <= 430  # QR version 16 at level M


def test_the_issue_time_defaults_to_now(key):
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    result = check(sign(certificate(issued_at=None), key=key), key)

    assert before <= result.data["issued_at"] <= datetime.datetime.now(datetime.UTC)


def test_names_are_signed_in_nfc_with_single_spaces(key):
    payload = sign(certificate(name="  Nguye\u0302\u0303n   Thi\u0323 Minh Khai "), key=key)

    assert body_of(payload)["n"] == NAME


@pytest.mark.parametrize("changes, message", [
    ({"status": "complete", "doses": []}, "does not match 0 dose"),
    ({"status": "none"}, "does not match 1 dose"),
    ({"status": "green"}, "status must be one of"),
    ({"name": ""}, "name must have 1 to 100"),
    ({"birth_date": datetime.datetime(1985, 3, 12)}, "birth_date must be a date"),
    ({"birth_date": "1985-03-12"}, "birth_date must be a date"),
    ({"issued_at": datetime.datetime(2026, 3, 15, 2, 30)}, "timezone-aware"),
    ({"doses": [dose(1, lot="")]}, "lot must be 1 to 32"),
    ({"doses": [dose(1, lot="L" * 33)]}, "lot must be 1 to 32"),
    ({"doses": [dose(1, vaccine="VAX\nZEVRIA")]}, "vaccine must be 1 to 32 printable"),
    ({"doses": [{**dose(1), "dose": 0}]}, "dose number"),
    ({"doses": [{**dose(1), "dose": True}]}, "dose number"),
    ({"doses": [dose(n) for n in range(1, 14)]}, "at most 12 doses"),
    ({"doses": ["2021-08-15"]}, "each dose must be a mapping"),
])
def test_data_the_format_cannot_carry_is_refused_when_signing(key, changes, message):
    with pytest.raises(ValueError, match=message):
        sign(certificate(**changes), key=key)


# --- what is refused, and why -------------------------------------------------------------------------------------

@pytest.mark.parametrize("find, replace", [("ABV5811", "ABV5812"), ('"s":1', '"s":2'), ("1985-03-12", "1985-03-13"),
                                           ("Minh", "Mính")])
def test_any_changed_content_breaks_the_signature(key, find, replace):
    prefix, body, signature = sign(certificate(), key=key).split(".")
    forged = unb64(body).decode("utf-8").replace(find, replace).encode("utf-8")
    assert forged != unb64(body)

    result = check(f"{prefix}.{b64(forged)}.{signature}", key)

    assert (result.valid, result.reason_code, result.data) == (False, BAD_SIGNATURE, None)
    assert result.message == "The signature does not match: the certificate was altered or is not genuine."


def test_every_changed_character_of_the_payload_is_refused(key):
    payload = sign(certificate(), key=key)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for index in range(5, len(payload)):
        if payload[index] == ".":
            continue
        changed = alphabet[(alphabet.index(payload[index]) + 1) % 64]
        result = check(payload[:index] + changed + payload[index + 1:], key)
        assert not result.valid, index


def test_a_signature_flipped_in_one_bit_or_cut_short_is_a_bad_signature(key):
    signed, signature = sign(certificate(), key=key).rsplit(".", 1)
    raw = bytearray(unb64(signature))
    raw[10] ^= 0x01

    assert check(f"{signed}.{b64(bytes(raw))}", key).reason_code == BAD_SIGNATURE
    assert check(f"{signed}.{b64(bytes(raw[:63]))}", key).reason_code == BAD_SIGNATURE


def test_a_signature_over_another_version_prefix_does_not_carry_over(key):
    payload = signed_text(key, unb64(sign(certificate(), key=key).split(".")[1]), prefix="VXC0")
    _prefix, body, signature = payload.split(".")

    assert check(f"VXC1.{body}.{signature}", key).reason_code == BAD_SIGNATURE


@pytest.mark.parametrize("payload", [
    "", "hello", "VXC1", "VXC1.", "VXC1.abc", "VXC1..c2ln", "VXC1.eyJ9.", "VXC1.a.b.c", "vxc1.abc.def",
    " VXC 1.abc.def", "https://example.org/VXC1.abc.def", "VXC1.abc.def" + "A" * 5000, None, b"VXC1.abc.def", 42,
])
def test_what_is_not_a_certificate_code_is_malformed(key, payload):
    result = check(payload, key)

    assert (result.valid, result.reason_code) == (False, MALFORMED)
    assert result.message == "This is not a vaccination certificate code."


@pytest.mark.parametrize("payload", ["VXC2.abc.def", "VXC0.abc.def", "VXC10.abc", "VXC2"])
def test_another_format_version_is_unknown(key, payload):
    assert check(payload, key).reason_code == UNKNOWN_VERSION


def test_a_scanners_line_end_is_ignored(key):
    assert check(sign(certificate(), key=key) + "\r\n", key).valid


@pytest.mark.parametrize("damage", [
    lambda body, signature: (body + "=", signature),  # padding
    lambda body, signature: (body, signature + "=="),
    lambda body, signature: (body.replace("e", "+", 1), signature),  # standard base64, not base64url
    lambda body, signature: (body, signature.replace(signature[3], "/", 1)),
    lambda body, signature: (body + "A" * ((1 - len(body)) % 4), signature),  # a length base64 never has
    lambda body, signature: (body[:-1] + "~", signature),
    lambda body, signature: (body, signature[:-1] + chr(ord(signature[-1]) ^ 1)),  # unused bits set
])
def test_a_part_that_is_not_strict_base64url_is_bad_base64(key, damage):
    prefix, body, signature = sign(certificate(), key=key).split(".")
    body, signature = damage(body, signature)

    result = check(f"{prefix}.{body}.{signature}", key)

    assert result.reason_code == BAD_BASE64
    assert result.message == "The certificate code is damaged: it holds characters that do not belong in it."


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'"k"', b"\xff\xfe{}", b'{"t": 1}', b'{"k": 7}'])
def test_a_body_that_is_not_a_json_object_with_a_key_id_is_bad_json(key, body):
    result = check(f"VXC1.{b64(body)}.{b64(bytes(64))}", key)

    assert result.reason_code == BAD_JSON
    assert result.message == "The certificate code is damaged: its content cannot be read."


def documented(key, **changes):
    fields = {"k": key.key_id, "t": 1773541845, "n": NAME, "b": "1985-03-12", "s": 1,
              "d": [["2021-08-15", "VAXZEVRIA", "ABV5811", 1]]}
    return json.dumps({**fields, **changes}, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("body", [
    lambda key: documented(key, x=1),
    lambda key: documented(key, s=3),
    lambda key: documented(key, s=True),
    lambda key: documented(key, s=2, d=[]),
    lambda key: documented(key, b="12/03/1985"),
    lambda key: documented(key, b="1985-02-30"),
    lambda key: documented(key, t="1773541845"),
    lambda key: documented(key, n=""),
    lambda key: documented(key, d=[["2021-08-15", "VAXZEVRIA", "ABV5811"]]),
    lambda key: documented(key, d=[["2021-08-15", "VAXZEVRIA", "ABV5811", 0]]),
    lambda key: documented(key, d="VAXZEVRIA"),
    lambda key: documented(key)[:-1] + f',"k":"{key.key_id}"}}'.encode(),  # a duplicate key
    lambda key: documented(key, t=float("nan")),
])
def test_a_genuinely_signed_body_that_is_not_a_version_1_certificate_is_bad_json(key, body):
    assert check(signed_text(key, body(key)), key).reason_code == BAD_JSON


def test_a_certificate_signed_by_another_key_is_from_an_unknown_key(key, tmp_path):
    other = load_or_create_key(tmp_path / "elsewhere")
    payload = sign(certificate(), key=other)

    result = check(payload, key)

    assert (result.valid, result.reason_code) == (False, UNKNOWN_KEY)
    assert result.message == "The certificate was signed with a key this system does not know."
    assert verify(payload, public_keys=[key.public_key, other.public_key]).valid  # e.g. after a key change


def test_a_forger_cannot_borrow_our_key_id(key):
    forger = SigningKey(Ed25519PrivateKey.generate())
    body = documented(key)  # claims our key id, signed by the forger

    assert check(signed_text(forger, body), key).reason_code == BAD_SIGNATURE


def test_public_keys_must_be_ed25519_public_keys(key):
    with pytest.raises(TypeError, match="Ed25519PublicKey"):
        verify(sign(certificate(), key=key), public_keys=[key.private_key])


# --- the key pair in the instance folder --------------------------------------------------------------------------

def test_the_key_is_made_once_with_mode_0600_and_shared_by_apps_on_the_same_instance_folder(make_app, tmp_path):
    first = make_app()
    path = Path(first.instance_path) / "certificate_signing_key.pem"
    with first.app_context():
        payload = sign(certificate())
        exported = signing.public_key_pem()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    pem = path.read_bytes()

    second = make_app()
    assert second.instance_path == first.instance_path
    with second.app_context():
        assert verify(payload).valid
        assert signing.public_key_pem() == exported
    assert path.read_bytes() == pem
    assert sorted(p.name for p in path.parent.iterdir() if "signing" in p.name) == ["certificate_signing_key.pem"]


def test_the_key_is_read_once_per_app_not_per_request(app):
    key = signing.signing_key(app)
    Path(app.instance_path, "certificate_signing_key.pem").unlink()

    assert signing.signing_key(app) is key
    with app.app_context():
        assert verify(sign(certificate())).valid


def test_init_app_loads_the_key_at_start_up(app):
    signing.init_app(app)

    assert Path(app.instance_path, "certificate_signing_key.pem").exists()


def test_a_key_file_other_users_can_read_is_refused(tmp_path):
    key = load_or_create_key(tmp_path)
    key.path.chmod(0o644)

    with pytest.raises(SigningKeyError, match=r"can be read by other users .*chmod 600"):
        load_or_create_key(tmp_path)


@pytest.mark.parametrize("content", [b"", b"not a key",
                                     b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"])
def test_a_damaged_key_file_is_refused_not_replaced(tmp_path, content):
    path = tmp_path / "certificate_signing_key.pem"
    path.write_bytes(content)
    path.chmod(0o600)

    with pytest.raises(SigningKeyError, match="not an unencrypted PEM private key"):
        load_or_create_key(tmp_path)
    assert path.read_bytes() == content


def test_a_key_of_another_kind_is_refused(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "certificate_signing_key.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    path.chmod(0o600)

    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        load_or_create_key(tmp_path)


_barrier = None


def _remember_barrier(barrier):
    global _barrier
    _barrier = barrier


def _first_use(folder):
    _barrier.wait(timeout=60)  # every worker starts its first use at the same moment
    return load_or_create_key(folder).key_id


def test_workers_starting_together_end_with_one_key(tmp_path):
    workers = 4
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(workers)
    with context.Pool(workers, initializer=_remember_barrier, initargs=(barrier,)) as pool:
        for attempt in range(8):
            folder = tmp_path / f"instance{attempt}"
            key_ids = pool.map(_first_use, [str(folder)] * workers, chunksize=1)

            assert len(set(key_ids)) == 1, key_ids
            assert [p.name for p in folder.iterdir()] == ["certificate_signing_key.pem"]  # no temporary file left
            assert load_or_create_key(folder).key_id == key_ids[0]
            assert stat.S_IMODE((folder / "certificate_signing_key.pem").stat().st_mode) == 0o600


# --- what a third party does, with the public key only ------------------------------------------------------------

def third_party_verify(payload, public_key):
    """docs/certificates.md, "In Python, with only the public key", step by step."""
    signed, signature = payload.strip().rsplit(".", 1)
    prefix, body = signed.split(".")
    assert prefix == "VXC1"
    public_key.verify(unb64(signature), signed.encode("ascii"))  # raises InvalidSignature
    return json.loads(unb64(body).decode("utf-8"))


def test_a_third_party_verifies_with_the_exported_public_key_alone(app):
    with app.app_context():
        payload = sign(certificate(status="complete", doses=[dose(1), dose(2)]))
        pem, raw, key_id = signing.public_key_pem(), signing.public_key_raw(), signing.key_id()

    assert pem.startswith("-----BEGIN PUBLIC KEY-----\n") and len(raw) == 43 and len(key_id) == 11
    raw_key = Ed25519PublicKey.from_public_bytes(unb64(raw))
    assert b64(hashlib.sha256(unb64(raw)).digest()[:8]) == key_id
    for public_key in (load_pem_public_key(pem.encode("ascii")), raw_key):
        content = third_party_verify(payload, public_key)
        assert content == {"k": key_id, "t": 1773541845, "n": NAME, "b": "1985-03-12", "s": 2,
                           "d": [["2021-08-15", "VAXZEVRIA", "ABV5811", 1], ["2021-09-12", "VAXZEVRIA", "ABV5811", 2]]}
    forged = payload.replace(payload.split(".")[1], b64(documented(SigningKey(Ed25519PrivateKey.generate()))))
    with pytest.raises(InvalidSignature):
        third_party_verify(forged, raw_key)


def test_the_documented_test_vector_verifies_with_the_documented_key():
    text = (ROOT / "docs" / "certificates.md").read_text(encoding="utf-8")
    vector = text.split("### Test vector", 1)[1]
    pem = re.search(r"-----BEGIN PUBLIC KEY-----\n.*?\n-----END PUBLIC KEY-----\n", vector, re.S).group(0)
    raw = re.search(r"Raw public key \(base64url\): `([^`]+)`, key id `([^`]+)`", vector)
    payload = re.search(r"```\n(VXC1\.[^\n]+)\n```", vector).group(1)
    body = re.search(r"```json\n(.+?)\n```", vector).group(1)
    public_key = signing.public_key_from_pem(pem)

    assert signing.public_key_from_raw(raw.group(1)).public_bytes_raw() == public_key.public_bytes_raw()
    assert signing.key_id_of(public_key) == raw.group(2)
    assert third_party_verify(payload, public_key) == json.loads(body)
    result = verify(payload, public_keys=[public_key])
    assert result.valid and result.data["name"] == NAME and result.data["key_id"] == raw.group(2)
    assert verify(payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1],
                  public_keys=[public_key]).reason_code == BAD_SIGNATURE
