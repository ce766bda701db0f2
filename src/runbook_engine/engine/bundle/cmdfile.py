"""The .cmd file of an offline bundle: one file the operator copies to the node and runs there.

It uses cmd.exe builtins only (``echo``, ``set``, ``if``, ``for``, ``goto``, ``call``), plus the
programs the batches themselves call (the engine's fact and change commands, e.g. ``sc.exe`` and
``reg.exe``). Its preamble prints the bundle's header, checks that every program the batches need
is on PATH (``%~$PATH:`` of a ``for`` variable), refuses to run a second time (the result file is
there already), and, for a bundle that changes the node, lists the changes and asks first unless it
was written with ``yes``. Then it writes the result file next to itself::

    ::rb:bundle:<id>          header: id, kind, guide, cluster, node, command digest, computer
    ::rb:section:<i>:<name>   one per batch, in order: the batch in the transports' marker
    ::rb:begin:0 ... ::rb:end:0:<rc>     protocol (engine/transports/base.py), then, when a
    ::rb:retry:<i>            command of a retry group answered 9009, that group once more
    ::rb:done:<id>            the last line: the bundle ran to its end

The retry mirrors the engine: a read is repeated once when a command answers 9009 (facts/base.py
``gather``), a rollback resends the undo of each intent that met it (runner.py ``_undo``).

Where sc.exe comes from on Windows 2000: "the SC utility that's included in the Windows NT and
Windows 2000 Resource Kits" (Sysinternals, PsService page, archived in the public repository
xcud/sysinternals-source, www.sysinternals.com/Utilities/PsService.html). No public source for
reg.exe on Windows 2000 was found: the message only says it is required.
"""
from __future__ import annotations

from dataclasses import dataclass

from runbook_engine.model.rules import SCRIPT_ENCODINGS
from runbook_engine.engine.facts.base import COMMAND_NOT_FOUND
from runbook_engine.engine.runner import Batch
from runbook_engine.engine.transports.base import command_lines

#: The programs a bundle checks for in its preamble when one of its commands calls them.
TOOLS: tuple[str, ...] = ("sc", "reg")

MESSAGES: dict[str, dict[str, str]] = {
    "kind-plan": {"ja": "計画 (読み取りのみ)", "en": "plan (reads only)"},
    "kind-apply": {"ja": "適用 (ノードを変更します)", "en": "apply (changes the node)"},
    "kind-rollback": {"ja": "ロールバック (ノードを変更します)", "en": "rollback (changes the node)"},
    "title": {"ja": "runbook バンドル {id}: {kind}", "en": "runbook bundle {id}: {kind}"},
    "target": {"ja": "ガイド {guide} / クラスタ {cluster} / ノード {node} (このコンピュータ: %COMPUTERNAME%)",
               "en": "guide {guide} / cluster {cluster} / node {node} (this computer: %COMPUTERNAME%)"},
    "digest": {"ja": "コマンド一覧の sha256: {digest}", "en": "command list sha256: {digest}"},
    "ran": {"ja": "このバンドルはこのフォルダで実行済みです。結果ファイル %RBB_OUT% を持ち帰って取り込んでください"
                  " (もう一度実行する場合だけ、そのファイルを削除してください)。",
            "en": "this bundle has already run in this folder: bring its result %RBB_OUT% back and import it"
                  " (delete that file only to run the bundle again)."},
    "missing": {"ja": "{tool}.exe が PATH に見つかりません。このバンドルの実行に必要です。",
                "en": "{tool}.exe was not found on PATH: this bundle needs it."},
    "missing-sc": {"ja": "Windows 2000 では sc.exe は Windows 2000 リソースキットに含まれています。",
                   "en": "On Windows 2000, sc.exe comes with the Windows 2000 Resource Kit."},
    "nothing": {"ja": "何も実行していません。結果ファイルは作成していません。",
                "en": "nothing was run; no result file was written."},
    "unwritable": {"ja": "結果ファイル %RBB_OUT% を書き込めません。バンドルを書き込みできるローカルのフォルダにコピーして実行してください。",
                   "en": "cannot write the result file %RBB_OUT%: copy the bundle to a writable local folder and run it there."},
    "changes": {"ja": "このノードで次の {n} 件を変更します:", "en": "this changes {n} thing(s) on this node:"},
    "ask": {"ja": "実行しますか? [y/N] ", "en": "run these changes? [y/N] "},
    "running": {"ja": "実行中です。終わるまでこのウィンドウを閉じないでください...",
                "en": "running; do not close this window until it finishes..."},
    "done": {"ja": "完了: 結果を %RBB_OUT% に書き込みました。このファイルを持ち帰り、runbook import で取り込んでください。",
             "en": "done: the result is in %RBB_OUT%. Bring that file back and import it with runbook import."},
}


def message(key: str, lang: str, **values: str) -> str:
    return MESSAGES[key][lang].format(**values)


@dataclass(frozen=True)
class Header:
    """What a bundle says about itself (echoed on the console and written to its result)."""

    id: str
    kind: str
    guide: str
    cluster: str
    node: str
    digest: str
    result_name: str


#: the header lines of a result, in order (``%COMPUTERNAME%`` is the node's own)
HEADER_KEYS = ("bundle", "kind", "guide", "cluster", "node", "digest", "computer")


def _echo(text: str) -> str:
    """``echo`` of a text whose ``%VAR%`` references are meant: the redirection and chaining
    characters escaped."""
    for ch in "^&|<>":
        text = text.replace(ch, "^" + ch)
    return f"echo {text}" if text else "echo."


def _literal(text: str) -> str:
    """``echo`` of a text shown as it is (a plan row): ``%`` doubled as well."""
    return _echo(text.replace("%", "%%").replace('"', "'"))


def tools_used(batches: list[Batch]) -> list[str]:
    """The programs of :data:`TOOLS` that a command of *batches* calls (its first word)."""
    used = {c.split(None, 1)[0].lower() for b in batches for c in b.commands if c.strip()}
    return [t for t in TOOLS if t in used or f"{t}.exe" in used]


def _section(i: int, batch: Batch) -> list[str]:
    flag = f"RBB_R{i}"
    lines = [f"echo ::rb:section:{i}:{batch.name}", f'set "{flag}="']
    lines += [f'set "{flag}_{g}="' for g in range(len(batch.retry))]
    group_of = {j: g for g, group in enumerate(batch.retry) for j in group}
    for j, cmd in enumerate(batch.commands):
        lines += command_lines(j, cmd)
        if j in group_of:
            g = group_of[j]
            lines.append(f'if "%ERRORLEVEL%"=="{COMMAND_NOT_FOUND}" (set "{flag}=1" & set "{flag}_{g}=1")')
    if batch.retry:
        lines += [f"if not defined {flag} goto rbb_s{i}", f"echo ::rb:retry:{i}"]
        for g, group in enumerate(batch.retry):
            lines.append(f"if not defined {flag}_{g} goto rbb_s{i}_{g}")
            for j in group:
                lines += command_lines(j, batch.commands[j])
            lines.append(f":rbb_s{i}_{g}")
        lines.append(f":rbb_s{i}")
    return lines


def render(header: Header, batches: list[Batch], lang: str, *, changes: list[str] | None = None,
           ask: bool = True) -> bytes:
    """The .cmd file's bytes (CRLF, in *lang*'s script encoding). *changes*: the plan rows a
    changing bundle shows before it asks (and, with *ask*, waits for a ``y``)."""
    kind = message(f"kind-{header.kind}", lang)
    values = dict(id=header.id, kind=kind, guide=header.guide, cluster=header.cluster, node=header.node,
                  digest=header.digest)
    lines = [
        "@echo off",
        f"rem runbook bundle {header.id} ({header.kind}): guide {header.guide}, cluster {header.cluster}, node {header.node}",
        f"rem result: {header.result_name} next to this file; import it with: runbook import {header.result_name}",
        "setlocal",
        f'set "RBB_OUT=%~dp0{header.result_name}"',
        _echo(message("title", lang, **values)),
        _echo(message("target", lang, **values)),
        _echo(message("digest", lang, **values)),
        'if exist "%RBB_OUT%" goto rbb_ran',
    ]
    tools = tools_used(batches)
    for tool in tools:
        lines += [f'set "RBB_TOOL=" & for %%i in ({tool}.exe) do set "RBB_TOOL=%%~$PATH:i"',
                  f"if not defined RBB_TOOL goto rbb_no_{tool}"]
    if changes is not None:
        lines.append(_echo(message("changes", lang, n=str(len(changes)))))
        lines += [_literal(f"  {row}") for row in changes]
        if ask:
            lines += ['set "RBB_OK="', f'set /p "RBB_OK={message("ask", lang)}"',
                      'if /i not "%RBB_OK%"=="y" goto rbb_cancel']
    lines += [
        _echo(message("running", lang)),
        'call :rbb_main > "%RBB_OUT%"',
        'if not exist "%RBB_OUT%" goto rbb_unwritable',
        _echo(message("done", lang)),
        "endlocal",
        "exit /b 0",
        ":rbb_ran",
        _echo(message("ran", lang)),
        "exit /b 3",
        ":rbb_cancel",
        _echo(message("nothing", lang)),
        "exit /b 1",
        ":rbb_unwritable",
        _echo(message("unwritable", lang)),
        _echo(message("nothing", lang)),
        "exit /b 2",
    ]
    for tool in tools:
        lines += [f":rbb_no_{tool}", _echo(message("missing", lang, tool=tool))]
        if tool == "sc":
            lines.append(_echo(message("missing-sc", lang)))
        lines += [_echo(message("nothing", lang)), "exit /b 2"]
    lines += [":rbb_main"]
    head = dict(bundle=header.id, kind=header.kind, guide=header.guide, cluster=header.cluster,
                node=header.node, digest=header.digest, computer="%COMPUTERNAME%")
    lines += [f"echo ::rb:{key}:{head[key]}" for key in HEADER_KEYS]
    for i, batch in enumerate(batches):
        lines += _section(i, batch)
    lines += [f"echo ::rb:done:{header.id}", "goto :eof"]
    return ("\r\n".join(lines) + "\r\n").encode(SCRIPT_ENCODINGS[lang])
