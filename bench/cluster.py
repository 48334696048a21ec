"""A throwaway PostgreSQL cluster for benchmarks: initdb in a temp folder, started on a free port with
``pg_stat_statements`` loaded, stopped and removed afterwards."""
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")


class Cluster:
    """PostgreSQL 15 in a temp folder, run as the postgres user when we are root (it refuses root)."""

    def __init__(self, fsync):
        self.folder = Path(tempfile.mkdtemp(prefix="vaxchain-bench-pg-"))
        self.data, self.port = self.folder / "data", free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self.run(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
                 "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                   f"-c shared_preload_libraries=pg_stat_statements -c fsync={fsync} "
                   f"-c synchronous_commit={fsync}")
        self.run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.folder / "log", "-w", "start", "-o", options)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *command):
        subprocess.run(self.as_postgres + [str(part) for part in command], check=True, capture_output=True)

    def postmaster(self):
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def stop(self):
        self.run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
