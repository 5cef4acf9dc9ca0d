"""Lambda as the system uses it (moto's ``awslambda`` and ``awslambda_simple`` services).

1. No perpetual Terraform drift: a function's ``DeadLetterConfig`` is reported back.
2. A new account's limits (concurrency 10, unreserved minimum 10), configurable as a quota
   increase, and ``GetAccountSettings``.
3. A Python zip function runs in this process, for ``Invoke`` and for EventBridge and SQS
   deliveries, with its environment and ``AWS_ENDPOINT_URL``, logging to ``/aws/lambda/<name>``;
   a failed asynchronous invocation goes to its dead-letter queue or on-failure destination.

Tested in ``tests/integration/test_lambda_quota.py``, ``test_event_delivery.py`` and
``test_aws_lambda.py``.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import importlib.util
import io
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.utils import utcnow

from emulator import credentials as local_user
from emulator.aws import core, iam


def _lambda_init(original: Callable[..., None]) -> Callable[..., None]:
    def init(self: Any, account_id: str, spec: dict[str, Any], *args: Any, **kw: Any) -> None:
        original(self, account_id, spec, *args, **kw)
        self.__dict__["dead_letter_config"] = spec.get("DeadLetterConfig")

    return init


def _lambda_update_configuration(original: Callable[..., Any]) -> Callable[..., Any]:
    def update(self: Any, config_updates: dict[str, Any]) -> Any:
        if "DeadLetterConfig" in config_updates:
            self.__dict__["dead_letter_config"] = config_updates["DeadLetterConfig"]
        return original(self, config_updates)

    return update


def _lambda_get_configuration(original: Callable[..., Any]) -> Callable[..., Any]:
    # moto drops DeadLetterConfig from GetFunction/GetFunctionConfiguration.
    def get(self: Any, *args: Any, **kw: Any) -> dict[str, Any]:
        config = dict(original(self, *args, **kw))
        dead_letter = self.__dict__.get("dead_letter_config")
        if dead_letter and dead_letter.get("TargetArn"):
            config["DeadLetterConfig"] = {"TargetArn": dead_letter["TargetArn"]}
        return config

    return get


LOGGER = logging.getLogger(__name__)
#: Directory the Lambda zips are extracted to, one subdirectory per CodeSha256.
LAMBDA_CODE_DIR = Path(tempfile.gettempdir()) / "moto-lambda-code"
#: Time allowed, beyond the function's timeout, for loading its handler (a cold start's init is
#: not counted against the timeout); generous, since the emulator's host is shared.
INIT_GRACE_SECONDS = 60.0
#: AWS returns at most the last 4 KB of the log in ``x-amz-log-result``.
LOG_TAIL_BYTES = 4096

_handlers: dict[tuple[str, str, str], Callable[[Any, Any], Any]] = {}
_handlers_lock = threading.Lock()
_logs_lock = threading.Lock()


# --------------------------------------------------------------------------- Lambda limits

# A new account's Lambda concurrency quota is 10, and Lambda keeps a minimum of unreserved
# concurrency, so on a new account no function can reserve any (Lambda developer guide, "Lambda
# quotas": https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html, and
# "Configuring reserved concurrency":
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). moto enforces a
# quota only when MOTO_LAMBDA_CONCURRENCY_QUOTA is set, with a fixed minimum of 100
# (moto/awslambda/models.py, put_function_concurrency), and has no GetAccountSettings. Here the
# limits live on the Lambda backend, default to a new account's, and can be raised as a quota
# increase would (``set_lambda_limits``, or the environment for the server process).

NEW_ACCOUNT_CONCURRENT_EXECUTIONS = 10
NEW_ACCOUNT_UNRESERVED_MINIMUM = 10
LAMBDA_CONCURRENCY_ENV = "EMULATOR_LAMBDA_CONCURRENT_EXECUTIONS"
LAMBDA_UNRESERVED_MINIMUM_ENV = "EMULATOR_LAMBDA_UNRESERVED_MINIMUM"
#: GetAccountSettings' fixed storage and package limits (the "Lambda quotas" page).
LAMBDA_CODE_LIMITS = {
    "TotalCodeSize": 80_530_636_800,
    "CodeSizeUnzipped": 262_144_000,
    "CodeSizeZipped": 52_428_800,
}


@dataclass
class LambdaLimits:
    """An account's concurrency quota in one region, and the part that must stay unreserved."""

    concurrent_executions: int
    unreserved_minimum: int


def lambda_limits(backend: Any) -> LambdaLimits:
    """The backend's limits: set ones, else the environment's, else a new account's."""
    limits = backend.__dict__.get("account_limits")
    if limits is None:
        limits = LambdaLimits(
            int(os.environ.get(LAMBDA_CONCURRENCY_ENV, NEW_ACCOUNT_CONCURRENT_EXECUTIONS)),
            int(os.environ.get(LAMBDA_UNRESERVED_MINIMUM_ENV, NEW_ACCOUNT_UNRESERVED_MINIMUM)),
        )
        backend.__dict__["account_limits"] = limits
    return limits


def set_lambda_limits(
    concurrent_executions: int,
    unreserved_minimum: int = NEW_ACCOUNT_UNRESERVED_MINIMUM,
    *,
    account_id: str = "123456789012",
    region: str = "us-east-1",
) -> None:
    """Grant a quota increase to ``account_id`` in ``region`` (in this process)."""
    from moto.awslambda.utils import get_backend

    get_backend(account_id, region).__dict__["account_limits"] = LambdaLimits(
        concurrent_executions, unreserved_minimum
    )


def reserved_elsewhere(backend: Any, function: Any = None) -> int:
    """Concurrency reserved by every function of the backend except ``function``."""
    return sum(
        int(fn.reserved_concurrency)
        for fn in backend.list_functions()
        if fn.reserved_concurrency
        and (function is None or fn.function_arn != function.function_arn)
    )


def reservation_refusal(
    limits: LambdaLimits, reserved_by_others: int, requested: int
) -> str | None:
    """AWS's message when reserving ``requested`` leaves too little unreserved (else ``None``)."""
    if limits.concurrent_executions - reserved_by_others - requested >= limits.unreserved_minimum:
        return None
    return (
        "Specified ReservedConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of "
        f"[{limits.unreserved_minimum}]."
    )


def _put_function_concurrency(self: Any, function_name: str, reserved_concurrency: Any) -> Any:
    from moto.awslambda.exceptions import InvalidParameterValueException

    fn = self.get_function(function_name)
    refusal = reservation_refusal(
        lambda_limits(self), reserved_elsewhere(self, fn), int(reserved_concurrency)
    )
    if refusal is not None:
        raise InvalidParameterValueException(refusal)
    fn.reserved_concurrency = reserved_concurrency
    return fn.reserved_concurrency


def account_settings(backend: Any) -> dict[str, Any]:
    """GetAccountSettings' answer for the backend's account and region."""
    limits = lambda_limits(backend)
    functions = backend.list_functions()
    return {
        "AccountLimit": {
            **LAMBDA_CODE_LIMITS,
            "ConcurrentExecutions": limits.concurrent_executions,
            "UnreservedConcurrentExecutions": limits.concurrent_executions
            - reserved_elsewhere(backend),
        },
        "AccountUsage": {
            "TotalCodeSize": sum(int(getattr(fn, "code_size", 0) or 0) for fn in functions),
            "FunctionCount": len(functions),
        },
    }


def _get_account_settings(self: Any) -> Any:
    return 200, {}, json.dumps(account_settings(self.backend))


@dataclass(frozen=True)
class LambdaContext:
    """The context object a Python handler receives (the attributes handlers commonly use)."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float = field(repr=False)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """One run of a handler: its result or error, and the log lines it left."""

    request_id: str
    payload: Any = None
    error: dict[str, Any] | None = None
    log_lines: list[str] = field(default_factory=list)

    def response_body(self) -> str:
        return json.dumps(self.error if self.error is not None else self.payload)


def runs_in_process(fn: Any) -> bool:
    """A zip function with a Python runtime and handler: one this module can run."""
    code = getattr(fn, "code_bytes", b"") or b""
    return (
        getattr(fn, "package_type", "Zip") == "Zip"
        and str(getattr(fn, "run_time", "") or "").startswith("python3")
        and "." in str(getattr(fn, "handler", "") or "")
        and zipfile.is_zipfile(io.BytesIO(code))
    )


def _code_dir(code_bytes: bytes, code_sha: str) -> Path:
    digest = hashlib.sha256(code_sha.encode()).hexdigest()[:24]
    target = LAMBDA_CODE_DIR / digest
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix=f"{digest}-", dir=_ensure(LAMBDA_CODE_DIR)))
        with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
            archive.extractall(staging)  # zipfile drops absolute paths and ".." parts
        try:
            staging.rename(target)
        except OSError:  # another process extracted the same code first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_handler(
    code_bytes: bytes, code_sha: str, handler: str, function_identity: str = ""
) -> Callable[[Any, Any], Any]:
    """Import ``handler`` (``module.function``) from the zip, once per function and code version.

    Each function has execution environments of its own ("Lambda execution environment
    lifecycle", https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html):
    two functions deployed from one zip never share module state (a cached client made with one
    function's role, say), and a function created again gets new ones. So the cache and the
    package are per ``function_identity`` (its ARN and when it last changed), not per zip.
    The zip's modules live under a unique package, so ``from . import logic`` resolves to the
    zip's sibling; the zip is on ``sys.path`` only while importing, for ``import logic``, and
    modules imported that way leave ``sys.modules`` again so two functions never share them.
    Call with the function's environment applied: module-level code may read it.
    """
    key = (function_identity, code_sha, handler)
    with _handlers_lock:
        if key in _handlers:
            return _handlers[key]
        module_path, _, function_name = handler.rpartition(".")
        root = _code_dir(code_bytes, code_sha)
        identity = f"{function_identity}\n{code_sha}".encode()
        package = "_moto_lambda_" + hashlib.sha256(identity).hexdigest()[:16]
        if package not in sys.modules:
            spec = importlib.util.spec_from_loader(package, None, is_package=True)
            assert spec is not None and spec.submodule_search_locations is not None
            spec.submodule_search_locations.append(str(root))
            sys.modules[package] = importlib.util.module_from_spec(spec)
        before = set(sys.modules)
        sys.path.insert(0, str(root))
        try:
            module = importlib.import_module(f"{package}.{module_path.replace('/', '.')}")
        finally:
            sys.path.remove(str(root))
            for name in set(sys.modules) - before:
                origin = getattr(sys.modules[name], "__file__", None)
                if (
                    not name.startswith(package + ".")
                    and origin
                    and Path(origin).is_relative_to(root)
                ):
                    del sys.modules[name]
        function = getattr(module, function_name)
        _handlers[key] = function
        return function


def clear_lambda_cache() -> None:
    """Forget imported handlers: the next invocation of each function is a cold start."""
    with _handlers_lock:
        _handlers.clear()
        for name in [n for n in sys.modules if n.startswith("_moto_lambda_")]:
            del sys.modules[name]


def lambda_environment(fn: Any, endpoint_url: str | None) -> dict[str, str]:
    """The variables the Lambda runtime sets, then the function's own."""
    env = {
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "_HANDLER": str(fn.handler),
    }
    if endpoint_url:
        # Server mode: the handler's boto3 calls must reach this emulator.
        env["AWS_ENDPOINT_URL"] = endpoint_url
    credentials = execution_role_credentials(fn)
    if credentials is not None:
        # As the Lambda runtime does: the execution role's session, in the standard variables.
        env["AWS_ACCESS_KEY_ID"] = credentials["aws_access_key_id"]
        env["AWS_SECRET_ACCESS_KEY"] = credentials["aws_secret_access_key"]
        env["AWS_SESSION_TOKEN"] = credentials["aws_session_token"]
    elif endpoint_url:
        # A role Lambda cannot assume keeps the account's root (the configured local user):
        # the known gap Step Functions tasks share (on AWS, CreateFunction refuses such a role).
        env["AWS_ACCESS_KEY_ID"] = local_user.local_access_key_id()
        env["AWS_SECRET_ACCESS_KEY"] = local_user.local_secret_access_key()
    env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
    return env


def execution_role_credentials(fn: Any) -> dict[str, str] | None:
    """The function's execution role session (the function's name is the session name, as on
    AWS), or ``None`` when Lambda cannot assume the role."""
    return iam.service_role_credentials(
        "lambda.amazonaws.com", str(fn.role), fn.function_name, fn.region
    )


# --------------------------------------------------------------------------- invocation scope

# An in-process function's environment and credentials belong to its invocation only. Lambda
# runs each function in its own execution environment: its variables (and the execution role's
# credentials, which the runtime puts there) are seen by that function and nothing else
# (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-runtime.html). Applying
# them to the process-wide ``os.environ`` let every other thread of the emulator see them, and
# removing them afterwards raced with threads that were reading the environment (botocore's
# credential lookup tests a name, then reads it: KeyError). A subprocess per invocation would
# isolate them too, but cannot reach moto's in-process mock (``mock_aws`` tests) and pays an
# interpreter and boto3 start per event. So the invocation's thread gets both privately:
# - ``os.environ`` becomes ``_ScopedEnviron``: the real environment (same storage, same
#   behaviour for every other thread), overlaid on the invoking thread by its variables;
# - ``boto3``'s default session, which ``boto3.client()`` uses, is on that thread a session with
#   the execution role's credentials, the function's region and (server mode) the emulator's URL.
# Not covered: threads the handler starts itself see the process environment and session.

_INVOCATION = threading.local()


class _ScopedEnviron(os._Environ):  # type: ignore[type-arg]
    """``os.environ``, plus the variables of the in-process invocation running on this thread."""

    def __init__(self, real: Any) -> None:
        super().__init__(
            real._data, real.encodekey, real.decodekey, real.encodevalue, real.decodevalue
        )

    @staticmethod
    def _overlay() -> dict[str, str | None] | None:
        return getattr(_INVOCATION, "environ", None)

    def __getitem__(self, key: str) -> str:
        overlay = self._overlay()
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is None:
                raise KeyError(key)
            return value
        return str(super().__getitem__(key))

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self._overlay()
        if overlay is None:
            super().__setitem__(key, value)
        else:
            overlay[str(key)] = str(value)

    def __delitem__(self, key: str) -> None:
        overlay = self._overlay()
        if overlay is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        overlay[key] = None

    def __iter__(self) -> Iterator[str]:
        overlay = self._overlay()
        if overlay is None:
            yield from super().__iter__()
            return
        for key in list(super().__iter__()):
            if key not in overlay:
                yield key
        yield from [k for k, v in overlay.items() if v is not None]

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)


def _scoped_default_session(original: Callable[[], Any]) -> Callable[[], Any]:
    def get_default_session() -> Any:
        session = getattr(_INVOCATION, "session", None)
        return session if session is not None else original()

    return get_default_session


def _install_invocation_scope() -> None:
    import boto3

    if not isinstance(os.environ, _ScopedEnviron):
        os.environ = _ScopedEnviron(os.environ)  # noqa: B003 - same storage, not a new environment
    boto3._get_default_session = _scoped_default_session(boto3._get_default_session)  # type: ignore[attr-defined]


@contextlib.contextmanager
def _invocation_scope(environment: dict[str, str]) -> Iterator[None]:
    """This thread sees ``environment`` over the process's, and ``boto3.client()`` on it uses a
    session with the environment's credentials, region and endpoint."""
    import boto3

    _INVOCATION.environ = dict(environment)
    try:
        _INVOCATION.session = boto3.session.Session(
            aws_access_key_id=environment.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=environment.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=environment.get("AWS_SESSION_TOKEN"),
            region_name=environment.get("AWS_REGION"),
        )
        yield
    finally:
        _INVOCATION.environ = None
        _INVOCATION.session = None


class _ThreadLogs(logging.Handler):
    """Collects the log records of one thread, formatted as the Lambda Python runtime does."""

    def __init__(self, request_id: str) -> None:
        super().__init__(logging.DEBUG)
        self.request_id = request_id
        self.thread_id: int | None = None
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread_id:
            return
        when = dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info))
        self.lines.append(f"[{record.levelname}]\t{stamp}\t{self.request_id}\t{message}")


def error_payload(error: BaseException) -> dict[str, Any]:
    """An unhandled exception as Lambda reports it."""
    frames = traceback.format_tb(error.__traceback__)
    return {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": frames}


def invoke_in_process(fn: Any, event: Any, *, endpoint_url: str | None = None) -> Invocation:
    """Run ``fn``'s handler on ``event`` here and log it to ``/aws/lambda/<name>``."""
    invocation = Invocation(request_id=str(uuid.uuid4()))
    logs = _ThreadLogs(invocation.request_id)
    started = time.monotonic()
    timeout = float(fn.timeout or 3)
    environment = lambda_environment(fn, endpoint_url if endpoint_url else core.endpoint_url())

    def run() -> None:
        logs.thread_id = threading.get_ident()
        try:
            with _invocation_scope(environment):
                # a function created again, or whose code or configuration changed, starts in new
                # execution environments: its identity includes when it last changed
                identity = f"{fn.function_arn}@{fn.last_modified}"
                handler = load_handler(fn.code_bytes, fn.code_sha_256, fn.handler, identity)
                context = LambdaContext(
                    function_name=fn.function_name,
                    function_version=str(fn.version),
                    invoked_function_arn=fn.function_arn,
                    memory_limit_in_mb=int(fn.memory_size),
                    aws_request_id=invocation.request_id,
                    log_group_name=fn.logs_group_name,
                    log_stream_name=_log_stream_name(fn, invocation.request_id),
                    deadline=time.monotonic() + timeout,
                )
                result = handler(event, context)
                json.dumps(result)  # Lambda fails an invocation whose result is not JSON
                invocation.payload = result
        except Exception as error:
            invocation.error = error_payload(error)
            LOGGER.debug("Lambda %s failed", fn.function_name, exc_info=True)

    worker = threading.Thread(target=run, name=f"lambda-{fn.function_name}", daemon=True)
    root = logging.getLogger()
    root.addHandler(logs)
    try:
        worker.start()
        # The handler's own timeout, plus the time its cold start may take.
        worker.join(timeout + INIT_GRACE_SECONDS)
    finally:
        root.removeHandler(logs)
    if worker.is_alive():
        invocation.error = {
            "errorMessage": f"Task timed out after {timeout:.2f} seconds",
            "errorType": "Sandbox.Timedout",
        }
    invocation.log_lines = _write_invocation_log(
        fn, invocation, logs.lines, time.monotonic() - started
    )
    return invocation


def _log_stream_name(fn: Any, request_id: str) -> str:
    return f"{utcnow():%Y/%m/%d}/[{fn.version}]{request_id.replace('-', '')}"


def _write_invocation_log(
    fn: Any, invocation: Invocation, handler_lines: list[str], seconds: float
) -> list[str]:
    """Write the invocation's log stream as Lambda does; returns its lines."""
    request_id = invocation.request_id
    lines = [f"START RequestId: {request_id} Version: {fn.version}", *handler_lines]
    if invocation.error is not None:
        lines.append(json.dumps({**invocation.error, "requestId": request_id}))
    else:
        # Not an AWS line: the emulator records the result so `make logs` shows what happened.
        lines.append(f"RESULT {json.dumps(invocation.payload, default=str)}")
    lines += [
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}\tDuration: {seconds * 1000:.2f} ms",
    ]
    now = int(time.time() * 1000)
    stream = _log_stream_name(fn, request_id)
    with _logs_lock:
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.logs_backend.create_log_stream(fn.logs_group_name, stream)
        fn.logs_backend.put_log_events(
            fn.logs_group_name, stream, [{"timestamp": now, "message": m} for m in lines]
        )
    return lines


def send_to_queue_or_topic(arn: str, body: str, attributes: dict[str, str]) -> None:
    parts = arn.split(":")
    service, region, account, name = parts[2], parts[3], parts[4], parts[5]
    if service == "sqs":
        from moto.sqs.models import sqs_backends

        sqs_backends[account][region].send_message(
            queue_name=name,
            message_body=body,
            message_attributes={
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
            },
        )
    elif service == "sns":
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(message=body, arn=arn)
    else:
        LOGGER.warning("not delivering to %s: only SQS and SNS destinations are emulated", arn)


def deliver_failure(fn: Any, event: Any, invocation: Invocation) -> None:
    """An asynchronous invocation failed: its dead-letter queue and OnFailure destination."""
    error = invocation.error or {}
    dead_letter = (fn.__dict__.get("dead_letter_config") or {}).get("TargetArn")
    if dead_letter:
        attributes = {
            "RequestID": invocation.request_id,
            "ErrorCode": "200",
            "ErrorMessage": str(error.get("errorMessage", ""))[:1000],
        }
        send_to_queue_or_topic(dead_letter, json.dumps(event), attributes)
    for config in getattr(fn, "event_invoke_config", []) or []:
        destination = (
            config.config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        )
        if destination:
            record = {
                "version": "1.0",
                "timestamp": utcnow().isoformat() + "Z",
                "requestContext": {
                    "requestId": invocation.request_id,
                    "functionArn": f"{fn.function_arn}:$LATEST",
                    "condition": "RetriesExhausted",
                    "approximateInvokeCount": 1,
                },
                "requestPayload": event,
                "responseContext": {
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": "Unhandled",
                },
                "responsePayload": error,
            }
            send_to_queue_or_topic(destination, json.dumps(record), {})


def invoke_async(fn: Any, event: Any) -> None:
    """``InvocationType=Event``: run in the background; a failure goes to the DLQ/destination."""
    endpoint_url = core.endpoint_url()

    def work() -> None:
        invocation = invoke_in_process(fn, event, endpoint_url=endpoint_url)
        if invocation.error is not None:
            deliver_failure(fn, event, invocation)

    core.in_background(f"lambda-async-{fn.function_name}", work)


def _header(headers: Any, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _lambda_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    def invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        if not runs_in_process(self):
            return original(self, body, request_headers, response_headers)
        event = json.loads(body) if body else {}
        invocation_type = _header(request_headers, "x-amz-invocation-type") or "RequestResponse"
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            invoke_async(self, event)
            return b""
        invocation = invoke_in_process(self, event)
        if invocation.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
        tail = "\n".join(invocation.log_lines).encode()[-LOG_TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        response_headers["x-amz-executed-version"] = str(self.version)
        return invocation.response_body().encode()

    return invoke


def _simple_backend_invoke(original: Callable[..., Any]) -> Callable[..., Any]:
    # With ``lambda: use_docker: False`` moto echoes the payload; run Python code instead.
    def invoke(
        self: Any,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> Any:
        from moto.awslambda.models import LambdaBackend

        if runs_in_process(self.get_function(function_name, qualifier)):
            return LambdaBackend.invoke(
                self, function_name, qualifier, body, headers, response_headers
            )
        return original(self, function_name, qualifier, body, headers, response_headers)

    return invoke


# --------------------------------------------------------------------------- install


@core.once
def install() -> None:
    """Configuration drift, the account's limits, in-process invocation."""
    LambdaFunction.__init__ = _lambda_init(LambdaFunction.__init__)  # type: ignore[method-assign]
    LambdaFunction.update_configuration = _lambda_update_configuration(  # type: ignore[method-assign]
        LambdaFunction.update_configuration
    )
    LambdaFunction.get_configuration = _lambda_get_configuration(  # type: ignore[method-assign]
        LambdaFunction.get_configuration
    )
    from moto.awslambda import urls as lambda_urls
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.responses import LambdaResponse

    LambdaBackend.put_function_concurrency = _put_function_concurrency  # type: ignore[method-assign]
    LambdaResponse.get_account_settings = _get_account_settings  # type: ignore[attr-defined]
    # GET /2016-08-19/account-settings/ (botocore's lambda model): moto routes no such path.
    lambda_urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = (
        LambdaResponse.dispatch
    )
    _install_invocation_scope()
    LambdaFunction.invoke = _lambda_invoke(LambdaFunction.invoke)  # type: ignore[method-assign]
    LambdaSimpleBackend.invoke = _simple_backend_invoke(LambdaSimpleBackend.invoke)  # type: ignore[method-assign]


def reset() -> None:
    """Every function's next invocation is a cold start."""
    clear_lambda_cache()
