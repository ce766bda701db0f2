"""A checklist of the PostgreSQL guide's facts: every value the model holds for it equals what
the public sources say (the fact sheet /work/research/postgresql.md gathered them). Each
assertion names the source file and commit its value comes from; where this guide deliberately
differs from a source (a typo fixed, a choice of ours) the test says so.

Sources:
  [PG15]  EXPRESSCLUSTER/PostgreSQL PostgreSQL15onLinux.md @f44bb260 (the layout this guide follows)
  [PG13]  EXPRESSCLUSTER/PostgreSQL PostgreSQLonLinux.md @461768e7
  [BASIC] EXPRESSCLUSTER/BasicCluster X41/Lin/2nodesMirror_Lin.md @e4bbd92c
  [CF-PSQLW] EXPRESSCLUSTER/clpcfset doc/linux/psqlw.md @091785cb
  [CF-EXEC]  EXPRESSCLUSTER/clpcfset doc/linux/exec.md @6f21486f
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from runbook_engine.model import loader

REPO = Path(__file__).resolve().parents[1]
PG15 = "EXPRESSCLUSTER/PostgreSQL PostgreSQL15onLinux.md @f44bb260"
PG13 = "EXPRESSCLUSTER/PostgreSQL PostgreSQLonLinux.md @461768e7"
BASIC = "EXPRESSCLUSTER/BasicCluster X41/Lin/2nodesMirror_Lin.md @e4bbd92c"
CF_PSQLW = "EXPRESSCLUSTER/clpcfset doc/linux/psqlw.md @091785cb"


@pytest.fixture(scope="module")
def kb():
    return loader.load(REPO / "kb")


@pytest.fixture(scope="module")
def guide(kb):
    return kb.guides["postgresql"]


def _texts(guide, lang: str) -> str:
    """Every step text of the procedure in *lang* (where the commands are written)."""
    return "\n".join(s.text(lang) for s in guide.steps())


def _setting(guide, name: str) -> str:
    return next(s.value for s in guide.scripts.settings if s.name == name)


def _resource(guide, kind: str):
    return next(r for r in guide.resources if r.kind == kind)


def test_family_and_versions_are_the_tested_ones(kb, guide):
    assert kb.family_of(guide).id == "clusterpro-x-linux"
    assert kb.family_of(guide).os == "linux"
    # [PG15]: "EXPRESSCLUSTER X 5.0 for Linux (internal version: 5.0.2)"
    assert guide.meta.scope.applies_to == ["x5.0"], PG15
    # [PG15]: "RedHat Linux release 8.6"
    assert guide.meta.environment.operating_systems == ["Red Hat Enterprise Linux 8.6"], PG15


def test_script_settings_are_the_sources_paths(guide):
    assert _setting(guide, "SUUSER") == "postgres", f'{PG15}: SUUSER="postgres"'
    assert _setting(guide, "PGINST") == "/usr/pgsql-15", f'{PG15}: PGINST="/usr/pgsql-15"'
    assert _setting(guide, "PGDATA") == "/postgres/data", f'{PG15}: PGDATA="/postgres/data"'
    assert _setting(guide, "PGPORT") == "5432", f'{PG15}: PGPORT="5432"'


def test_pg_ctl_commands_are_the_sources(guide):
    sc = guide.scripts
    start = next(c for c in sc.commands if c.id == "pg-start")
    stop = next(c for c in sc.commands if c.id == "pg-stop")
    # [PG15] start.sh: su - ${SUUSER} -c "${PGINST}/bin/pg_ctl start -D ${PGDATA} -l /dev/null"
    assert [sc.resolve(t) for t in start.argv] == ["/usr/pgsql-15/bin/pg_ctl", "start", "-D", "/postgres/data", "-l", "/dev/null"], PG15
    assert sc.resolve(start.user) == "postgres", PG15
    # [PG15] stop.sh: su - ${SUUSER} -c "${PGINST}/bin/pg_ctl stop -D ${PGDATA} -m fast"
    assert [sc.resolve(t) for t in stop.argv] == ["/usr/pgsql-15/bin/pg_ctl", "stop", "-D", "/postgres/data", "-m", "fast"], PG15
    # [PG15] start.sh pre-clean: rm -f ${PGDATA}/postmaster.pid, /tmp/.s.PGSQL.${PGPORT}, /var/run/postgresql/.s.PGSQL.${PGPORT}
    removed = [sc.resolve(c.argv[-1]) for c in sc.commands if c.argv[0] == "rm"]
    assert removed == ["/postgres/data/postmaster.pid", "/tmp/.s.PGSQL.5432", "/var/run/postgresql/.s.PGSQL.5432"], PG15


def test_mirror_disk_is_the_sources_devices_and_mount_point(guide):
    md = _resource(guide, "md")
    assert md.mount_point == "/postgres", f"{PG15}: Mount Point /postgres"
    # [PG15] writes "/dev/sbd1": a typo for /dev/sdb1 (the fact sheet, and the resource's note, say so)
    assert md.data_partition == "/dev/sdb1", f"{PG15}: Data Partition /dev/sbd1 [sic]"
    assert "/dev/sbd1" in md.note("en") and "/dev/sbd1" in md.note("ja")
    assert md.cluster_partition == "/dev/sdc1", f"{PG15}: Cluster Partition /dev/sdc1"
    assert md.file_system == "ext4", f"{BASIC}: data partition ext4 (mkfs -t ext4), cluster partition RAW"
    assert "RAW" in md.detail("en") and "RAW" in md.detail("ja"), BASIC
    assert guide.scripts.resolve("{PGDATA}").startswith(md.mount_point + "/"), "PGDATA lies on the mirror disk"


def test_fip_is_the_basic_guides_address(guide):
    fip = _resource(guide, "fip")
    assert "10.1.1.21" in fip.detail("en") and "10.1.1.21" in fip.detail("ja"), f"{BASIC}: fip 10.1.1.21"
    assert any("10.1.1.21" in s for s in fip.sources)


def test_exec_resource_starts_after_fip_and_mirror_disk(guide):
    ex = _resource(guide, "exec")
    assert ex.depends_on == ["fip", "mirror-disk"], "Igaigasuru/EXPRESSCLUSTER PostgreCluster_setup.md: 0 fip, 1 md, 2 exec"


def test_psqlw_parameters_are_the_sources(kb, guide):
    m = next(m for m in guide.monitors if m.kind == "psqlw")
    params = {p.tag: p.value for p in m.parameters if p.tag}
    # [PG15] psqlw table; [CF-PSQLW] parameter paths
    assert params["parameters/database"] == "db1", PG15
    assert params["parameters/ipaddress"] == "127.0.0.1", PG15
    assert params["parameters/port"] == "5432", PG15
    assert params["parameters/username"] == "postgres", PG15
    assert params["parameters/table"] == "psqlwatch", PG15
    assert params["parameters/libraryfullpath"] == "/usr/pgsql-15/lib/libpq.so.5.15", PG15
    # [CF-PSQLW]: docreatedrop 0 = level 2 (update/select), the default (our choice of level)
    assert params["parameters/docreatedrop"] == "0", CF_PSQLW
    assert m.target == "exec" and m.recovery_target == "exec", f"{PG15}: Target Resource / Recovery Target = the exec resource"
    assert "Database Agent" in m.requires("en"), f"{PG15}: EXPRESSCLUSTER X Database Agent for Linux licence"
    genw = next(m for m in guide.monitors if m.kind == "genw")
    assert genw.optional and "pg_ctl status -D /postgres/data" in genw.parameters[0].value, f"{PG15}: genw.sh"


def test_postgresql_port_is_an_application_port(guide):
    ports = {(p.protocol, p.port) for p in guide.meta.app_ports}
    assert ports == {("tcp", 5432)}, f"{PG15}: PGPORT 5432, psqlw Port Number 5432"
    assert all(p.sources for p in guide.meta.app_ports)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_procedure_names_the_sources_commands_and_values(guide, lang):
    t = _texts(guide, lang)
    # [PG15] OS user: same UID on both nodes
    assert "useradd -u 26 postgres" in t and "id postgres" in t, PG15
    # [PG15] install from PGDG on EL-8, unit postgresql-15 (not the typo'd postgresql.service / postgresql15.service)
    assert "EL-8-x86_64/pgdg-redhat-repo-latest.noarch.rpm" in t and "dnf install -y postgresql15-server" in t, PG15
    assert "dnf -qy module disable postgresql" in t, PG15
    assert "systemctl disable postgresql-15.service" in t, PG15
    assert not re.search(r"postgresql15?\.service", t), "the unit is postgresql-15.service"
    # [PG15] data directory on the mirror disk, owner postgres, mode 0700
    assert "mkdir -p /postgres/data" in t and "chown -R postgres:postgres /postgres/data" in t and "chmod 700 /postgres/data" in t, PG15
    # [PG13] initdb on the data directory, first time only
    assert "/usr/pgsql-15/bin/initdb -D /postgres/data -E UTF8 --no-locale -W" in t, PG13
    # [PG15] postgresql.conf and pg_hba.conf
    assert "listen_addresses = '*'" in t and "#port = 5432" in t, PG15
    assert "host all all 127.0.0.1/32 md5" in t, f"{PG15}: pg_hba md5 for 127.0.0.1 (psqlw needs it)"
    # [BASIC] the clients' network is 10.1.1.0/24 (the source's 192.168.1.0/24 is BASIC's interconnect: ours)
    assert "host all all 10.1.1.0/24 md5" in t, BASIC
    # [PG15] createdb db1, the database psqlw monitors
    assert "createdb -h localhost -U postgres db1" in t, PG15
    # verification (ours): via the FIP, move the group, read back
    assert "psql -h 10.1.1.21 -U postgres db1" in t and "clpgrp -m" in t


def test_every_step_beyond_the_source_text_names_a_source_or_says_it_is_ours(guide):
    ours = ("本ガイド独自", "our own", "our choice", "our change", "this guide's own")
    for phase in guide.procedure.phases:
        for step in phase.steps:
            said = (phase.text("ja") + phase.text("en") + step.text("ja") + step.text("en")
                    + "".join(n.text("ja") + n.text("en") for n in step.notes))
            assert step.sources or any(w in said for w in ours), step.id


def test_the_engine_runs_the_linux_steps_and_the_operator_the_others(guide):
    engine = {s.id: (s.mode, s.action) for s in guide.steps() if s.action}
    assert engine == {"os-check": ("check", "preflight-linux"), "firewall-ports": ("automated", "firewall-ports"),
                      "unit-disabled": ("automated", "units-manual"), "script-programs": ("check", "script-programs"),
                      "exec-resource": ("automated", "exec-scripts")}
    assert not [s.id for s in guide.steps() if s.planned_action]  # every planned action exists now
    assert all(s.mode == "manual" for s in guide.steps() if not s.action)
