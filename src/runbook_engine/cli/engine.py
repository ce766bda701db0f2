"""`runbook plan | apply | verify | rollback`: the engine on the nodes of an inventory."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from runbook_engine.cli.arguments import (BadArgument, about, engine_steps, inventory_path, known_guide, known_nodes,
                                          known_run, lang_option)
from runbook_engine.cli.base import error, fail_input, messages_for, project_of, worded
from runbook_engine.cli.display import Display
from runbook_engine.engine.messages import Said, plain
from runbook_engine.model.errors import KbError, KbInvalid, unknown
from runbook_engine.model.project import Project


def load_inventory_for(project: Project, path: str | None):
    """The inventory at *path*, or the sandbox's when none is given."""
    from runbook_engine.engine.inventory import load_inventory

    return load_inventory(inventory_path(project, path))


def guide_for(kb, guide_id: str | None, inventory, source):
    """The guide named on the command line, or the inventory's (read from *source*)."""
    if guide_id is None and inventory.guide not in kb.guides:
        from runbook_engine.model.yamlio import locate, read_yaml

        raw = read_yaml(Path(source), Path(source).parent, confine=False)  # for the line
        raise KbInvalid([KbError(str(source), locate(raw, ("guide",)), "guide: " + unknown("guide", inventory.guide, kb.guides))])
    return known_guide(kb, guide_id or inventory.guide)


def print_report(report, say, stream=None) -> None:
    """A plain-text table per node: step, target, current -> desired, status, in *say*'s language
    (on *stream*, by default the sys.stdout of the moment)."""
    from runbook_engine.engine.report import report_lines

    stream = stream if stream is not None else sys.stdout

    for line in report_lines(report, say):
        print(line, file=stream)
    for note in getattr(report, "notes", []):
        print(plain(say.L("report-note", note=say.text(note))), file=stream)


def show(report, as_json: bool, say=None) -> int:
    """The report for a person (in *say*'s language; default: the locale's) or as JSON."""
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print_report(report, say or messages(None))
    return report.exit_code


def messages(lang: str | None, project: Project | None = None):
    """The run's texts in *lang* (default: the locale's)."""
    return messages_for(project or Project.find(None), lang)


class Progress:
    """What a run across nodes shows as it goes: each target when it is done with a round trip,
    each step result as soon as its target's results are final (plain lines, or a progress
    display on a terminal: cli/display.py). Nothing with --json (stdout is the JSON's)."""

    def __init__(self, say, display: Display):
        self.say, self.display = say, display

    def start(self, mode: str, total: int) -> None:
        self.display.start(self.say.run_mode(mode), total)

    def round(self, target: str, done: str) -> None:
        label = "progress-read" if done == "read" else "progress-changed"
        self.display.line(plain(self.say.L(label, target=target)))

    def result(self, res) -> None:
        counts = self.say.L("run-step-changes", n=res.changes)
        self.display.line(f"  {res.node} [{res.step}] {self.say.status(res.status)} ({counts})")
        self.display.advance(f"{res.node} {res.step}")


def expected_results(runner) -> int:
    """How many step results a run of *runner* reports (the progress display's total)."""
    skipped, work = runner.work()
    return len(skipped) + sum(len(steps) for _, steps in work.values())


def secret_errors(project: Project, path: str | None, inventory, steps=None, say=None) -> list[KbError]:
    """Every DNS server's TSIG secret checked before anything runs (an environment variable set
    and base64; a key file that is its user's alone and holds a base64 secret or the key's BIND
    statement), at the line of its ``key_secret_env`` or ``key_secret_file`` in the inventory, in
    *say*'s language where the problem has a label; only when a step of *steps* (default: any)
    targets the DNS servers. The value is never shown."""
    from runbook_engine.engine.actions import step_scope
    from runbook_engine.model.yamlio import locate, read_yaml

    if not inventory.dns:
        return []
    if steps is not None and not any(step_scope(s).name == "dns-servers" for s in steps):
        return []
    problems = [(i, o.secret.option, p) for i, server in enumerate(inventory.dns)
                if (p := (o := server.options).secret.said(o.key_name, o.algorithm))]
    if not problems:
        return []
    say = say or messages_for(project, None)
    problems = [(i, key, worded(say, p)) for i, key, p in problems]
    inv_path = Path(path) if path else project.sandbox_inventory
    raw = read_yaml(inv_path, inv_path.parent, confine=False)  # for the lines, only when something is wrong
    return [KbError(str(inv_path), locate(raw, ("dns", i, key)), f"dns.{i}.{key}: {problem}")
            for i, key, problem in problems]


def executor_for(args, inventory, nodes: list[str] | None):
    """The executor of ``--executor`` (None: native) for *nodes* of *inventory* (default: all),
    checked before any node is touched: a misuse is a BadArgument. The caller closes it."""
    from runbook_engine.engine.executors import executor_class
    from runbook_engine.engine.targets import node_target

    name = getattr(args, "executor", "native")
    extra = getattr(args, "ansible_inventory", None)
    try:
        cls = executor_class(name)
    except ValueError as exc:
        raise BadArgument(about("--executor", str(exc))) from None
    if extra is not None and name != "ansible":
        raise BadArgument(Said.of("error-ansible-inventory-native", executor=name))
    if extra is not None and not Path(extra).exists():
        raise BadArgument(Said.of("error-no-such-path", option="--ansible-inventory", path=extra))
    if name == "native":
        return None
    try:
        executor = cls(**({"inventory_file": extra} if extra is not None else {}))
    except ValueError as exc:
        raise BadArgument(str(exc)) from None
    problems = executor.problems([node_target(inventory.node(n)) for n in nodes or [n.name for n in inventory.nodes]])
    if problems:
        executor.close()
        raise BadArgument(problems[0])
    return executor


def cmd_engine(args) -> int:
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.engine.runner import Runner

    project = project_of(args)
    executor = None
    say = None
    try:
        try:
            kb = project.knowledge  # bad kb/ exits 2 before any node is touched
            say = messages_for(project, args.lang)
            source = inventory_path(project, args.inventory)
            inv = load_inventory(source)
            guide = guide_for(kb, args.guide, inv, source)
            nodes = known_nodes(inv, args.node, source) or None
            steps = engine_steps(guide, args.step) or None
            executor = executor_for(args, inv, nodes)
            runner = Runner(project, inv, guide_id=guide.id, nodes=nodes, steps=steps, executor=executor)
            errs = secret_errors(project, args.inventory, inv, runner.steps, say)
            if errs:
                raise KbInvalid(errs)
        except KbInvalid as exc:
            return fail_input(exc.errors)
        except KeyError as exc:
            return fail_input([error(str(exc.args[0]))], say)
        except ValueError as exc:  # the guide's platform is not the inventory's
            return fail_input([error(str(exc))], say)
        note_interrupted(project, inv.cluster, say)
        if args.command == "apply" and not args.yes:
            return confirm_and_apply(runner, args, say)
        return show(run_with_progress(runner, args.command, say, args.json), args.json, say)
    finally:
        if executor is not None:
            executor.close()


def run_with_progress(runner, mode: str, say, as_json: bool):
    """*runner*'s run in *mode*, showing each target and step result as it comes."""
    with Display(quiet=as_json) as display:
        progress = Progress(say, display)
        runner.on_result, runner.on_round = progress.result, progress.round
        progress.start(mode, expected_results(runner))
        try:
            return runner.run(mode)
        finally:
            runner.on_result = runner.on_round = None


def note_interrupted(project: Project, cluster: str, say) -> None:
    """Say (on stderr) which earlier runs of the cluster were interrupted after changing something:
    a re-run converges, but the exact state before them needs them rolled back too."""
    from runbook_engine.engine.runs import interrupted

    for r in interrupted(project.state, cluster):
        print(say.L("note-interrupted", run_id=r.run_id, n=r.intents, nodes=", ".join(r.nodes)), file=sys.stderr)


def confirm_and_apply(runner, args, say) -> int:
    """Plan, show the plan, ask before changing anything. Without a terminal to ask on, refuse
    (exit 2) unless --yes: nothing runs unattended by accident. The notebook's step cells do not
    come here (their manual gates confirm)."""
    if not sys.stdin.isatty():
        return fail_input([error(Said.of("error-apply-no-terminal"))], say)
    plan = run_with_progress(runner, "plan", say, False)
    print_report(plan, say)
    failed = [r for r in plan.results if r.status in ("error", "unreachable")]
    changes = sum(r.changes for r in plan.results)
    nodes = len({r.node for r in plan.results if r.changes})
    if failed and not changes:
        return plan.exit_code
    if changes == 0:
        print(say.L("apply-nothing"))
        return plan.exit_code
    try:
        answer = input(say.L("apply-ask", changes=changes, nodes=nodes) + " ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print(say.L("apply-declined"))
        return 1
    return show(run_with_progress(runner, "apply", say, args.json), args.json, say)


def cmd_rollback(args) -> int:
    from runbook_engine.engine.runner import rollback
    from runbook_engine.engine.runs import runs_to_undo

    project = project_of(args)
    if (args.run_id is None) == (args.to_before is None):
        raise BadArgument(Said.of("error-rollback-which"))
    try:
        inv = load_inventory_for(project, args.inventory)
    except KbInvalid as exc:
        return fail_input(exc.errors)
    say = messages_for(project, args.lang)

    def undo(run_id: str, executor):
        with Display(quiet=args.json) as display:
            progress = Progress(say, display)
            progress.start("rollback", None)
            return rollback(project, inv, run_id, on_result=progress.result, executor=executor)

    if args.run_id is not None:
        known_run(project.state, args.run_id)
    else:
        known_run(project.state, args.to_before, "--to-before", cluster=inv.cluster)
    executor = executor_for(args, inv, None)
    try:
        if args.run_id is not None:
            return show(undo(args.run_id, executor), args.json, say)
        runs = runs_to_undo(project.state, args.to_before, inv.cluster)
        code = 0
        for run in runs:  # newest first: each restores the state before it, down to --to-before's
            if not args.json:
                print(say.L("rollback-heading", run_id=run.run_id, status=say.L(f"runs-status-{run.status}"),
                            n=run.intents))
            code = show(undo(run.run_id, executor), args.json, say)
            if code:
                break  # an older run's undo assumes the newer ones were undone
        if not runs:
            print(say.L("rollback-nothing", run_id=args.to_before))
        return code
    finally:
        if executor is not None:
            executor.close()


def cmd_runs(args) -> int:
    from runbook_engine.engine.runs import list_runs

    project = project_of(args)
    runs = list_runs(project.state)
    if args.json:
        print(json.dumps([r.as_dict() for r in runs], ensure_ascii=False, indent=2))
        return 0
    say = messages_for(project, args.lang)
    if not runs:
        print(say.L("runs-none", path=project.state / "runs"))
        return 0
    headers = [say.L(c) for c in ("col-run-id", "col-started", "col-run-mode", "col-guide", "col-status", "col-changes",
                                  "col-nodes")]
    rows = []
    for r in runs:
        state = say.L(f"runs-status-{r.status}")
        rows.append([r.run_id, time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(r.started)),
                     say.run_mode(r.mode) if r.mode in RUN_MODES else r.mode, r.guide,
                     say.L("runs-rolled-back", status=state) if r.rolled_back else state,
                     str(r.intents), ", ".join(r.nodes) or "-"])
    Display().table(headers, rows)
    return 0


#: the modes a run's journal names (``runbook runs`` words them)
RUN_MODES = ("plan", "apply", "verify", "rollback")


def executor_options(p) -> None:
    p.add_argument("--executor", default="native", metavar="NAME",
                   help="how the round trips reach the nodes: native (each node's own transport, the default) or "
                        "ansible (one ansible-runner call per round trip for all the nodes; the [ansible] extra)")
    p.add_argument("--ansible-inventory", metavar="PATH", default=None,
                   help="with --executor ansible: your Ansible inventory (file or folder), its hosts named as the "
                        "runbook inventory's nodes; without it the hosts are made from the nodes' ssh options")


def register(sub) -> None:
    for name, help_ in (("plan", "show what would change on each node (dry run)"),
                        ("apply", "change what differs, verify, journal every change"),
                        ("verify", "report drift from the guide and between nodes")):
        e = sub.add_parser(name, help=help_)
        e.add_argument("guide", nargs="?", default=None, help="guide id (default: the inventory's)")
        e.add_argument("--inventory", "-i", help="inventory YAML (default: the sandbox's)")
        which = e.add_mutually_exclusive_group()
        which.add_argument("--node", action="append", help="only this node of the inventory (repeatable)")
        which.add_argument("--all", action="store_true", help="every node of the inventory (default)")
        e.add_argument("--step", action="append", help="only this step id (repeatable)")
        e.add_argument("--json", action="store_true", help="print the report as JSON")
        executor_options(e)
        lang_option(e)
        if name == "apply":
            e.add_argument("--yes", "-y", action="store_true",
                           help="apply without showing the plan and asking first (non-interactive use)")
        e.set_defaults(func=cmd_engine)

    r = sub.add_parser("rollback", help="restore the before-state of a run (or of a run and every later one)")
    r.add_argument("run_id", nargs="?", default=None, help="the run id printed by apply")
    r.add_argument("--to-before", metavar="RUN_ID", default=None,
                   help="roll back RUN_ID and every later run of the cluster, newest first: the state before RUN_ID")
    r.add_argument("--inventory", "-i", help="inventory YAML (default: the sandbox's)")
    r.add_argument("--json", action="store_true", help="print the report as JSON")
    executor_options(r)
    lang_option(r)
    r.set_defaults(func=cmd_rollback)

    rs = sub.add_parser("runs", help="the runs of the state folder: finished, interrupted, rolled back")
    rs.add_argument("--json", action="store_true", help="print them as JSON")
    lang_option(rs)
    rs.set_defaults(func=cmd_runs)
