"""Where a project's folders are: kb/, snippets/, docs/, runbooks/ and the state folder .runbook/."""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


@dataclass(frozen=True)
class Project:
    root: Path
    state_dir: Path | None = None  # default: $RUNBOOK_STATE or <root>/.runbook

    @classmethod
    def find(cls, start: Path | str | None = None) -> "Project":
        """The nearest folder at or above *start* (default: $RUNBOOK_ROOT or the cwd) holding kb/."""
        env = os.environ.get("RUNBOOK_ROOT")
        here = Path(start or env or Path.cwd()).resolve()
        for p in (here, *here.parents):
            if (p / "kb").is_dir() and (p / "snippets").is_dir():
                return cls(p)
        return cls(here)

    @property
    def kb(self) -> Path:
        return self.root / "kb"

    @property
    def snippets(self) -> Path:
        return self.root / "snippets"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    @property
    def runbooks(self) -> Path:
        return self.root / "runbooks"

    @property
    def state(self) -> Path:
        if self.state_dir is not None:
            return Path(self.state_dir)
        return Path(os.environ.get("RUNBOOK_STATE", self.root / ".runbook"))

    @property
    def sandbox_inventory(self) -> Path:
        """The inventory `runbook sandbox create` writes: the default target of every command."""
        return self.state / "sandbox" / "inventory.yaml"

    @property
    def vendor(self) -> Path:
        """Third-party files installed by the set-up script (mermaid.min.js), not committed."""
        return self.root / ".runbook" / "vendor"

    @cached_property
    def knowledge(self):
        from runbook_engine.model.loader import load

        return load(self.kb)
