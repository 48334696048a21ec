"""Vietnamese first: complete catalogs, the language choice, dates dd/mm/yyyy and Vietnamese numbers."""
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask_babel import force_locale

from core import roles
from core.i18n import format_day, format_moment, format_number
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = [  # (folder scanned for strings, babel.cfg, the Vietnamese catalog)
    (ROOT, ROOT / "translations" / "babel.cfg", ROOT / "translations" / "vi" / "LC_MESSAGES" / "messages.po"),
] + [
    (plugin, plugin / "babel.cfg", plugin / "translations" / "vi" / "LC_MESSAGES" / "messages.po")
    for plugin in sorted((ROOT / "plugins").glob("*")) if (plugin / "babel.cfg").exists()
]


def source_messages(folder, config):
    with open(config, encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(folder), method_map, options_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.mark.parametrize("folder, config, po_path", CATALOGS, ids=lambda v: str(v)[-60:])
def test_every_string_in_the_code_is_translated_into_vietnamese(folder, config, po_path):
    with open(po_path, "rb") as handle:
        catalog = read_po(handle, locale="vi")
    missing = sorted(m for m in source_messages(folder, config) if m not in catalog)
    untranslated = sorted(m.id for m in catalog if m.id and not m.string)
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert missing == [], f"not in {po_path.name} (run `make messages`): {missing}"
    assert untranslated == [], f"untranslated: {untranslated}"
    assert fuzzy == [], f"fuzzy: {fuzzy}"


def test_the_login_page_is_vietnamese_by_default(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="vi">' in page and "Đăng nhập" in page and "Tên đăng nhập" in page


def test_the_browser_language_is_respected(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page


def test_lang_parameter_beats_the_browser_language(client):
    page = client.get("/login?lang=vi", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Tên đăng nhập" in page


def test_language_switcher_before_login_is_remembered(client):
    client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf_token(client)})
    assert "Username" in client.get("/login").get_data(as_text=True)


def test_users_preference_beats_everything_else(client, login_as):
    login_as(roles.VIEWER)
    client.post("/language", data={"lang": "en", "next": "/", "csrf_token": csrf_token(client, "/")})
    page = client.get("/?lang=vi", headers={"Accept-Language": "vi"}).get_data(as_text=True)
    assert "Hello" in page and "Xin chào" not in page


def test_an_unknown_language_changes_nothing(client, login_as):
    login_as(roles.VIEWER)
    client.post("/language", data={"lang": "xx", "csrf_token": csrf_token(client, "/")})
    assert "Xin chào" in client.get("/").get_data(as_text=True)


def test_error_pages_are_translated(client):
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "Không tìm thấy trang" in page


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_dates_are_day_month_year_in_every_language(app, locale):
    with app.test_request_context(), force_locale(locale):
        assert format_day(date(2026, 1, 5)) == "05/01/2026"


def test_moments_are_shown_in_vietnam_time(app):
    with app.test_request_context(), force_locale("vi"):
        assert format_moment(datetime(2026, 1, 5, 20, 30, tzinfo=UTC)) == "06/01/2026 03:30"


def test_numbers_use_vietnamese_separators(app):
    with app.test_request_context():
        with force_locale("vi"):
            assert format_number(1234567.5) == "1.234.567,5"
        with force_locale("en"):
            assert format_number(1234567.5) == "1,234,567.5"


def test_workers_starting_together_compile_the_catalogs_without_tripping_on_each_other(tmp_path):
    """gunicorn starts its workers at once, each compiling the stale catalogs at start-up."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    import translations

    folder = tmp_path / "translations"
    shutil.copytree(translations.DIRECTORY / "vi", folder / "vi", ignore=shutil.ignore_patterns("*.mo"))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _n: translations.compile_catalogs(folder), range(8)))
    assert any(results)
    assert sorted(path.name for path in (folder / "vi" / "LC_MESSAGES").iterdir()) == ["messages.mo", "messages.po"]


def test_an_installed_catalog_the_service_user_cannot_write_is_used_as_it_is(tmp_path, monkeypatch):
    """pip may date the .po after the .mo it installed beside it, in a folder the service user cannot write
    (refused as the OS refuses it: CI runs as root, who writes anywhere)."""
    import os
    import shutil

    import translations

    def read_only_folder(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")

    folder = tmp_path / "translations"
    shutil.copytree(translations.DIRECTORY / "vi", folder / "vi")
    installed = folder / "vi" / "LC_MESSAGES" / "messages.mo"
    os.utime(installed, (1, 1))
    monkeypatch.setattr(translations.tempfile, "NamedTemporaryFile", read_only_folder)
    assert translations.compile_catalogs(folder) == []
    installed.unlink()
    with pytest.raises(PermissionError):  # with no catalog at all, the app cannot start: say so
        translations.compile_catalogs(folder)
