"""Executors carry a run's round trips to its targets.

The runner makes at most two round trips to each target (read; change + re-read), every target's
read before any change. *How* a round trip reaches the targets is the executor's:

* ``native`` (the default): each target's own transport (wine, ssh, ssh-posix, nspawn, rfc2136 …),
  the targets in parallel threads, each batch sent as soon as it is ready.
* an executor registered by another module (``ansible``: one ansible-runner call per round for all
  the nodes, forks = nodes) whose transports hand their batch to a :class:`RoundBarrier`: the
  round's batches go out together once every target of the round has either handed in its batch
  or finished without one.

The runner tells the executor which targets take part in a round (:meth:`Executor.round`) and
when each is done with it; facts, plans, the journal and the reports are the same whichever
executor carries the batches. An executor module registers its class::

    @register_executor("ansible")
    class AnsibleExecutor(Executor): ...
"""
from __future__ import annotations

import importlib
import pkgutil
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from runbook_engine.engine.targets import Target
from runbook_engine.engine.transports import open_transport
from runbook_engine.engine.transports.base import Transport
from runbook_engine.model.errors import unknown

EXECUTORS: dict[str, type["Executor"]] = {}


def register_executor(name: str):
    def deco(cls: type[Executor]) -> type[Executor]:
        cls.name = name
        EXECUTORS[name] = cls
        return cls

    return deco


def executor_names() -> list[str]:
    """Every executor: ``native`` and one per module of this package (none is imported)."""
    return sorted({"native", *EXECUTORS, *(m.name for m in pkgutil.iter_modules(__path__))})


def executor_class(name: str) -> type["Executor"]:
    """The executor registered as *name*, importing its module on first use."""
    if name not in EXECUTORS and name.isidentifier():
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise ValueError(f"executor '{name}' needs {exc.name}: install it (pip install '.[{name}]')") from None
    if name not in EXECUTORS:
        raise ValueError(unknown("executor", name, executor_names()))
    return EXECUTORS[name]


class Round:
    """The targets of one round trip of a run; each says when it is done with the round."""

    def done(self, name: str) -> None:
        """*name* will send nothing more in this round (it sent its batch, or had none to send)."""


class Executor:
    """The native executor: every target through its own transport, as soon as its batch is ready."""

    name = "native"

    def __init__(self, opener: Callable[[Target], Transport] | None = None):
        self._opener = opener or open_transport

    def open(self, target: Target) -> Transport:
        """The transport the runner sends *target*'s batches through."""
        return self._opener(target)

    def problems(self, targets: list[Target]) -> list[str]:
        """Why this executor cannot carry some of *targets* (one line each), said before a run."""
        return []

    @contextmanager
    def round(self, names: list[str]) -> Iterator[Round]:
        """A round trip to the targets *names*; batches sent while it is open belong to it."""
        yield Round()

    def close(self) -> None:
        """Release what the executor holds (safe to call twice)."""


register_executor("native")(Executor)


class RoundBarrier(Round):
    """Collects the batches of one round and sends them together.

    Each target's transport calls :meth:`submit` with its batch and blocks; when every target of
    the round that is not done has submitted, *flush* sends them all at once ({name: batch} ->
    {name: result or exception}) and every caller gets its own answer. A target that submits again
    in the same round (a repeated read) starts a smaller flush with whoever else is waiting."""

    def __init__(self, names: list[str], flush: Callable[[dict[str, Any]], dict[str, Any]]):
        self.active = set(names)
        self.flush = flush
        self.pending: dict[str, Any] = {}
        self.results: dict[str, Any] = {}
        self.cond = threading.Condition()

    def submit(self, name: str, batch: Any) -> Any:
        with self.cond:
            if name not in self.active:
                raise RuntimeError(f"{name} is not in this round (or is done with it)")
            self.pending[name] = batch
            self._maybe_flush()
            while name not in self.results:
                self.cond.wait()
            answer = self.results.pop(name)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def done(self, name: str) -> None:
        with self.cond:
            self.active.discard(name)
            self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self.pending and set(self.pending) >= self.active:
            batch, self.pending = self.pending, {}
            try:
                answers = self.flush(batch)
            except BaseException as exc:  # noqa: BLE001 - every waiting target gets the failure
                answers = {name: exc for name in batch}
            for name in batch:
                self.results[name] = answers.get(name, RuntimeError(f"no answer for {name}"))
            self.cond.notify_all()


__all__ = ["EXECUTORS", "Executor", "Round", "RoundBarrier", "executor_class", "executor_names", "register_executor"]
