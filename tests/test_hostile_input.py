"""A corpus of hostile input, one case per line: kb/ files, inventories, command-line arguments,
answers files and secrets. Each case must give exactly one line on stderr that names what is
wrong (a ``file:line:`` for a file), exit code 2, no traceback, and leave the project and the
state folder exactly as they were (nothing half-written, no run folder, no notebook).

The cases run in process through ``runbook_engine.cli.main`` against a copy of kb/ and a state
folder of their own; no node is ever reached (the inventories name Wine prefixes that do not
exist, so a case that got past validation would fail differently and be reported)."""
from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from runbook_engine import cli

REPO = Path(__file__).resolve().parents[1]

# --- kb/ files: (id, file under kb/, old text, new text, what the one line must say) -------------------

FAM = "family/clusterpro-x-windows.yaml"
GUIDE = "guides/surfnavi/guide.yaml"
PROC = "guides/surfnavi/procedure.yaml"
SVC = "guides/surfnavi/services.yaml"
SCR = "guides/surfnavi/scripts.yaml"
PGSCR = "guides/postgresql/scripts.yaml"
PGPROC = "guides/postgresql/procedure.yaml"
_PG_COMMANDS = (REPO / "kb" / PGSCR).read_text(encoding="utf-8")
_PG_COMMANDS = _PG_COMMANDS[_PG_COMMANDS.index("commands:\n"):_PG_COMMANDS.index("notes:\n")]
_FEATURES = "features: [expressmail, proxy, dns, system, iis]\n"


def _bat_command(argv: str, extra: str = "") -> str:
    """A commands: list of one start command for surfnavi's scripts.yaml (a Windows guide)."""
    return (f"commands: [{{id: c1, script: start, events: [START], argv: {argv}, {extra}"
            "text: {ja: 開始, en: Start}}]\n")


PORT = "    port: 29001\n"
PURPOSE = "purpose: {ja: 内部通信, en: Internal communication}"
SMTP = "display_name: ExpressMail Smtp Service,"

KB_CASES = [
    # strict types: YAML never coerces
    ("port-as-string", FAM, PORT, '    port: "29001"\n', "valid integer"),
    ("port-as-bool", FAM, PORT, "    port: true\n", "valid integer"),
    ("port-as-float", FAM, PORT, "    port: 29001.0\n", "valid integer"),
    ("port-zero", FAM, PORT, "    port: 0\n", "greater than or equal to 1"),
    ("port-too-big", FAM, PORT, "    port: 70000\n", "less than or equal to 65535"),
    ("version-order-as-string", FAM, 'order: 10}', 'order: "10"}', "valid integer"),
    ("node-priority-as-string", GUIDE, "priority: 1}", 'priority: "1"}', "valid integer"),
    ("scripted-as-string", SVC, "    scripted: false\n", '    scripted: "no"\n', "valid boolean"),
    # texts a reader can see, in the right language
    ("zero-width-ja", FAM, PURPOSE, "purpose: {ja: \"\u200b\", en: Internal communication}", "U+200B"),
    ("bidi-override-en", FAM, PURPOSE, "purpose: {ja: 内部通信, en: \"Internal \u202ecommunication\"}", "U+202E"),
    ("blank-ja", FAM, PURPOSE, "purpose: {ja: '  ', en: Internal communication}", "blank"),
    ("nbsp-only-en", FAM, PURPOSE, "purpose: {ja: 内部通信, en: \"\u00a0\u3000\"}", "blank"),
    ("private-use-only-ja", FAM, PURPOSE, "purpose: {ja: \"\ue000\", en: Internal communication}", "no visible character"),
    ("ja-punctuation-in-en", FAM, PURPOSE, "purpose: {ja: 内部通信, en: Internal communication。}", "Japanese text in the English field"),
    ("full-width-in-en", FAM, PURPOSE, "purpose: {ja: 内部通信, en: Ｉnternal communication}", "Japanese text in the English field"),
    ("kana-in-en", FAM, PURPOSE, "purpose: {ja: 内部通信, en: Internal つうしん}", "Japanese text in the English field"),
    ("raw-html-en", FAM, PURPOSE, "purpose: {ja: 内部通信, en: Internal <script>alert(1)</script>}", "raw HTML"),
    ("placeholder-as-tag", FAM, PURPOSE, "purpose: {ja: 内部通信, en: Talk to <server>}", "raw HTML"),
    ("missing-en", FAM, PURPOSE, "purpose: {ja: 内部通信}", "en"),
    ("control-char-in-text", FAM, PURPOSE, "purpose: {ja: 内部通信, en: \"Internal\\x07\"}", "control"),
    # values that reach a command line or a path
    ("display-name-ampersand", SVC, SMTP, "display_name: ExpressMail & calc,", "unsafe in a quoted cmd argument"),
    ("display-name-percent", SVC, SMTP, "display_name: ExpressMail %PATH%,", "unsafe in a quoted cmd argument"),
    ("service-name-metachar", SVC, "service: ExpressMail Smtp Service,", "service: Smtp|calc,", "String should match pattern"),
    ("watch-id-reserved", SVC, "watch_id: EMSMTP,", "watch_id: NEC_SMTP,", "NEC_"),
    ("install-dir-dotdot", FAM, r"install_dir: 'C:\Program Files\CLUSTERPRO'", r"install_dir: 'C:\Program Files\..\Windows'", "'.' and '..'"),
    ("install-dir-trailing-dot", FAM, r"install_dir: 'C:\Program Files\CLUSTERPRO'", r"install_dir: 'C:\Program Files\CLUSTERPRO.'", "ends in a dot"),
    ("install-dir-metachar", FAM, r"install_dir: 'C:\Program Files\CLUSTERPRO'", r"install_dir: 'C:\x&calc'", "neither a Windows path"),
    ("script-folder-without-resource", FAM, r"script_folder: 'scripts\{group}\{resource}'", r"script_folder: 'scripts\{group}'", "{resource}"),
    ("message-percent", SCR, "text: {ja: 最高プライオリティサーバで起動しています, en: Starting on the highest-priority server}",
     "text: {ja: 最高プライオリティサーバで起動しています, en: Starting on %COMPUTERNAME%}", "unsafe"),
    # a Linux script's settings and argv: plain words only, known settings, something started
    ("sh-setting-semicolon", PGSCR, "value: /postgres/data\n", "value: /postgres/data;reboot\n", "shell metacharacters"),
    ("sh-setting-space", PGSCR, "value: /postgres/data\n", "value: /postgres/my data\n", "shell metacharacters or spaces"),
    ("sh-setting-option", PGSCR, "value: postgres\n", "value: --help\n", "would read as an option"),
    ("sh-argv-command-substitution", PGSCR, 'argv: [rm, -f, "{PGDATA}/postmaster.pid"]', 'argv: [rm, -f, "$(reboot)/postmaster.pid"]', "shell metacharacters"),
    ("sh-argv-backtick", PGSCR, "-l, /dev/null]", "-l, '`reboot`']", "shell metacharacters"),
    ("sh-argv-glob", PGSCR, 'argv: [rm, -f, "/tmp/.s.PGSQL.{PGPORT}"]', 'argv: [rm, -f, "/tmp/*"]', "shell metacharacters"),
    ("sh-argv-unbalanced-brace", PGSCR, 'argv: [rm, -f, "/tmp/.s.PGSQL.{PGPORT}"]', 'argv: [rm, -f, "/tmp/.s.PGSQL.{PGPORT"]', "unbalanced brace"),
    ("sh-argv-unknown-setting", PGSCR, 'argv: [rm, -f, "{PGDATA}/postmaster.pid"]', 'argv: [rm, -f, "{PGDIR}/postmaster.pid"]', "unknown setting 'PGDIR'"),
    ("sh-argv-clp-variable", PGSCR, 'argv: [rm, -f, "{PGDATA}/postmaster.pid"]', 'argv: [rm, -f, "{CLP_DISK}/postmaster.pid"]', "CLUSTERPRO's own"),
    ("sh-user-metachar", PGSCR, 'user: "{SUUSER}"\n    argv: ["{PGINST}/bin/pg_ctl", start', 'user: "postgres;reboot"\n    argv: ["{PGINST}/bin/pg_ctl", start', "shell metacharacters"),
    ("sh-failure-unknown-message", PGSCR, "failure: pg-start-failed", "failure: pg-start-broke", "unknown message 'pg-start-broke'"),
    ("sh-message-not-ascii-en", PGSCR, "en: Starting PostgreSQL on the highest-priority server}", "en: Starting PostgreSQL on the highest\u2011priority server}", "ASCII"),
    ("bat-start-starts-nothing", SCR, "features: [expressmail, proxy, dns, system, iis]", "features: [packet-filter]", "START.BAT would start nothing"),
    ("sh-start-starts-nothing", PGSCR, _PG_COMMANDS, _PG_COMMANDS.replace("script: start", "script: stop"), "a start script that starts nothing"),
    ("bat-setting-percent", SCR, _FEATURES, _FEATURES + "settings: [{name: X, value: 'a%PATH%', text: {ja: 設定, en: Setting}}]\n", "cmd.exe expands or reads as syntax: '%'"),
    ("bat-setting-reserved", SCR, _FEATURES, _FEATURES + "settings: [{name: PATHEXT, value: x, text: {ja: 設定, en: Setting}}]\n", "a variable cmd.exe or Windows gives a meaning"),
    ("bat-argv-ampersand", SCR, _FEATURES, _FEATURES + _bat_command("[appctl, 'a&calc']"), "cmd.exe expands or reads as syntax: '&'"),
    ("bat-argv-percent", SCR, _FEATURES, _FEATURES + _bat_command("[appctl, '%COMSPEC%']"), "cmd.exe expands or reads as syntax: '%'"),
    ("bat-argv-quote", SCR, _FEATURES, _FEATURES + _bat_command("[appctl, 'a\"b']"), "cmd.exe expands or reads as syntax: '\"'"),
    ("bat-program-path", SCR, _FEATURES, _FEATURES + _bat_command("['C:\\x\\appctl.exe', start]"), "a bare program name on PATH"),
    ("bat-program-builtin", SCR, _FEATURES, _FEATURES + _bat_command("[start, appctl]"), "is a cmd.exe built-in"),
    ("bat-user-on-windows", SCR, _FEATURES, _FEATURES + _bat_command("[appctl, start]", "user: admin, "), "user is for a Linux family"),
    ("bat-unknown-setting", SCR, _FEATURES, _FEATURES + _bat_command("[appctl, '{APP_HOME}']"), "unknown setting 'APP_HOME'"),
    ("planned-action-on-check-step", PGPROC, "        mode: check\n        action: preflight-linux\n",
     "        mode: check\n        action: preflight-linux\n        planned_action: preflight-linux\n",
     "only a manual step names a planned_action"),
    # references
    ("related-to-itself", GUIDE, "related: [iis, expressmail]", "related: [iis, surfnavi]", "refers to itself"),
    ("related-unknown", GUIDE, "related: [iis, expressmail]", "related: [iis, nosuch]", "unknown guide 'nosuch'"),
    ("delivery-unknown-version", FAM, "versions: [x4.3, x5.0]\n", "versions: [x4.3, x4.4]\n", "unknown version 'x4.4'"),
    ("duplicate-substep-id", PROC, "          - id: em-data-dir\n", "          - id: em-install-dir\n", "duplicate"),
    ("unknown-action", PROC, "action: services-manual", "action: format-disk", "format-disk"),
    ("check-mode-on-writing-action", PROC, "        mode: automated\n        action: services-manual",
     "        mode: check\n        action: services-manual", "check"),
    ("unknown-scope", PROC, "scope: dns-servers", "scope: everywhere", "scope"),
    ("missing-label", "site.yaml", "  dns-owner: {ja: 名前, en: Name}\n", "", "no label 'dns-owner'"),
    # YAML itself
    ("unknown-field", GUIDE, "related: [iis, expressmail]", "related: [iis, expressmail]\ncolour: blue", "colour"),
    ("malformed-yaml", GUIDE, "related: [iis, expressmail]", "related: [iis, expressmail", "YAML"),
    ("tab-indent", GUIDE, "related: [iis, expressmail]", "related:\n\t- iis", "YAML"),
]


def _state_listing(state: Path) -> list[str]:
    return sorted(str(p.relative_to(state)) for p in state.rglob("*")) if state.exists() else []


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(autouse=True)
def english(monkeypatch) -> None:
    """The expected lines are the English ones (a Japanese or C locale words them in Japanese)."""
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(REPO / "kb", root / "kb")
    (root / "snippets").symlink_to(REPO / "snippets", target_is_directory=True)
    (root / "runbooks").symlink_to(REPO / "runbooks", target_is_directory=True)
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("RUNBOOK_STATE", str(state))
    return root


def _one_clear_line(capsys, rc: int, expect: str) -> str:
    out = capsys.readouterr()
    lines = [l for l in out.err.splitlines() if l.strip()]
    assert rc == 2, (rc, out.err, out.out)
    assert "Traceback" not in out.err and "Traceback" not in out.out
    assert len(lines) == 1, out.err
    assert expect in lines[0], lines[0]
    return lines[0]


def _refused(capsys, project: Path, argv: list[str], expect: str) -> str:
    """Run the command; it must refuse in one clear line and leave the state folder and kb/ as
    they were. The line."""
    state = Path(os.environ["RUNBOOK_STATE"])
    before = _state_listing(state), _tree(project / "kb")
    line = _one_clear_line(capsys, cli.main(["--root", str(project), *argv]), expect)
    assert (_state_listing(state), _tree(project / "kb")) == before
    return line


@pytest.mark.parametrize("case", KB_CASES, ids=[c[0] for c in KB_CASES])
def test_hostile_kb_file_is_one_located_line_and_exit_2(project, capsys, case):
    _id, rel, old, new, expect = case
    f = project / "kb" / rel
    text = f.read_text(encoding="utf-8")
    assert old in text, f"corpus anchor not in {rel}: {old!r}"
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    before = _tree(project / "kb")
    line = _one_clear_line(capsys, cli.main(["--root", str(project), "check"]), expect)
    assert line.startswith(f"kb/{rel}:") or line.startswith(f"{f}:") or f"{rel}:" in line.split(" ")[0], line
    assert _tree(project / "kb") == before


# --- inventories: (id, YAML text, the key whose line must be named, what the line must say) -----------

NODE = "  - name: sv1\n    transport: wine\n    prefix: /nonexistent/rb-prefix\n"
BASE = "cluster: c1\nguide: surfnavi\nnodes:\n" + NODE
SSH = "  - name: sv2\n    transport: ssh\n    host: {host}\n    port: {port}\n    user: {user}\n    known_hosts: /nonexistent/kh\n"
DNS = ("dns:\n  - name: d1\n    server: 127.0.0.1\n    port: {port}\n    key_name: rb-test\n    key_secret_env: {env}\n"
       "    forward_zone: example.test.\n    reverse_zone: 2.0.192.in-addr.arpa.\n")
FIP = "fip: {address: 192.0.2.10, hostname: surfnavi, domain: example.test, mx_preference: %s}\n"


def _ssh(host="h1", port="22", user="admin"):
    return BASE + SSH.format(host=host, port=port, user=user)


INVENTORY_CASES = [
    ("ssh-host-semicolon", _ssh(host="'127.0.0.1;touch x'"), 9, "String should match pattern"),
    ("ssh-host-space", _ssh(host="'h1 -oProxyCommand=x'"), 9, "String should match pattern"),
    ("ssh-user-ampersand", _ssh(user="'admin&calc'"), 11, "String should match pattern"),
    ("ssh-user-quote", _ssh(user="'ad\"min'"), 11, "String should match pattern"),
    ("ssh-port-string", _ssh(port='"22"'), 10, "valid integer"),
    ("ssh-port-bool", _ssh(port="true"), 10, "valid integer"),
    ("ssh-port-zero", _ssh(port="0"), 10, "greater than or equal to 1"),
    ("password-env-lowercase", BASE + "  - name: sv2\n    transport: ssh\n    host: h1\n    user: a\n    known_hosts: /kh\n    password_env: my_pw\n", 12, "String should match pattern"),
    ("clusterpro-dir-dotdot", BASE + "    clusterpro_dir: 'C:\\x\\..\\Windows'\n", 7, "'.' and '..'"),
    ("clusterpro-dir-metachar", BASE + "    clusterpro_dir: 'C:\\x & calc'\n", 7, "neither a Windows path"),
    ("configuration-folder-dotdot", BASE + "configuration:\n  folder: 'C:\\conf\\..\\..\\Windows'\n", 8, "'.' and '..'"),
    ("configuration-node-unknown", BASE + "configuration:\n  node: sv9\n", 8, "unknown node 'sv9'"),
    ("configuration-resource-space", BASE + "configuration:\n  resources: {script: 'script 1'}\n", 8, "String should match pattern"),
    ("group-metachar", BASE + "cluster_state: {phase: install, group: 'failover1&calc'}\n", 7, "String should match pattern"),
    ("active-unknown", BASE + "cluster_state: {phase: operation, group: failover1, active: sv9}\n", 7, "unknown node 'sv9'"),
    ("operation-without-active", BASE + "cluster_state: {phase: operation, group: failover1}\n", 7, "needs 'active'"),
    ("phase-unknown", BASE + "cluster_state: {phase: maintenance}\n", 7, "install"),
    ("fip-address-bad", BASE + "fip: {address: 192.0.2.300, hostname: surfnavi, domain: example.test}\n", 7, "String should match pattern"),
    ("mx-preference-string", BASE + FIP % '"10"', 7, "valid integer"),
    ("dns-port-string", BASE + DNS.format(port='"53"', env="RB_TSIG"), 10, "valid integer"),
    ("dns-secret-env-lowercase", BASE + DNS.format(port="53", env="rb_tsig"), 12, "String should match pattern"),
    ("dns-secret-named-twice", BASE + DNS.format(port="53", env="RB_TSIG") + "    key_secret_file: tsig.key\n", 15,
     "dns.0.key_secret_file: the TSIG secret is named twice: give key_secret_env or key_secret_file, not both"),
    ("dns-secret-not-named", BASE + DNS.format(port="53", env="RB_TSIG").replace("    key_secret_env: RB_TSIG\n", ""), 8,
     "dns.0: the TSIG secret is not named: give key_secret_env (an environment variable) or key_secret_file"),
    ("node-name-uppercase", "cluster: c1\nguide: surfnavi\nnodes:\n  - name: SV1\n    transport: wine\n    prefix: /x\n", 4, "String should match pattern"),
    ("duplicate-node", BASE + NODE, 1, "duplicate node name 'sv1'"),
    ("unknown-transport", BASE + "  - name: sv2\n    transport: telnet\n", 7, "telnet"),
    ("inventory-is-a-list", "- a\n- b\n", 1, ""),
    ("no-nodes", "cluster: c1\nguide: surfnavi\nnodes: []\n", 3, "at least 1"),
]


@pytest.mark.parametrize("case", INVENTORY_CASES, ids=[c[0] for c in INVENTORY_CASES])
def test_hostile_inventory_is_one_located_line_and_exit_2(project, tmp_path, capsys, case):
    _id, text, line_no, expect = case
    inv = tmp_path / "inventory.yaml"
    inv.write_text(text, encoding="utf-8")
    line = _refused(capsys, project, ["plan", "--inventory", str(inv)], expect)
    assert line.startswith(f"{inv}:{line_no}: "), line


# --- secrets: checked before anything runs, at the line of the variable's name, value never shown ---

TSIG_CASES = [(None, "is not set"), ("not base64 !", "not valid base64"), ("", "is not set")]


@pytest.mark.parametrize("value,expect", TSIG_CASES, ids=["unset", "not-base64", "empty"])
def test_a_bad_tsig_secret_is_one_located_line_before_anything_runs(project, tmp_path, capsys, monkeypatch, value, expect):
    env = "RB_HOSTILE_TSIG"
    if value is None:
        monkeypatch.delenv(env, raising=False)
    else:
        monkeypatch.setenv(env, value)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(BASE + FIP % "10" + DNS.format(port="53", env=env), encoding="utf-8")
    line = _refused(capsys, project, ["apply", "--yes", "--inventory", str(inv), "--step", "dns-records"], expect)
    assert line.startswith(f"{inv}:13: dns.0.key_secret_env: "), line
    if value:
        assert value not in line


def test_a_good_tsig_secret_passes_the_check(project, tmp_path, monkeypatch):
    """The check is not a wall: a base64 secret gets past it (to the unreachable server)."""
    from runbook_engine.cli.engine import secret_errors
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.model.project import Project

    monkeypatch.setenv("RB_HOSTILE_TSIG", base64.b64encode(b"k" * 32).decode())
    inv = tmp_path / "inventory.yaml"
    inv.write_text(BASE + FIP % "10" + DNS.format(port="53", env="RB_HOSTILE_TSIG"), encoding="utf-8")
    assert secret_errors(Project(project), str(inv), load_inventory(inv)) == []


# --- TSIG key files: held to what ssh asks of a key, checked before anything runs at the line that
# names the file (relative to the inventory's folder), the value never shown ---

KEY_SECRET = base64.b64encode(b"hostile-tsig-key-file-value-0042").decode()
DNS_FILE = DNS.replace("key_secret_env: {env}", "key_secret_file: {file}")


def _bind_statement(name: str = "rb-test", algorithm: str = "hmac-sha256", secret: str = KEY_SECRET) -> str:
    """A key as tsig-keygen prints it (what named.conf includes)."""
    return f'key "{name}" {{\n\talgorithm {algorithm};\n\tsecret "{secret}";\n}};\n'


# (id, what the path holds: file text or None (nothing) or "<folder>", its mode, what the line must say)
KEY_FILE_CASES = [
    ("missing", None, 0o600, "does not exist"),
    ("readable-by-others", KEY_SECRET + "\n", 0o644, "is readable by group or others (mode 0644); chmod 600 it"),
    ("writable-by-group", KEY_SECRET + "\n", 0o620, "is writable by group or others (mode 0620); chmod 600 it"),
    ("a-folder", "<folder>", 0o700, "is not a regular file"),
    ("empty", "", 0o600, "is empty"),
    ("only-a-newline", "\n", 0o600, "is empty"),
    ("not-base64", "not base64 !\n", 0o600, "holds neither a base64 secret nor a BIND key statement"),
    ("base64-of-nothing", "====\n", 0o600, "holds neither a base64 secret nor a BIND key statement"),
    ("bind-other-key", _bind_statement(name="other-key"), 0o600, "holds key 'other-key', but the inventory's key_name is 'rb-test'"),
    ("bind-other-algorithm", _bind_statement(algorithm="hmac-sha512"), 0o600,
     "says algorithm hmac-sha512 for key 'rb-test', but the inventory's algorithm is hmac-sha256"),
    ("bind-bad-secret", _bind_statement(secret="not base64 !"), 0o600, "holds key 'rb-test' with no valid base64 secret"),
]


def _key_file_inventory(tmp_path: Path, holds, mode: int) -> tuple[Path, Path]:
    """An inventory naming keys/tsig.key (relative), and that file's absolute path."""
    key = tmp_path / "keys" / "tsig.key"
    key.parent.mkdir(exist_ok=True)
    if holds == "<folder>":
        key.mkdir()
    elif holds is not None:
        key.write_text(holds, encoding="ascii")
    if holds is not None:
        key.chmod(mode)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(BASE + FIP % "10" + DNS_FILE.format(port="53", file="keys/tsig.key"), encoding="utf-8")
    return inv, key.resolve()


@pytest.mark.parametrize("case", KEY_FILE_CASES, ids=[c[0] for c in KEY_FILE_CASES])
def test_a_bad_tsig_key_file_is_one_located_line_naming_the_file_before_anything_runs(project, tmp_path, capsys, case):
    _id, holds, mode, expect = case
    inv, key = _key_file_inventory(tmp_path, holds, mode)
    line = _refused(capsys, project, ["apply", "--yes", "--inventory", str(inv), "--step", "dns-records"], expect)
    assert line.startswith(f"{inv}:13: dns.0.key_secret_file: TSIG key file {key} "), line
    assert KEY_SECRET not in line


def test_a_tsig_key_file_of_another_user_is_refused(project, tmp_path, capsys):
    """Owned by nobody (and 0600): refused as ssh refuses such a key, whoever may read it."""
    from plugins.components import require

    require(os.geteuid() == 0, "giving a file to another user (chown) needs root")
    inv, key = _key_file_inventory(tmp_path, KEY_SECRET + "\n", 0o600)
    os.chown(key, 65534, 65534)
    line = _refused(capsys, project, ["apply", "--yes", "--inventory", str(inv), "--step", "dns-records"],
                    "is owned by ")
    assert line.startswith(f"{inv}:13: dns.0.key_secret_file: TSIG key file {key} is owned by "), line
    assert "uid 65534" in line and "(uid 0)" in line and KEY_SECRET not in line


@pytest.mark.parametrize("holds", [KEY_SECRET, KEY_SECRET + "\n", _bind_statement(),
                                   "# made by tsig-keygen\n" + _bind_statement(name="rb-test.")],
                         ids=["base64", "base64-newline", "bind-statement", "bind-statement-commented"])
def test_a_good_tsig_key_file_passes_the_check(project, tmp_path, monkeypatch, holds):
    """A 0600 file of this user with the base64 secret or the key's BIND statement gets past the
    check, with no variable set; the secret read is the file's."""
    from runbook_engine.cli.engine import secret_errors
    from runbook_engine.engine.inventory import load_inventory
    from runbook_engine.model.project import Project

    monkeypatch.delenv("RB_HOSTILE_TSIG", raising=False)
    inv, key = _key_file_inventory(tmp_path, holds, 0o600)
    loaded = load_inventory(inv)
    assert secret_errors(Project(project), str(inv), loaded) == []
    o = loaded.dns[0].options
    assert o.key_secret_file == key and o.secret.read(o.key_name, o.algorithm) == base64.b64decode(KEY_SECRET)


# --- command-line arguments: validated before anything is read or written ---------------------------

CLI_CASES = [
    ("run-guide-traversal", ["run", "../../../../etc/passwd", "--node", "sv1"], "GUIDE"),
    ("run-node-ampersand", ["run", "surfnavi", "--node", "sv1&calc"], "--node"),
    ("run-node-traversal", ["run", "surfnavi", "--node", "x/../../evil"], "--node"),
    ("run-node-unknown", ["run", "surfnavi", "--node", "sv9"], "--node: unknown node 'sv9' in"),
    ("run-guide-unknown", ["run", "nosuch", "--node", "sv1"], "unknown guide 'nosuch'"),
    ("run-confirm-metachar", ["run", "surfnavi", "--node", "sv1", "--confirm", "x;y"], "--confirm"),
    ("run-confirm-unknown", ["run", "surfnavi", "--node", "sv1", "--confirm", "nope"], "unknown manual step 'nope'"),
    ("run-answers-missing", ["run", "surfnavi", "--node", "sv1", "--answers", "/nonexistent/answers.yaml"], "no such file"),
    ("plan-guide-traversal", ["plan", "../x"], "GUIDE"),
    ("plan-node-unknown", ["plan", "--node", "ghost"], "ghost"),
    ("plan-node-slash", ["plan", "--node", "a/b"], "--node"),
    ("plan-step-traversal", ["plan", "--step", "../../x"], "--step"),
    ("plan-step-unknown", ["plan", "--step", "nope"], "unknown step 'nope'"),
    ("rollback-run-id-traversal", ["rollback", "../../etc"], "RUN_ID"),
    ("rollback-run-id-unknown", ["rollback", "20990101-000000-abcdef"], "unknown run '20990101-000000-abcdef'"),
    ("rollback-to-before-traversal", ["rollback", "--to-before", "../x"], "--to-before"),
    ("rollback-to-before-unknown", ["rollback", "--to-before", "20990101-000000-abcdef"], "unknown run '20990101-000000-abcdef' of cluster"),
    ("rollback-both-forms", ["rollback", "20990101-000000-abcdef", "--to-before", "20990101-000000-abcdef"], "give RUN_ID"),
    ("new-guide-bad-id", ["new", "--family", "clusterpro-x-windows", "Bad_Id"], "Bad_Id"),
    ("sandbox-active-metachar", ["sandbox", "create", "--phase", "operation", "--active", "sv1&x"], "--active"),
    ("sandbox-guide-traversal", ["sandbox", "create", "--guide", "../x"], "GUIDE"),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_hostile_argument_is_one_line_and_exit_2_with_nothing_written(project, tmp_path, capsys, case):
    _id, argv, expect = case
    inv = tmp_path / "inventory.yaml"
    inv.write_text(BASE, encoding="utf-8")
    if argv[0] in ("run", "plan", "rollback"):
        argv = argv + ["--inventory", str(inv)]
    _refused(capsys, project, argv, expect)


ANSWERS_CASES = [
    ("answers-list", "- a\n- b\n", 1, "not a list"),
    ("answers-scalar", "yes\n", 1, "not a single value"),
    ("answers-unknown-step", "failover-group: ok\nnope: x\n", 2, "nope: not a manual step"),
    ("answers-automated-step", "services-manual: done\n", 1, "not a manual step"),
    ("answers-note-not-text", "failover-group: [a, b]\n", 1, "must be text"),
    ("answers-malformed", "failover-group: [a\n", 2, "YAML"),
]


@pytest.mark.parametrize("case", ANSWERS_CASES, ids=[c[0] for c in ANSWERS_CASES])
def test_hostile_answers_file_is_one_located_line_and_no_run_is_written(project, tmp_path, capsys, case):
    _id, text, line_no, expect = case
    answers = tmp_path / "answers.yaml"
    answers.write_text(text, encoding="utf-8")
    inv = tmp_path / "inventory.yaml"
    inv.write_text(BASE, encoding="utf-8")
    line = _refused(capsys, project, ["run", "surfnavi", "--node", "sv1", "--answers", str(answers),
                                      "--inventory", str(inv)], expect)
    assert line.startswith(f"{answers}:{line_no}"), line


def test_the_corpus_has_at_least_sixty_cases():
    n = (len(KB_CASES) + len(INVENTORY_CASES) + len(TSIG_CASES) + len(KEY_FILE_CASES) + len(CLI_CASES)
         + len(ANSWERS_CASES))
    assert n >= 60, n


# --- atomic build: notebooks and site together or not at all -----------------------------------------

def test_a_failed_site_build_leaves_the_notebooks_and_the_site_as_they_were(tmp_path, capsys, monkeypatch):
    """A kb/ change that alters the notebooks, then a site build that fails (here: no Mermaid
    script): exit 2, and runbooks/ and the previous site are byte for byte what they were."""
    from plugins.components import require
    from runbook_engine.model.project import Project
    from runbook_engine.publish.site import SiteBuildError, mermaid_js

    try:
        mermaid = mermaid_js(Project(REPO))  # the second build needs the real one
    except SiteBuildError as exc:
        require(False, str(exc))
    root = tmp_path / "proj"
    for d in ("kb", "runbooks", "docs", "overrides"):
        shutil.copytree(REPO / d, root / d)
    for d in ("snippets", "src", "schema"):
        (root / d).symlink_to(REPO / d, target_is_directory=True)
    shutil.copy2(REPO / "mkdocs.yml", root / "mkdocs.yml")
    monkeypatch.setenv("RUNBOOK_STATE", str(tmp_path / "state"))
    proc = root / "kb" / PROC
    proc.write_text(proc.read_text(encoding="utf-8").replace(
        "title: {ja: 動作環境の確認, en: Check the operating environment}",
        "title: {ja: 動作環境の確認 (改), en: Check the operating environment again}", 1), encoding="utf-8")
    site = tmp_path / "site"
    (site / "en").mkdir(parents=True)
    (site / "index.html").write_text("previous site")
    before_nb, before_site = _tree(root / "runbooks"), _tree(site)
    monkeypatch.setenv("RUNBOOK_MERMAID_JS", str(tmp_path / "no-such-mermaid.min.js"))
    _one_clear_line(capsys, cli.main(["--root", str(root), "build", "--out", str(site)]), "mermaid")
    assert _tree(root / "runbooks") == before_nb
    assert _tree(site) == before_site
    # the same change with the site build working: both are written
    monkeypatch.setenv("RUNBOOK_MERMAID_JS", str(mermaid))
    assert cli.main(["--root", str(root), "build", "--out", str(site)]) == 0
    assert _tree(root / "runbooks") != before_nb
    assert "Check the operating environment again" in (site / "en" / "surfnavi" / "procedure" / "index.html").read_text(encoding="utf-8")
