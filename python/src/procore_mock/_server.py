"""Starting and stopping the bundled ``procore-mock`` binary.

The wheel installs the binary beside the Python scripts of the environment (maturin's ``bin``
bindings); :func:`serve` runs it on a free port, waits for its one ready line on stdout, and
stops it with SIGTERM (a graceful shutdown, which also writes a state file) when the block ends.
On Linux the mock also gets SIGTERM when the Python process that started it dies without
stopping it (a SIGKILLed pytest), so it never outlives its parent holding its port.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit

from ._admin import AdminApi
from ._defaults import DEFAULT_CLIENT, DEFAULT_COMPANY_ID

__all__ = ["BINARY_ENV", "ProcoreMock", "ProcoreMockError", "find_binary", "serve"]

#: Environment variable naming a ``procore-mock`` binary to run instead of the bundled one
#: (for instance a ``cargo build`` of a branch).
BINARY_ENV = "PROCORE_MOCK_BINARY"

_BINARY_NAME = "procore-mock.exe" if os.name == "nt" else "procore-mock"
# What the binary prints to stdout, once, when it accepts connections.
_READY_LINE = re.compile(r"procore-mock listening on (?P<url>http://\S+)")
# The binary's own settings come from its flags here, never from the caller's environment.
_SERVER_ENV_PREFIX = "PROCORE_MOCK_"

Profile = Literal["documented", "official"]

#: A duration option: seconds, or a :class:`~datetime.timedelta`.
Duration = float | timedelta

# What the mock's --shutdown-grace is when not given, and how much longer stop() waits for the
# mock to save its state and exit after that grace has run out, before it kills the mock.
_DEFAULT_SHUTDOWN_GRACE = 10.0
_STOP_MARGIN = 10.0

# prctl(2) option: the signal the calling process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


class ProcoreMockError(Exception):
    """The mock could not be found or started, or did not stop cleanly.

    The message carries what the mock wrote to stderr (for instance
    ``invalid fixture at 'companies[0].users[4].vendor_id': ...``).
    """


class ProcoreMock(AdminApi):
    """A running ``procore-mock`` process: its URL, the default credentials, and the admin
    helpers of :class:`procore_mock.AdminApi` (clock, reset, rate limits, faults, journal,
    state).

    Made by :func:`serve` and by the ``procore_mock`` / ``procore_mock_session`` pytest
    fixtures, which also stop it.

    Attributes:
        url: the base URL, e.g. ``http://127.0.0.1:38411``; OAuth and REST share it.
        client_id: the default data's Directory Admin app (``procore-mock-client``).
        client_secret: its secret (``procore-mock-secret``).
        company_id: the default data's company with the apps installed (8001).
    """

    client_id: str = DEFAULT_CLIENT.client_id
    client_secret: str = DEFAULT_CLIENT.client_secret
    company_id: int = DEFAULT_COMPANY_ID

    def __init__(self, url: str, process: _MockProcess, admin_token: str | None) -> None:
        super().__init__(url, admin_token=admin_token)
        self._process = process

    def __repr__(self) -> str:
        return f"<ProcoreMock {self.url} pid={self.pid}>"

    @property
    def port(self) -> int:
        """The port the mock listens on (a free one picked at start, unless chosen)."""
        port = urlsplit(self.url).port
        assert port is not None, "the ready line always names the port"
        return port

    @property
    def pid(self) -> int:
        """The process id of the mock."""
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the process is still alive."""
        return self._process.running

    def logs(self) -> str:
        """What the mock has written to stderr so far (``RUST_LOG=debug`` adds a line per
        request)."""
        return self._process.logs()

    def stop(self, timeout: float | None = None) -> None:
        """Stops the mock (SIGTERM, then SIGKILL after ``timeout`` seconds) and waits for it.

        Safe to call twice. The process is gone when this returns, whatever happens. The
        default ``timeout`` is the mock's ``shutdown_grace`` (10 s unless set) plus 10 s, so a
        mock waiting out the grace for a stalled client still gets to write its state file.

        Raises:
            ProcoreMockError: the mock had exited on its own before (a crash), did not stop
                within ``timeout``, or exited with a failure (such as a state file it could
                not write).
        """
        self._process.stop(timeout)


class _MockProcess:
    """The operating-system side of a mock: the process, the thread reading its stdout, the
    file holding its stderr, and temporary files to remove once it is gone."""

    def __init__(
        self, command: list[str], env: dict[str, str], temporary_files: list[Path], stop_timeout: float
    ) -> None:
        # stderr goes to a file, which never fills up and blocks the mock. The mock appends to
        # it and logs() reads it through its own handle, so neither moves the other's offset.
        handle, log_name = tempfile.mkstemp(prefix="procore-mock-", suffix=".log")
        os.close(handle)
        self._log_path = Path(log_name)
        self._temporary_files = [*temporary_files, self._log_path]
        self._final_log: str | None = None
        self._stop_timeout = stop_timeout
        try:
            with self._log_path.open("ab") as log:  # the process holds its own descriptor
                self._popen = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    env=env,
                    text=True,
                    encoding="utf-8",
                    errors="replace",
                    preexec_fn=_die_with_parent(),
                )
        except OSError as err:
            _remove(self._temporary_files)
            raise ProcoreMockError(f"cannot run {command[0]}: {err}") from err
        self._stopped = False
        self._first_line: queue.Queue[str] = queue.Queue(maxsize=1)
        self._reader = threading.Thread(
            target=_read_stdout,
            args=(self._popen.stdout, self._first_line),
            name=f"procore-mock-{self._popen.pid}-stdout",
            daemon=True,
        )
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen.poll() is None

    def logs(self) -> str:
        if self._final_log is not None:
            return self._final_log
        return self._log_path.read_bytes().decode("utf-8", errors="replace")

    def wait_ready(self, timeout: float) -> str:
        """The URL from the ready line. On any failure the process is killed and the error
        carries its stderr."""
        try:
            try:
                line = self._first_line.get(timeout=timeout)
            except queue.Empty:
                raise ProcoreMockError(
                    _with_log(f"procore-mock printed no ready line within {timeout} s", self.kill())
                ) from None
            ready = _READY_LINE.fullmatch(line.strip())
            if ready is None:
                if not line:  # end of output: the process is exiting
                    problem = f"procore-mock exited with status {self._popen.wait()} before it was ready"
                else:
                    problem = f"procore-mock printed {line.strip()!r} instead of its ready line"
                raise ProcoreMockError(_with_log(problem, self.kill()))
        except BaseException:
            self.kill()
            raise
        return ready["url"]

    def stop(self, timeout: float | None) -> None:
        """Graceful stop; see :meth:`ProcoreMock.stop`."""
        if self._stopped:
            return
        if timeout is None:
            timeout = self._stop_timeout
        problem = None
        exited_early = self._popen.poll()
        if exited_early is not None:
            problem = f"procore-mock exited on its own with status {exited_early} while in use"
        else:
            self._popen.terminate()
            try:
                status = self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
                problem = f"procore-mock did not stop within {timeout} s of SIGTERM and was killed"
            else:
                # On Windows terminate() is TerminateProcess, which always reports status 1.
                if status != 0 and os.name != "nt":
                    problem = f"procore-mock exited with status {status} on shutdown"
        log = self._release()
        if problem:
            raise ProcoreMockError(_with_log(problem, log))

    def kill(self) -> str:
        """Kills the process at once (idempotent); returns its stderr."""
        if self._stopped:
            return ""
        if self._popen.poll() is None:
            self._popen.kill()
            self._popen.wait()
        return self._release()

    def _release(self) -> str:
        """Once the process has exited: joins the reader (the pipe is at its end, so it
        finishes; closing the pipe under it first could block on its lock), keeps the stderr
        (returned) and removes the temporary files."""
        self._stopped = True
        self._reader.join(timeout=5)
        if self._popen.stdout is not None:
            self._popen.stdout.close()
        self._final_log = self.logs()
        _remove(self._temporary_files)
        return self._final_log


@contextlib.contextmanager
def serve(
    *,
    fixtures: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    profile: Profile | None = None,
    rate_limit_hourly: int | None = None,
    rate_limit_spike: int | None = None,
    max_body_bytes: int | None = None,
    max_avatar_bytes: int | None = None,
    journal_size: int | None = None,
    journal_max_bytes: int | None = None,
    admin_token: str | None = None,
    state_file: str | os.PathLike[str] | None = None,
    strict: bool = False,
    no_crux: bool = False,
    webhook_timeout_ms: int | None = None,
    webhook_queue_size: int | None = None,
    header_read_timeout: Duration | None = None,
    idle_timeout: Duration | None = None,
    body_read_timeout: Duration | None = None,
    shutdown_grace: Duration | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    binary: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 30.0,
) -> Iterator[ProcoreMock]:
    """Runs a mock for the duration of a ``with`` block::

        with procore_mock.serve(profile="official") as mock:
            requests.post(f"{mock.url}/oauth/token", data={...})

    Each option is the binary's flag of the same name (see the project README); None keeps
    the mock's default.

    Args:
        fixtures: a fixture file to start from, or a fixture document (a dict, written to a
            temporary file for the mock). Default: the built-in data.
        profile: ``"documented"`` (the default) or ``"official"``.
        rate_limit_hourly: requests per rolling hour per OAuth app; 0 turns it off.
        rate_limit_spike: requests per rolling 10 s per OAuth app; 0 (default) is off.
        max_body_bytes: larger request bodies get 413.
        max_avatar_bytes: larger avatar uploads get 413.
        journal_size: requests kept for :meth:`ProcoreMock.journal`.
        journal_max_bytes: bytes the journal may hold; the oldest entries give way first.
        admin_token: guard ``/__admin`` with this bearer token (the helpers send it).
        state_file: load at start if present; written on stop and by ``save_state()``.
        strict: refuse (400, naming them) query parameters and body fields a request does not
            take, instead of ignoring them with an ``X-Procore-Mock-Warning`` header.
        no_crux: do not serve the Crux Connect API (its paths answer 404).
        webhook_timeout_ms: how long a webhook receiver has to answer a delivery.
        webhook_queue_size: most webhook events waiting per company; more are dropped.
        header_read_timeout: time a client has to send a request's head once it has begun.
        idle_timeout: a keep-alive connection idle this long between requests is closed.
        body_read_timeout: time a client has to send a request's whole body (slower: 408).
        shutdown_grace: on stop, how long requests in flight may take before the mock saves
            its state and exits anyway.
        host: the address to bind; loopback by default.
        port: 0 (the default) picks a free port, so mocks can run side by side.
        binary: the ``procore-mock`` executable; default :func:`find_binary`.
        env: extra environment for the process, e.g. ``{"RUST_LOG": "debug"}``. The caller's
            ``PROCORE_MOCK_*`` variables are not passed on: the options above decide.
        startup_timeout: seconds to wait for the ready line.

    Raises:
        ProcoreMockError: no binary, or the mock refused to start (the message carries its
            error, e.g. an invalid fixture) or did not stop cleanly.
    """
    command = [os.fspath(binary) if binary is not None else find_binary()]
    temporary_files: list[Path] = []
    if isinstance(fixtures, Mapping):
        fixtures = _write_temporary_fixture(fixtures)
        temporary_files.append(fixtures)
    flags: dict[str, Any] = {
        "host": host,
        "port": port,
        "fixtures": fixtures,
        "profile": profile,
        "rate-limit-hourly": rate_limit_hourly,
        "rate-limit-spike": rate_limit_spike,
        "max-body-bytes": max_body_bytes,
        "max-avatar-bytes": max_avatar_bytes,
        "journal-size": journal_size,
        "journal-max-bytes": journal_max_bytes,
        "admin-token": admin_token,
        "state-file": state_file,
        "webhook-timeout-ms": webhook_timeout_ms,
        "webhook-queue-size": webhook_queue_size,
        "header-read-timeout": _duration_flag(header_read_timeout),
        "idle-timeout": _duration_flag(idle_timeout),
        "body-read-timeout": _duration_flag(body_read_timeout),
        "shutdown-grace": _duration_flag(shutdown_grace),
    }
    # One `--name=value` word each: a value that starts with "-" is never taken for a flag.
    for name, value in flags.items():
        if value is not None:
            command.append(f"--{name}={os.fspath(value) if isinstance(value, os.PathLike) else value}")
    switches = {"strict": strict, "no-crux": no_crux}
    command += [f"--{name}" for name, on in switches.items() if on]
    child_env = {key: value for key, value in os.environ.items() if not key.startswith(_SERVER_ENV_PREFIX)}
    child_env.update(env or {})

    grace = _DEFAULT_SHUTDOWN_GRACE if shutdown_grace is None else _seconds(shutdown_grace)
    process = _MockProcess(command, child_env, temporary_files, stop_timeout=grace + _STOP_MARGIN)
    mock = ProcoreMock(process.wait_ready(startup_timeout), process, admin_token)
    try:
        yield mock
    except BaseException:
        # The block's own error is the one to see; a failed stop would only hide it.
        with contextlib.suppress(ProcoreMockError):
            mock.stop()
        raise
    mock.stop()


def find_binary() -> str:
    """The ``procore-mock`` executable to run.

    In order: the ``PROCORE_MOCK_BINARY`` environment variable; the one the wheel installed
    beside this interpreter's scripts (a virtual environment's ``bin``, or the user scheme's
    after ``pip install --user``); the first on ``PATH``.

    Raises:
        ProcoreMockError: none was found.
    """
    override = os.environ.get(BINARY_ENV)
    if override:
        return override
    script_dirs = [sysconfig.get_path("scripts")]
    with contextlib.suppress(KeyError):
        script_dirs.append(sysconfig.get_path("scripts", sysconfig.get_preferred_scheme("user")))
    for directory in script_dirs:
        candidate = Path(directory) / _BINARY_NAME
        if candidate.is_file():
            return str(candidate)
    on_path = shutil.which(_BINARY_NAME)
    if on_path:
        return on_path
    raise ProcoreMockError(
        f"cannot find the {_BINARY_NAME} binary (looked in {', '.join(script_dirs)} and on PATH); "
        f"install the procore-mock wheel, or set {BINARY_ENV} to a binary"
    )


def _read_stdout(stream: IO[str] | None, first_line: queue.Queue[str]) -> None:
    """Hands over the first line (or "" at end of output), then drains the rest so the pipe
    never fills."""
    if stream is None:
        first_line.put("")
        return
    try:
        first_line.put(stream.readline())
        for _ in stream:
            pass
    except (OSError, ValueError):
        pass  # the pipe was closed under the reader: nothing left to drain


def _seconds(duration: Duration) -> float:
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration)


def _duration_flag(duration: Duration | None) -> str | None:
    """A duration as the binary's flags take it (``1.5s``); it refuses a negative one."""
    return None if duration is None else f"{_seconds(duration):f}s"


def _die_with_parent() -> Callable[[], None] | None:
    """What the child runs between fork and exec so that, on Linux, it gets SIGTERM (a
    graceful stop, which writes its state file) when the process that started it dies without
    stopping it: a SIGKILLed pytest must not leave an orphaned mock holding its port.

    The signal follows the *thread* that started the mock, so a mock started from a thread
    that exits before the mock is stopped is stopped too (a ``with serve()`` block cannot
    outlive its thread). Elsewhere there is no such call and None is returned: there an
    orphaned mock runs until it is killed.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def die_with_parent() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        # The parent may have died between fork and prctl: then no signal would ever come.
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return die_with_parent


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """Linux's ``prctl(2)``, looked up once in the parent so the child only makes the call;
    None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return prctl


def _write_temporary_fixture(document: Mapping[str, Any]) -> Path:
    handle, name = tempfile.mkstemp(prefix="procore-mock-fixture-", suffix=".json")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(document, file)
    return Path(name)


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()


def _with_log(problem: str, log: str) -> str:
    log = log.strip()
    return f"{problem}; it said:\n{log}" if log else problem
