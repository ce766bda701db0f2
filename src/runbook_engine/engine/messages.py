"""What a run says, in the operator's language.

Every text a run shows a person (statuses, the notebook's outputs, `runbook run`'s lines, the
engine's reports, `runbook answers`) is a label of kb/site.yaml with its ``ja`` and ``en`` side,
read here: the terminal and the notebook word a run with the same texts. ``{name}`` in a label is
filled in by the code (only the names given; any other brace is kept as written). Identifiers
(step ids, node names, options) are written in backticks: the notebook shows them as code, the
terminal without the backticks (:func:`plain`).

A text made below the command line (an engine error, a build's progress, a sandbox's line) is a
:class:`Said`: its label id and fields, worded by the command line in the operator's language.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from runbook_engine.model.schema import KnowledgeBase

_FIELD = re.compile(r"\{([a-z_]+)\}")
_CODE = re.compile(r"`([^`]+)`")

#: how a confirmation was given, as the confirmation records store it -> its label
HOW = {"--confirm": "how-confirm", "answers file": "how-answers", "interactive": "how-interactive"}
EARLIER = "earlier run "  # + run id: a confirmation recorded by an earlier run


@dataclass(frozen=True)
class Said:
    """A text by its label id and fields, worded where it is shown (:meth:`Messages.text`). A
    field may be a Said itself (a noun, a place), worded in the same language."""

    id: str
    fields: dict = field(default_factory=dict)

    @classmethod
    def of(cls, label_id: str, **fields) -> "Said":
        return cls(label_id, fields)


def plain(text: str) -> str:
    """*text* for a terminal: code spans without their backticks."""
    return _CODE.sub(r"\1", text)


class Messages:
    """The labels of one language, with the run's vocabulary (statuses, modes) on top."""

    def __init__(self, kb: KnowledgeBase, lang: str):
        self.kb, self.lang = kb, lang

    def L(self, label_id: str, **fields) -> str:
        text = self.kb.label(label_id)(self.lang)
        if not fields:
            return text
        return _FIELD.sub(lambda m: str(fields[m[1]]) if m[1] in fields else m[0], text)

    def text(self, value) -> str:
        """*value* worded: a :class:`Said` by its label (its fields worded too), anything else as
        it is (a text the code made: a system's own message, a path)."""
        if isinstance(value, Said):
            return self.L(value.id, **{k: self.text(v) for k, v in value.fields.items()})
        return str(value)

    def status(self, status: str, kind: str = "") -> str:
        """A step's status (engine.status.Status, or a manual step's: confirmed, waiting,
        pending); a manual step's pending is ``status-manual-pending`` (on hold, not a change)."""
        if kind == "manual" and f"status-manual-{status}" in self.kb.site.labels:
            return self.L(f"status-manual-{status}")
        return self.L(f"status-{status}")

    def run_status(self, status: str) -> str:
        return self.L(f"run-status-{status}")

    def row_status(self, status: str) -> str:
        return self.L(f"row-{status}")

    def row_message(self, row) -> str:
        """A plan row's message (engine.actions.Change): its label when the action names one."""
        if getattr(row, "message_id", ""):
            return self.L(row.message_id, **row.message_fields)
        return row.message

    def step_mode(self, mode: str) -> str:
        """A step's mode in a word (manual, automated, check)."""
        return self.L(f"mode-short-{mode}")

    def run_mode(self, mode: str) -> str:
        """A run's mode (plan, apply, verify, rollback)."""
        return self.L(f"run-mode-{mode}")

    def how(self, how: str) -> str:
        """How a manual step was confirmed, from the confirmation record's ``how``."""
        if how.startswith(EARLIER):
            return self.L("how-earlier", run_id=how[len(EARLIER):])
        return self.L(HOW[how]) if how in HOW else how

    def seconds(self, s: float) -> str:
        return self.L("seconds", s=f"{s:.2f}")
