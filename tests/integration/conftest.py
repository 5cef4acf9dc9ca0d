"""Fixtures for the product's tests against the emulator in-process, defined once with the
emulator's own tests (``emulator/tests/fixtures.py``, ``endpoints.py``)."""

from emulator.tests.endpoints import endpoint_clients
from emulator.tests.fixtures import aws_env, clients, emulator, execute_state_machines

__all__ = ["aws_env", "clients", "emulator", "endpoint_clients", "execute_state_machines"]
