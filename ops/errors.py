"""The exit-code table of ``python -m ops`` (every ``make`` operation), and the ways an operation
ends badly, each with its code. docs/operations.md shows the same table (a test keeps the two
equal)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    """What a command's exit code means: one table for every command."""

    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    TIMEOUT = 4
    INTERRUPTED = 130


#: Each code with what it means, in the order docs/operations.md lists them.
EXIT_CODES: tuple[tuple[Exit, str], ...] = (
    (Exit.OK, "done: the command did what it says (a run it waited for succeeded)"),
    (
        Exit.FAILED,
        "the thing failed: the run or deployment it waited for failed, AWS refused a call, or "
        "the AWS endpoint (the emulator) stopped answering",
    ),
    (
        Exit.USAGE,
        "usage, configuration or refused input: a bad option, no credentials, region or "
        "Terraform outputs, input the schema refuses, a confirmation not given",
    ),
    (
        Exit.NOT_FOUND,
        "what the command needs does not exist: a package, the endpoint, a run, a report",
    ),
    (
        Exit.TIMEOUT,
        "a wait passed its deadline: the run or deployment goes on (follow it with make status)",
    ),
    (Exit.INTERRUPTED, "interrupted (Ctrl-C): what was started goes on"),
)


class OpsError(Exception):
    """A failure the CLI reports as one clear line instead of a stack trace."""

    exit_code = Exit.FAILED


class ConfigError(OpsError):
    """Usage or configuration problem, or refused input (bad arguments, no outputs, no
    credentials, not confirmed)."""

    exit_code = Exit.USAGE


class OperationError(OpsError):
    """AWS said no, or the resource is not in the state the command needs."""

    exit_code = Exit.FAILED


class NotFoundError(OpsError):
    """What the command acts on does not exist."""

    exit_code = Exit.NOT_FOUND


class WaitTimeout(OpsError):
    """A wait passed its deadline; what it waited for goes on."""

    exit_code = Exit.TIMEOUT


#: Where ``make local-up`` tells the ops CLI the emulator's log is (``export`` line it prints).
EMULATOR_LOG_ENV = "MLOPS_EMULATOR_LOG"


class EndpointUnreachable(OperationError):
    """The AWS endpoint stopped answering (connection refused, closed or timed out).

    Against the local emulator this means the emulator process is gone; the message says so
    in one line, with its log, instead of botocore's retry traceback.
    """

    def __init__(self, endpoint_url: str | None, log_path: str | None = None) -> None:
        self.endpoint_url = endpoint_url
        self.log_path = log_path
        where = endpoint_url or "the AWS endpoint"
        if log_path:
            text = (
                f"the emulator at {where} is not answering (stopped or crashed): "
                f"its log is {log_path}; start a new one with make local-up"
            )
        else:
            text = (
                f"cannot reach {where}: is the emulator running (make local-up)? "
                "is the region right?"
            )
        super().__init__(text)
