"""The two ways an operation ends badly, each with its exit code (see ``ops.cli``)."""

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
