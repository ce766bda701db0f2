"""Load kb/ into the typed model, reporting every error as ``file:line: message``.

YAML is read with a loader that remembers the line of every mapping key and sequence item and
refuses duplicate keys; pydantic's error locations are mapped back to those lines. Cross-reference
checks (unknown ids, duplicates, missing translations) run after the types are valid.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from runbook_engine.model.errors import KbError, KbInvalid
from runbook_engine.model.schema import (
    Cautions,
    Errata,
    Dns,
    Family,
    Guide,
    GuideMeta,
    KnowledgeBase,
    Procedure,
    Resource,
    ScriptConfig,
    Service,
    SiteLabels,
    japanese_in,
)

# Each file of a guide folder holds one section of the guide.
GUIDE_FILES: dict[str, tuple[str, type[BaseModel] | tuple[str, type[BaseModel]]]] = {
    "guide.yaml": ("meta", GuideMeta),
    "resources.yaml": ("resources", ("resources", Resource)),
    "procedure.yaml": ("procedure", Procedure),
    "services.yaml": ("services", ("services", Service)),
    "scripts.yaml": ("scripts", ScriptConfig),
    "dns.yaml": ("dns", Dns),
    "cautions.yaml": ("cautions", Cautions),
    "errata.yaml": ("errata", Errata),
}
OPTIONAL_FILES = {"errata.yaml"}


class LineDict(dict):
    line: int = 0
    key_lines: dict[str, int]


class LineList(list):
    line: int = 0
    item_lines: list[int]


# libyaml's parser when available (same constructors, same marks, several times faster)
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}'", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode, deep: bool = False) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_str(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Versions such as 2.0 and times such as 10:00 stay strings where the schema wants strings:
# pydantic then reports a type error with a line instead of silently coercing.


def rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve().parent))
    except ValueError:
        return str(path)


def read_yaml(path: Path, root: Path) -> Any:
    """Parse one YAML file; a syntax error becomes a KbInvalid with its line."""
    name = rel(path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise KbInvalid([KbError(name, 1, f"not UTF-8: {exc.reason}")]) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise KbInvalid([KbError(name, line, f"YAML syntax: {problem}")]) from None
    if data is None:
        raise KbInvalid([KbError(name, 1, "file is empty")])
    return data


def locate(data: Any, loc: tuple) -> int:
    """The line of the deepest node of *loc* that exists in *data*."""
    line = getattr(data, "line", 1) or 1
    node = data
    for part in loc:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def _describe(err: dict) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    msg = err["msg"]
    if err["type"] == "missing":
        last = err["loc"][-1] if err["loc"] else "?"
        if last in ("ja", "en"):
            return f"{loc}: missing translation '{last}'"
        return f"{loc}: required field missing"
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown field"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    inp = err.get("input")
    shown = ""
    if isinstance(inp, (str, int, float)) and not isinstance(inp, bool):
        shown = f" (got {inp!r})"
    return f"{loc}: {msg}{shown}" if loc else f"{msg}{shown}"


def validate(model: type[BaseModel], data: Any, name: str, loc_prefix: tuple = ()) -> tuple[Any, list[KbError]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        errors = []
        for err in exc.errors():
            errors.append(KbError(name, locate(data, tuple(err["loc"])), _describe(err)))
        return None, errors


def _load_list(data: Any, key: str, model: type[BaseModel], name: str) -> tuple[list | None, list[KbError]]:
    if not isinstance(data, dict) or key not in data:
        return None, [KbError(name, getattr(data, "line", 1), f"top-level key '{key}' is required")]
    extra = [k for k in data if k != key and not str(k).startswith("$")]
    errs = [KbError(name, data.key_lines[k], f"{k}: unknown field") for k in extra]
    items = data[key]
    if not isinstance(items, list):
        return None, errs + [KbError(name, data.key_lines[key], f"{key}: must be a list")]
    out = []
    for i, item in enumerate(items):
        obj, e = validate(model, item, name)
        if e:
            errs.extend(KbError(x.file, x.line, f"{key}.{i}.{x.message}") for x in e)
        out.append(obj)
    return (out if not errs else None), errs


def load_guide(folder: Path, root: Path) -> tuple[Guide | None, dict[str, Any], list[KbError]]:
    """Load one guide folder. Returns the guide, the raw data per section and the errors."""
    parts: dict[str, Any] = {}
    raws: dict[str, Any] = {}
    errors: list[KbError] = []
    for fname, (section, spec) in GUIDE_FILES.items():
        path = folder / fname
        name = rel(path, root)
        if not path.exists():
            if fname not in OPTIONAL_FILES:
                errors.append(KbError(name, 1, "file is missing"))
            continue
        try:
            data = read_yaml(path, root)
        except KbInvalid as exc:
            errors.extend(exc.errors)
            continue
        raws[section] = (name, data)
        if isinstance(spec, tuple):
            obj, errs = _load_list(data, spec[0], spec[1], name)
        else:
            obj, errs = validate(spec, data, name)
        errors.extend(errs)
        parts[section] = obj
    for extra in sorted(folder.glob("*.y*ml")):
        if extra.name not in GUIDE_FILES:
            errors.append(KbError(rel(extra, root), 1, f"unexpected file in guide folder (expected {', '.join(GUIDE_FILES)})"))
    if errors:
        return None, raws, errors
    guide = Guide.model_construct(**parts)  # sections are already validated
    return guide, raws, []


_CACHE: dict[tuple, KnowledgeBase] = {}


def _fingerprint(root: Path) -> tuple:
    files = sorted(root.rglob("*.y*ml"))
    return (str(root.resolve()),) + tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files)


def load(root: Path | str = "kb") -> KnowledgeBase:
    """Load and check the whole knowledge base (cached until a file changes).
    Raises KbInvalid with every error found."""
    root = Path(root)
    if root.is_dir():
        key = _fingerprint(root)
        if key in _CACHE:
            return _CACHE[key]
        kb = _load(root)
        _CACHE.clear()
        _CACHE[key] = kb
        return kb
    return _load(root)


def _load(root: Path) -> KnowledgeBase:
    errors: list[KbError] = []
    parsed: list[tuple[str, Any]] = []  # (file, raw data) of every file read, for the text checks
    if not root.is_dir():
        raise KbInvalid([KbError(str(root), 1, "knowledge base folder not found")])

    family = None
    fam_files = sorted((root / "family").glob("*.yaml"))
    if len(fam_files) != 1:
        errors.append(KbError(rel(root / "family", root), 1, "exactly one family file is expected"))
    else:
        try:
            fam_raw = read_yaml(fam_files[0], root)
            parsed.append((rel(fam_files[0], root), fam_raw))
            family, errs = validate(Family, fam_raw, rel(fam_files[0], root))
            errors.extend(errs)
            if family:
                errors.extend(_check_family(family, fam_raw, rel(fam_files[0], root)))
        except KbInvalid as exc:
            errors.extend(exc.errors)

    site = None
    site_path = root / "site.yaml"
    try:
        site_raw = read_yaml(site_path, root) if site_path.exists() else None
        if site_raw is None:
            errors.append(KbError(rel(site_path, root), 1, "file is missing"))
        else:
            parsed.append((rel(site_path, root), site_raw))
            site, errs = validate(SiteLabels, site_raw, rel(site_path, root))
            errors.extend(errs)
    except KbInvalid as exc:
        errors.extend(exc.errors)

    guides: dict[str, Guide] = {}
    for folder in sorted(p for p in (root / "guides").iterdir() if p.is_dir()) if (root / "guides").is_dir() else []:
        guide, raws, errs = load_guide(folder, root)
        parsed.extend(raws.values())
        errors.extend(errs)
        if guide is not None:
            if guide.meta.id != folder.name:
                name, raw = raws["meta"]
                errors.append(KbError(name, locate(raw, ("id",)), f"id: guide id '{guide.meta.id}' must equal its folder name '{folder.name}'"))
            if family is not None:
                errors.extend(_check_guide(guide, raws, family))
            guides[guide.meta.id] = guide

    if family is not None and site is not None:
        proper = family.proper_nouns
        errors.extend(_check_translations(parsed, proper))

    if errors:
        raise KbInvalid(errors)
    return KnowledgeBase(family=family, guides=guides, site=site)


# --------------------------------------------------------------------------------------------
# Cross-reference checks
# --------------------------------------------------------------------------------------------


def _dupes(items: list, key, name: str, raw: Any, path: tuple, what: str) -> list[KbError]:
    seen: dict[str, int] = {}
    errs = []
    for i, item in enumerate(items):
        k = key(item)
        kk = k.lower() if isinstance(k, str) else k
        if kk in seen:
            errs.append(KbError(name, locate(raw, path + (i,)), f"duplicate {what} '{k}' (first at item {seen[kk]})"))
        else:
            seen[kk] = i
    return errs


def _check_family(fam: Family, raw: Any, name: str) -> list[KbError]:
    errs = _dupes(fam.ports, lambda p: p.id, name, raw, ("ports",), "port id")
    errs += _dupes(fam.ports, lambda p: (p.protocol, p.direction, p.port), name, raw, ("ports",), "port")
    errs += _dupes(fam.versions, lambda v: v.id, name, raw, ("versions",), "version id")
    versions = {v.id for v in fam.versions}
    for i, p in enumerate(fam.ports):
        for j, v in enumerate(p.versions):
            if v not in versions:
                errs.append(KbError(name, locate(raw, ("ports", i, "versions", j)), f"ports.{i}.versions: unknown version '{v}'"))
        expected_side = "local" if p.direction == "in" else "remote"
        if p.side != expected_side:
            errs.append(KbError(name, locate(raw, ("ports", i, "side")), f"ports.{i}.side: a port with direction '{p.direction}' is a {expected_side} port"))
    return errs


def _check_guide(g: Guide, raws: dict[str, Any], fam: Family) -> list[KbError]:
    errs: list[KbError] = []
    mname, mraw = raws["meta"]
    pname, praw = raws["procedure"]
    sname, sraw = raws["services"]
    cname, craw = raws["scripts"]
    rname, rraw = raws["resources"]
    port_ids = {p.id for p in fam.ports}
    version_ids = {v.id for v in fam.versions}
    feature_ids = {f.id for f in g.meta.features}
    guide_ids = {r.id for r in fam.guides}

    for i, pid in enumerate(g.meta.ports):
        if pid not in port_ids:
            errs.append(KbError(mname, locate(mraw, ("ports", i)), f"ports: unknown port '{pid}'"))
    errs += _dupes(g.meta.ports, lambda x: x, mname, mraw, ("ports",), "port reference")
    for i, v in enumerate(g.meta.scope.applies_to):
        if v not in version_ids:
            errs.append(KbError(mname, locate(mraw, ("scope", "applies_to", i)), f"scope.applies_to: unknown version '{v}'"))
    for i, r in enumerate(g.meta.related):
        if r not in guide_ids:
            errs.append(KbError(mname, locate(mraw, ("related", i)), f"related: unknown guide '{r}'"))
    node_ids = {n.id for n in g.meta.topology.nodes}
    for i, fig in enumerate(g.meta.topology.figures):
        for j, d in enumerate(fig.down):
            if d not in node_ids:
                errs.append(KbError(mname, locate(mraw, ("topology", "figures", i, "down", j)), f"topology.figures: unknown node '{d}'"))
    for i, pat in enumerate(g.meta.os_product_patterns):
        try:
            re.compile(pat)
        except re.error as exc:
            errs.append(KbError(mname, locate(mraw, ("os_product_patterns", i)), f"os_product_patterns: bad pattern: {exc}"))

    # steps
    steps_loc = []
    for pi, ph in enumerate(g.procedure.phases):
        for si, st in enumerate(ph.steps):
            steps_loc.append((st, ("phases", pi, "steps", si)))
    step_ids = {}
    for st, loc in steps_loc:
        if st.id in step_ids:
            errs.append(KbError(pname, locate(praw, loc + ("id",)), f"duplicate step id '{st.id}'"))
        step_ids.setdefault(st.id, loc)
        if st.when is not None and st.when not in feature_ids:
            errs.append(KbError(pname, locate(praw, loc + ("when",)), f"step '{st.id}': unknown feature '{st.when}'"))
    phase_ids = [p.id for p in g.procedure.phases]
    errs += _dupes(phase_ids, lambda x: x, pname, praw, ("phases",), "phase id")
    actions = [st.action for st, _ in steps_loc if st.action]
    for st, loc in steps_loc:
        if st.action and actions.count(st.action) > 1:
            errs.append(KbError(pname, locate(praw, loc + ("action",)), f"step '{st.id}': action '{st.action}' is used by more than one step"))

    # services
    errs += _dupes(g.services, lambda s: s.id, sname, sraw, ("services",), "service id")
    errs += _dupes(g.services, lambda s: s.service, sname, sraw, ("services",), "service name")
    errs += _dupes(g.services, lambda s: s.watch_id, sname, sraw, ("services",), "watch id")
    for i, s in enumerate(g.services):
        if s.feature not in feature_ids:
            errs.append(KbError(sname, locate(sraw, ("services", i, "feature")), f"service '{s.id}': unknown feature '{s.feature}'"))
        if s.manual_in is not None and s.manual_in not in step_ids:
            errs.append(KbError(sname, locate(sraw, ("services", i, "manual_in")), f"service '{s.id}': unknown step '{s.manual_in}'"))
        if s.scripted and s.forbid_kill:
            errs.append(KbError(sname, locate(sraw, ("services", i, "scripted")), f"service '{s.id}': a service that must never be stopped cannot be scripted (ARMKILL would stop it)"))
        if s.scripted and s.manual_in is None:
            errs.append(KbError(sname, locate(sraw, ("services", i)), f"service '{s.id}': a scripted service must be set to manual start (manual_in)"))
    for i, f in enumerate(g.scripts.features):
        if f not in feature_ids:
            errs.append(KbError(cname, locate(craw, ("features", i)), f"features: unknown feature '{f}'"))
    errs += _dupes(g.scripts.messages, lambda m: m.id, cname, craw, ("messages",), "message id")
    # messages travel inside ARMBCAST /MSG "..." in cmd.exe: reject what breaks or injects there
    for i, m in enumerate(g.scripts.messages):
        for lang in ("ja", "en"):
            bad = sorted(set(re.findall(r'["%^&|<>!\x00-\x1f]', m.text(lang))))
            if bad:
                errs.append(KbError(cname, locate(craw, ("messages", i, "text", lang)), f"message '{m.id}' ({lang}): characters unsafe in a cmd.exe script: {' '.join(repr(b) for b in bad)}"))
        try:
            m.text.ja.encode("cp932")
        except UnicodeEncodeError as exc:
            errs.append(KbError(cname, locate(craw, ("messages", i, "text", "ja")), f"message '{m.id}' (ja): not representable in CP932: {exc.object[exc.start:exc.end]!r}"))
        try:
            m.text.en.encode("ascii")
        except UnicodeEncodeError:
            errs.append(KbError(cname, locate(craw, ("messages", i, "text", "en")), f"message '{m.id}' (en): English script messages must be ASCII"))

    # resources
    errs += _dupes(g.resources, lambda r: r.id, rname, rraw, ("resources",), "resource id")
    for i, r in enumerate(g.resources):
        if r.kind == "registry" and r.key is None:
            errs.append(KbError(rname, locate(rraw, ("resources", i)), f"resource '{r.id}': a registry resource needs a key"))
        if r.register_after is not None and r.register_after not in step_ids:
            errs.append(KbError(rname, locate(rraw, ("resources", i, "register_after")), f"resource '{r.id}': unknown step '{r.register_after}'"))
    return errs


def _walk_texts(data: Any, path: tuple = ()):
    """Yield (path, mapping) for every {ja, en} mapping in raw YAML data."""
    if isinstance(data, dict):
        if set(data.keys()) == {"ja", "en"}:
            yield path, data
            return
        for k, v in data.items():
            yield from _walk_texts(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _walk_texts(v, path + (i,))


def _check_translations(parsed: list[tuple[str, Any]], proper_nouns: list[str]) -> list[KbError]:
    """No Japanese left in English texts, except the listed proper nouns (UI labels quoted as-is).
    Works on the data already parsed: no file is read twice."""
    errs = []
    allowed = set(proper_nouns)
    for name, raw in parsed:
        for loc, text in _walk_texts(raw):
            en = text.get("en")
            if not isinstance(en, str):
                continue
            runs = [r for r in japanese_in(en) if r not in allowed]
            if runs:
                errs.append(KbError(name, locate(raw, loc + ("en",)), f"{'.'.join(map(str, loc))}.en: Japanese text in the English field: {runs[0]!r}"))
    return errs
