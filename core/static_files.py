"""Static files (the core's and every module's and plugin's blueprint ``static`` folder), served by WhiteNoise
in front of Flask: without a session, the access rules or a database, with the right caching.

``url_for("static", filename="vaxchain.css")`` gives ``/static/vaxchain.<hash>.css``, the file's name with
the hash of its content: a new version is a new URL, so browsers and proxies may keep each one for good
(``Cache-Control: max-age=315360000, public, immutable``) and never ask again. The versioned copies, and
gzip copies of the text files, are written at start-up into the instance folder (``static-versions/``),
where WhiteNoise finds them; every machine names a file alike, as the name depends on the content only.
The plain names (``/static/vaxchain.css``) are still served, cached briefly: someone may have linked one.
"""
import gzip
import hashlib
import os
from pathlib import Path

from whitenoise import WhiteNoise

BUILD_FOLDER = "static-versions"
PLAIN_MAX_AGE = 300  # seconds a plain (unversioned) name may be cached: it changes with the next release
HASH_LENGTH = 12
COMPRESSED_SUFFIXES = {".css", ".js", ".svg", ".json", ".txt", ".html", ".xml", ".map"}
WORTH_COMPRESSING = 0.95  # keep the gzip copy only if it saves at least 5 %


def init_app(app):
    """Serve every static folder of ``app`` (call after the blueprints are registered)."""
    build = Path(app.instance_path) / BUILD_FOLDER
    versions = {}
    server = WhiteNoise(app.wsgi_app, max_age=PLAIN_MAX_AGE, allow_all_origins=False,
                        add_headers_function=add_headers,
                        immutable_file_test=lambda path, _url: Path(path).is_relative_to(build))
    for endpoint, folder, prefix in static_folders(app):
        server.add_files(folder, prefix)
        for source in sorted(path for path in Path(folder).rglob("*") if path.is_file()):
            name = source.relative_to(folder).as_posix()
            versioned = versioned_name(name, source.read_bytes())
            publish(source, build / prefix.strip("/") / versioned)
            versions[endpoint, name] = versioned
    if versions:
        server.add_files(build, "/")
    app.wsgi_app = server
    app.extensions["vaxchain_static"] = versions

    @app.url_defaults
    def versioned_url(endpoint, values):
        name = versions.get((endpoint, values.get("filename")))
        if name is not None:
            values["filename"] = name


def static_folders(app):
    """``(endpoint, folder, URL prefix)`` of the app's and each blueprint's static folder."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static" and not rule.endpoint.endswith(".static"):
            continue
        owner = app if rule.endpoint == "static" else app.blueprints[rule.endpoint.rpartition(".")[0]]
        if owner.static_folder and os.path.isdir(owner.static_folder):
            yield rule.endpoint, owner.static_folder, rule.rule.removesuffix("<path:filename>")


def source_files(app):
    """Every static file of ``app`` (the development server reloads when one changes)."""
    return [str(path) for _endpoint, folder, _prefix in static_folders(app)
            for path in Path(folder).rglob("*") if path.is_file()]


def versioned_name(name, content):
    digest = hashlib.sha256(content).hexdigest()[:HASH_LENGTH]
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{digest}.{suffix}" if dot and "/" not in suffix else f"{name}.{digest}"


def publish(source, target):
    """Write the versioned copy (and its gzip copy) once: a name stands for one content."""
    if target.exists():
        return
    content = source.read_bytes()
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix in COMPRESSED_SUFFIXES:
        compressed = gzip.compress(content, compresslevel=9, mtime=0)
        if len(compressed) <= WORTH_COMPRESSING * len(content):
            write_atomically(Path(f"{target}.gz"), compressed)
    write_atomically(target, content)  # last: its presence says both are complete


def write_atomically(path, content):
    """Several workers may start at once: each writes its own temporary file, then renames it in place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def add_headers(headers, _path, _url):
    headers["X-Content-Type-Options"] = "nosniff"  # as on every page (core/app.py)
