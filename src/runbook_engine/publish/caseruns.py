"""What the cases of a case table share: runs of commands that several cases run in the same
order, found so that the scripts page can list each run once, above its table, and each row only
what its case does besides (the run named where it comes).

A run is at least :data:`MIN_RUN` commands long and occurs at least twice (in two cases, or twice
in one). Runs are taken greedily, the one that saves the most lines first (its length times its
occurrences after the first; the longer, then the earlier, on a tie), until no run is left; they
are then numbered in the order a reader meets them, row by row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Sequence

#: The shortest run worth a name of its own (one command is as short as its name).
MIN_RUN = 2


@dataclass(frozen=True)
class Ref:
    """A shared run in a row: its number (1-based, see the module doc)."""

    n: int


@dataclass(frozen=True)
class Factored:
    runs: list[tuple]  # run n is runs[n - 1]
    rows: list[list]  # each row: commands, with a Ref where it runs a shared run


def _occurrences(rows: list[list], run: tuple) -> list[tuple[int, int]]:
    """(row, start) of every non-overlapping occurrence of *run* among the plain commands."""
    found = []
    for r, row in enumerate(rows):
        i = 0
        while i + len(run) <= len(row):
            if tuple(row[i:i + len(run)]) == run and not any(isinstance(x, Ref) for x in row[i:i + len(run)]):
                found.append((r, i))
                i += len(run)
            else:
                i += 1
    return found


def _best_run(rows: list[list], min_run: int) -> tuple | None:
    best, best_key = None, None
    seen: set[tuple] = set()
    for row in rows:
        for i in range(len(row)):
            for j in range(i + min_run, len(row) + 1):
                run = tuple(row[i:j])
                if any(isinstance(x, Ref) for x in run):
                    break  # a longer run holds the same Ref
                if run in seen:
                    continue
                seen.add(run)
                count = len(_occurrences(rows, run))
                if count < 2:
                    continue
                key = (len(run) * (count - 1), len(run))
                if best_key is None or key > best_key:  # strictly greater: the earlier wins a tie
                    best, best_key = run, key
    return best


def shared_runs(sequences: Sequence[Sequence[Hashable]], min_run: int = MIN_RUN) -> Factored:
    """The runs *sequences* share, and each sequence with its shared runs replaced by a
    :class:`Ref` (expanding the refs gives the sequences back)."""
    rows: list[list] = [list(s) for s in sequences]
    found: list[tuple] = []
    while (run := _best_run(rows, min_run)) is not None:
        found.append(run)
        ref = Ref(len(found))
        for r, i in reversed(_occurrences(rows, run)):
            rows[r][i:i + len(run)] = [ref]
    # number the runs in the order a reader meets them
    order: list[int] = []
    for row in rows:
        for x in row:
            if isinstance(x, Ref) and x.n not in order:
                order.append(x.n)
    renumber = {old: new for new, old in enumerate(order, start=1)}
    rows = [[Ref(renumber[x.n]) if isinstance(x, Ref) else x for x in row] for row in rows]
    return Factored([found[old - 1] for old in order], rows)


def expand(row: Sequence, runs: Sequence[tuple]) -> list:
    """*row* with each :class:`Ref` replaced by its run."""
    out: list = []
    for x in row:
        out.extend(runs[x.n - 1] if isinstance(x, Ref) else [x])
    return out
