"""The emulator's front door and what every service extension shares.

- Every request passes ``BaseResponse.call_action``: an injected fault first (``inject_fault``
  makes an API call fail N times, e.g. throttling), then request validation (``validation``).
- The URL the server serves on (``set_emulator_endpoint``), handed to in-process Lambda handlers.
- Asynchronous deliveries (EventBridge targets, async Lambda invocations) run in background
  threads that ``wait_for_deliveries`` can wait for, as AWS delivers asynchronously.
- ``once`` makes each module's ``install()`` idempotent.

Tested in ``tests/integration/test_aws_core.py`` (faults).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from local.aws import validation

LOGGER = logging.getLogger(__name__)
_applied = False
_lock = threading.Lock()
#: The server's own URL (set by ``local.server``); in-process Lambda handlers get it as
#: ``AWS_ENDPOINT_URL`` so their boto3 calls reach the emulator. ``None`` under ``mock_aws``.


@dataclass
class _State:
    """What this module keeps between requests; ``reset()`` starts it afresh."""

    #: The server's own URL, handed to in-process Lambda handlers as ``AWS_ENDPOINT_URL``.
    endpoint_url: str | None = None
    #: Faults still to inject (``inject_fault``).
    faults: list[Fault] = field(default_factory=list)


_STATE = _State()


def set_emulator_endpoint(endpoint_url: str | None) -> None:
    """Tell the extensions the URL the emulator serves on (server mode only)."""
    _STATE.endpoint_url = endpoint_url


def endpoint_url() -> str | None:
    """The URL the emulator serves on (``None`` in process, under ``mock_aws``)."""
    return _STATE.endpoint_url


# --------------------------------------------------------------------------- 5. faults


@dataclass
class Fault:
    service: str
    action: str
    code: str
    message: str
    remaining: int
    status: int = 400


def inject_fault(
    service: str,
    action: str,
    code: str = "ThrottlingException",
    message: str = "Rate exceeded",
    times: int = 1,
    status: int = 400,
) -> Fault:
    """Make the next ``times`` calls of ``service``'s ``action`` fail with ``code``."""
    fault = Fault(service, action, code, message, times, status)
    with _lock:
        _STATE.faults.append(fault)
    return fault


def clear_faults() -> None:
    with _lock:
        _STATE.faults.clear()


def _take_fault(service: str, action: str) -> Fault | None:
    with _lock:
        for fault in _STATE.faults:
            if fault.service == service and fault.action == action and fault.remaining > 0:
                fault.remaining -= 1
                return fault
    return None


def _call_action(original: Callable[[BaseResponse], Any]) -> Callable[[BaseResponse], Any]:
    def call_action(self: BaseResponse) -> Any:
        if _STATE.faults:
            fault = _take_fault(str(self.service_name), self._get_action())
            if fault is not None:
                error = JsonRESTError(fault.code, fault.message)
                headers = dict(error.get_headers() or [])
                headers["status"] = str(fault.status)
                # botocore reads the request id from here; Step Functions puts it in the cause.
                headers["x-amzn-RequestId"] = f"injected-fault-{fault.code}"
                return fault.status, headers, error.description
        if validation.enabled():
            rejected = validation.check_request(self)
            if rejected is not None:
                return rejected
        return original(self)

    return call_action


def in_background(name: str, work: Callable[[], None]) -> None:
    def run() -> None:
        try:
            work()
        except Exception:  # a delivery never fails the request that caused it (as on AWS)
            LOGGER.exception("event delivery %s failed", name)
        finally:
            with _deliveries_lock:
                _deliveries.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _deliveries_lock:
        _deliveries.add(thread)
    thread.start()


_deliveries: set[threading.Thread] = set()
_deliveries_lock = threading.Lock()


def wait_for_deliveries(timeout: float = 30.0) -> bool:
    """Wait until every asynchronous delivery has finished; ``False`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        with _deliveries_lock:
            pending = [t for t in _deliveries if t is not threading.current_thread()]
        if not pending:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        pending[0].join(min(remaining, 0.5))


# Lambda, in process ----------------------------------------------------------------------------


def server_application() -> tuple[Any, type]:
    """moto's WSGI application (every service, dispatched by host and headers) and the request
    handler moto serves it with, for ``local/server.py``."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    return DomainDispatcherApplication(create_backend_app), MotoRequestHandler


# --------------------------------------------------------------------------- install


def once(install: Callable[[], None]) -> Callable[[], None]:
    """Make a module's ``install()`` idempotent: wrapping moto's methods twice would run each
    extension twice per request."""
    done = False
    lock = threading.Lock()

    @functools.wraps(install)
    def install_once() -> None:
        nonlocal done
        with lock:
            if not done:
                install()
                done = True

    return install_once


@once
def install() -> None:
    """The front door every request passes: injected faults, then request validation."""
    BaseResponse.call_action = _call_action(BaseResponse.call_action)  # type: ignore[method-assign,assignment]


def reset() -> None:
    """Forget injected faults and the server URL (deliveries in flight are left to finish)."""
    _STATE.faults.clear()
    _STATE.endpoint_url = None
