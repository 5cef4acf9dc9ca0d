"""Fixtures of the emulator's tests (``fixtures.py`` defines the in-process emulator's once for
every test tree; ``endpoints.py`` the endpoint tests' models and clients)."""

from emulator.tests.endpoints import endpoint_clients, model_dir, other_model_dir
from emulator.tests.fixtures import aws_env, clients, emulator, execute_state_machines

__all__ = [
    "aws_env",
    "clients",
    "emulator",
    "endpoint_clients",
    "execute_state_machines",
    "model_dir",
    "other_model_dir",
]
