"""Notify: record, report and notify the outcome of every state machine execution (``Finish``)."""
