"""Execution-input validator: the training state machine's first Task.

The schema and the checking live in ``contracts.execution_input`` (one home: the ops CLI, the
harness and the docs read it too); the Lambda zip carries ``handler.py`` at its root beside the
``contracts`` package.
"""
