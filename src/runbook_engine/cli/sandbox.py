"""`runbook sandbox create | deliver | destroy`: the embedded sandbox cluster. Creating it says
each node as it is ready (and the DNS servers), in the operator's language."""
from __future__ import annotations

from runbook_engine.cli.arguments import BadArgument, known_guide, lang_option
from runbook_engine.cli.base import EXIT_OK, error, fail_input, messages_for, project_of
from runbook_engine.engine.messages import Said, plain
from runbook_engine.model.errors import KbInvalid


def cmd_sandbox(args) -> int:
    from runbook_engine.sandbox.cluster import create_cluster, deliver_configuration, destroy_cluster
    from runbook_engine.sandbox.wine import SandboxError

    project = project_of(args)
    try:
        kb = project.knowledge
    except KbInvalid as exc:
        return fail_input(exc.errors)
    say = messages_for(project, args.lang)

    def line(text: Said | str, indent: str = "") -> None:
        print(indent + plain(say.text(text)), flush=True)

    if args.sandbox_command == "create":
        if args.guide:
            guide_id = args.guide
        elif args.platform:
            on = kb.guides_on(args.platform)
            if not on:
                raise BadArgument(Said.of("error-no-platform-guide", platform=args.platform))
            guide_id = kb.default_guide() if kb.default_guide() in on else on[0]
        else:
            guide_id = kb.default_guide()
        known_guide(kb, guide_id)
        os_ = kb.family_of(kb.guides[guide_id]).os
        if args.platform and args.platform != os_:
            raise BadArgument(Said.of("error-guide-not-platform", guide=guide_id, os=os_, platform=args.platform,
                                      guides=", ".join(kb.guides_on(args.platform)) or Said.of("error-known-none")))
        line(Said.of("sandbox-creating", guide=guide_id, os=os_, kind=Said.of(f"sandbox-kind-{os_}")))
        try:
            inv_path = create_cluster(project, kb, nodes=args.nodes, guide_id=guide_id, dns=not args.no_dns,
                                      phase=args.phase, active=args.active,
                                      progress=lambda said: line(said, "  "), transport=args.transport)
        except ValueError as exc:  # more nodes than the guide's topology has, an unknown --active
            return fail_input([error(str(exc))], say)
        except SandboxError as exc:
            return fail_input([error(str(exc))], say)
        line(Said.of("sandbox-inventory", path=inv_path))
    elif args.sandbox_command == "deliver":
        from runbook_engine.cli.engine import load_inventory_for

        try:
            inv = load_inventory_for(project, str(project.sandbox_inventory))
            files = deliver_configuration(kb, inv)
        except KbInvalid as exc:
            return fail_input(exc.errors)
        except SandboxError as exc:
            return fail_input([error(str(exc))], say)
        line(Said.of("sandbox-delivered", files=len(files), nodes=len(inv.nodes)))
    else:
        destroy_cluster(project)
        line(Said.of("sandbox-removed"))
    return EXIT_OK


def register(sub) -> None:
    sb = sub.add_parser("sandbox", help="the embedded sandbox cluster (Wine nodes, or systemd containers for Linux guides)")
    sbs = sb.add_subparsers(dest="sandbox_command", required=True)
    c = sbs.add_parser("create", help="create (or refresh) the sandbox nodes and DNS servers")
    c.add_argument("--nodes", type=int, default=None,
                   help="number of nodes, the first of the guide's topology (default: all of them)")
    c.add_argument("--guide", default=None, help="guide whose fresh installation the nodes show (default: kb/site.yaml's "
                                                  "default guide, or the first guide of --platform)")
    c.add_argument("--platform", choices=("windows", "linux"), default=None,
                   help="windows: Wine nodes; linux: systemd-nspawn containers in network namespaces (root); "
                        "default: the guide's family's platform")
    c.add_argument("--transport", choices=("nspawn", "ssh", "wine"), default=None,
                   help="how the engine reaches Linux nodes: nspawn (default: enters the containers' namespaces) "
                        "or ssh (each node runs sshd; run the engine in the sandbox's probe namespace, "
                        "as the inventory's first line says)")
    c.add_argument("--no-dns", action="store_true", help="do not start a BIND server for the DNS step")
    c.add_argument("--phase", choices=("install", "operation"), default="install",
                   help="install (default): a fresh installation, no clpgrp, services auto and running; "
                        "operation: clpgrp installed, the failover group active on --active, its services "
                        "running there and stopped on the standby nodes")
    c.add_argument("--active", default=None, help="with --phase operation: the active node (default: the first)")
    d = sbs.add_parser("deliver", help="stand in for the operator's delivery of the cluster configuration: copy the "
                                       "configuration folder's scripts to every node's CLUSTERPRO folder")
    x = sbs.add_parser("destroy", help="stop and remove the sandbox")
    for p in (c, d, x):
        lang_option(p)
    sb.set_defaults(func=cmd_sandbox)
