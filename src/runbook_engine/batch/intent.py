"""What a Windows START.BAT / STOP.BAT must do in each case, declared from the guide's data (its
services, their flags and phase, the features its scripts select, its messages and commands) and
never found by reading or running the generated script: for every environment of the case grid
(``batch.cases.case_variables``: each documented CLP_EVENT × CLP_DISK × CLP_SERVER, plus
CLP_EVENT not set), the ARM calls and programs in order, with their arguments, and the ids of the
messages broadcast. The Linux twin is ``batch/shcases.py``.

The simulator's traces and the Wine runs of the generated scripts are judged against this oracle
(tests/test_script_proofs.py), and the scripts page prints its case tables from it
(publish/pages.py). The rules, once; "the seed" is the original PP guide SURFNAVI, edition 1
(``shared/seeds/000_9a2ce4643962c062.txt``), whose script samples decide where our data says
nothing else:

START.BAT

* CLP_EVENT START or FAILOVER, CLP_DISK FAILURE: broadcast ``disk-error``, nothing else (the
  seed's ``IF "%CLP_DISK%" == "FAILURE" GOTO ERROR_DISK``; the seed then falls through into the
  "not running" broadcast, a defect our scripts fix: errata ``start-disk-error-fallthrough``).
* CLP_EVENT START or FAILOVER, any other CLP_DISK: ``ARMLOAD`` each scripted service of the
  selected features whose phase is ``common``, in the order of services.yaml; then the script's
  commands for that event, in order (a command with a ``failure`` message that exits non-zero
  broadcasts that message and ends the script); then the priority check: CLP_SERVER ``OTHER``
  broadcasts the event's OTHER message, any other value the HOME one (the seed tests
  ``IF "%CLP_SERVER%" == "OTHER"`` only); then ``ARMLOAD`` each ``after-priority`` service, on
  every server alike (the seed loads W3SVC and MSFTPSVC after the broadcast in both branches).
* CLP_EVENT RECOVER: broadcast ``recovered`` and start nothing, whatever the disk and the server
  (the seed's ``:RECOVER`` branch).
* Anything else, or not set: broadcast ``not-running`` (the seed's ``GOTO no_arm``).

STOP.BAT

* CLP_EVENT START or FAILOVER, CLP_DISK FAILURE: broadcast ``disk-error``, nothing else.
* CLP_EVENT START or FAILOVER, any other CLP_DISK: the priority broadcast (the stop messages),
  then the script's commands for that event (failures as above), then ``ARMKILL`` of every
  service START.BAT started, in exactly the reverse order of the start (errata ``stop-order``;
  the seed already stops its two IIS services in reverse, FTPService before WWWService), except a
  service marked ``forbid_kill`` (the seed: never make ICPFSrv a target of ARMKILL, or every
  packet is dropped and CLUSTERPRO stops working).
* Anything else (RECOVER included: the seed's STOP.BAT checks START and FAILOVER only) or not
  set: broadcast ``not-running``.

``ARMLOAD`` gets the service's watch id, its ``flags`` in the order of the family's ARMLOAD
synopsis (``ARMLOAD watchID [/S] [/M] [/FOV] service``) and its service name; ``ARMKILL`` the
watch id; ``ARMBCAST`` ``/MSG "<the message in the script's language>" /A``. A command is
recorded as cmd.exe runs it: its program name upper-cased (without ``.EXE`` / ``.COM``), then its
words with the settings' values. The generated scripts never abort.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from runbook_engine.batch.cases import EVENT_MESSAGES, case_variables
from runbook_engine.batch.simulator import cases
from runbook_engine.model.schema import Family, Guide, ScriptCommand, ScriptConfig, Service

#: The events each script acts on (any other value, or none, is "CLUSTERPRO is not running").
#: START.BAT also knows RECOVER (its own branch); STOP.BAT does not (the seed).
ACTING_EVENTS = ("START", "FAILOVER")
RECOVER = "RECOVER"


class IntentError(ValueError):
    """The data asks for something the oracle cannot declare (an option ARMLOAD does not have)."""


@dataclass(frozen=True)
class Outcome:
    """What the script must do in one case: every call in order (as the ARM stubs and the
    simulator record them: ``(NAME, arg1, ...)``), the ids of the messages it broadcasts, the ids
    of the services it starts (START.BAT) or stops (STOP.BAT), and the ids of the commands it
    runs. ``aborted`` is the key ``batch.cases.merge_cases`` groups by with the calls: always
    ``None`` (a generated script ends normally in every case)."""

    calls: tuple[tuple[str, ...], ...]
    messages: tuple[str, ...]
    services: tuple[str, ...]
    commands: tuple[str, ...] = ()
    aborted: str | None = None


def armload_flags(family: Family, service: Service) -> tuple[str, ...]:
    """The service's flags in the order of the family's ARMLOAD synopsis; an option ARMLOAD does
    not document is an :class:`IntentError`."""
    armload = next((c for c in family.arm_commands if c.name == "ARMLOAD"), None)
    order = [o.flag for o in armload.options] if armload is not None else []
    unknown = [f for f in service.flags if f not in order]
    if unknown:
        raise IntentError(f"service '{service.id}': ARMLOAD has no option {', '.join(unknown)} "
                          f"(the family documents {', '.join(order) or 'none'})")
    return tuple(f for f in order if f in service.flags)


def armload(family: Family, service: Service) -> tuple[str, ...]:
    return ("ARMLOAD", service.watch_id, *armload_flags(family, service), service.service)


def armkill(service: Service) -> tuple[str, ...]:
    return ("ARMKILL", service.watch_id)


def armbcast(guide: Guide, msg_id: str, lang: str) -> tuple[str, ...]:
    return ("ARMBCAST", "/MSG", guide.message(msg_id)(lang), "/A")


def program_name(word: str) -> str:
    """A program's name as cmd.exe runs it and the stubs record it: upper case, no .EXE/.COM."""
    name = word.upper()
    for ext in (".EXE", ".COM"):
        if name.endswith(ext):
            return name[:-len(ext)]
    return name


def command_call(config: ScriptConfig, cmd: ScriptCommand) -> tuple[str, ...]:
    """The call a command makes: its program and its words with the settings' values."""
    return (program_name(cmd.argv[0]), *(config.resolve(t) for t in cmd.argv[1:]))


def start_order(guide: Guide) -> tuple[list[Service], list[Service]]:
    """(common, after-priority): the services START.BAT starts before and after the priority
    check, each in the order of services.yaml (the scripted services of the selected features)."""
    scripted = guide.scripted_services()
    return ([s for s in scripted if s.phase == "common"], [s for s in scripted if s.phase == "after-priority"])


def stop_order(guide: Guide) -> list[Service]:
    """The services STOP.BAT stops: the reverse of the start, never a ``forbid_kill`` one."""
    common, late = start_order(guide)
    return [s for s in reversed(common + late) if not s.forbid_kill]


class _Run:
    """Calls collected in order, with the ids they stand for."""

    def __init__(self, guide: Guide, lang: str, exit_codes: Mapping[str, int]) -> None:
        self.guide, self.lang = guide, lang
        self.codes = {k.upper(): v for k, v in exit_codes.items()}
        self.calls: list[tuple[str, ...]] = []
        self.messages: list[str] = []
        self.services: list[str] = []
        self.commands: list[str] = []

    def broadcast(self, msg_id: str) -> None:
        self.calls.append(armbcast(self.guide, msg_id, self.lang))
        self.messages.append(msg_id)

    def service(self, call: tuple[str, ...], service: Service) -> None:
        self.calls.append(call)
        self.services.append(service.id)

    def run_commands(self, kind: str, event: str) -> bool:
        """Run the script's commands for *event*; False if a checked one failed (its failure
        message is broadcast and the script ends: ``IF ERRORLEVEL 1`` or ``IF NOT ERRORLEVEL 0``,
        any non-zero exit code)."""
        config = self.guide.scripts
        for cmd in config.commands_of(kind, event):
            call = command_call(config, cmd)
            self.calls.append(call)
            self.commands.append(cmd.id)
            if cmd.failure is not None and self.codes.get(call[0], 0) != 0:
                self.broadcast(cmd.failure)
                return False
        return True

    def outcome(self) -> Outcome:
        return Outcome(tuple(self.calls), tuple(self.messages), tuple(self.services), tuple(self.commands))


def outcome(family: Family, guide: Guide, kind: str, env: Mapping[str, str | None], lang: str,
            exit_codes: Mapping[str, int] | None = None) -> Outcome:
    """What *kind*'s script ("start" | "stop") must do in *env* (an unset variable is absent or
    None); *exit_codes*: a program's exit code by name (0 for the others)."""
    event, disk, server = env.get("CLP_EVENT"), env.get("CLP_DISK"), env.get("CLP_SERVER")
    run = _Run(guide, lang, exit_codes or {})
    if event not in ACTING_EVENTS:
        run.broadcast("recovered" if (kind == "start" and event == RECOVER) else "not-running")
        return run.outcome()
    if disk == "FAILURE":
        run.broadcast("disk-error")
        return run.outcome()
    home, other = EVENT_MESSAGES[kind][event]
    priority = other if server == "OTHER" else home
    if kind == "start":
        common, late = start_order(guide)
        for s in common:
            run.service(armload(family, s), s)
        if not run.run_commands(kind, event):
            return run.outcome()
        run.broadcast(priority)
        for s in late:
            run.service(armload(family, s), s)
    else:
        run.broadcast(priority)
        if not run.run_commands(kind, event):
            return run.outcome()
        for s in stop_order(guide):
            run.service(armkill(s), s)
    return run.outcome()


def declared_cases(family: Family, guide: Guide, kind: str, lang: str,
                   exit_codes: Mapping[str, int] | None = None) -> list[tuple[dict, Outcome]]:
    """(environment, outcome) for every case of the family's grid, in grid order (an unset
    variable is absent from its environment), as ``simulator.cases`` lists them."""
    return [(env, outcome(family, guide, kind, env, lang, exit_codes)) for env in cases(case_variables(family))]
