"""Execution-input validator: the state machine's first Task, and the one home of the input schema.

``schema.json`` is the schema (read by the Lambda, the ops CLI and the README table's test);
``logic.py`` checks an input against it; only ``handler.py``, ``logic.py`` and ``schema.json`` ship
in the Lambda zip, at its root. This file lets the tests import ``lambdas.input_validator``.
"""
