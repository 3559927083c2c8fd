"""A throwaway PostgreSQL cluster for tests: initdb in a temp folder, a free port, gone after."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pwd

SUPERUSER = "madoguchi"
# Users a cluster may run as when the tests run as root (initdb refuses root), in order.
_UNPRIVILEGED_USERS = ("postgres", "nobody")
# Durability is pointless for a cluster deleted after the run; without fsync it is much faster.
_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off",
                  "max_connections=200")
_START_ATTEMPTS = 3


class PostgresUnavailableError(Exception):
    """No cluster can be started here; the message is the reason a skipped test shows."""


def find_bin_dir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: PATH first, then Debian's versioned folders."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    for folder in reversed(candidates):
        if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
            return folder
    return None


def _runner() -> tuple[list[str], pwd.struct_passwd | None]:
    """The command prefix that drops root (initdb refuses it), and the user it becomes."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [], None
    import pwd  # POSIX only, and only needed as root

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PostgresUnavailableError("PostgreSQL cannot run as root and setpriv is not installed")
    for name in _UNPRIVILEGED_USERS:
        try:
            user = pwd.getpwnam(name)
        except KeyError:
            continue
        return [setpriv, f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                "--clear-groups"], user
    raise PostgresUnavailableError("PostgreSQL cannot run as root and no unprivileged user exists")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class PostgresCluster:
    """A running cluster; the superuser ``madoguchi`` connects over loopback without password.

    Attributes:
        root: The temp folder holding the data directory, socket and log.
        port: The TCP port on 127.0.0.1.
    """

    root: Path
    port: int
    _bin: Path = field(repr=False)
    _prefix: list[str] = field(repr=False)
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database of this cluster (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        conninfo = f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(sql.encode("ascii"))

    def create_database(self, template: str | None = None) -> str:
        """Create a new database (empty, or a copy of ``template``); return its name."""
        name = f"db{os.getpid()}_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing connections a test left open."""
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server at once and delete the folder."""
        subprocess.run([*self._prefix, str(self._bin / "pg_ctl"), "-D", str(self.root / "data"),
                        "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> PostgresCluster:
    """initdb a cluster in a new temp folder and start it on a free loopback port.

    Returns:
        The running cluster; call ``stop()`` when done.

    Raises:
        PostgresUnavailableError: PostgreSQL is not installed, cannot run here, or did not start.
    """
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailableError("PostgreSQL not installed: initdb not found")
    prefix, user = _runner()
    # Not pytest's tmp_path: that lives under a 0700 folder of the current user, which the
    # unprivileged server user could not enter. A short path also keeps the socket name valid.
    root = Path(tempfile.mkdtemp(prefix="madoguchi-pg-"))
    try:
        if user is not None:
            os.chown(root, user.pw_uid, user.pw_gid)
        initdb = subprocess.run(
            [*prefix, str(bin_dir / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER,
             "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
            capture_output=True, text=True, check=False,
        )
        if initdb.returncode != 0:
            raise PostgresUnavailableError(f"initdb failed: {initdb.stderr.strip()[-300:]}")
        for _ in range(_START_ATTEMPTS):
            port = _free_port()  # another process may take it first: then try another
            options = " ".join([f"-p {port}", f"-k {root}", "-c listen_addresses=127.0.0.1",
                                *(f"-c {setting}" for setting in _FAST_SETTINGS)])
            started = subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(root / "data"),
                 "-l", str(root / "server.log"), "-w", "-t", "30", "-o", options, "start"],
                capture_output=True, text=True, check=False,
            )
            if started.returncode == 0:
                return PostgresCluster(root=root, port=port, _bin=bin_dir, _prefix=prefix)
        log = root / "server.log"
        tail = log.read_text(errors="replace")[-300:] if log.exists() else started.stderr
        raise PostgresUnavailableError(f"PostgreSQL did not start: {tail.strip()}")
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(root)
        raise
