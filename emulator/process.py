"""The local AWS emulator: moto in server mode on 127.0.0.1, in a child process we own.

    Emulator.start() ──► python -m emulator.server --port 0 --ready-file F   (own process group)
                     ◄── F: {"port": N}          ──► GET /moto-api/ (health, with a deadline)
                     ──► POST /moto-api/config {"stepfunctions": {"execute_state_machine": true}}

``stop()`` terminates the whole process group, then kills it after a timeout; ``atexit`` and
SIGTERM handlers stop it too, so neither Ctrl-C nor a crash of the parent orphans the server.

Python: ``with Emulator.start() as emu: emu.client("s3").list_buckets()``.
CLI (``make local-down`` / ``make local-status``): ``python -m emulator up|down|status``
keeps the server running in the background, with its pid, port and log in ``.local/emulator.json``
(``make local-up`` writes the same record). ``down`` keeps the port in the record, so the next
``up`` listens on the same port; the emulator's state lives in memory only, so a restart starts
from an empty account (moto has no persistence), and ``up`` says so.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from emulator import credentials

ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = ROOT / ".local"
STATE_FILE = STATE_DIR / "emulator.json"
LOG_FILE = STATE_DIR / "emulator.log"
#: Where the local SageMaker executor works (logs of every step and training job end up here).
PIPELINE_WORKDIR = STATE_DIR / "pipelines"
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
SERVER_CONFIG = {"stepfunctions": {"execute_state_machine": True}}
#: The environment of clients inside the server (signed as the configured local user, which the
#: server reads from the same variables: ``emulator/credentials.py``).
SERVER_CLIENT_ENV = {
    "AWS_ACCESS_KEY_ID": credentials.local_access_key_id(),
    "AWS_SECRET_ACCESS_KEY": credentials.local_secret_access_key(),
    credentials.LOCAL_ACCESS_KEY_ID_ENV: credentials.local_access_key_id(),
    credentials.LOCAL_SECRET_ACCESS_KEY_ENV: credentials.local_secret_access_key(),
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
}


class EmulatorError(RuntimeError):
    """The emulator did not start, or is not answering."""


def gone_message(endpoint_url: str, log_path: Path | str | None, exit_code: int | None) -> str:
    """One line for an emulator that stopped answering: what happened, its log, what to do."""
    how = f" (its process exited with code {exit_code})" if exit_code is not None else ""
    log = f": its log is {log_path}" if log_path else ""
    return (
        f"the emulator at {endpoint_url} stopped answering{how}{log}; its state is lost "
        "(kept in memory only): make local-up or make demo starts a new one"
    )


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether ``port`` can be bound now (as the server binds it: address reuse allowed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _request(url: str, data: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, method="GET" if data is None else "POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def is_healthy(endpoint_url: str, timeout: float = 2.0) -> bool:
    """Whether a moto server answers on ``endpoint_url``."""
    try:
        _request(f"{endpoint_url}/moto-api/config", timeout=timeout)
    except (OSError, ValueError):
        return False
    return True


def _pid_alive(pid: int) -> bool:
    # Reap it first if it is our own (exited) child, or it lingers as a zombie that kill(0) sees.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_group(pgid: int, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM the process group, SIGKILL it if it outlives ``timeout``; reap our child."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return
        elif not _pid_alive(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    if proc is not None:
        proc.wait(timeout=timeout)


class Emulator:
    """A running moto server with the project's extensions (see the module docstring)."""

    def __init__(
        self, proc: subprocess.Popen[bytes], host: str, port: int, log_path: Path | None = None
    ) -> None:
        self.proc = proc
        self.host = host
        self.port = port
        self.log_path = log_path
        self._stopped = False
        #: With ``start(tls=True)``: the HTTPS listener's port and the certificate to trust.
        self.tls_port: int | None = None
        self.ca_bundle: Path | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def tls_endpoint_url(self) -> str:
        """The HTTPS listener (same backends): where ``aws:SecureTransport`` is true."""
        if self.tls_port is None:
            raise EmulatorError("the emulator was started without tls=True")
        return f"https://{self.host}:{self.tls_port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def client(self, service: str, *, secure: bool = False, **options: Any) -> Any:
        """A boto3 client of this emulator, signed as its configured local user.

        ``secure``: through the HTTPS listener (``start(tls=True)``), trusting its certificate.
        ``options`` are boto3's (``config``, other credentials, another ``endpoint_url``...).
        """
        import boto3

        settings: dict[str, Any] = {
            "region_name": SERVER_CLIENT_ENV["AWS_REGION"],
            "endpoint_url": self.tls_endpoint_url if secure else self.endpoint_url,
            "aws_access_key_id": SERVER_CLIENT_ENV["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": SERVER_CLIENT_ENV["AWS_SECRET_ACCESS_KEY"],
        }
        if self.ca_bundle is not None:
            settings["verify"] = str(self.ca_bundle)
        session: Any = boto3.session.Session()  # service is a variable: boto3-stubs type literals
        return session.client(service, **{**settings, **options})

    @classmethod
    def start(
        cls,
        *,
        host: str = HOST,
        timeout: float = START_TIMEOUT,
        log_path: Path | None = None,
        detach: bool = False,
        pipeline_workdir: Path | None = PIPELINE_WORKDIR,
        extra_args: list[str] | None = None,
        tls: bool = False,
        port: int = 0,
    ) -> Emulator:
        """Start the server process, wait until it answers, enable Step Functions execution.

        ``detach=True`` (the CLI's ``up``) skips the atexit/signal cleanup so the server
        outlives this process; it is still in its own process group for ``down``.
        ``pipeline_workdir``: SageMaker pipelines run for real with the local executor there
        (``None``: moto's default, executions succeed at once and run nothing).
        ``tls=True``: also serve HTTPS (``tls_endpoint_url``, trust ``ca_bundle``).
        ``port``: listen there (a restarted session keeps its port); 0 picks a free one.
        """
        executor_args = (
            ["--pipeline-workdir", str(pipeline_workdir)] if pipeline_workdir is not None else []
        )
        tls_args = ["--tls-dir", tempfile.mkdtemp(prefix="emulator-tls-")] if tls else []
        with tempfile.TemporaryDirectory(prefix="emulator-") as tmp:
            ready = Path(tmp) / "ready.json"
            # Clients inside the server (the pipeline executor, in-process Lambdas) call the
            # emulator itself: give them the emulator's dummy credentials, never real ones.
            env = {**os.environ, **SERVER_CLIENT_ENV, "PYTHONUNBUFFERED": "1"}
            env.pop("AWS_PROFILE", None)
            env.pop("AWS_SESSION_TOKEN", None)
            env.pop("MOTO_PORT", None)  # the server sets it to the port it really bound
            log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
            try:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "emulator.server",
                        "--host",
                        host,
                        "--port",
                        str(port),
                        "--ready-file",
                        str(ready),
                        *executor_args,
                        *tls_args,
                        *(extra_args or []),
                    ],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stop() kills all of it
                )
            finally:
                if log_path:
                    log.close()  # type: ignore[union-attr]
            emulator = cls(proc, host, port, log_path)
            if not detach:
                emulator._register_cleanup()
            try:
                emulator.port = _wait_for_port(proc, ready, time.monotonic() + timeout)
                details = json.loads(ready.read_text())
                if tls:
                    emulator.tls_port = int(details["tls_port"])
                    emulator.ca_bundle = Path(details["ca_bundle"])
                emulator._wait_healthy(time.monotonic() + timeout)
                _request(f"{emulator.endpoint_url}/moto-api/config", SERVER_CONFIG)
            except BaseException:
                emulator.stop()
                raise
        return emulator

    def gone(self) -> EmulatorError | None:
        """An error naming the log when the server process has exited; ``None`` while alive."""
        code = self.proc.poll()
        if code is None:
            return None
        return EmulatorError(gone_message(self.endpoint_url, self.log_path, code))

    def _wait_healthy(self, deadline: float) -> None:
        while not is_healthy(self.endpoint_url):
            if self.proc.poll() is not None:
                raise EmulatorError(f"emulator exited with code {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise EmulatorError(f"emulator at {self.endpoint_url} did not answer in time")
            time.sleep(0.1)

    def _register_cleanup(self) -> None:
        atexit.register(self.stop)
        for signum in (signal.SIGTERM, signal.SIGHUP):
            previous = signal.getsignal(signum)
            if previous not in (signal.SIG_DFL, None):
                continue  # someone else handles it (e.g. pytest); atexit still covers us

            def handler(num: int, frame: FrameType | None, _prev: Any = previous) -> None:
                self.stop()
                signal.signal(num, signal.SIG_DFL)
                os.kill(os.getpid(), num)

            with contextlib.suppress(ValueError):  # not the main thread: rely on atexit
                signal.signal(signum, handler)

    def config(self) -> dict[str, Any]:
        """moto's runtime configuration, as the server reports it."""
        return dict(_request(f"{self.endpoint_url}/moto-api/config"))

    def reset(self) -> None:
        """Forget every resource (moto's reset), keeping the server and its configuration."""
        _request(f"{self.endpoint_url}/moto-api/reset", {})

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self.proc.poll() is None:
            _stop_group(self.proc.pid, self.proc, timeout)

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_for_port(proc: subprocess.Popen[bytes], ready: Path, deadline: float) -> int:
    while not ready.exists():
        if proc.poll() is not None:
            raise EmulatorError(f"emulator exited with code {proc.returncode} before listening")
        if time.monotonic() > deadline:
            raise EmulatorError("emulator did not start listening in time")
        time.sleep(0.05)
    return int(json.loads(ready.read_text())["port"])


# --------------------------------------------------------------------------- CLI


def read_record(path: Path = STATE_FILE) -> dict[str, Any] | None:
    """The background emulator's record as written, whether or not it still runs."""
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def read_state(path: Path = STATE_FILE) -> dict[str, Any] | None:
    """The background emulator's ``{"pid", "port", "endpoint_url", "log"}``, if one is running."""
    state = read_record(path)
    if state is None or "pid" not in state or not _pid_alive(int(state["pid"])):
        return None
    return state


def write_record(path: Path, emulator: Emulator, **extra: Any) -> dict[str, Any]:
    """Record a detached emulator where ``down``, ``status`` and the next ``up`` find it."""
    record = {
        "pid": emulator.pid,
        "port": emulator.port,
        "endpoint_url": emulator.endpoint_url,
        "log": str(emulator.log_path) if emulator.log_path else None,
        **extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")
    return record


def previous_port(record: dict[str, Any] | None, is_free: Any = port_is_free) -> int:
    """The port a restarted session listens on: its previous one if still free, else 0 (any)."""
    port = int((record or {}).get("port") or 0)
    return port if port and is_free(port) else 0


def up(path: Path = STATE_FILE) -> dict[str, Any]:
    state = read_state(path)
    if state is not None and is_healthy(state["endpoint_url"]):
        return state
    port = previous_port(read_record(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    emulator = Emulator.start(detach=True, log_path=path.with_name("emulator.log"), port=port)
    return write_record(path, emulator)


def down(path: Path = STATE_FILE, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the background emulator; ``False`` when none was running.

    The record stays, without the pid (a pid is reused by the OS; a stale one must never be
    signalled), so the next ``up`` listens on the same port.
    """
    state = read_state(path)
    record = read_record(path)
    if record is not None:
        kept = {k: record[k] for k in ("port", "endpoint_url", "log") if k in record}
        path.write_text(json.dumps({**kept, "stopped": True}, indent=2) + "\n")
    if state is None:
        return False
    _stop_group(int(state["pid"]), None, timeout)
    return True


def status_line(path: Path = STATE_FILE) -> tuple[str, int]:
    """``make local-status``: one line and an exit code (0 running, 1 not)."""
    record = read_record(path)
    running = read_state(path)
    if running is not None and is_healthy(running["endpoint_url"]):
        return (
            f"emulator running at {running['endpoint_url']} (pid {running['pid']}, "
            f"log {running.get('log')})",
            0,
        )
    if record is None or record.get("stopped"):
        return "emulator not running: make local-up starts it", 1
    return gone_message(record.get("endpoint_url", "?"), record.get("log"), None), 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state-file", type=Path, default=STATE_FILE)
    args = parser.parse_args(argv)
    if args.command == "up":
        state = up(args.state_file)
        print(f"emulator running at {state['endpoint_url']} (pid {state['pid']})")
        print(f"export AWS_ENDPOINT_URL={state['endpoint_url']}")
        return 0
    if args.command == "down":
        before, _ = status_line(args.state_file)  # a crashed one: say so, with its log
        print("emulator stopped" if down(args.state_file) else before)
        return 0
    line, code = status_line(args.state_file)
    print(line)
    return code


if __name__ == "__main__":
    sys.exit(main())
