"""Offline bundles: the engine's plan, apply and rollback for a node that no transport reaches
(Windows 2000 / Server 2003 without SSH or Python), carried by hand.

A bundle is ONE self-contained .cmd file (CP932 for a Japanese node, CRLF, cmd.exe builtins plus
the programs the engine's facts and actions already call, such as sc.exe and reg.exe) that runs
the batches a live run would send to the node (:meth:`~runbook_engine.engine.runner.Runner.node_batches`)
and writes their output, in the transports' marker protocol, to a result file next to itself.
``runbook import`` replays that output through the real runner, so the report, the journal and
the rollback data are those of a live run.

* :mod:`.store` - the engine side: one record per bundle in ``<state>/bundles/`` (id, kind,
  node, inventory digest, batches and their sha256), and whether its result was imported.
* :mod:`.cmdfile` - the .cmd text.
* :mod:`.result` - reading a result back: its structure, checked line by line.
* :mod:`.replay` - a transport that serves the recorded batches to the runner.
* :mod:`.offline` - writing the three kinds of bundle and importing a result.

Integrity: the node side cannot sign anything (Windows 2000's cmd.exe has no cryptography), so
the header's command digest only ties a result to the bundle the engine recorded; a result whose
command OUTPUT was edited by hand while keeping its structure cannot be detected.
"""
