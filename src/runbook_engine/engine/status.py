"""The statuses a step result can have on one target (printed and written to JSON as their value)."""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    CONVERGED = "converged"  # nothing to change
    CHANGED = "changed"  # apply changed something and it now matches
    PENDING = "pending"  # plan/verify: something differs
    ERROR = "error"  # a check failed, a value was refused, a change did not take
    UNREACHABLE = "unreachable"  # the transport could not reach the target
    SKIPPED = "skipped"  # the step has no target in this inventory


FAILED = (Status.ERROR, Status.UNREACHABLE)


class RowStatus(StrEnum):
    """The status of one row of a plan."""

    OK = "ok"
    CHANGE = "change"  # planned
    CHANGED = "changed"  # applied
    ERROR = "error"
