"""What a command runs with: its AWS clients, the account/region/endpoint they target, the
Terraform outputs, and where it prints; and what a command returns (``Result``)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TextIO

import boto3

from ops.errors import ConfigError, Exit
from ops.outputs import require


class Clients:
    """boto3 clients of one session, each created on first use and then reused."""

    def __init__(self, region: str, endpoint_url: str | None) -> None:
        self._session = boto3.Session(region_name=region)
        self.region = region
        self.endpoint_url = endpoint_url

    def client(self, name: str) -> Any:
        return self._session.client(name, endpoint_url=self.endpoint_url)  # type: ignore[call-overload]

    @cached_property
    def sfn(self) -> Any:
        return self.client("stepfunctions")

    @cached_property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    @cached_property
    def runtime(self) -> Any:
        return self.client("sagemaker-runtime")

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")

    @cached_property
    def logs(self) -> Any:
        return self.client("logs")

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def sts(self) -> Any:
        return self.client("sts")

    @cached_property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")


@dataclass(frozen=True)
class Target:
    """Where a command acts: printed first by every command, so nobody acts on the wrong
    account by accident (a local stack's names never match an AWS deployment's either)."""

    account: str
    region: str
    endpoint_url: str
    caller: str
    explicit_endpoint: bool

    def line(self) -> str:
        where = (
            "AWS_ENDPOINT_URL / --endpoint-url, e.g. the local emulator"
            if self.explicit_endpoint
            else "AWS; each service at its regional endpoint"
        )
        return (
            f"target: account {self.account}, region {self.region}, endpoint "
            f"{self.endpoint_url} ({where})"
        )

    def as_dict(self) -> dict[str, str]:
        return {
            "account": self.account,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "caller": self.caller,
        }


def identify(clients: Clients) -> Target:
    """GetCallerIdentity (needs no permission): the account and who is calling."""
    identity = clients.sts.get_caller_identity()
    return Target(
        account=str(identity["Account"]),
        region=clients.region,
        endpoint_url=str(clients.endpoint_url or clients.sagemaker.meta.endpoint_url),
        caller=str(identity.get("Arn", "")),
        explicit_endpoint=clients.endpoint_url is not None,
    )


@dataclass
class Result:
    """What a command did: ``data`` for ``--json``, ``text`` for people, and the exit code."""

    data: Any
    text: str
    code: int = Exit.OK


@dataclass
class Context:
    args: argparse.Namespace
    outputs: Mapping[str, Any]
    clients: Clients
    target: Target
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    #: Progress while a command works (stdout for people, stderr under --json).
    progress: TextIO = field(default_factory=lambda: sys.stdout)
    #: Where a question is asked, and where its answer is read.
    ask: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)

    def say(self, line: str) -> None:
        print(line, file=self.progress, flush=True)

    def output(self, name: str) -> str:
        return require(self.outputs, name)

    def confirm(self, question: str) -> None:
        """Go on only with ``--yes`` or a "y" on stdin; anything else refuses (exit 2)."""
        if getattr(self.args, "yes", False):
            return
        print(f"{question} [y/N] ", end="", file=self.ask, flush=True)
        answer = self.stdin.readline()
        if answer.strip().lower() not in {"y", "yes"}:
            if not answer:
                print(file=self.ask)
            raise ConfigError("not confirmed: nothing was changed (YES=1 skips the question)")


@dataclass(frozen=True)
class Command:
    """One subcommand: its name, help, options and what it does."""

    name: str
    help: str
    run: Callable[[Context], Result]
    add_arguments: Callable[[argparse.ArgumentParser], None] = lambda parser: None


def positive(text: str) -> int:
    """An argparse ``type``: a whole number of at least 1 (argparse exits 2 otherwise)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def seconds(text: str) -> float:
    """An argparse ``type``: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value
