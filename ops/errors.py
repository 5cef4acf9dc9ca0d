"""The ways an operation ends badly, each with its exit code (see ``ops.cli``)."""

from __future__ import annotations


class OpsError(Exception):
    """A failure the CLI reports as one clear line instead of a stack trace."""

    exit_code = 1


class ConfigError(OpsError):
    """Usage or configuration problem (bad arguments, no outputs, no credentials): exit 2."""

    exit_code = 2


class OperationError(OpsError):
    """AWS said no, or the resource is not in the state the command needs: exit 1."""

    exit_code = 1


#: Where ``make local-up`` tells the ops CLI the emulator's log is (``export`` line it prints).
EMULATOR_LOG_ENV = "MLOPS_EMULATOR_LOG"


class EndpointUnreachable(OperationError):
    """The AWS endpoint stopped answering (connection refused, closed or timed out): exit 1.

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
