"""Shared helpers: timing, tables, temporary projects, machine facts."""
from __future__ import annotations

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
MERMAID = REPO / ".runbook" / "vendor" / "mermaid" / "mermaid.min.js"
TEMPLATE_CACHE = REPO / ".runbook" / "sandbox-test-cache" / "cluster-templates"
#: what a temporary project copies from the repository (src/ is linked: mkdocs.yml's hook path)
PROJECT_DIRS = ("kb", "docs", "snippets", "overrides", "runbooks")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def interleaved(variants: dict[str, Callable[[], float | None]], reps: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run every variant *reps* times, round-robin (A B C A B C ...), after *warmup* untimed rounds.

    A variant returns the seconds to count (or None: its own wall time is counted)."""
    out: dict[str, list[float]] = {k: [] for k in variants}
    for i in range(warmup + reps):
        for name, fn in variants.items():
            t0 = time.perf_counter()
            r = fn()
            dt = time.perf_counter() - t0 if r is None else r
            if i >= warmup:
                out[name].append(dt)
    return out


@dataclass
class Row:
    name: str
    seconds: float | None          # median seconds (None: not a timing row)
    ratio: float | None = None     # vs the table's baseline
    goal: str = ""
    verdict: str = ""
    note: str = ""
    value: str | None = None       # shown instead of seconds for non-timing rows


@dataclass
class Table:
    title: str
    baseline: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        out = [f"### {self.title}", "", f"Baseline: {self.baseline}", "",
               "| measurement | median s | ratio | goal | verdict | note |", "|---|---:|---:|---|---|---|"]
        for r in self.rows:
            sec = r.value if r.value is not None else ("—" if r.seconds is None else f"{r.seconds:.3f}")
            ratio = "—" if r.ratio is None else f"{r.ratio:.2f}×"
            out.append(f"| {r.name} | {sec} | {ratio} | {r.goal or '—'} | {r.verdict or '—'} | {r.note} |")
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        return "\n".join(out) + "\n"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "NOT met")


def machine_facts() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        wine = subprocess.run(["wine", "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        wine = "not found"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "wine": wine or "?",
        "load average at start": load,
    }


@contextmanager
def temp_dir(prefix: str):
    d = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def copy_project(dest: Path) -> Path:
    """A copy of the project's inputs at *dest* (kb/, docs/, snippets/, overrides/, runbooks/,
    mkdocs.yml; src/ linked), so builds never write into the work tree."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_DIRS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name)
    shutil.copy2(REPO / "mkdocs.yml", dest / "mkdocs.yml")
    (dest / "src").symlink_to(REPO / "src", target_is_directory=True)
    return dest
