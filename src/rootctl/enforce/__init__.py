"""Continuous enforcement: one idempotent reconcile pass (`rootctl enforce`).

The rules live here and in the facade (`Rootctl.enforce`); the CLI and a Lambda handler
only parse their input (flags, an EventBridge event) and render the report.
"""

from rootctl.enforce.durations import MAX_WINDOW, parse_duration
from rootctl.enforce.events import EventScope, parse_event
from rootctl.enforce.report import ENFORCE_SCHEMA, EnforcementReport, Finding

__all__ = [
    "ENFORCE_SCHEMA",
    "MAX_WINDOW",
    "EnforcementReport",
    "EventScope",
    "Finding",
    "parse_duration",
    "parse_event",
]
