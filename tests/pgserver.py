"""A throwaway PostgreSQL server on 127.0.0.1 for tests and benchmarks: `initdb` in a temporary folder and
`pg_ctl start` on a free port, trust authentication, stopped (and deleted) at the end.

    with PgServer.start_new(tmp_path) as server:
        url = server.create_database("recorder")      # postgresql://recorder@127.0.0.1:PORT/recorder

Needs PostgreSQL's server programs (Debian: `apt-get install postgresql`; they live in
/usr/lib/postgresql/N/bin). As root, the server runs as the `postgres` user (initdb refuses root).
`PgServer.available()` says why not when it cannot run here.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "recorder"


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One PostgreSQL cluster in `folder`, listening on 127.0.0.1:`port` (and a socket in the folder)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = Path(folder)
        self.data = self.folder / "data"
        self.port = port or _free_port()
        self.as_user = None
        if os.geteuid() == 0:
            try:
                self.as_user = pwd.getpwnam("postgres")
            except KeyError:
                self.as_user = None

    @staticmethod
    def available() -> str | None:
        """None when a server can run here, else why not (one line)."""
        if not _bin("initdb") or not _bin("pg_ctl"):
            return (
                "PostgreSQL's server programs (initdb, pg_ctl) are not installed (apt-get install postgresql)"
            )
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "running as root and there is no 'postgres' user to run the server as"
        try:
            import psycopg  # noqa: F401
        except ImportError:
            return "psycopg is not installed (pip install 'psycopg[binary]')"
        return None

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.as_user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=timeout)

    def init(self) -> PgServer:
        if self.as_user is not None:  # the server's user must reach its folder: not below root's private ones
            self.folder = Path(tempfile.mkdtemp(prefix="recorder-pg-"))
            self.data = self.folder / "data"
            os.chown(self.folder, self.as_user.pw_uid, self.as_user.pw_gid)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._run(_bin("initdb") or "initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8",
                  "--no-instructions")  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.folder}'\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n"
                "shared_buffers = 64MB\nlog_min_messages = fatal\n"
            )
        return self

    def start(self) -> PgServer:
        self._run(
            _bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "start"
        )
        self._wait()
        return self

    def stop(self, mode: str = "fast") -> None:
        self._run(_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self._run(_bin("pg_ctl") or "pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "restart",
                  "-l", str(self.folder / "log"))  # fmt: skip
        self._wait()

    def _wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"PostgreSQL did not start on port {self.port}: {self.log()[-2000:]}")

    def log(self) -> str:
        try:
            return (self.folder / "log").read_text(errors="replace")
        except OSError:
            return ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def sql(self, statement: str, database: str = "postgres") -> None:
        """Run one statement as the superuser (autocommit)."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(statement)

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        self.sql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    @classmethod
    def start_new(cls, folder: Path) -> PgServer:
        return cls(folder).init().start()

    def __enter__(self) -> PgServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)
