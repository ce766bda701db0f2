"""ssh-posix transport: run a POSIX sh batch on a Linux node over SSH.

The batch (posix.py) travels on the exec channel's stdin to ``/bin/sh -s``: one exec request is one
round trip, whatever the number of commands, with no command-line length limit and nothing of the
batch on the remote process list. The connection, host key checking (always against
``known_hosts``), authentication and secrets (environment variable *names* only) are the ssh
transport's (ssh.py). Output is UTF-8.

The remote login's environment is the server's, not this process's: the batch starts with a fixed
PATH and locale (posix.BATCH_ENV) so that a command's output is parsed the same on every node.
"""
from __future__ import annotations

import shlex

from runbook_engine.engine.transports import posix, register_transport
from runbook_engine.engine.transports.base import BatchResult, Transport, TransportError
from runbook_engine.engine.transports.ssh import SshOptions, SshTransport

#: what the exec request runs: a clean environment, then sh reading the batch from stdin
REMOTE_COMMAND = "env -i " + " ".join(f"{k}={shlex.quote(v)}" for k, v in posix.BATCH_ENV.items()) + " /bin/sh -s"


@register_transport("ssh-posix")
class SshPosixTransport(SshTransport):
    kind = "ssh-posix"
    shell = posix.SHELL
    Options = SshOptions

    @classmethod
    def from_options(cls, name: str, options: SshOptions) -> "SshPosixTransport":
        return cls(name, host=options.host, port=options.port, username=options.user,
                   known_hosts=options.known_hosts, client_key=options.key, password_env=options.password_env,
                   encoding="utf-8", delivery="stdin")

    def wrap(self, commands: list[str]) -> str:
        return posix.wrap_batch(commands)

    def run(self, commands: list[str]) -> BatchResult:
        return Transport.run(self, commands)  # one exec request, the batch on stdin (no one-line form)

    def _execute(self, batch_text: str) -> tuple[str, str, int]:
        result = self._call(self._exec(REMOTE_COMMAND, batch_text.encode("utf-8")),
                            self.connect_timeout + self.command_timeout + 10)
        out_b = result.stdout if isinstance(result.stdout, bytes) else b""
        err_b = result.stderr if isinstance(result.stderr, bytes) else b""
        if result.exit_status is None:
            raise TransportError(f"ssh {self.target}: the batch ended without an exit status")
        return (out_b.decode("utf-8", errors="replace"), err_b.decode("utf-8", errors="replace"),
                result.exit_status)
