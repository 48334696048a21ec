"""vaxchain's Babel catalogs (``vi`` first, then ``en``) and the one function that compiles them.

Importable without Flask, so the build (setup.py), the app at start-up and the tests share it.
"""
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

DIRECTORY = Path(__file__).resolve().parent


def compile_catalogs(directory=DIRECTORY):
    """Compile every ``<lang>/LC_MESSAGES/*.po`` under ``directory`` whose ``.mo`` is missing or older.

    Fuzzy entries are left out, as ``pybabel compile`` does. Returns the paths written.
    """
    written = []
    for po_path in sorted(Path(directory).glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        # A temporary file of this process's own, then an atomic rename: a worker never reads a half-written
        # catalog, and workers starting together (gunicorn) do not take each other's file.
        try:
            handle = tempfile.NamedTemporaryFile(dir=mo_path.parent, prefix=mo_path.name, suffix=".tmp", delete=False)
        except PermissionError:
            if mo_path.exists():  # an installed copy the service user cannot write: pip's dates, not a change
                continue
            raise
        with handle:
            write_mo(handle, catalog)
        Path(handle.name).replace(mo_path)
        written.append(mo_path)
    return written


def extract_manifest(fileobj, keywords, comment_tags, options):
    """Babel extractor for ``__manifest__.py``: the summary and description shown in the modules list."""
    import ast

    manifest = ast.literal_eval(fileobj.read().decode("utf-8"))
    for key in ("summary", "description"):
        if manifest.get(key):
            yield 1, None, manifest[key], []
