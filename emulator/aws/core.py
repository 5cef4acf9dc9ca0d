"""The emulator's front door and what every service extension shares.

- Every request passes ``BaseResponse.call_action``: an injected fault first (``inject_fault``
  makes an API call fail N times, e.g. throttling), then request validation (``validation``),
  then idempotency: a request repeating a carried-out request's idempotency token (an SDK
  retrying after it lost the answer) gets the first answer again instead of being carried out
  twice (``idempotency_key``).
- The URL the server serves on (``set_emulator_endpoint``), handed to in-process Lambda handlers.
- Asynchronous deliveries (EventBridge targets, async Lambda invocations) run in background
  threads that ``wait_for_deliveries`` can wait for, as AWS delivers asynchronously.
- ``once`` makes each module's ``install()`` idempotent.

Tested in ``tests/integration/test_aws_core.py`` (faults, idempotency tokens).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.base_backend import BackendDict
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse

from emulator.aws import validation

LOGGER = logging.getLogger(__name__)
_applied = False
_lock = threading.Lock()
#: The server's own URL (set by ``emulator.server``); in-process Lambda handlers get it as
#: ``AWS_ENDPOINT_URL`` so their boto3 calls reach the emulator. ``None`` under ``mock_aws``.


#: (account, region, service, operation, the request's parameters with its idempotency token, the
#: caller's access key: a replay skips moto's authorisation, so only the same caller gets one).
IdempotencyKey = tuple[str, str, str, str, str, str]
#: (status, headers, body) as ``call_action`` returns it.
Answer = tuple[int, dict[str, str], Any]


@dataclass
class _State:
    """What this module keeps between requests; ``reset()`` starts it afresh."""

    #: The server's own URL, handed to in-process Lambda handlers as ``AWS_ENDPOINT_URL``.
    endpoint_url: str | None = None
    #: Faults still to inject (``inject_fault``).
    faults: list[Fault] = field(default_factory=list)
    #: The answers of carried-out requests that had an idempotency token (``IdempotencyKey``).
    answered: dict[IdempotencyKey, Answer] = field(default_factory=dict)
    #: One lock per token: a retry arriving while its first attempt still runs waits for it.
    in_flight: dict[IdempotencyKey, threading.Lock] = field(default_factory=dict)


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
        key = idempotency_key(self)
        if key is None:
            return original(self)
        return _once_per_token(key, lambda: original(self))

    return call_action


# --------------------------------------------------------------------------- idempotency tokens

# botocore's service model marks a member ``idempotencyToken`` (SageMaker's ``ClientRequestToken``
# on CreatePipeline, DeletePipeline, StartPipelineExecution...), documented as "A unique,
# case-sensitive identifier that you provide to ensure the idempotency of the operation. An
# idempotent operation completes no more than one time." (botocore/data/sagemaker/2017-07-24/
# service-2.json, ``IdempotencyToken``). The SDKs send the same token on every attempt of a call
# (aws-sdk-go-v2 serializes the one input per attempt; Terraform's aws provider sets
# ``ClientRequestToken: id.UniqueId()`` once, internal/service/sagemaker/pipeline.go), so when an
# answer is lost (connection reset, 5xx, client-side timeout) the retry carries the token of a
# request AWS already carried out, and AWS answers it with the first result. moto ignores the
# token, so the retry of a CreatePipeline that had created the pipeline was refused with "Pipeline
# names must be unique" (a terraform apply failing on a fresh emulator).
#
# Only successful answers are kept: a refused request changed nothing, so its retry is carried
# out afresh. A token reused with different parameters is not replayed but carried out (moto's
# own checks then refuse a duplicate name); AWS documents no error for that case in these APIs.


def idempotency_key(response: BaseResponse) -> IdempotencyKey | None:
    """What identifies the request ``response`` serves as one idempotent call, or ``None`` when
    its operation has no idempotency token or the request sent none."""
    try:
        if not _token_members(response.boto3_service_name, response._get_action()):
            return None  # most requests: not parsed a second time (validation parsed them)
        found = validation.request_parameters(response)
        if found is None:
            return None
        _, operation, params = found
        if not any(params.get(name) for name in operation.idempotent_members):
            return None
        return (
            str(response.current_account),
            str(response.region),
            str(operation.service_model.service_name),
            str(operation.name),
            json.dumps(params, sort_keys=True, default=str),
            str(response.get_access_key()),
        )
    except Exception:  # not parsed (wire format, unmodelled action): not a request to replay
        LOGGER.debug("request not parsed for idempotency", exc_info=True)
        return None


@functools.cache
def _token_members(service: str | None, action: str | None) -> tuple[str, ...]:
    from moto.core.utils import get_service_model

    if not service or not action:
        return ()
    try:
        return tuple(get_service_model(service).operation_model(action).idempotent_members)
    except Exception:  # a service or action botocore does not model
        return ()


def _once_per_token(key: IdempotencyKey, carry_out: Callable[[], Any]) -> Any:
    with _lock:
        token_lock = _STATE.in_flight.setdefault(key, threading.Lock())
    with token_lock:
        answered = _STATE.answered.get(key)
        if answered is not None:
            # Worth a line in the emulator's log: a client retried a call that was carried out.
            LOGGER.warning("replayed the answer of %s %s to a retry with its token", *key[2:4])
            status, headers, body = answered
            return status, dict(headers), body
        answer = carry_out()
        # Nothing below may raise: the call is carried out, and a 500 now would be retried.
        if (
            isinstance(answer, tuple)
            and len(answer) == 3
            and isinstance(answer[0], int)
            and 200 <= answer[0] < 300
            and isinstance(answer[1], dict)
        ):
            _STATE.answered[key] = (answer[0], dict(answer[1]), answer[2])
        return answer


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
    handler moto serves it with, for ``emulator/server.py``."""
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
    """The front door every request passes: injected faults, request validation, idempotency
    tokens (forgotten when moto resets its backends)."""
    BaseResponse.call_action = _call_action(BaseResponse.call_action)  # type: ignore[method-assign,assignment]
    BackendDict.reset = _forgetting_tokens(BackendDict.reset)  # type: ignore[method-assign]


def _forgetting_tokens(original: Callable[[], None]) -> Callable[[], None]:
    """moto's reset (``mock_aws`` starting, the server's ``/moto-api/reset``) empties every
    account; the answers kept for idempotency tokens go with the resources they describe."""

    def reset(*_cls_or_self: Any) -> None:  # a classmethod: called on the class or a dict
        original()
        forget_tokens()

    return reset


def forget_tokens() -> None:
    with _lock:
        _STATE.answered.clear()
        _STATE.in_flight.clear()


def reset() -> None:
    """Forget injected faults, answered idempotency tokens and the server URL (deliveries in
    flight are left to finish)."""
    _STATE.faults.clear()
    forget_tokens()
    _STATE.endpoint_url = None
