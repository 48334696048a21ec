"""A big file is read and checked in a process of its own, a chunk ahead of the importer, which meanwhile
reads and writes the database: two cores at work instead of one (reading and checking are as much work
as the database's). The process needs no database: it gets the :class:`~.checking.Context`, and the
translation catalogs and language for its messages.

It is a plain ``python -c`` child, not a multiprocessing one: that would import the parent's main script
again (a gunicorn worker, the ``vaxchain`` command, a user's script). Items come back pickled on a pipe of
their own, each after its length. A thread of the importer drains the pipe into a queue of
:data:`QUEUED_ITEMS`: either process may pause for a while (a checkpoint of SQLite's WAL, a slow query)
without stopping the other, which a pipe (1 MB at most) could not absorb; the full queue holds the
worker back when the importer is behind, so memory stays bounded.
"""
import contextlib
import fcntl
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
from datetime import date
from operator import attrgetter

from flask import Flask, current_app
from flask_babel import Babel, force_locale, get_locale

from core.collector import fewer_collections
from core.service_errors import ServiceError
from modules.injection import people
from modules.injection.backlog.checking import Dose, LotRef, Row, check_file
from modules.injection.backlog.reader import FileRefused

IN_PROCESS_MAX_BYTES = 1024 * 1024  # smaller files (about 10 000 rows) are checked in the importer's process


def checked_chunks(path, filename, context):
    """:func:`~.checking.check_file`'s items, checked here for a small file, in a worker process for a big one."""
    if os.path.getsize(path) <= IN_PROCESS_MAX_BYTES:
        return check_file(path, filename, context)
    return from_worker(path, filename, context)


PIPE_BYTES = 1024 * 1024  # Linux's default is 64 KB; more needs privileges (/proc/sys/fs/pipe-max-size)
QUEUED_ITEMS = 2  # chunks read ahead of the importer, each about 2 MB pickled (checking.CHUNK_ROWS rows)
LENGTH = struct.Struct("<Q")  # before each pickled item


def from_worker(path, filename, context):
    reading, writing = os.pipe()
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):  # above /proc/sys/fs/pipe-max-size: the default buffer, slower
            fcntl.fcntl(writing, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    command = [sys.executable, "-c", f"from {__name__} import main; main()", str(writing)]
    worker = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=[writing],
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    os.close(writing)
    items, stop = queue.Queue(QUEUED_ITEMS), threading.Event()
    drain = threading.Thread(target=drain_pipe, args=(os.fdopen(reading, "rb"), items, stop), daemon=True,
                             name="backlog-checked-rows")
    drain.start()
    try:
        with worker.stdin:
            pickle.dump((str(path), filename, context, current_app.config["BABEL_TRANSLATION_DIRECTORIES"],
                         str(get_locale())), worker.stdin)
        while True:
            message = items.get()
            if message is None:
                raise RuntimeError(f"the checking process ended with status {worker.wait()}")
            kind, item = pickle.loads(message)
            if kind == "done":
                return
            if kind == "refused":
                raise FileRefused(*item)
            if kind == "error":
                raise RuntimeError(f"the checking process failed: {item}")
            yield from_wire(item) if isinstance(item, list) else item
    finally:
        stop.set()
        if worker.poll() is None:
            worker.kill()  # the import stopped early: the rest of the file is not needed
        worker.wait()
        drain.join()


def drain_pipe(pipe, items, stop):
    """The pipe's messages into ``items`` until the worker's end (then ``None``), or until told to ``stop``."""
    with pipe:
        while not stop.is_set():
            head = pipe.read(LENGTH.size)
            size = LENGTH.unpack(head)[0] if len(head) == LENGTH.size else 0
            message = pipe.read(size) if size else b""
            if not message or len(message) != size:
                message = None  # the worker ended (or was killed), perhaps in the middle of a message
            while not stop.is_set():
                try:
                    items.put(message, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if message is None:
                return


def work(items, path, filename, context, directories, locale):
    """The worker: check the file, sending each item."""
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = directories
    Babel(app)
    with app.app_context(), force_locale(locale):
        try:
            for item in check_file(path, filename, context):
                send(items, "item", to_wire(item) if isinstance(item, list) else item)
            send(items, "done", None)
        except ServiceError as error:  # FileRefused, mostly
            send(items, "refused", (error.message, error.code))
        except Exception as error:  # noqa: BLE001 (told to the importer, which stops)
            send(items, "error", repr(error))
            raise


def send(items, kind, item):
    message = pickle.dumps((kind, item), protocol=pickle.HIGHEST_PROTOCOL)
    items.write(LENGTH.pack(len(message)))
    items.write(message)
    items.flush()


def main():
    """The worker process's entry: its arguments pickled on stdin, its items to the pipe named by argv."""
    with os.fdopen(int(sys.argv[1]), "wb") as pipe, fewer_collections():
        work(pipe, *pickle.load(sys.stdin.buffer))


# --- Checked rows between the processes ------------------------------------------------------------
# Checked rows travel from the worker process as tuples of plain values: pickling the dataclasses cost
# 40 µs a row, more than checking it. A dose's tuple is made once per Dose the checker made (most rows
# share theirs: see RowChecker.dose), so pickle sends it once per chunk and the importer makes one Dose
# of it; dates go as ordinals (dates pickle slowly), each made once per chunk.

PERSON_FIELDS = tuple(people.PersonData.__dataclass_fields__)
PERSON_VALUES = attrgetter(*PERSON_FIELDS)
BIRTH = PERSON_FIELDS.index("date_of_birth")


def to_wire(rows):
    wired = {}  # id of a Dose → its tuple, for this chunk (the Doses live as long as the rows)

    def dose_tuple(dose):
        found = wired.get(id(dose))
        if found is None:
            found = wired[id(dose)] = (dose.number, dose.vaccine_id, dose.day.toordinal(), dose.lot.id,
                                       dose.lot.presentation_id, dose.site_id)
        return found

    return [(row.number, row.values, None if row.person is None else person_tuple(row.person),
             [dose_tuple(dose) for dose in row.doses], row.notes, row.errors, row.id_kind) for row in rows]


def person_tuple(person):
    values = list(PERSON_VALUES(person))
    values[BIRTH] = values[BIRTH].toordinal()
    return values


def from_wire(items):
    rows, doses, days = [], {}, {}
    for number, values, person, wired, notes, errors, id_kind in items:
        if person is not None:
            born = person[BIRTH]
            person[BIRTH] = days.get(born) or days.setdefault(born, date.fromordinal(born))
            person = people.PersonData(*person)
        rows.append(Row(number, values, person, [doses.get(dose) or doses.setdefault(dose, dose_of(dose))
                                                 for dose in wired], notes, errors, id_kind))
    return rows


def dose_of(wired):
    number, vaccine_id, day, lot_id, presentation_id, site_id = wired
    return Dose(number, vaccine_id, date.fromordinal(day), LotRef(lot_id, presentation_id), site_id)
