"""A throw-away PostgreSQL server for the gradebook tests (marker `postgres`, make test-postgres).

`running_server()` runs `initdb` in a fresh temporary folder, starts `postgres` on a unix
socket in that folder (no TCP port, so parallel runs cannot collide), yields a `Server`, and
stops the server and deletes the folder at the end, whatever happened. PostgreSQL refuses to
run as root, so under root the server programs run as the unprivileged user `nobody`.
The server programs come from PATH, else from the newest /usr/lib/postgresql/*/bin.
"""
import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PROGRAMS = ("initdb", "pg_ctl")
# Where Debian and Ubuntu install the server programs (one folder per major version).
PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
# Settings of the throw-away server: socket only, no durability (it is deleted at the end), and
# a connection limit as small as a modest production server's, so a run that leaks
# connections fails here rather than in a large class.
SERVER_SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "40",
    "log_min_messages": "warning",
}
INSTALL_HINT = ("install the PostgreSQL server programs (Debian/Ubuntu: apt-get install "
                "postgresql) or put the folder holding initdb and pg_ctl on PATH, then rerun "
                "make test-postgres")


@dataclass
class Server:
    folder: Path        # data/, the socket and server.log
    socket_dir: Path

    def url(self, database, password=None):
        """SQLAlchemy URL of `database` (plain `postgresql://`: SQLAlchemy's default driver)."""
        auth = SUPERUSER + (f":{password}" if password else "")
        return f"postgresql://{auth}@/{database}?host={self.socket_dir}"

    def connect(self, database="postgres"):
        """A psycopg connection (autocommit) as the superuser."""
        psycopg = _import_driver()
        return psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname=database,
                               autocommit=True)

    def create_database(self, name):
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def log_tail(self, chars=3000):
        try:
            return (self.folder / "server.log").read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"


def find_programs():
    """{name: path} of initdb and pg_ctl; fails the test with what to install if missing."""
    found = {name: shutil.which(name) for name in PROGRAMS}
    if not all(found.values()):
        versions = sorted(PG_ROOT.glob("*/bin"),
                          key=lambda p: _version_key(p.parent.name))
        for bindir in reversed(versions):
            if all((bindir / name).is_file() for name in PROGRAMS):
                found = {name: str(bindir / name) for name in PROGRAMS}
                break
    missing = [name for name, path in found.items() if not path]
    if missing:
        pytest.fail(f"tests/autograde/postgres.py: PostgreSQL server program(s) {missing} not "
                    f"found on PATH or in /usr/lib/postgresql/*/bin; {INSTALL_HINT}",
                    pytrace=False)
    return found


def _version_key(name):
    return tuple(int(part) if part.isdigit() else 0 for part in name.split("."))


def _import_driver():
    try:
        import psycopg
    except ImportError:
        pytest.fail("tests/autograde/postgres.py: the PostgreSQL driver psycopg is not installed "
                    "in this interpreter; run make venv (requirements.txt pins psycopg and "
                    "psycopg-binary)", pytrace=False)
    return psycopg


def _server_user():
    """subprocess keyword arguments that run a program as the server's user."""
    if os.geteuid() != 0:
        return {}
    try:
        nobody = pwd.getpwnam("nobody")
        uid, gid = nobody.pw_uid, nobody.pw_gid
    except KeyError:
        uid = gid = 65534
    return {"user": uid, "group": gid, "extra_groups": []}


@contextlib.contextmanager
def running_server():
    """Start a throw-away PostgreSQL server; yields a Server; stops and deletes it at the end."""
    programs = find_programs()
    _import_driver()
    as_user = _server_user()
    # Under root the folder must be reachable by `nobody`: /tmp, not a root-only TMPDIR.
    folder = Path(tempfile.mkdtemp(prefix="ck-pg-", dir="/tmp" if as_user else None))
    if as_user:
        os.chown(folder, as_user["user"], as_user["group"])
    server = Server(folder=folder, socket_dir=folder)
    data = folder / "data"
    env = {**os.environ, "LC_ALL": "C", "TZ": "UTC"}
    env.pop("PGDATA", None)

    def run(*args, check=True, timeout=120):
        proc = subprocess.run(list(args), capture_output=True, text=True, env=env, cwd=folder,
                              timeout=timeout, **as_user)
        if check and proc.returncode != 0:
            pytest.fail(f"tests/autograde/postgres.py: {' '.join(map(str, args[:2]))} failed "
                        f"(exit {proc.returncode}):\n{proc.stdout[-2000:]}\n"
                        f"{proc.stderr[-2000:]}\nserver log:\n{server.log_tail()}",
                        pytrace=False)
        return proc

    started = False
    try:
        run(programs["initdb"], "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--no-sync",
            "-E", "UTF8", "--locale=C")
        conf = "".join(f"{key} = {value}\n" for key, value in SERVER_SETTINGS.items())
        conf += f"unix_socket_directories = '{server.socket_dir}'\n"
        with open(data / "postgresql.conf", "a") as out:
            out.write(conf)
        started = True
        run(programs["pg_ctl"], "-D", str(data), "-l", str(folder / "server.log"), "-w",
            "-t", "60", "start")
        yield server
    finally:
        if started:
            stop = run(programs["pg_ctl"], "-D", str(data), "-m", "fast", "-w", "-t", "60",
                       "stop", check=False)
            if stop.returncode != 0 and (data / "postmaster.pid").exists():
                run(programs["pg_ctl"], "-D", str(data), "-m", "immediate", "-w", "stop",
                    check=False)
        shutil.rmtree(folder, ignore_errors=True)
